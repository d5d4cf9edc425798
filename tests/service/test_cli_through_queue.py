"""`prover prove --redis` and `prover eval --redis`: the CLI's jobs run on the service's workers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support.service_helpers import child_env, wait_registered

pytestmark = pytest.mark.coq


def prover(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prover.cli", *args], capture_output=True,
                          text=True, timeout=300, env=child_env())  # fmt: skip


def test_prove_through_the_queue_prints_the_workers_checked_proof(redis_url, workers, rdb):
    done = prover("prove", "--statement", "Theorem t : 1 + 1 = 2.", "--redis", redis_url, "--json")
    assert done.returncode != 0 and "no live worker serves coq" in done.stderr
    workers("w1")
    wait_registered(rdb, "w1")
    done = prover("prove", "--statement", "Theorem t : 1 + 1 = 2.", "--redis", redis_url, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "proved" and result["proof"] in result["checked_source"]
    refused = prover("prove", "--statement", "Theorem t : 1 + 1 = 2.", "--redis", redis_url,
                     "--policy", "openai", "--model", "m")  # fmt: skip
    assert refused.returncode != 0 and "--policy, --model" in refused.stderr


def test_eval_through_the_queue_writes_rows_and_resumes(
    redis_url, workers, rdb, tmp_path, minif2f_coq
):
    workers("w1")
    wait_registered(rdb, "w1")
    out = tmp_path / "rows.jsonl"
    args = ["eval", "--prover", "coq", "--data", str(minif2f_coq), "--split", "test",
            "--names", "mathd_algebra_125,mathd_numbertheory_3", "--timeout", "10",
            "--out", str(out), "--redis", redis_url]  # fmt: skip
    first = prover(*args)
    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["name"] for r in rows} == {"mathd_algebra_125", "mathd_numbertheory_3"}
    assert all(r["job"] and r["attempts"] == 1 and r["versions"]["coq"] for r in rows)
    assert next(r for r in rows if r["name"] == "mathd_algebra_125")["status"] == "proved"
    second = prover(*args)
    assert second.returncode == 0 and len(out.read_text().splitlines()) == 2
