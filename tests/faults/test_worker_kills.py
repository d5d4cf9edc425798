"""``kill -9`` of workers at random moments during a 200-job run, each restarted at once:
no job is lost, none gets two results, every one ends proved.

The victim is always a worker holding jobs (entries pending under its name), so each kill
lands mid-job. ``KILLS`` kills, a random 1-3 s apart, then the run finishes undisturbed; the
seed is printed (``FAULT_SEED`` replays it).
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from .runs import all_written, assert_exactly_once, submit_batch
from support.service_helpers import stop, wait_registered, wait_until

pytestmark = [pytest.mark.coq, pytest.mark.slow]

JOBS = 200
WORKERS = 3
KILLS = 10
#: Far above the kills one job can meet, so no job is dead-lettered: the test is about
#: redelivery. (The dead-letter ceiling has its own test in tests/service.)
MAX_DELIVERIES = "20"


def holding_jobs(rdb, name: str) -> bool:
    consumers = rdb.xpending("prover:jobs:coq", "workers")["consumers"] or []
    return any(c["name"] == name and int(c["pending"]) > 0 for c in consumers)


def test_random_kill_9_of_workers_loses_and_doubles_nothing(api, workers, rdb):
    seed = int(os.environ.get("FAULT_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    names = [f"w{slot}" for slot in range(WORKERS)]
    procs = [workers(name, "--max-deliveries", MAX_DELIVERIES) for name in names]
    for name in names:
        wait_registered(rdb, name)
    job_ids = submit_batch(api, JOBS)

    kills, started = 0, time.monotonic()
    deadline = started + 300
    while kills < KILLS and not all_written(rdb, JOBS):
        assert time.monotonic() < deadline, f"seed {seed}: {rdb.xlen('prover:done')} results"
        time.sleep(rng.uniform(1.0, 3.0))
        busy = [slot for slot in range(WORKERS) if holding_jobs(rdb, names[slot])]
        if not busy:
            continue
        slot = rng.choice(busy)
        stop(procs[slot], signal.SIGKILL)  # the worker and its coqtop, whatever they were doing
        kills += 1
        names[slot] = f"w{slot}-{kills}"
        procs[slot] = workers(names[slot], "--max-deliveries", MAX_DELIVERIES)
    wait_until(lambda: all_written(rdb, JOBS), deadline - time.monotonic(), f"seed {seed}: results")
    elapsed = time.monotonic() - started

    attempts = assert_exactly_once(api, rdb, job_ids)
    redelivered = sum(n for tries, n in attempts.items() if tries > 1)
    print(f"\nseed {seed}: {JOBS} jobs, {kills} kills, {redelivered} redelivered, "
          f"attempts {dict(sorted(attempts.items()))}, 0 lost, 0 doubled, {elapsed:.0f} s")  # fmt: skip
    assert kills == KILLS, f"the run ended before the faults: only {kills} kills"
    assert redelivered >= KILLS // 2, "too few kills landed on running jobs"
