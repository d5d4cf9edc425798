"""The learned-policy recipe end to end at its tiny size, as CI runs it: a traced module, a
tokenizer and model built from it, CE and DCO_step trainings, two expert-iteration rounds and
the held-out benchmark with every method (model-free, each model, the ensemble, the hybrid at
three weights). The figures are meaningless at this size; that every piece runs and records
its provenance is what is tested. The training-cost benchmark runs here too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.policy_helpers import prover_cli

pytestmark = [pytest.mark.coq, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    done = prover_cli("trace", "--out", str(out), "--module", "Coq.Bool.Bool")
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def test_the_tiny_recipe_trains_iterates_and_measures_every_method(tmp_path, corpus):
    results = tmp_path / "learned.json"
    env = {**os.environ, "CORPUS": str(corpus), "RESULTS": str(results),
           "PROVER": f"{sys.executable} -m prover.cli", "PYTHON": sys.executable,
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    done = subprocess.run(["bash", "scripts/learned_policy.sh", "tiny", str(tmp_path / "run")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)  # fmt: skip
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    report = json.loads(results.read_text())
    methods = [row["method"] for row in report["results"]["coqlib test"]]
    assert methods[:4] == ["model-free", "ce", "dco4", "dco16"]
    # A round's model exists when the round had data to train on: round 1 always (the seed
    # data), round 2 only if round 1 verified new steps.
    assert {"round-1", "ensemble(dco4+dco16)"} <= set(methods)
    assert [m for m in methods if m.startswith("hybrid")] == [
        "hybrid(ce, w=0)", "hybrid(ce, w=0.5)", "hybrid(ce, w=1)"]  # fmt: skip
    assert set(report["results"]) == {"coqlib test", "MiniF2F-Coq test"}
    for row in report["results"]["coqlib test"]:
        assert row["rechecked"] == row["solved"], "every claimed proof checks again"
    for name in ("ce", "dco4", "dco16"):
        checkpoint = report["checkpoints"][name]
        assert checkpoint["weights_sha256"] and checkpoint["recipe"]["data"] == [
            str((corpus / "pairs-random-train.jsonl").resolve())]  # fmt: skip
    assert report["checkpoints"]["dco4"]["recipe"]["n"] == 4
    # A round's recipe names all it read: the seed pairs, the verified steps and their sets.
    round_data = report["checkpoints"]["round-1"]["recipe"]["data"]
    assert round_data[0] == str((corpus / "pairs-random-train.jsonl").resolve())
    assert round_data[1].endswith("verified_steps.jsonl")
    assert "verified proofs of minif2f:valid:2" in round_data
    assert "verified proofs of minif2f:valid:2" in results.with_suffix(".md").read_text()
    rounds = (tmp_path / "run" / "iterate" / "rounds.jsonl").read_text().splitlines()
    assert len(rounds) == 2
    assert results.with_suffix(".png").stat().st_size > 0
    assert "training read:" in results.with_suffix(".md").read_text()
    # Run again, the recipe finds everything done: no training, no search, the same figures.
    again = subprocess.run(["bash", "scripts/learned_policy.sh", "tiny", str(tmp_path / "run")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert again.returncode == 0, (again.stdout[-2000:], again.stderr[-3000:])
    read_back = [line for line in again.stdout.splitlines() if "read back from" in line]
    assert len(read_back) == 2 * len(methods), again.stdout[-3000:]
    assert json.loads(results.read_text())["results"] == report["results"]
    # How confident the models are in the training tactic (goal (c)'s why), from the same run.
    models = ",".join(f"{name}={tmp_path / 'run' / name}" for name in ("ce", "dco4"))
    confidence = tmp_path / "confidence.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.target_confidence", "--models", models,
         "--corpus", str(corpus), "--count", "20", "--out", str(confidence)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    scored = json.loads(confidence.read_text())
    assert 0 < scored["sets"]["train"]["dco4"]["pairs"] <= 20
    assert 0 < scored["sets"]["train"]["ce"]["mean_p"] < 1
    assert scored["logged"]["dco4"]["mean_target_prob"] is not None
    assert "| dco4 |" in confidence.with_suffix(".md").read_text()


def test_the_training_cost_benchmark_compares_filters_and_sizes(tmp_path, corpus):
    out = tmp_path / "cost.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/train_cost.py", "--corpus", str(corpus), "--examples", "40",
         "--steps", "2", "--batch-size", "4", "--size", "64x1", "--sizes", "64x1,96x1",
         "--valid-pairs", "8", "--size-seconds", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [row["variant"] for row in report["losses"]] == [
        "CE", "DCO_step, filter fresh", "DCO_step, filter stale", "DCO_step, filter none"]
    assert report["losses"][0]["cost_vs_ce"] == pytest.approx(1.0)
    assert [row["size"] for row in report["sizes"]] == ["64x1", "96x1"]
    assert all(row["valid_loss"] > 0 for row in report["sizes"])
    # Equal wall time: each size trained again for the steps its own rate gives in 1 s.
    assert all(row["equal_time"]["valid_loss"] > 0 for row in report["sizes"])
    assert "equal wall time" in out.with_suffix(".md").read_text()


def test_the_expansion_latency_benchmark_draws_the_same_tactics_in_both_prefill_modes(
    tmp_path, corpus
):
    model = tmp_path / "model"
    built = prover_cli("build-model", str(model), "--hidden-size", "32", "--layers", "1",
                       "--heads", "2")  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    out = tmp_path / "latency.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/expansion_latency.py", "--model", str(model), "--pairs",
         str(corpus / "pairs-random-train.jsonl"), "--states", "3", "--n", "4",
         "--max-tokens", "8", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    # Seeded rows draw the same tokens from the same logits: the shared prefill changes the
    # cost of an expansion, not what it proposes.
    assert report["n=4"]["identical_expansions"] == 1.0
    assert report["n=4"]["median_s"]["shared prefill"] > 0
    assert "| 4 |" in out.with_suffix(".md").read_text()
