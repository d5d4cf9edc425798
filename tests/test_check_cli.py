"""`prover check`: JSON lines of proofs in, one verdict per line out, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.coq

ARITH = "Require Import Arith."
LINES = [
    {"header": ARITH, "statement": "Theorem two : 1 + 1 = 2.", "proof": "reflexivity.", "name": "good"},
    {"header": ARITH, "statement": "Theorem t : 1 + 1 = 3.", "proof": "reflexivity.", "name": "false"},
    "this line is not JSON",
    {"prover": "coq", "statement": "Theorem t : True.", "proof": "exact I.", "cheat": 1},
    {"header": "Require Import Reals.\nOpen Scope R_scope.", "statement": "Theorem r : forall x : R, x + 0 = x.",
     "proof": "intros. ring.", "name": "reals"},
    {"prover": "lean", "statement": "theorem t : 1 = 1 := by", "proof": "rfl", "name": "lean"},
    {"header": "Module Classical_Prop. End Classical_Prop.", "statement": "Theorem t : True.", "proof": "exact I.", "name": "module"},
]  # fmt: skip


def check(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "prover.cli", "check", *args],
        input=stdin, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def write_lines(path: Path, lines: list) -> Path:
    path.write_text("".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines))
    return path


def test_every_line_gets_its_verdict_in_order(tmp_path):
    source = write_lines(tmp_path / "proofs.jsonl", LINES)
    out = tmp_path / "verdicts.jsonl"
    done = check(str(source), "--out", str(out), "--lean-repl-cmd", "no-such-lean-repl")
    assert done.returncode == 1, done.stderr  # not every proof is valid
    assert done.stderr.strip().splitlines()[-1] == "2 valid, 4 invalid, 1 error"
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["verdict"] for r in results] == [
        "valid", "invalid", "invalid", "invalid", "valid", "error", "invalid",
    ]  # fmt: skip
    good, false, not_json, extra, reals, lean, module = results
    assert good["name"] == "good" and good["axioms"] == [] and good["time_s"] > 0
    assert "Unable to unify" in false["reason"] and "Error:" in false["messages"]
    assert not_json["reason"].startswith("line 3: ")
    assert extra["reason"].startswith("line 4: cheat: Extra inputs")
    assert reals["axioms"] == [
        "Coq.Reals.ClassicalDedekindReals.sig_forall_dec",
        "Coq.Logic.FunctionalExtensionality.functional_extensionality_dep",
    ]
    assert lean["reason"].startswith("lean cannot run here:")
    assert "header command not allowed" in module["reason"]


def test_standard_input_to_standard_output_and_exit_0_when_all_are_valid():
    lines = json.dumps(LINES[0]) + "\n\n" + json.dumps({**LINES[0], "name": "again"}) + "\n"
    done = check(stdin=lines)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["name"] for line in done.stdout.splitlines()] == ["good", "again"]


def test_an_oversized_line_is_refused_and_the_rest_judged():
    huge = json.dumps({"statement": "Theorem t : True.", "proof": "exact I." + " " * 500_000})
    done = check(stdin=huge + "\n" + json.dumps(LINES[0]) + "\n")
    verdicts = [json.loads(line) for line in done.stdout.splitlines()]
    assert "longer than 400000 characters" in verdicts[0]["reason"]
    assert verdicts[1]["verdict"] == "valid"


def test_checks_pinned_to_the_benchmark_cannot_change_what_they_claim(minif2f_coq, tmp_path):
    """Inline, a header may redefine False and "prove" it: the verdict is about the statement
    under its header, which comes back in checked_source. A proof set checked against the
    benchmark's own statements cannot do that: header and statement are not its to give."""
    redefined = {"header": "Definition False := True.", "statement": "Theorem t : False.",
                 "proof": "exact I.", "name": "redefined"}  # fmt: skip
    pinned = {"benchmark": "minif2f", "name": "mathd_algebra_478", "proof": "intros. subst. lra."}
    lines = [redefined, pinned, {**pinned, "proof": "exact I."}, {**pinned, "name": "no_such"},
             {**pinned, "header": "Definition False := True."}]  # fmt: skip
    source = write_lines(tmp_path / "pinned.jsonl", lines)
    done = check(str(source), "--data", str(minif2f_coq))
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["verdict"] for r in results] == ["valid", "valid", "invalid", "invalid", "invalid"]
    assert "Definition False := True." in results[0]["checked_source"]
    assert "Theorem mathd_algebra_478" in results[1]["checked_source"]
    assert results[3]["reason"] == "no theorem named 'no_such' in minif2f"
    assert "with 'benchmark' give 'name' and no 'statement' or 'header'" in results[4]["reason"]
