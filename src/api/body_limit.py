"""A cap on request bodies, applied before they are read.

A 200 MB body to /api/auth/login took the server from 120 to 687 MB: the JSON and form
parsers hold a whole body before they look at it. No body of ours is near 1 MiB (the
largest is a group with its exclusion windows), so:

- a Content-Length over the cap is refused with 413 before the route runs, so nothing
  is read and nothing is done;
- a body without a length (chunked transfer) is counted as it arrives, and the route
  reading it gets the 413 once the count passes the cap: at most the cap is held.

FastAPI's own `max_body_size` (Starlette's RequestBodyLimitMiddleware) counts too, but
for a Content-Length over the cap it still runs the route and only swaps its answer, so
a route that reads no body would act and then say 413; and its answer does not say the
limit. This is the same idea with both fixed.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1 << 20


def limit_words(max_bytes: int) -> str:
    if max_bytes % (1 << 20) == 0:
        return f"{max_bytes >> 20} MiB"
    if max_bytes % 1024 == 0:
        return f"{max_bytes >> 10} KiB"
    return f"{max_bytes} bytes"


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the cap: FastAPI lets an
    HTTPException through its body parsing, so the route's caller answers 413."""

    def __init__(self, max_bytes: int):
        super().__init__(
            413, f"the request body is larger than this service accepts ({limit_words(max_bytes)})"
        )


def declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    # h11 refuses a malformed Content-Length itself; anything else is no length here.
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


class BodyLimit:
    """Pure ASGI middleware (so it sees chunked bodies, which have no Content-Length)."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            await self.refuse(scope, receive, send)
            return
        counted = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal counted
            message = await receive()
            if message["type"] == "http.request":
                counted += len(message.get("body", b""))
                if counted > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def noting_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, noting_send)
        except BodyTooLarge:
            if started:  # too late to answer; the server closes the connection
                raise
            await self.refuse(scope, receive, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = BodyTooLarge(self.max_bytes)
        answer = JSONResponse({"detail": error.detail}, status_code=error.status_code)
        # The unread rest of the body is left on the connection: close it afterwards.
        answer.headers["Connection"] = "close"
        await answer(scope, receive, send)
