"""A stand-in for the Lean REPL executable, built from the REPL's own recordings.

It answers a conversation only if that conversation, request by request, is a prefix of a
recorded one (``shared/fixtures/lean-repl``), with the recorded reply; anything else gets a
``{"message": ...}`` naming the request, so a client that sends different JSON fails its test.
It speaks the real framing: requests and pretty-printed replies separated by blank lines.

For fault tests, a tactic containing ``FAULT_HANG``, ``FAULT_CRASH``, ``FAULT_FLOOD``,
``FAULT_GARBAGE`` or ``FAULT_MEMORY`` makes it hang, exit, print without end, print non-JSON, or
allocate until its memory limit kills it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.lean_fixtures import load_recordings


def misbehave(request: dict) -> None:
    tactic = str(request.get("tactic", ""))
    if "FAULT_HANG" in tactic:
        time.sleep(3600)
    if "FAULT_CRASH" in tactic:
        sys.stderr.write("INTERNAL PANIC: fake crash\n")
        sys.stderr.flush()
        os._exit(3)
    if "FAULT_FLOOD" in tactic:
        line = b"x" * 65535 + b"\n"
        while True:
            sys.stdout.buffer.write(line)
    if "FAULT_GARBAGE" in tactic:
        sys.stdout.write("this is not JSON\n\n")
        sys.stdout.flush()
    if "FAULT_MEMORY" in tactic:
        hoard = []
        while True:
            hoard.append(bytearray(64 << 20))


def recorded_reply(recordings: list, history: list[dict], stateless: bool) -> str | None:
    """The recorded reply to the last request of ``history``: in a recording that starts with
    the whole history, or (``stateless``) wherever that request was recorded."""
    request = history[-1]
    for recording in recordings:
        if stateless and request in recording.requests:
            return recording.raw_replies[recording.requests.index(request)]
        if not stateless and list(recording.requests[: len(history)]) == history:
            return recording.raw_replies[len(history) - 1]
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recordings", type=Path, required=True)
    parser.add_argument("--only", default=None, help="answer from this recording alone")
    parser.add_argument(
        "--stateless", action="store_true",
        help="answer each request by itself (for benchmarks that repeat one request)",
    )  # fmt: skip
    args = parser.parse_args()
    recordings = [r for r in load_recordings(args.recordings) if args.only in (None, r.name)]
    history: list[dict] = []
    buffer: list[str] = []
    for line in sys.stdin:
        if line.strip():
            buffer.append(line)
            continue
        if not buffer:
            continue
        request = json.loads("".join(buffer), strict=False)
        buffer = []
        misbehave(request)
        history.append(request)
        reply = recorded_reply(recordings, history, args.stateless)
        if reply is None:
            reply = json.dumps(
                {"message": f"fake REPL: no recording continues with {json.dumps(request)}"}
            )
        sys.stdout.write(reply + "\n\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
