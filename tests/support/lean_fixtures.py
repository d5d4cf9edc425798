"""The Lean REPL's own recorded request/reply pairs (``shared/fixtures/lean-repl``).

Each ``NAME.in`` holds JSON requests separated by blank lines and ``NAME.expected.out`` the
replies in order. Some recorded requests carry raw line breaks inside strings (Lean's JSON
reader accepts them), so requests are read with ``strict=False``.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fixtures_dir() -> Path | None:
    shared = Path(os.environ.get("DCOPROVER_SHARED", HERE.parents[2] / "shared"))
    path = shared / "fixtures" / "lean-repl"
    return path if path.is_dir() else None


@dataclass(frozen=True)
class Recording:
    name: str
    requests: tuple[dict, ...]
    replies: tuple[dict, ...]
    #: The replies as the REPL printed them (pretty-printed JSON).
    raw_replies: tuple[str, ...]


def _chunks(text: str) -> list[str]:
    chunks, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.append(line)
        elif current:
            chunks.append("\n".join(current))
            current = []
    if current:
        chunks.append("\n".join(current))
    return chunks


def load_recordings(root: Path) -> list[Recording]:
    """Every pair with a reply file, requests and replies decoded (sorted by name)."""
    recordings = []
    for request_file in sorted(root.rglob("*.in")):
        reply_file = request_file.with_name(request_file.stem + ".expected.out")
        if not reply_file.exists():
            continue
        requests = tuple(json.loads(c, strict=False) for c in _chunks(request_file.read_text()))
        raw_replies = tuple(_chunks(reply_file.read_text()))
        replies = tuple(json.loads(c) for c in raw_replies)
        name = str(request_file.relative_to(root).with_suffix(""))
        recordings.append(Recording(name, requests, replies, raw_replies))
    return recordings


FAKE_REPL = HERE / "fake_lean_repl.py"
ROOT = fixtures_dir()
RECORDINGS = load_recordings(ROOT) if ROOT else []


def fake_repl_command(*extra: str) -> str:
    """The command line that starts the recorded-traffic REPL (for ``LeanConfig``)."""
    return " ".join([sys.executable, str(FAKE_REPL), "--recordings", str(ROOT), *extra])
