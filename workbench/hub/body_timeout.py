"""How long the hub waits for a request body to make progress.

A client that stalls an upload, or trickles it a few bytes a second, would otherwise hold its
connection and its spool file for as long as it likes. The body must advance by ``PROGRESS``
bytes (or end) within each ``request_body_timeout_seconds`` the hub spends waiting for it;
past that the route reading the body gets :class:`~workbench.errors.RequestBodyTimeout`,
which the error funnel answers with 408 while the response has not started. Whatever was
spooled is discarded by the reader (the blob store removes its temporary file on any error),
so nothing partial is kept. Only time spent waiting for the client counts, not the hub's own
work between two reads (hashing, disk writes).

>>> app.add_middleware(BodyTimeoutMiddleware, seconds=60)   # doctest: +SKIP
"""

from __future__ import annotations

import time

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.errors import RequestBodyTimeout

PROGRESS = 64 * 1024


class BodyTimeoutMiddleware:
    """Bounds the waits for body messages until the body is complete; later waits (a
    streaming response listening for the client to disconnect) are not bounded."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        done = started = False
        waited = 0.0  # seconds spent waiting since the body last advanced by PROGRESS bytes
        advanced = 0

        async def timed_receive() -> Message:
            nonlocal done, waited, advanced
            if done or started:
                return await receive()
            began = time.monotonic()
            with anyio.move_on_after(self.seconds - waited) as wait:
                message = await receive()
            if wait.cancelled_caught:
                raise RequestBodyTimeout(
                    f"The request body came too slowly: less than {PROGRESS // 1024} KiB in "
                    f"{self.seconds:g} seconds; nothing of it was stored.",
                    code="RequestBodyTimeout",
                )
            waited += time.monotonic() - began
            advanced += len(message.get("body", b""))
            if advanced >= PROGRESS:
                waited, advanced = 0.0, 0
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, timed_receive, watched_send)
