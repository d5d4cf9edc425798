"""Request batching: concurrent sampling requests from many searches become one batch.

A search asks for tactics one state at a time, and hundreds of searches run at once. Decoding
each request alone leaves a GPU nearly idle (a batch of 32 rows costs about what one row
costs), so requests wait in a queue for at most ``max_wait_ms``, or until ``max_batch_rows``
rows are waiting, and are decoded together in a worker thread. While one batch decodes, the
next one gathers; the event loop never blocks on the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from prover.config import BatchingConfig
from prover.generation import BatchSampler, Sample, SampleRequest


@dataclass
class _Pending:
    request: SampleRequest
    future: asyncio.Future[list[Sample]]


@dataclass
class BatchStats:
    """What the batcher has done, for benchmarks and logs."""

    batches: int = 0
    requests: int = 0
    rows: int = 0


class RequestBatcher:
    """Gathers ``submit()`` calls into batches for one ``BatchSampler``."""

    def __init__(self, sampler: BatchSampler, config: BatchingConfig | None = None) -> None:
        self.sampler = sampler
        self.config = config or BatchingConfig()
        self.stats = BatchStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        #: A request that did not fit in the last batch: it opens the next one.
        self._held: _Pending | None = None

    async def submit(self, request: SampleRequest) -> list[Sample]:
        """The request's samples, once the batch it joined has been decoded.

        A request that cannot fit in the context fails here, alone, before it can fail a batch.
        """
        self.sampler.check(request)
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop (another asyncio.run): the old queue and worker belong to a
            # closed loop and can never be awaited again.
            self._loop, self._queue, self._held, self._worker = loop, asyncio.Queue(), None, None
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="policy-batcher")
        future: asyncio.Future[list[Sample]] = loop.create_future()
        await self._queue.put(_Pending(request, future))
        return await future

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def _gather(self) -> list[_Pending]:
        """The first waiting request, then more until the batch is full or the wait is over."""
        batch = [self._held or await self._queue.get()]
        self._held = None
        rows = batch[0].request.n
        deadline = time.monotonic() + self.config.max_wait_ms / 1000
        while rows < self.config.max_batch_rows:
            try:
                pending = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    pending = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if rows + pending.request.n > self.config.max_batch_rows:
                self._held = pending
                break
            batch.append(pending)
            rows += pending.request.n
        return batch

    async def _run(self) -> None:
        while True:
            batch = [p for p in await self._gather() if not p.future.cancelled()]
            if not batch:
                continue
            try:
                results = await asyncio.to_thread(self.sampler.sample, [p.request for p in batch])
            except Exception as exc:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            self.stats.batches += 1
            self.stats.requests += len(batch)
            self.stats.rows += sum(p.request.n for p in batch)
            for pending, samples in zip(batch, results, strict=True):
                if not pending.future.done():
                    pending.future.set_result(samples)
