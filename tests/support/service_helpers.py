"""Helpers and job bodies shared by the service and fault-injection tests (the fixtures are in
service_fixtures.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import redis

REPO = Path(__file__).resolve().parents[2]
#: The shared MiniF2F files, as tests/conftest.py finds them; the API gets each that exists.
SHARED_DATA = Path(os.environ.get("DCOPROVER_SHARED", REPO.parent / "shared")) / "data"
MINIF2F_COQ = SHARED_DATA / "minif2f-coq.jsonl"
MINIF2F_LEAN = SHARED_DATA / "minif2f-lean4.jsonl"

API_KEY = "test-key-0123456789"
#: Short leases so that reclaiming a killed worker's job takes seconds, not the default 15 s.
LEASE_S = "2"
#: Tiny, fast jobs: the automation policy proves this with one tactic in well under a second.
EASY = {"prover": "coq", "header": "", "statement": "Theorem t : 1 + 1 = 2.",
        "budget": {"wall_timeout_s": 20, "tactic_timeout_s": 2}}  # fmt: skip
#: A job that searches until its wall budget (no fixed tactic proves Fermat for n = 3).
HARD_STATEMENT = (
    "Theorem fermat3 : forall x y z : nat, x * x * x + y * y * y = z * z * z -> x * y * z = 0."
)


def hard(wall_s: float) -> dict:
    return {"prover": "coq", "statement": HARD_STATEMENT,
            "budget": {"wall_timeout_s": wall_s, "tactic_timeout_s": 1, "max_expansions": 100_000}}  # fmt: skip


def free_port(host: str = "127.0.0.1") -> int:
    """A free port on ``host`` ("0.0.0.0": free on every interface, as Docker publishes)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def child_env() -> dict[str, str]:
    """Subprocesses import this checkout (not whatever is installed) and see the test key."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PROVER_API_KEYS"] = API_KEY
    return env


def wait_until(check: Callable[[], object], timeout: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the process's whole group (a worker and its coqtop children), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_registered(rdb: redis.Redis, name: str, timeout: float = 30) -> None:
    wait_until(lambda: rdb.zscore("prover:workers:coq", name) is not None, timeout,
               f"worker {name} to register")  # fmt: skip


def wait_job(
    api: httpx.Client,
    job_id: str,
    timeout: float,
    until: Callable[[dict], bool],
    every: float = 0.1,
) -> dict:
    """Poll the job until ``until(job)``; returns the job."""

    def check() -> dict | None:
        job = api.get(f"/v1/proofs/{job_id}").json()
        return job if until(job) else None

    return wait_until(check, timeout, f"job {job_id}", every)


TERMINAL = {"proved", "failed", "timeout", "error", "cancelled"}


def finished(job: dict) -> bool:
    return job["status"] in TERMINAL


def post(api: httpx.Client, body: dict) -> str:
    """Submit a proof job; returns its id."""
    response = api.post("/v1/proofs", json=body)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def results_written(rdb: redis.Redis) -> Counter:
    """How many results the queue accepted per job (its completion log)."""
    return Counter(fields["job"] for _, fields in rdb.xrange("prover:done"))
