"""What a server is asked to be: where it listens, who may use it, and its request limits.

Loopback only by default. Binding any other address exposes the library (videos, searches,
exports) to the network, so it needs a token; `check_exposure` refuses to start without one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from vsearch.errors import InputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may ask for; beyond them the API answers 4xx with a reason.

    The query bound is far above what CLIP reads (77 tokens; longer text is truncated with a
    note), so it only stops abuse; `max_top` matches a page of cards a person reads.
    """

    max_query_chars: int = 1000
    max_top: int = 100
    max_candidates: int = 200
    max_export_jobs: int = 2  # exports queued or running at once (each re-encodes video)
    max_body_bytes: int = 64 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """Where to listen, the token (None: no token), and the limits."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = None
    limits: Limits = Limits()

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`: addresses no other machine can reach."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(config: ServerConfig) -> None:
    """Refuse to listen beyond loopback without a token (InputError)."""
    if config.token is not None and not config.token.strip():
        raise InputError("the token is empty; give a real secret or none")
    if not config.loopback and config.token is None:
        raise InputError(
            f"--host {config.host} is reachable from other machines: give --token (or set "
            "VSEARCH_TOKEN) so only people who know it can use the server"
        )
