"""Workers that die: kill -9 mid-job (another worker finishes it, nothing lost, one result),
repeated crashes (dead letter), and SIGTERM (the job is released at once)."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from support.service_helpers import (
    EASY,
    finished,
    hard,
    post,
    results_written,
    stop,
    wait_job,
    wait_registered,
    wait_until,
)

pytestmark = pytest.mark.coq


def test_kill_9_mid_job_another_worker_finishes_it_once(api, workers, rdb):
    first = workers("a")
    wait_registered(rdb, "a")
    long_job = post(api, hard(wall_s=4))
    wait_job(api, long_job, 30, lambda j: j["status"] == "running" and j["worker"] == "a")
    easy_jobs = [post(api, EASY) for _ in range(5)]
    time.sleep(0.5)  # let worker a take some of them too
    stop(first, signal.SIGKILL)  # the worker and its coqtop processes, mid-search

    workers("b")
    jobs = {job_id: wait_job(api, job_id, 90, finished) for job_id in [long_job, *easy_jobs]}
    assert jobs[long_job]["status"] == "timeout" and jobs[long_job]["worker"] == "b"
    assert jobs[long_job]["attempts"] == 2
    assert all(jobs[j]["status"] == "proved" for j in easy_jobs), jobs
    written = results_written(rdb)
    assert written == Counter({job_id: 1 for job_id in jobs}), "a result was lost or doubled"
    for job_id in jobs:
        results = [e for _, e in rdb.xrange(f"prover:events:{job_id}") if e["type"] == "result"]
        assert len(results) == 1
    # Nothing is left pending or queued.
    assert rdb.xlen("prover:jobs:coq") == 0


def test_a_job_whose_workers_keep_dying_is_dead_lettered(api, workers, rdb):
    job_id = None
    for name in ("a", "b"):
        process = workers(name, "--max-deliveries", "2")
        wait_registered(rdb, name)
        job_id = job_id or post(api, hard(wall_s=60))
        wait_job(api, job_id, 30, lambda j, n=name: j["status"] == "running" and j["worker"] == n)
        stop(process, signal.SIGKILL)
    workers("c", "--max-deliveries", "2")
    job = wait_job(api, job_id, 30, finished)
    assert job["status"] == "error" and "dead-lettered" in job["message"], job
    assert job["attempts"] == 2 and job["proof"] is None
    (entry,) = rdb.xrange("prover:dead")
    assert entry[1]["job"] == job_id and "handed out 3 times" in entry[1]["reason"]
    assert results_written(rdb) == Counter({job_id: 1})


def test_sigterm_releases_a_running_job_to_another_worker(api, workers, rdb):
    first = workers("a", "--shutdown-grace", "0.2")
    wait_registered(rdb, "a")
    job_id = post(api, hard(wall_s=3))
    wait_job(api, job_id, 30, lambda j: j["status"] == "running")
    stop(first, signal.SIGTERM)
    assert first.returncode == 0
    events = [e["type"] for _, e in rdb.xrange(f"prover:events:{job_id}")]
    assert events[-1] == "released" and api.get(f"/v1/proofs/{job_id}").json()["status"] == "queued"
    assert rdb.zscore("prover:workers:coq", "a") is None  # it said goodbye
    workers("b")
    job = wait_job(api, job_id, 60, finished)
    assert job["status"] == "timeout" and job["worker"] == "b" and job["attempts"] == 2
    wait_until(lambda: rdb.xlen("prover:jobs:coq") == 0, 5, "the stream to empty")


def test_results_survive_a_redis_restart_and_workers_reconnect(api, workers, rdb, redis_server):
    workers("a")
    wait_registered(rdb, "a")
    before = post(api, EASY)
    assert wait_job(api, before, 60, finished)["status"] == "proved"
    redis_server.restart()  # the append-only file brings everything back
    assert api.get(f"/v1/proofs/{before}").json()["status"] == "proved"
    after = post(api, EASY)  # the API reconnects; so does the worker, which proves it
    job = wait_job(api, after, 60, finished)
    assert job["status"] == "proved" and job["worker"] == "a"
    assert results_written(rdb) == Counter({before: 1, after: 1})


def test_with_redis_down_the_api_answers_503_with_the_reason(api, redis_server):
    redis_server.stop()
    health = api.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    response = api.get("/v1/proofs/anything")
    assert response.status_code == 503 and "Redis" in response.json()["detail"]
