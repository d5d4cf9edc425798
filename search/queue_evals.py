"""Evaluation runs on the queue: a benchmark split submitted as one job per theorem, with
progress counted by the queue's result script and rows read back from the durable results.

``{prefix}:eval:{id}`` holds the run (config, totals, ``done`` and ``status:<s>`` counters,
incremented once per job by the same atomic write that stores its result);
``{prefix}:eval:{id}:jobs`` lists its job ids in benchmark order; ``{prefix}:evals`` is the
index of runs (a sorted set scored by creation time), which the dashboard lists.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from search.config import SearchConfig
from search.queue import JobQueue, new_id
from search.queue_jobs import TERMINAL, JobSpec
from search.types import Theorem

_CHUNK = 200


class EvalRuns:
    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self.redis = queue.redis

    def key(self, eval_id: str) -> str:
        return f"{self.queue.prefix}:eval:{eval_id}"

    async def create(self, theorems: list[Theorem], config: SearchConfig, meta: dict) -> str:
        """Record the run, then submit its jobs (the record first, so no result is uncounted)."""
        eval_id = new_id()
        await self.redis.hset(
            self.key(eval_id),
            mapping={**meta, "config": config.model_dump_json(), "total": len(theorems),
                     "done": 0, "created_at": time.time()},
        )  # fmt: skip
        specs = [JobSpec(theorem=t, config=config, eval_id=eval_id) for t in theorems]
        await self.redis.zadd(self.index_key, {eval_id: time.time()})
        job_ids = await self.queue.submit_many(specs)
        for start in range(0, len(job_ids), 1000):
            await self.redis.rpush(f"{self.key(eval_id)}:jobs", *job_ids[start : start + 1000])
        return eval_id

    @property
    def index_key(self) -> str:
        return f"{self.queue.prefix}:evals"

    async def newest(self, limit: int) -> list[str]:
        """The ids of the ``limit`` most recent runs, newest first."""
        return await self.redis.zrevrange(self.index_key, 0, limit - 1)

    async def record(self, eval_id: str) -> dict[str, str] | None:
        return await self.redis.hgetall(self.key(eval_id)) or None

    async def records(self, eval_ids: list[str]) -> dict[str, dict[str, str]]:
        """Several runs' records in one round trip; runs that are gone are left out."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for eval_id in eval_ids:
                pipe.hgetall(self.key(eval_id))
            replies = await pipe.execute()
        return {eval_id: r for eval_id, r in zip(eval_ids, replies, strict=True) if r}

    async def rows(self, eval_id: str) -> AsyncIterator[dict]:
        """One row per finished theorem, in benchmark order: the theorem, the job, the versions
        of what ran and the search result (without its tree), like ``prover eval``'s rows."""
        jobs_key = f"{self.key(eval_id)}:jobs"
        for start in range(0, await self.redis.llen(jobs_key), _CHUNK):
            job_ids = await self.redis.lrange(jobs_key, start, start + _CHUNK - 1)
            async with self.redis.pipeline(transaction=False) as pipe:
                for job_id in job_ids:
                    pipe.hgetall(self.queue.job_key(job_id))
                    pipe.get(f"{self.queue.prefix}:result:{job_id}")
                replies = await pipe.execute()
            for job_id, record, result in zip(job_ids, replies[::2], replies[1::2], strict=True):
                if record and record["status"] in TERMINAL:
                    yield eval_row(job_id, record, result)


def eval_row(job_id: str, record: dict[str, str], result_json: str | None) -> dict:
    theorem = JobSpec.model_validate_json(record["spec"]).theorem
    row = {
        "name": theorem.name,
        "split": theorem.split,
        "source": theorem.source,
        "job": job_id,
        "attempts": int(record.get("attempts", 0)),
        "versions": json.loads(record.get("versions") or "{}"),
        "status": record["status"],
        "message": record.get("message", ""),
    }
    if result_json:
        result = json.loads(result_json)
        for dropped in ("tree", "theorem"):
            result.pop(dropped, None)
        # The job's status wins: a search result is never 'cancelled', a job can be.
        result.pop("status")
        result.pop("message")
        row.update(result)
    return row


def mean_pass_at_k(rows: list[dict]) -> dict[int, float] | None:
    """Average of the per-theorem pass@k over rows that judged every sample; None if none
    did (best-first, or pass@N stopping at the first proof)."""
    curves = [row["pass_at_k"] for row in rows if row.get("pass_at_k")]
    if not curves or len(curves) < len(rows):
        return None
    ks = set.intersection(*(set(curve) for curve in curves))
    return {int(k): sum(c[k] for c in curves) / len(curves) for k in sorted(ks, key=int)}
