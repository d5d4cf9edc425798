"""Dependencies shared by the routers: the queue, benchmark statements, a live worker."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from search.benchmarks import BenchmarkError, load_benchmark
from search.queue import JobQueue
from search.types import ProverKind, Theorem


async def get_queue(request: Request) -> JobQueue:
    # async: a plain ``def`` dependency would cost a thread hop on every request.
    return request.app.state.queue


QueueDep = Annotated[JobQueue, Depends(get_queue)]


def not_found(what: str, ident: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no {what} with id {ident!r}")


#: A live worker seen this recently is not looked up again (saves a round trip per request).
WORKER_SEEN_S = 1.0


#: After a failed benchmark load, requests get the same answer for this long before a retry.
BENCHMARK_RETRY_S = 60.0


async def require_worker(request: Request, prover: ProverKind) -> None:
    """Refuse work that no live worker can run, rather than queue it silently forever."""
    seen: dict[ProverKind, float] = request.app.state.workers_seen
    if time.monotonic() - seen.get(prover, -WORKER_SEEN_S) < WORKER_SEEN_S:
        return
    if await request.app.state.queue.live_workers(prover.value) == 0:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"no live worker serves prover {prover.value!r}; start one with "
            f"`prover worker --prover {prover.value} --redis URL`",
        )
    seen[prover] = time.monotonic()


async def benchmark_theorems(
    request: Request,
    prover: ProverKind,
    benchmark: str = "minif2f",
    split: str | None = None,
    include_unsupported: bool = True,
) -> list[Theorem]:
    """A benchmark's theorems for ``prover`` (one split, or all), loaded once per process.
    ``include_unsupported``: also the statements this Coq cannot state (``coq816_ok:
    false``), which a job may name but an evaluation leaves out, as ``prover eval`` does."""
    key = (benchmark, prover, split, include_unsupported)
    cache: dict[tuple, list[Theorem]] = request.app.state.benchmarks
    failures: dict[tuple, tuple[float, str]] = request.app.state.benchmark_failures
    if key not in cache:
        failed_at, reason = failures.get(key, (-BENCHMARK_RETRY_S, ""))
        if time.monotonic() - failed_at < BENCHMARK_RETRY_S:
            # A download that just failed (or hung until its timeout) is not retried per request.
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, reason)
        data = request.app.state.settings.data.get(prover) if benchmark == "minif2f" else None
        try:
            cache[key] = await asyncio.to_thread(
                load_benchmark, benchmark, prover, data, split,
                include_unsupported=include_unsupported,
            )  # fmt: skip
        except BenchmarkError as exc:
            if benchmark == "coqlib" and prover is not ProverKind.COQ:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
            reason = f"benchmark data unavailable: {exc}"
            failures[key] = (time.monotonic(), reason)
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, reason) from None
    return cache[key]
