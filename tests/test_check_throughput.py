"""The checker-throughput benchmark runs end to end and writes its figures (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.coq


def test_a_small_run_writes_json_and_markdown_with_every_proof_judged(minif2f_coq, tmp_path):
    out = tmp_path / "ct.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.check_throughput", "--data", str(minif2f_coq),
         "--limit", "3", "--in-flight", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(out.read_text())["rows"]
    assert row["proofs"] == 3 and row["judge_valid"] == 3 and row["bare_compiled"] == 3
    assert "| 1 | 3 |" in out.with_suffix(".md").read_text()
