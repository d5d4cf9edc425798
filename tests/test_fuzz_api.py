"""API fuzzing: schemathesis drives every operation of the app's own OpenAPI schema against the
real API (uvicorn), a real Redis and live workers, with and without a valid API key; no
response may be a 5xx.

The service is fully provisioned, so that a 503 can only be a bug: benchmark data for both
provers, a Coq worker, and a Lean worker whose REPL replays recorded Lean traffic (no Lean
toolchain here). Without them the API rightly answers 503 ("no live worker serves prover
'lean'", "benchmark data unavailable").

Two runs of schemathesis's CLI, each with a bounded number of cases per operation and a fixed
seed, so the test takes about a minute and a failure replays: (1) the examples, coverage and
fuzzing phases (positive and negative data) on every operation, where ids are made up; (2) the
stateful phase, which follows links it infers from responses (an accepted job's ``Location``)
to call ``GET``/``DELETE`` on real job and evaluation ids. The second leaves out ``/events``:
that stream stays open until its job ends, and a fuzzed budget can keep a job running a day.
The first leaves the streams out too (``/v1/evals/events`` follows every run until all end).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support.lean_fixtures import RECORDINGS, fake_repl_command
from support.service_fixtures import api, rdb, redis_server, redis_url, workers
from support.service_helpers import (
    API_KEY,
    MINIF2F_COQ,
    MINIF2F_LEAN,
    child_env,
    wait_registered,
    wait_until,
)

__all__ = ["api", "rdb", "redis_server", "redis_url", "workers"]

pytestmark = [pytest.mark.coq, pytest.mark.slow]

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
#: Cases per operation and phase: some 2,000 requests per run over the 11 operations. The
#: request timeout is above the longest wait the API offers (``POST /v1/checks``, 20 s).
MAX_EXAMPLES = 100
SEED = 20261123


@pytest.mark.parametrize("key", [True, False], ids=["valid-key", "no-key"])
def test_no_operation_answers_a_server_error(api, workers, rdb, tmp_path, key):
    if not (MINIF2F_COQ.exists() and MINIF2F_LEAN.exists() and RECORDINGS):
        pytest.skip("needs the shared MiniF2F data and Lean REPL recordings (DCOPROVER_SHARED)")
    workers("coq", concurrency=1)
    workers("lean", "--prover", "lean", "--lean-repl-cmd", fake_repl_command(), concurrency=1)
    wait_registered(rdb, "coq")
    wait_until(lambda: rdb.zscore("prover:workers:lean", "lean") is not None, 30, "a Lean worker")
    headers = ["--header", f"Authorization: Bearer {API_KEY}"] if key else []
    generated = 0
    # The event streams follow runs and jobs until they end, and a fuzzed evaluation can run
    # for hours; they have their own tests (tests/service/).
    for phases, extra in (("examples,coverage,fuzzing", ["--exclude-path-regex", "/events$"]),
                          ("stateful", ["--exclude-path-regex", "/events$"])):  # fmt: skip
        report = tmp_path / f"{phases}.json"  # schemathesis keeps its cache in the cwd too
        run = subprocess.run(
            [str(SCHEMATHESIS), "run", f"{api.base_url}/openapi.json", "--phases", phases,
             "--checks", "not_a_server_error", "--max-examples", str(MAX_EXAMPLES),
             "--seed", str(SEED), "--workers", "1", "--request-timeout", "30",
             "--suppress-health-check", "all", "--report", "json",
             "--report-json-path", str(report), *extra, *headers],
            env=child_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
        cases = json.loads(report.read_text())["test_cases"]
        assert cases["with_failures"] == 0 and cases["errored"] == 0, cases
        generated += cases["generated"]
    print(f"\nschemathesis, key={key}: {generated} cases, 0 server errors")
    assert generated >= MAX_EXAMPLES * 9 // 2
    # The fuzzer got past validation and auth to the queue with a key, and never without one.
    accepted = len(rdb.keys("prover:job:*"))
    assert accepted > 0 if key else accepted == 0, accepted
