"""The DCO-vs-CE benchmark's own machinery: its tasks, its exact pass@k, and a tiny end-to-end
run of the script, so that a change to the losses or the trainer cannot silently break the
benchmark that the README's figures come from."""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks import dco_vs_ce as bench

ROOT = Path(__file__).resolve().parents[1]


def test_clean_task_labels_are_the_true_answers_and_held_out_is_disjoint():
    task = bench.TASKS["mulmod"]
    generator = torch.Generator().manual_seed(0)
    ids, labels, seen, corrupted = bench.make_split(task, 200, task.noise, generator)
    _, _, held_seen, _ = bench.make_split(task, 50, 0.0, generator, exclude=seen)
    assert not corrupted.any()
    assert not seen & held_seen
    for row in ids[:20].tolist():
        a = sum(d * 10**i for i, d in enumerate(row[1:4]))
        b = sum(d * 10**i for i, d in enumerate(row[5:8]))
        answer = sum(d * 10**i for i, d in enumerate(row[9 : 9 + task.width]))
        assert answer == (a * b) % 1000
    assert (labels[:, :9] == -100).all(), "prompt tokens are masked"


def test_noisy_task_corrupts_about_the_requested_fraction():
    task = bench.TASKS["add"]
    _, _, _, corrupted = bench.make_split(task, 1000, 0.5, torch.Generator().manual_seed(1))
    assert 0.4 < corrupted.float().mean() < 0.6


def test_settings_take_the_task_defaults_unless_the_command_line_overrides():
    args = argparse.Namespace(
        train_pairs=None, add_train_pairs=None, noise=None, dco_n=None, add_dco_n=None
    )
    assert bench.task_settings(bench.TASKS["mulmod"], args) == (2000, 0.0, (16, 64, 256))
    assert bench.task_settings(bench.TASKS["add"], args) == (8000, 0.5, (64,))
    args.train_pairs, args.noise, args.dco_n = 20000, 0.25, [8]
    assert bench.task_settings(bench.TASKS["mulmod"], args) == (20000, 0.25, (8,))
    assert bench.task_settings(bench.TASKS["add"], args) == (8000, 0.25, (64,))
    args.add_train_pairs, args.add_dco_n = 100, [4, 16]
    assert bench.task_settings(bench.TASKS["add"], args) == (100, 0.25, (4, 16))


def test_pass_at_k_is_exact_for_a_model_with_known_probabilities(monkeypatch):
    probabilities = torch.tensor([1.0, 0.5, 0.01, 1e-12, 0.0], dtype=torch.float64)
    monkeypatch.setattr(bench, "label_probabilities", lambda *_: probabilities)
    scores = bench.evaluate(None, None, None)
    for k in (1, 16, 256):
        expected = float((1 - (1 - probabilities) ** k).mean())
        assert scores[f"pass@{k}"] == pytest.approx(expected, rel=1e-12)


def test_pass_at_k_keeps_its_precision_for_tiny_probabilities(monkeypatch):
    """1 - exp(log1p(-p)) rounds p = 1e-12 to 1.0000889e-12; the benchmark must not."""
    tiny = torch.tensor([1e-12], dtype=torch.float64)
    monkeypatch.setattr(bench, "label_probabilities", lambda *_: tiny)
    scores = bench.evaluate(None, None, None)
    # relative errors by hand: pytest.approx's absolute floor of 1e-12 would accept anything
    assert abs(scores["pass@1"] / 1e-12 - 1) < 1e-9
    assert abs(scores["pass@256"] / 256e-12 - 1) < 1e-9


@pytest.mark.timeout(300)
def test_script_runs_end_to_end_and_its_summary_reads_the_results(tmp_path):
    out = tmp_path / "dco.json"
    tiny = ["--steps", "10", "--held-out", "20", "--hidden-size", "16", "--heads", "2"]
    tiny += ["--batch-size", "8", "--train-pairs", "64", "--add-train-pairs", "64"]
    run_script(*tiny, "--out", str(out))
    results = json.loads(out.read_text())["results"]
    assert list(results) == ["mulmod", "add"]
    assert [run["n"] for run in results["mulmod"]] == [1, 16, 64, 256]
    assert [run["n"] for run in results["add"]] == [1, 64]
    for runs in results.values():
        for run in runs:
            # a checkpoint every tenth of the steps
            assert [h["step"] for h in run["history"]] == list(range(1, 11))
            final = run["history"][-1]
            curve = [final[f"pass@{k}"] for k in bench.KS]
            assert all(0 <= a <= b <= 1 for a, b in itertools.pairwise(curve))
            assert final["pass@1"] == pytest.approx(final["mean_p"], rel=1e-9)
    assert out.with_suffix(".png").stat().st_size > 0
    assert "Equal steps (10)" in out.with_suffix(".md").read_text()
    summary = run_script("--summarise", str(out))
    assert "| mulmod | 10 |" in summary and "| add | 10 |" in summary


def test_summarise_and_plot_only_name_the_file_they_cannot_read(tmp_path):
    missing, foreign = tmp_path / "missing.json", tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"results": {"mulmod": [{"method": "dco", "history": []}]}}))
    for option, path in (
        ("--summarise", missing),
        ("--summarise", foreign),
        ("--plot-only", foreign),
    ):
        error = run_script(option, str(path), expect_failure=True)
        assert f"{path}: not a dco_vs_ce results file" in error
        assert "Traceback" not in error
    assert "--threads: must be at least 1" in run_script("--threads", "0", expect_failure=True)


def run_script(*arguments: str, expect_failure: bool = False) -> str:
    """Run the benchmark as the README does: its stdout, or its stderr where it is expected to
    fail; the stderr is in the assertion message when it fails unexpectedly."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.dco_vs_ce", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if expect_failure:
        assert done.returncode != 0, done.stdout[-4000:]
        return done.stderr
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout
