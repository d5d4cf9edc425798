"""The search benchmark runs end to end on a few theorems and records its provenance."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.coq


def test_a_small_run_writes_rows_and_the_splits_the_baseline_was_tuned_on(tmp_path):
    out = tmp_path / "search.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/search.py", "--split", "test", "--limit", "2",
         "--budget", "5", "--methods", "best-first", "--skip-throughput", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [len(m["rows"]) for m in result["methods"]] == [2]
    assert result["tuning_read"] == ["MiniF2F-Coq valid (rounds 1-4)", "MiniF2F-Coq test (round 5)"]
    assert "tuning read: the model-free policy's steps were designed from" in out.with_suffix(".md").read_text()
