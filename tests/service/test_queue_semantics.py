"""The queue's guarantees, driven directly against a real redis-server (no worker process):
leases decide reclaiming, a stalled worker loses its job, a result is written once."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from search.config import QueueConfig, SearchConfig
from search.queue import JobQueue
from search.queue_jobs import JobSpec, JobStatus
from search.types import Theorem

SPEC = JobSpec(theorem=Theorem(name="t", statement="Theorem t : True."), config=SearchConfig())


@pytest.fixture
async def queue(redis_url):
    redis = Redis.from_url(redis_url, decode_responses=True)
    queue = JobQueue(redis, QueueConfig(lease_s=0.6, poll_s=0.1, max_deliveries=3))
    await queue.register("coq", "a")
    yield queue
    await redis.aclose()


async def test_heartbeats_keep_a_job_and_a_stalled_worker_loses_it(queue):
    job_id = await queue.submit(SPEC)
    (delivery,) = await queue.take("coq", "a", 1, block_ms=100)
    assert delivery.job_id == job_id and delivery.deliveries == 1
    assert (await queue.start("coq", delivery, "a"))[0] == 1
    for _ in range(8):  # 0.8 s of heartbeats: longer than the lease, yet nobody may take it
        assert await queue.heartbeat("coq", delivery, "a") == 0
        assert await queue.take("coq", "b", 1, block_ms=0) == []
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.7)  # 'a' stalls past its lease
    (reclaimed,) = await queue.take("coq", "b", 1, block_ms=0)
    assert reclaimed.job_id == job_id and reclaimed.deliveries == 2
    assert (await queue.start("coq", reclaimed, "b"))[0] == 2
    assert await queue.heartbeat("coq", delivery, "a") == -1  # 'a' wakes up: not its job now

    assert await queue.finish("coq", reclaimed, 2, JobStatus.PROVED, "b's result", '{"x": 2}')
    # A late result from the first attempt changes nothing.
    assert not await queue.finish("coq", delivery, 1, JobStatus.FAILED, "a's result", '{"x": 1}')
    record = await queue.job(job_id)
    assert record["status"] == "proved" and record["result_attempt"] == "2"
    assert await queue.result(job_id) == '{"x": 2}'
    assert len(await queue.redis.xrange(queue.done_key)) == 1
    assert await queue.redis.xlen(queue.stream("coq")) == 0


async def test_a_cancelled_queued_job_is_never_handed_out(queue):
    job_id = await queue.submit(SPEC)
    assert await queue.cancel(job_id) == "cancelled"
    assert await queue.take("coq", "a", 1, block_ms=50) == []
    assert (await queue.job(job_id))["status"] == "cancelled"
    assert await queue.cancel("unknown") is None


async def test_a_redelivered_finished_job_is_not_run_again(queue):
    job_id = await queue.submit(SPEC)
    (delivery,) = await queue.take("coq", "a", 1, block_ms=100)
    await queue.start("coq", delivery, "a")
    await queue.finish("coq", delivery, 1, JobStatus.PROVED, "done")
    # Even if the same entry were handed out again, start refuses to run a finished job.
    assert await queue.start("coq", delivery, "b") is None
    assert (await queue.job(job_id))["attempts"] == "1"


async def test_reclaiming_reaches_every_stale_entry_of_a_long_pending_list(queue):
    job_ids = set(await queue.submit_many([SPEC] * 25))
    assert len(await queue.take("coq", "a", 25, block_ms=100)) == 25
    await asyncio.sleep(0.7)  # 'a' died holding all of them
    # One at a time, as a worker with one free slot asks; each call scans only a few entries.
    reclaimed = [d for _ in range(40) for d in await queue.take("coq", "b", 1, block_ms=0)]
    assert {d.job_id for d in reclaimed} == job_ids and len(reclaimed) == 25
    assert all(d.deliveries == 2 for d in reclaimed)
