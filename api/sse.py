"""Server-sent event streams, as the job and evaluation routes send them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import HTTPException, Request, status
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

#: How long an idle event stream waits before a keep-alive comment; below redis-py's 5 s
#: default socket timeout, which a longer blocking read would run into.
KEEPALIVE_MS = 3_000
KEEPALIVE = ": keep-alive\n\n"


def event(kind: str, data: object, event_id: str | None = None) -> str:
    """One event in the wire format (``id`` lets a reconnecting client resume)."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data)}\n\n"


class StreamSlots:
    """How many event streams are open, against a limit. Each open stream holds a Redis
    connection for most of its life (a blocking read, or a poll), so without a limit anyone
    who can read could open enough of them to leave no connection for requests."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def take(self) -> None:
        if self.open >= self.limit:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"{self.open} event streams are open, the most this server keeps; retry later",
                headers={"Retry-After": "5"},
            )
        self.open += 1

    def give_back(self) -> None:
        self.open -= 1


class _SlotStream(StreamingResponse):
    """A stream that gives its slot back however it ends: finished, cancelled by a client
    that went away, or never started (an async generator that never ran has no ``finally``
    to run, so the release cannot live in the generator)."""

    def __init__(self, events: AsyncIterator[str], slots: StreamSlots) -> None:
        super().__init__(
            events,
            media_type="text/event-stream",
            # Unbuffered, uncached: a proxy (nginx) would otherwise hold events back.
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.give_back()


def sse_response(request: Request, events: AsyncIterator[str]) -> StreamingResponse:
    """The response for an event stream, if a slot is free (503 with Retry-After if not)."""
    slots: StreamSlots = request.app.state.event_streams
    slots.take()
    return _SlotStream(events, slots)
