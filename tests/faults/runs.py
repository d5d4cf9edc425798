"""A batch of trivial Coq jobs and the exactly-once check the fault tests end with.

The jobs are easy on purpose: the faults, not the proofs, are under test, and a job that
proves in a fraction of a second keeps many of them in flight across each fault.
"""

from __future__ import annotations

from collections import Counter

import httpx
import redis

from support.service_helpers import post, results_written, wait_until

BUDGET = {"wall_timeout_s": 30, "tactic_timeout_s": 2}


def trivial(n: int) -> dict:
    """A trivial goal with its own statement, so every job is its own search."""
    return {"prover": "coq", "header": "", "statement": f"Theorem t{n} : {n} + 1 = S {n}.",
            "budget": BUDGET}  # fmt: skip


def submit_batch(api: httpx.Client, jobs: int) -> list[str]:
    return [post(api, trivial(n)) for n in range(jobs)]


def all_written(rdb: redis.Redis, jobs: int) -> bool:
    """True once the queue's completion log holds ``jobs`` results."""
    return rdb.xlen("prover:done") >= jobs


def assert_exactly_once(api: httpx.Client, rdb: redis.Redis, job_ids: list[str]) -> Counter:
    """Every job has exactly one result, it is a proof, and the queue holds nothing more.
    Returns the attempts each job took (how many were redelivered after a fault)."""
    wait_until(lambda: all_written(rdb, len(job_ids)), 5, "the last results")
    written = results_written(rdb)
    lost = [j for j in job_ids if written[j] == 0]
    doubled = [j for j in job_ids if written[j] > 1]
    assert not lost and not doubled, f"lost {lost}, written more than once {doubled}"
    assert set(written) == set(job_ids)
    attempts: Counter = Counter()
    for job_id in job_ids:
        job = api.get(f"/v1/proofs/{job_id}").json()
        assert job["status"] == "proved" and job["proof"], job
        attempts[job["attempts"]] += 1
        results = [e for _, e in rdb.xrange(f"prover:events:{job_id}") if e["type"] == "result"]
        assert len(results) == 1, (job_id, results)
    assert rdb.xlen("prover:jobs:coq") == 0, "entries left in the job stream"
    assert rdb.xpending("prover:jobs:coq", "workers")["pending"] == 0
    assert rdb.xlen("prover:dead") == 0
    return attempts
