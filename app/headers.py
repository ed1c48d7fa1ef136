"""Security headers on every response, as a plain ASGI middleware (cheap: no request object,
no buffering, streamed bodies pass through untouched).

The pages load scripts and styles only from /static and use no inline code, so the
Content-Security-Policy needs no ``unsafe-inline``. The interactive API docs (/docs, only
outside production) load Swagger UI from a CDN with an inline script, so they get none.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_DOCS_PATHS = ("/docs", "/redoc")
#: Pages and JSON hold personal and cooperative data: no browser or proxy may keep a copy (a
#: shared computer's back button, a proxy cache). An answer that sets its own Cache-Control
#: keeps it; the static assets (no data, named by content) stay cacheable.
_NO_STORE = (b"cache-control", b"no-store")
_STATIC_PATH = "/static/"


def security_headers(path: str, *, https_only: bool) -> list[tuple[bytes, bytes]]:
    """The headers every answer for ``path`` carries. Also used by the 500 handler: Starlette
    answers an unhandled exception outside every middleware, so SecurityHeaders never sees it."""
    extra = list(SECURITY_HEADERS)
    if not path.startswith(_DOCS_PATHS):
        extra.append(_CSP)
    if https_only:
        extra.append(_HSTS)
    if not path.startswith(_STATIC_PATH):
        extra.append(_NO_STORE)
    return extra


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https_only: bool = False) -> None:
        self.app = app
        self.https_only = https_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope["path"], https_only=self.https_only)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
