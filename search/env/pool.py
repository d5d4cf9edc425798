"""One pool of warm prover processes for every backend (Coq's coqtop, the Lean REPL).

Starting a prover is its slow part (Coq loads the automation preamble, Lean ``import
Mathlib``), so processes outlive a search: a search takes one, gives it back, and the next
search with the same ``key`` (what the process has loaded: Lean's header; Coq's is always the
preamble) starts warm. The rules are the same for every prover, so they live here once:

- at most ``size`` processes are taken at a time (``slot``); further searches queue;
- a taken process is never shared; a process that died while idle is not handed out;
- a process goes back only if it is alive, has no request in flight (a cancelled request's
  reply would reach the next user) and has served fewer than ``recycle_after`` theorems (a
  prover never frees what a long search allocated); ``reset`` may refuse it too;
- when the pool is full, idle processes of other keys are closed, least recently used first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from search.env.process import ProverProcess


@dataclass
class Pooled:
    """What the pool keeps of a process: the process, what it has loaded, theorems served."""

    process: ProverProcess
    key: str
    theorems: int = 0


W = TypeVar("W", bound=Pooled)


class ProcessPool(Generic[W]):
    """Warm processes by key, at most ``size`` of them taken at a time."""

    def __init__(
        self,
        size: int,
        recycle_after: int,
        start: Callable[[str], Awaitable[W]],
        reset: Callable[[W], Awaitable[bool]] | None = None,
    ) -> None:
        self.size = size
        self.recycle_after = recycle_after
        self._start = start
        self._reset = reset
        self._slots = asyncio.Semaphore(size)
        self._idle: list[W] = []
        #: Slots taken (each holds, or is about to hold, one process).
        self.busy = 0

    @property
    def idle(self) -> int:
        return len(self._idle)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``size`` places for the length of a search or a check."""
        async with self._slots:
            self.busy += 1
            try:
                yield
            finally:
                self.busy -= 1

    async def take(self, key: str) -> W:
        """An idle live process with ``key`` (most recently released first), else a new one."""
        for index in range(len(self._idle) - 1, -1, -1):
            worker = self._idle[index]
            if worker.key == key:
                del self._idle[index]
                if worker.process.alive:
                    return worker
                await worker.process.close()
        while self._idle and len(self._idle) + self.busy > self.size:
            await self._idle.pop(0).process.close()
        return await self._start(key)

    async def release(self, worker: W | None) -> None:
        """Give ``worker`` back after one theorem: kept warm if healthy, else closed."""
        if worker is None:
            return
        worker.theorems += 1
        healthy = (
            worker.process.alive
            and not worker.process.in_flight
            and worker.theorems < self.recycle_after
        )
        if healthy and self._reset is not None:
            healthy = await self._reset(worker)
        if healthy:
            self._idle.append(worker)
        else:
            await worker.process.close()

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().process.close()
