"""One Lean REPL process (leanprover-community/repl) driven over pipes with asyncio.

Requests are JSON objects followed by a blank line on stdin; each reply is one (pretty-printed)
JSON object followed by a blank line on stdout. JSON strings escape their newlines, so a blank
line can only be the separator. The REPL itself has no timeouts, no memory limit and never frees
a state: this driver supplies the first two (a wall-clock limit per request that kills the
process group, ``RLIMIT_AS``), and the pool recycles processes for the third.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from search.env.lean_protocol import Reply, parse_reply
from search.env.process import ProverProcess, memory_limiter
from search.types import ProverCrash, ProverTimeout

#: A reply larger than this is a runaway print, not a proof state anyone can use.
MAX_REPLY_BYTES = 64 << 20
_STDERR_TAIL = 4_000


def repl_argv(command: str, project_dir: Path | None) -> list[str]:
    """The REPL's argv from a shell-like command, checked to exist, with install advice."""
    argv = shlex.split(command)
    if not argv:
        raise ValueError("empty Lean REPL command")
    program = argv[0]
    local = project_dir / program if project_dir and "/" in program else None
    if shutil.which(program) is None and not (local and local.exists()):
        raise FileNotFoundError(
            f"{program!r} (from the Lean REPL command {command!r}) not found; install Lean, the "
            "REPL and MiniF2F with scripts/setup_lean.sh, or set --lean-repl-cmd/--lean-project"
        )
    return argv


class LeanRepl(ProverProcess):
    """A Lean REPL process; ``request`` sends one JSON request and returns its parsed reply."""

    def __init__(
        self,
        argv: Sequence[str],
        memory_bytes: int,
        cwd: Path | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        super().__init__()
        self._argv = list(argv)
        self._memory_bytes = memory_bytes
        self._cwd = cwd
        self._max_reply_bytes = max_reply_bytes
        self._stderr_task: asyncio.Task[None] | None = None
        self._stderr_tail = ""
        self.requests = 0

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=memory_limiter(self._memory_bytes),
            start_new_session=True,
            cwd=self._cwd,
            limit=self._max_reply_bytes,
        )
        self._stderr_task = asyncio.create_task(self._drain_stderr())

    async def _drain_stderr(self) -> None:
        """Keep the last lines of stderr (for crash reports) without letting a flood block."""
        assert self._proc is not None and self._proc.stderr is not None
        while chunk := await self._proc.stderr.read(1 << 16):
            self._stderr_tail = (self._stderr_tail + chunk.decode(errors="replace"))[-_STDERR_TAIL:]

    async def request(self, payload: dict[str, Any], timeout: float) -> Reply:
        """Send ``payload`` and wait for its reply.

        Raises ``ProverTimeout`` when no reply comes within ``timeout`` seconds and
        ``ProverCrash`` when the process dies, floods, or answers something that is not a
        reply; in both cases the process is killed (the caller starts a new one). A request
        cancelled half-way leaves ``in_flight`` set: such a process must not be reused.
        """
        if not self.alive or self._proc is None or self._proc.stdin is None:
            raise ProverCrash("the Lean REPL is not running")
        self.requests += 1
        self.in_flight = True
        try:
            self._proc.stdin.write(json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")
            await self._proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise await self._crash(f"the Lean REPL closed its input ({exc})") from exc
        try:
            raw = await asyncio.wait_for(self._read_reply(), timeout)
        except TimeoutError:
            self.kill()
            raise ProverTimeout(
                f"no answer from the Lean REPL within {timeout:.1f}s to "
                f"{json.dumps(payload, ensure_ascii=False)[:120]}"
            ) from None
        try:
            reply = parse_reply(json.loads(raw))
        except json.JSONDecodeError as exc:
            reason = f"the Lean REPL printed non-JSON ({exc.msg}): {raw[:200]!r}"
            raise await self._crash(reason) from None
        except ProverCrash as exc:
            raise await self._crash(str(exc)) from None
        self.in_flight = False
        return reply

    async def _read_reply(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        while True:
            try:
                chunk = await self._proc.stdout.readuntil(b"\n\n")
            except asyncio.IncompleteReadError as exc:
                raise await self._crash(
                    f"the Lean REPL exited (code {await self._proc.wait()}); "
                    f"last output {exc.partial[-200:]!r}"
                ) from None
            except asyncio.LimitOverrunError:
                raise await self._crash(
                    f"the Lean REPL's reply exceeds {self._max_reply_bytes} bytes"
                ) from None
            text = chunk.decode(errors="replace").strip()
            if text:
                return text

    async def _crash(self, reason: str) -> ProverCrash:
        """Kill the process and build the error, with the end of its stderr."""
        self.kill()
        if self._stderr_task is not None:
            await asyncio.wait({self._stderr_task}, timeout=1)
        tail = self._stderr_tail.strip()
        return ProverCrash(reason + (f"; stderr: {tail[-500:]}" if tail else ""))

    async def close(self) -> None:
        await super().close()
        if self._stderr_task is not None:
            self._stderr_task.cancel()
