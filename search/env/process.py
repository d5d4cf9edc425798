"""What every prover subprocess needs: its own process group and a memory cap.

Prover processes run untrusted tactics; a tactic that allocates without bound must kill its
own process (``RLIMIT_AS``) and not the machine, and a process we give up on is killed with
its whole group (``lake env repl`` and ``coqtop`` may start children).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal


def memory_limiter(limit_bytes: int):
    """A ``preexec_fn`` that caps the child's address space, so a runaway tactic dies alone."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return apply


def kill_group(proc: asyncio.subprocess.Process | None) -> None:
    """SIGKILL the process group of ``proc`` (started with ``start_new_session=True``)."""
    if proc is not None and proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


class ProverProcess:
    """A prover subprocess we own: liveness, and kill/close of its whole group.

    ``in_flight`` is set while a request waits for its reply; a request cancelled half-way
    leaves it set, and such a process must not be reused (its next reply would belong to the
    cancelled request).
    """

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._killed = False
        self.in_flight = False

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and not self._killed

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def kill(self) -> None:
        self._killed = True
        kill_group(self._proc)

    async def close(self) -> None:
        self.kill()
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                await self._proc.wait()
