"""Running the server: check the exposure rules, open the library once, serve until stopped."""

from __future__ import annotations

import socket
from collections.abc import Callable

from vsearch.api import Library
from vsearch.errors import InputError
from vsearch.server.config import ServerConfig, check_exposure
from vsearch.settings import Settings


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (port 0: any free port); InputError when that fails."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error}") from error
    return sock


def serve(
    settings: Settings,
    config: ServerConfig,
    *,
    grounding: str = "r2",
    on_started: Callable[[str], None] | None = None,
) -> None:
    """Serve the library of `settings` until interrupted; `on_started(url)` once listening.

    Refuses, before loading anything, to listen beyond loopback without a token (InputError),
    to start without a library (LibraryError), and on an address it cannot bind (InputError).
    """
    import uvicorn

    from vsearch.server.app import create_app

    check_exposure(config)
    with Library.open(settings=settings) as library:
        sock = listening_socket(config.host, config.port)
        host, port = sock.getsockname()[:2]
        url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
        app = create_app(library, config, grounding=grounding,
                         on_started=(lambda: on_started(url)) if on_started else None)  # fmt: skip
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                               timeout_graceful_shutdown=5))  # fmt: skip
        with sock:
            server.run(sockets=[sock])
