"""The `prover` command line, run as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.coq


def prover(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "prover.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_explains_every_command():
    done = prover("--help")
    assert done.returncode == 0
    for command in ("prove", "eval"):
        assert command in done.stdout
        sub = prover(command, "--help")
        assert sub.returncode == 0 and "--strategy" in sub.stdout and "--prover" in sub.stdout


def test_every_configuration_field_is_an_option_with_the_models_default():
    """The options are generated from SearchConfig, ProverLimits and LeanConfig: a field that
    the CLI cannot reach, or a default that differs from the model's, fails here."""
    from prover.config import PolicyChoice, SamplingConfig
    from prover.options import _flag
    from search.config import LeanConfig, ProverLimits, SearchConfig

    help_text = " ".join(prover("prove", "--help").stdout.split())
    for model in (SearchConfig, ProverLimits, LeanConfig, PolicyChoice, SamplingConfig):
        for name, field in model.model_fields.items():
            assert f"--{_flag(name, field).split('/')[0]}" in help_text, name
    assert "--max-depth INTEGER best-first: deepest state kept [default: 32]" in help_text
    assert "--tactics-per-expansion INTEGER best-first: tactics tried on each expanded state [default: 16]" in help_text


def test_prove_inline_statement_prints_a_checked_proof_as_json():
    done = prover("prove", "--prover", "coq", "--header", "Require Import Arith.",
                  "--statement", "Theorem t : 1 + 1 = 2.", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "proved"
    assert f"Proof.\n{result['proof']}\nQed." in result["checked_source"]
    assert result["stats"]["prover_calls"] >= 1


def test_prove_pass_at_n_from_the_benchmark(minif2f_coq):
    done = prover("prove", "--prover", "coq", "--benchmark", "minif2f", "--data", str(minif2f_coq),
                  "--name", "mathd_algebra_125", "--strategy", "pass-at-n", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "proved" and result["strategy"] == "pass-at-n"


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--statement", "Theorem t : True. Axiom a : False."], "exactly one declaration"),
        (["--statement", "Theorem t : True.", "--header", 'Load "x".'], "forbidden command"),
        (["--statement", "Theorem t : True.", "--timeout", "-1"], "--timeout: Input should be greater than 0"),
        (["--statement", "Theorem t : True.", "--memory-gb", "0.1"], "--memory-gb: Input should be greater"),
        (["--benchmark", "minif2f", "--data", "/nonexistent.jsonl", "--name", "x"], "no such file"),
        ([], "give --statement"),
        (["--statement", "Theorem t : no_such_constant = 1."], "statement rejected by Coq"),
    ],
)
def test_bad_input_exits_non_zero_with_a_one_line_reason(args, reason):
    done = prover("prove", *args)
    assert done.returncode != 0
    assert reason in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) <= 3


def test_eval_writes_rows_and_resumes(tmp_path, minif2f_coq):
    out = tmp_path / "results.jsonl"
    args = ["eval", "--prover", "coq", "--benchmark", "minif2f", "--data", str(minif2f_coq),
            "--split", "test", "--names", "mathd_algebra_125,mathd_numbertheory_3",
            "--timeout", "10", "--out", str(out)]  # fmt: skip
    first = prover(*args)
    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["name"] for r in rows} == {"mathd_algebra_125", "mathd_numbertheory_3"}
    row = next(r for r in rows if r["name"] == "mathd_algebra_125")
    assert row["status"] == "proved" and row["versions"]["coq"].startswith("8.16")
    assert row["config"]["wall_timeout_s"] == 10 and row["source"].startswith("LLM4Rocq")
    assert "proved" in first.stdout and "total" in first.stdout
    second = prover(*args)
    assert second.returncode == 0
    assert len(out.read_text().splitlines()) == 2  # nothing searched twice
    assert "already in" in second.stdout
