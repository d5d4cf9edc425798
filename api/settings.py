"""The API's settings: one object built by ``prover api`` (or a test) and kept on the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from search.types import ProverKind

#: Largest request body accepted (a header and a statement of 100,000 characters each fit).
DEFAULT_MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class Settings:
    """``key_hashes``: SHA-256 hex digests of the accepted API keys (plaintext is never kept);
    ``auth`` False serves mutating routes without keys (local use only). ``data``: per prover,
    the benchmark JSONL or checkout used for jobs and evals named by benchmark (absent: the
    statements shipped with dcoprover). ``lease_s`` must match the workers'.
    ``redis_connections`` bounds the Redis pool (each open event stream holds one
    connection)."""

    redis_url: str
    key_hashes: frozenset[str] = field(default_factory=frozenset)
    auth: bool = True
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    data: dict[ProverKind, Path] = field(default_factory=dict)
    prefix: str = "prover"
    lease_s: float = 15.0
    redis_connections: int = 256
