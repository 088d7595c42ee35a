"""The exception hierarchy of vsearch and the exit code each kind of failure maps to.

The library raises these; only the CLI turns them into a one-line message and an exit code.
Exit codes (documented in docs/cli.md):

    0    success
    1    unexpected internal error (a bug; rerun with --debug for the traceback)
    2    usage error (click)
    3    partial failure: some inputs failed, the rest succeeded
    4    bad input: an argument or input file the user supplied is invalid
    5    media error: a video file cannot be read or holds no video
    6    library error: missing, corrupt or mismatched library, or a stored item not found
    7    library busy: another process holds the write lock
    8    model error: weights or checkpoint missing, unreachable or not fitting
    9    output error: an output exists, cannot be written, or the disk filled up
    130  interrupted (Ctrl-C / SIGTERM)
"""

from __future__ import annotations


class VsearchError(Exception):
    """Base of every error vsearch raises on purpose."""

    exit_code: int = 1


class PartialFailure(VsearchError):
    """Some items of a batch failed while the others succeeded."""

    exit_code = 3


class InputError(VsearchError):
    """An argument, array or annotation file supplied by the user is invalid."""

    exit_code = 4


class MediaError(VsearchError):
    """A media file cannot be decoded, is truncated, or has no video stream."""

    exit_code = 5


class SourceMissingError(MediaError):
    """A catalogued video's file is no longer on disk."""


class LibraryError(VsearchError):
    """The library directory is missing, corrupt, or indexed with another model."""

    exit_code = 6


class NotFoundError(LibraryError):
    """A stored item asked for by its id (a video, a search result) does not exist."""


class LibraryBusyError(LibraryError):
    """Another process is indexing the same library."""

    exit_code = 7


class ModelError(VsearchError):
    """Model weights or a checkpoint are unavailable or do not fit."""

    exit_code = 8


class OutputError(VsearchError):
    """An output file exists, cannot be written, or the disk filled up."""

    exit_code = 9


class Interrupted(VsearchError):
    """The user interrupted the command; finished work is kept."""

    exit_code = 130
