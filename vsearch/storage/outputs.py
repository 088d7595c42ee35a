"""Where a user's output file may go: the one check every writer of exports runs first.

An output never lands inside a library directory (a CSV renamed over `catalog.sqlite` loses the
library), and `--force` replaces only a regular file: never a directory, a device node, a FIFO
or socket, nor a symlink pointing at one of those. A symlink to a regular file is followed, so
the file it names is replaced and the link stays.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vsearch.errors import OutputError
from vsearch.storage.layout import CATALOG_NAME, EXPORTS_DIR


def library_containing(path: Path) -> Path | None:
    """The library directory that ``path`` (resolved) lies in, if any."""
    for folder in (path, *path.parents):
        if (folder / CATALOG_NAME).is_file():
            return folder
    return None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def checked_output(
    path: Path, *, force: bool, library_root: Path | None = None, require_parent: bool = True
) -> Path:
    """The path to write ``path``'s new content to, or OutputError saying why not.

    Refused: an existing path without ``force``; with ``force``, anything but a regular file
    (symlinks are judged by what they point to; a dangling one is refused); any path inside
    ``library_root`` or inside any other library directory, except the library's own exports
    folder, which holds nothing but exports; a missing parent directory (unless not
    ``require_parent``: the writer creates it).
    """
    path = Path(path).expanduser()
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # symlink loop
        raise OutputError(f"cannot write {path}: {exc}") from exc
    inside = library_containing(resolved.parent)
    roots = [root.resolve() for root in (library_root,) if root is not None]
    if inside is None:
        inside = next((r for r in roots if r == resolved or r in resolved.parents), None)
    if inside is not None and resolved.parent != inside / EXPORTS_DIR:
        raise OutputError(
            f"refusing to write {path}: it is inside the library {inside}; "
            "choose an output outside it"
        )
    if os.path.lexists(path):
        if not force:
            raise OutputError(f"{path} exists; pass --force to overwrite it")
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            raise OutputError(f"refusing to replace {path}: it is a dangling link") from exc
        if not stat.S_ISREG(mode):
            link = " links to" if path.is_symlink() else " is"
            raise OutputError(
                f"refusing to replace {path}: it{link} {_kind(mode)}, and --force replaces "
                "only regular files"
            )
    if require_parent and not resolved.parent.is_dir():
        raise OutputError(f"output directory does not exist: {path.parent}")
    return resolved if path.is_symlink() else path
