"""`prover prove --prover lean` and `prover doctor`, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from support.lean_fixtures import RECORDINGS, fake_repl_command

STATEMENT = "theorem complex_and (p q r : Prop) (h1 : p ∧ q) (h2 : q → r) : p ∧ r := by"


def prover(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prover.cli", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})  # fmt: skip


def test_lean_without_an_installation_fails_with_setup_advice(tmp_path):
    done = prover("prove", "--prover", "lean", "--statement", STATEMENT,
                  "--lean-repl-cmd", str(tmp_path / "no-such-repl"))  # fmt: skip
    assert done.returncode != 0
    assert "not found" in done.stderr and "setup_lean.sh" in done.stderr


def test_lean_statement_with_an_escape_is_refused_before_anything_runs():
    done = prover("prove", "--prover", "lean", "--statement",
                  "theorem t : True := by\n  #eval IO.println 1\ntheorem u : True := by")  # fmt: skip
    assert done.returncode != 0 and "'#eval'" in done.stderr


@pytest.mark.skipif(not RECORDINGS, reason="Lean REPL recordings not found (set DCOPROVER_SHARED)")
def test_lean_search_runs_through_the_repl_command_given_in_the_environment():
    """The automation tactics are not in the recordings: the REPL stand-in refuses each one, so
    the search must end 'failed' with every tactic tried, and report the Lean versions."""
    done = prover("prove", "--prover", "lean", "--statement", STATEMENT, "--json",
                  "--max-expansions", "1", "--tactic-timeout", "2",
                  env={"DCOPROVER_LEAN_REPL_CMD": fake_repl_command()})  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["prover"] == "lean" and result["status"] == "failed"
    assert result["stats"]["prover_calls"] >= 10 and result["stats"]["prover_faults"] == 0
    failures = [n["message"] for n in result["tree"] if n["status"] == "failed"]
    assert failures and all("no recording" in m for m in failures)


def test_doctor_reports_backends_as_json():
    done = prover("doctor", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    names = {c["name"] for c in report["checks"]}
    assert {"coq", "coq: csdp (psatz)", "lake", "lean: REPL command", "python: lean_dojo"} <= names
    csdp = next(c for c in report["checks"] if c["name"] == "coq: csdp (psatz)")
    assert csdp["ok"] == (shutil.which("csdp") is not None)
    assert set(report["backends"]) == {"coq", "lean (REPL)", "lean (LeanDojo)"}
    lake = next(c for c in report["checks"] if c["name"] == "lake")
    assert report["backends"]["lean (REPL)"] is False or lake["ok"]
