"""The Host a request may name, and where every absolute URL points: PAYDESK_BASE_URL.

The Host header is whatever the client sends. Left alone it ends up in absolute URLs
(redirects, form actions, the language links), so a request for `Host: evil.example`
would be answered with links to evil.example, and a cache in front of us could keep
that answer for others. So:

- a request naming any host but the base URL's, or one of PAYDESK_ALLOWED_HOSTS, is
  refused with a 400 (Starlette's TrustedHostMiddleware; the port is not compared);
- a request that passes is rewritten to the base URL's scheme, host and port before any
  view sees it, so every absolute URL is built from the base URL, whatever host the
  request came in by (an extra allowed name, an internal address, plain HTTP behind a
  TLS-terminating proxy).

Health checks (`/healthz`, `/readyz`) answer whatever the Host: load balancers probe
servers by address, and those answers hold no URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_PORTS = {"http": 80, "https": 443}
HEALTH_PATHS = ("/healthz", "/readyz")


def host_of(base_url: str) -> str:
    """The host name of a base URL, without its port."""
    host = urlsplit(base_url).hostname
    if not host:
        raise ValueError(f"PAYDESK_BASE_URL {base_url!r} names no host")
    return host


class BaseUrlHostMiddleware:
    """Refuse other hosts; make the scope say the base URL's scheme, host and port."""

    def __init__(
        self,
        app: ASGIApp,
        base_url: str,
        allowed_hosts: Iterable[str] = (),
        exempt_paths: tuple[str, ...] = HEALTH_PATHS,
    ) -> None:
        self.app = app
        parts = urlsplit(base_url)
        self.scheme = parts.scheme or "http"
        self.port = parts.port or DEFAULT_PORTS.get(self.scheme, 80)
        self.netloc = parts.netloc.encode("latin-1")
        self.server = (host_of(base_url), self.port)
        hosts = [host_of(base_url), *(h.strip() for h in allowed_hosts if h.strip())]
        self.exempt_paths = exempt_paths
        self.checked = TrustedHostMiddleware(self._rewritten, allowed_hosts=hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        await self.checked(scope, receive, send)

    async def _rewritten(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(name, value) for name, value in scope["headers"] if name != b"host"]
        scope = dict(scope)
        scope["headers"] = [(b"host", self.netloc), *headers]
        scope["scheme"] = self.scheme
        scope["server"] = self.server
        await self.app(scope, receive, send)
