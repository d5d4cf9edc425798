"""Server-sent event streams, as the job and evaluation routes send them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

#: How long an idle event stream waits before a keep-alive comment; below redis-py's 5 s
#: default socket timeout, which a longer blocking read would run into.
KEEPALIVE_MS = 3_000
KEEPALIVE = ": keep-alive\n\n"


def event(kind: str, data: object, event_id: str | None = None) -> str:
    """One event in the wire format (``id`` lets a reconnecting client resume)."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data)}\n\n"


def sse_response(events: AsyncIterator[str]) -> StreamingResponse:
    """Unbuffered, uncached: a proxy (nginx) would otherwise hold events back."""
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
