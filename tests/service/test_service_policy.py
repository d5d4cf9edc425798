"""A worker whose policy is a served model, with the policy server down: by configuration the
job fails with the reason, or waits in the queue and runs once the server is back."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from prover.tiny_model import build_tiny_model

from support.service_helpers import (
    EASY,
    child_env,
    finished,
    free_port,
    stop,
    wait_job,
    wait_registered,
)

pytestmark = pytest.mark.coq


def served_policy_worker(workers, port: int, mode: str):
    return workers("w1", "--policy", "openai", "--policy-url", f"http://127.0.0.1:{port}/v1",
                   "--model", "tiny", "--on-policy-down", mode)  # fmt: skip


def submit(api) -> str:
    response = api.post(
        "/v1/proofs", json={**EASY, "budget": {"wall_timeout_s": 20, "max_expansions": 2}}
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_policy_server_down_fails_the_job_with_the_reason(api, workers, rdb):
    served_policy_worker(workers, free_port(), "fail")
    wait_registered(rdb, "w1")
    job = wait_job(api, submit(api), 120, finished)
    assert job["status"] == "error"
    assert "cannot reach the policy server" in job["result"]["message"]


def test_policy_server_down_the_job_waits_and_runs_once_the_server_is_back(
    api, workers, rdb, tmp_path
):
    port = free_port()
    served_policy_worker(workers, port, "wait")
    wait_registered(rdb, "w1")
    job_id = submit(api)
    # The worker tries, finds the server down, and puts the job back; it stays unfinished.
    wait_job(api, job_id, 120, lambda job: job["attempts"] >= 1 and job["status"] == "queued")
    time.sleep(3)
    assert not finished(api.get(f"/v1/proofs/{job_id}").json())
    model = build_tiny_model(tmp_path / "tiny")
    server = subprocess.Popen(
        [sys.executable, "-m", "prover.cli", "serve-policy", "--backend", "transformers",
         "--model", str(model), "--served-model-name", "tiny", "--port", str(port)],
        env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        job = wait_job(api, job_id, 240, finished, every=0.5)
    finally:
        stop(server)
    # The tiny model's random tactics decide proved or failed; the policy is no longer the error.
    assert job["status"] in ("proved", "failed", "timeout"), job
    assert job["versions"]["policy"].startswith("openai")
