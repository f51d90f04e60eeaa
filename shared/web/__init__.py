"""The web plumbing every front shares: middleware, sessions, CSRF, error pages, logging.

Wiring, outermost first (see `paydesk/app.py`)::

    app = Starlette(
        routes=...,
        middleware=[
            Middleware(ServerSessionMiddleware, factory=db, settings=settings),
            Middleware(CSRFMiddleware, exempt_prefixes=("/api/", "/sandbox-gateway/")),
        ],
        exception_handlers=exception_handlers(),
        lifespan=...,
    )
    app.state.db = db
    asgi = RequestIdMiddleware(
        SecurityHeadersMiddleware(app, csp=DEFAULT_CSP, frame_exempt_prefixes=("/widget/",))
    )

Request ids and security headers wrap the Starlette app itself because Starlette
answers a crash from its outermost layer: only outside it do 500 pages get them too.
"""

# Registered on import, before any front defines its routes: see `shared.web.routing`.
from shared.web import routing as routing
