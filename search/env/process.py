"""What every prover subprocess needs: its own process group, a memory cap, and death with
its parent.

Prover processes run untrusted tactics; a tactic that allocates without bound must kill its
own process (``RLIMIT_AS``) and not the machine, and a process we give up on is killed with
its whole group (``lake env repl`` and ``coqtop`` may start children). A worker killed with
``kill -9`` cannot kill anything: its provers get SIGKILL from the kernel instead
(``PR_SET_PDEATHSIG``), so a ``coqc`` check does not run on for minutes after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import signal
import sys
from collections.abc import Callable, Iterator

import psutil

from search.types import ProverFault


def memory_limiter(limit_bytes: int):
    """A ``preexec_fn`` that caps the child's address space, so a runaway tactic dies alone."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
        if sys.platform == "linux":
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return apply


#: ``prctl`` option: the signal the kernel sends this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def kill_group(proc: asyncio.subprocess.Process | None) -> None:
    """SIGKILL the process group of ``proc`` (started with ``start_new_session=True``).

    Also when ``proc`` itself has already exited: its children live on in the group without it
    (a ``csdpcert`` that coqtop started for ``psatz`` kept running, and starting ``csdp``, for
    21 minutes after its coqtop was gone, and the benchmarks shared the CPU with it).
    """
    if proc is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def kill_descendants(pid: int | None) -> int:
    """SIGKILL every descendant of ``pid``, but not ``pid`` itself; return how many there were.

    Coq's ``Timeout`` interrupts ``psatz`` inside coqtop but leaves the ``csdpcert``/``csdp``
    processes it started running to the end of their own search. Each timed-out ``psatz``
    left one more behind, competing with the search for the CPU, until coqtop was recycled.
    """
    if pid is None:
        return 0
    try:
        descendants = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for process in descendants:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    return len(descendants)


@contextlib.contextmanager
def kill_on_fault(
    current: Callable[[], ProverProcess | None],
    on_fault: Callable[[ProverFault], None] | None = None,
) -> Iterator[None]:
    """On a fault inside the block, kill the process ``current()`` names at that moment (a
    restart inside the block replaces it) and re-raise: the next step starts from a fresh one.
    A step cancelled half-way needs nothing here: its request stays ``in_flight`` and the pool
    discards the process when it is released."""
    try:
        yield
    except ProverFault as exc:
        if on_fault is not None:
            on_fault(exc)
        process = current()
        if process is not None:
            process.kill()
        raise


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
