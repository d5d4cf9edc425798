"""The API's settings: one object built by ``prover api`` (or a test) and kept on the app."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from search.config import QueueConfig
from search.types import ProverKind

#: Largest request body accepted (a header and a statement of 100,000 characters each fit).
DEFAULT_MAX_BODY_BYTES = 256 * 1024
#: Event streams open at once: half the Redis pool, so that requests always have the rest.
DEFAULT_MAX_EVENT_STREAMS = 128


class Settings(BaseModel):
    """``key_hashes``: SHA-256 hex digests of the accepted API keys (plaintext is never kept);
    ``auth`` False serves mutating routes without keys (local use only). ``data``: per prover,
    the benchmark JSONL or checkout used for jobs and evals named by benchmark (absent: the
    statements shipped with dcoprover). ``queue`` must be the workers' (the lease above all).
    ``redis_connections`` bounds the Redis pool; each open event stream holds one connection
    while it waits, so at most ``max_event_streams`` are open at once (more get 503), and the
    rest of the pool always serves requests."""

    model_config = ConfigDict(frozen=True)

    redis_url: str
    key_hashes: frozenset[str] = frozenset()
    auth: bool = True
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0)
    data: dict[ProverKind, Path] = Field(default_factory=dict)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    redis_connections: int = Field(default=256, ge=2)
    max_event_streams: int = Field(default=DEFAULT_MAX_EVENT_STREAMS, ge=1)

    @model_validator(mode="after")
    def _streams_leave_connections_for_requests(self) -> Settings:
        if self.max_event_streams >= self.redis_connections:
            raise ValueError(
                f"max_event_streams ({self.max_event_streams}) must be below redis_connections "
                f"({self.redis_connections}): streams would take every connection requests need"
            )
        return self
