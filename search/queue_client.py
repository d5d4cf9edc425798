"""``prover prove --redis`` and ``prover eval --redis``: the same commands, run by the workers.

Without ``--redis`` the CLI searches in-process (the embedded default). With it, theorems go
on the service's Redis queue as jobs and the CLI waits for their results, so a batch spreads
over every worker on every machine; the rows it writes are the service's eval rows (the same
fields as in-process rows, plus ``job`` and ``attempts``). The workers' own options decide the
policy and the prover pool.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from redis.exceptions import RedisError

from search.config import SearchConfig
from search.queue import JobQueue, connect
from search.queue_evals import EvalRuns
from search.queue_jobs import TERMINAL, JobSpec
from search.result import SearchResult, SearchStatus
from search.types import ProverKind, Theorem

POLL_S = 0.5


class QueueUnavailable(RuntimeError):
    """No Redis at the URL, or no live worker for the prover; the message says which."""


async def _queue(redis_url: str, prover: ProverKind) -> JobQueue:
    queue = JobQueue(connect(redis_url))
    try:
        workers = await queue.live_workers(prover.value)
    except (OSError, RedisError) as exc:
        await queue.redis.aclose()
        raise QueueUnavailable(f"cannot reach Redis at {redis_url}: {exc}") from None
    if workers == 0:
        await queue.redis.aclose()
        raise QueueUnavailable(
            f"no live worker serves {prover.value} on {redis_url}; start one with "
            f"`prover worker --redis {redis_url} --prover {prover.value}`"
        )
    return queue


async def prove_through_queue(
    redis_url: str, theorem: Theorem, config: SearchConfig
) -> SearchResult:
    """Submit one job and wait for its result."""
    queue = await _queue(redis_url, theorem.prover)
    try:
        job_id = await queue.submit(JobSpec(theorem=theorem, config=config))
        while True:
            record = await queue.job(job_id) or {}
            if record.get("status") in TERMINAL:
                break
            await asyncio.sleep(POLL_S)
        payload = await queue.result(job_id)
        if payload:
            return SearchResult.model_validate_json(payload)
        status = record["status"]
        return SearchResult.of(
            theorem.name,
            theorem.prover.value,
            config,
            SearchStatus.ERROR if status != "cancelled" else SearchStatus.FAILED,
            message=record.get("message") or status,
        )
    finally:
        await queue.redis.aclose()


async def evaluate_through_queue(
    redis_url: str,
    theorems: list[Theorem],
    config: SearchConfig,
    out: Path,
    on_row: Callable[[dict], None] | None = None,
) -> int:
    """Submit ``theorems`` as one eval run, append each finished row to ``out`` as it comes;
    returns the number of rows written."""
    if not theorems:
        return 0
    queue = await _queue(redis_url, theorems[0].prover)
    runs = EvalRuns(queue)
    written: set[str] = set()
    try:
        eval_id = await runs.create(theorems, config, {"source": "prover eval --redis"})
        with out.open("a") as handle:
            while len(written) < len(theorems):
                async for row in runs.rows(eval_id):
                    if row["job"] not in written:
                        written.add(row["job"])
                        handle.write(json.dumps(row) + "\n")
                        handle.flush()
                        if on_row is not None:
                            on_row(row)
                await asyncio.sleep(POLL_S)
    finally:
        await queue.redis.aclose()
    return len(written)
