"""Request guards that sit in front of every route: token, host name, POST bodies.

* Token: with a token configured, every request under `/api/` (media included) must carry it
  as `Authorization: Bearer TOKEN` or in the cookie the page sets after the user typed it once;
  compared in constant time; anything else is a 401. The page itself (HTML, JS, CSS) holds no
  data and is served without it, so it can ask for the token. `POST /api/v1/session`, which
  checks a typed token and sets the cookie, is the one API call open to all.
* Host: a loopback-only server answers only requests addressed to a loopback name, so a web
  page elsewhere cannot reach it through DNS rebinding.
* POST bodies: state changes are POST with a JSON body (a form cannot send one across sites,
  and the cookie is SameSite=Strict), of bounded size.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

from vsearch.server.config import ServerConfig, is_loopback

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

API_PREFIX = "/api/"
SESSION_PATH = "/api/v1/session"
COOKIE_NAME = "vsearch_token"


def token_matches(presented: str | None, token: str) -> bool:
    """Constant-time comparison, so the time taken says nothing about how much was right."""
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), token.encode("utf-8"))


def presented_token(headers: dict[str, str]) -> str | None:
    """The token a request carries: the bearer header first, else the page's cookie."""
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header carries no token  # noqa: BLE001
        return None
    morsel = cookie.get(COOKIE_NAME)
    return morsel.value if morsel is not None else None


def host_name(header: str) -> str:
    """The name in a Host header, without the port ("[::1]:8765" -> "::1")."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0]


class Guards:
    """ASGI middleware applying the rules above before any route runs."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, message, extra = refusal
            await _send_json(send, status, {"error": message}, extra)
            return
        await self.app(scope, receive, send)

    def _refusal(
        self, scope: Scope, headers: dict[str, str]
    ) -> tuple[int, str, dict[str, str]] | None:
        path, method = scope["path"], scope["method"]
        if self.config.loopback:
            host = host_name(headers.get("host", ""))
            if not is_loopback(host):
                return 421, f"this server answers only on loopback, not for host {host!r}", {}
        if not path.startswith(API_PREFIX):
            return None
        token = self.config.token
        open_call = path == SESSION_PATH and method == "POST"
        if token is not None and not open_call and not token_matches(
            presented_token(headers), token
        ):
            return 401, "a valid token is required", {"www-authenticate": "Bearer"}
        if method == "POST":
            media_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type != "application/json":
                return 415, "POST bodies must be JSON (Content-Type: application/json)", {}
            length = headers.get("content-length")
            if length is None or not length.isdigit():
                return 411, "POST needs a Content-Length", {}
            limit = self.config.limits.max_body_bytes
            if int(length) > limit:
                return 413, f"request body over {limit} bytes", {}
        return None


async def _send_json(send: Callable, status: int, payload: dict, headers: dict[str, str]) -> None:
    body = json.dumps(payload).encode("utf-8")
    raw_headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]  # fmt: skip
    raw_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
