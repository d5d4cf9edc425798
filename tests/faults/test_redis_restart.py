"""Redis restarted twice in the middle of a 40-job run, with jobs running each time and down
for longer than the clients' retries last: workers reconnect, the jobs they held resume on
another delivery, and every job still ends with exactly one result.

(tests/service has the single-job case: a result survives a restart and a worker reconnects.
Here the outage hits searches in flight, whose heartbeats and result writes fail.)
"""

from __future__ import annotations

import pytest

from .runs import all_written, assert_exactly_once, submit_batch
from support.service_helpers import wait_registered, wait_until

pytestmark = [pytest.mark.coq, pytest.mark.slow]

JOBS = 40
#: Longer than redis-py's retries (about 5 s), so clients see the connection fail.
DOWN_S = 7.0


def running(rdb) -> int:
    return int(rdb.xpending("prover:jobs:coq", "workers")["pending"])


def test_redis_restarts_mid_run_lose_and_double_nothing(api, workers, rdb, redis_server):
    for name in ("a", "b"):
        workers(name, "--max-deliveries", "10")
        wait_registered(rdb, name)
    job_ids = submit_batch(api, JOBS)
    for results_before in (5, 20):
        wait_until(lambda n=results_before: all_written(rdb, n), 120, f"{results_before} results")
        wait_until(lambda: running(rdb) > 0, 30, "a job in flight")
        redis_server.restart(down_s=DOWN_S)
    wait_until(lambda: all_written(rdb, JOBS), 180, "every result")
    attempts = assert_exactly_once(api, rdb, job_ids)
    assert sum(n for tries, n in attempts.items() if tries > 1) >= 1, "no job was interrupted"
    assert {"a", "b"} <= set(rdb.zrange("prover:workers:coq", 0, -1)), "a worker did not return"
