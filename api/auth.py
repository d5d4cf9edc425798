"""API keys: bearer tokens checked against SHA-256 digests, so a leaked key file or
environment dump of the API does not leak usable keys.

Keys come from ``PROVER_API_KEYS`` (comma-separated plaintext, hashed at start-up; convenient
for compose files and tests) or from a file with one ``sha256:<hex digest>`` per line (what to
keep on disk; ``prover hash-key`` prints such a line).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from fastapi import HTTPException, Request, status

ENV_KEYS = "PROVER_API_KEYS"
ENV_KEYS_FILE = "PROVER_API_KEYS_FILE"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def read_key_file(path: Path) -> set[str]:
    """Digests from a key file; blank lines and ``#`` comments are skipped."""
    digests = set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest = line.removeprefix("sha256:").lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"{path}:{number}: expected 'sha256:<64 hex digits>'")
        digests.add(digest)
    return digests


def load_key_hashes(key_file: Path | None = None) -> frozenset[str]:
    """Digests of every configured key: ``PROVER_API_KEYS`` plus the key file (the argument,
    or ``PROVER_API_KEYS_FILE``)."""
    digests = {hash_key(k.strip()) for k in os.environ.get(ENV_KEYS, "").split(",") if k.strip()}
    key_file = key_file or (
        Path(os.environ[ENV_KEYS_FILE]) if os.environ.get(ENV_KEYS_FILE) else None
    )
    if key_file is not None:
        digests |= read_key_file(key_file)
    return frozenset(digests)


async def require_key(request: Request) -> None:
    """Dependency of every mutating route: a valid ``Authorization: Bearer KEY`` header."""
    settings = request.app.state.settings
    if not settings.auth:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send 'Authorization: Bearer KEY'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    digest = hash_key(token.strip())
    # compare_digest against every key, so the time taken does not say which one was close.
    if not any([hmac.compare_digest(digest, known) for known in settings.key_hashes]):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid API key", headers={"WWW-Authenticate": "Bearer"}
        )
