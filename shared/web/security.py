"""Security headers on every response, the Content-Security-Policy among them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSPPolicy = Mapping[str, Sequence[str]]

# No inline script or style anywhere, so 'self' is enough; data: images are the QR codes.
DEFAULT_CSP: dict[str, list[str]] = {
    "default-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
}

HSTS = "max-age=31536000; includeSubDomains"


def csp_header(policy: CSPPolicy) -> str:
    """The header value for a policy: directives joined by '; ', sources by spaces."""
    return "; ".join(" ".join([directive, *sources]) for directive, sources in policy.items())


def _headers(policy: CSPPolicy, *, framed: bool, hsts: bool) -> list[tuple[str, str]]:
    if framed:
        # Pages that other sites embed (the support widget) cannot forbid framing.
        policy = {d: s for d, s in policy.items() if d != "frame-ancestors"}
    headers = [
        ("Content-Security-Policy", csp_header(policy)),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if not framed:
        headers.append(("X-Frame-Options", "DENY"))
    if hsts:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


class SecurityHeadersMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        csp: CSPPolicy,
        frame_exempt_prefixes: tuple[str, ...] = (),
        hsts: bool = True,
    ) -> None:
        self.app = app
        self.frame_exempt_prefixes = frame_exempt_prefixes
        # Built once: the policy does not change while the process runs.
        self.page_headers = _headers(csp, framed=False, hsts=hsts)
        self.framed_headers = _headers(csp, framed=True, hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        framed = bool(self.frame_exempt_prefixes) and scope["path"].startswith(
            self.frame_exempt_prefixes
        )
        extra = self.framed_headers if framed else self.page_headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    # A route that set its own (a stricter CSP, a sandbox page) keeps it.
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
