"""Errors as HTTP answers: every failure is a JSON body `{"error": "<one line>"}` and a status.

The library raises `VsearchError`s; this module is the one place that maps their kinds to
status codes, as the CLI maps them to exit codes. An unexpected exception is a 500 with a
one-line message (the traceback goes to the log), never a stack trace in the response.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from vsearch.errors import (
    InputError,
    LibraryBusyError,
    MediaError,
    ModelError,
    NotFoundError,
    OutputError,
    SourceMissingError,
    VsearchError,
)

log = logging.getLogger(__name__)

# Most specific first: a subclass is matched before its base.
STATUS_BY_ERROR: tuple[tuple[type[VsearchError], int], ...] = (
    (NotFoundError, 404),
    (SourceMissingError, 404),
    (InputError, 400),
    (LibraryBusyError, 409),
    (ModelError, 503),
    (MediaError, 422),
    (OutputError, 500),
    (VsearchError, 500),
)


class TooBusy(VsearchError):
    """The server already runs as many jobs of this kind as its limits allow."""


def status_of(error: VsearchError) -> int:
    if isinstance(error, TooBusy):
        return 429
    return next(status for kind, status in STATUS_BY_ERROR if isinstance(error, kind))


def error_response(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def install_error_handlers(app: FastAPI) -> None:
    """Answer library errors, bad parameters and unknown routes with one-line JSON errors."""

    @app.exception_handler(VsearchError)
    async def _library_error(request: Request, error: VsearchError) -> JSONResponse:
        return error_response(status_of(error), str(error))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
            problems.append(f"{where}: {item.get('msg', 'invalid')}" if where else item["msg"])
        return error_response(422, "; ".join(problems) or "invalid request")

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        message = error.detail if isinstance(error.detail, str) else "request refused"
        if error.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.url.path}"
        return error_response(error.status_code, message, **(error.headers or {}))

    @app.exception_handler(Exception)
    async def _bug(request: Request, error: Exception) -> JSONResponse:
        log.exception("internal error while answering %s", request.url.path)
        return error_response(500, f"internal error: {type(error).__name__}: {error}")
