"""Request bodies are refused early when too large: by their Content-Length before anything
is read, or, without one (chunked), as soon as the bytes received pass the limit. A plain
ASGI middleware, so nothing is buffered on the way and the app never sees the excess.

File uploads (paths ending in ``/import``, ``-import`` or, for the web pages, ``/importar``) may be larger than everything else:
their own readers then apply the finer limits of each format (app/exchange/tabular.py).
"""

from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.user_input import looks_like_number, parse_int

MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_BODY_BYTES = 12 * 1024 * 1024  # a 10 MB file plus the multipart envelope


def limit_for(path: str) -> int:
    return MAX_UPLOAD_BODY_BYTES if path.rstrip("/").endswith(("/import", "-import", "/importar")) else MAX_BODY_BYTES


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


class TooLarge(HTTPException):
    """Raised from ``receive`` when a body without Content-Length passes the limit. An
    HTTPException so the app's own handlers answer 413 in the usual error shape (FastAPI
    would turn any other exception raised while reading the body into a 400)."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodySizeLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                text = value.decode("latin-1")
                # A number beyond the limit (of any length) is refused; a garbled header is
                # left to the server, as before.
                if looks_like_number(text) and parse_int(text, maximum=limit) is None:
                    await _refuse(scope, send, limit)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except TooLarge:
            if not started:
                await _refuse(scope, send, limit)


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    message = f"La solicitud es demasiado grande: el máximo es {_megabytes(limit)}."
    if scope["path"].startswith("/api/"):
        body = orjson.dumps({"error": {"code": "too_large", "message": message, "details": []}})
        content_type = b"application/json"
    else:
        body = f'<!doctype html><html lang="es-CL"><meta charset="utf-8"><title>Demasiado grande</title><p>{message}</p>'.encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
