"""The Coq corpus: whole files traced in one coqtop, resumable, with splits that cannot leak."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from prover import coq_trace
from prover.coq_trace import trace_file, trace_library
from prover.corpus import Corpus, exclusion, novel_splits, random_split, write_corpus
from search.env.coq_library import LibrarySource, library_theorem

pytestmark = pytest.mark.coq


async def test_a_file_with_modules_bullets_and_selector_braces_replays_whole(coq_env):
    # PeanoNat: everything in Module Nat, proofs with bullets, `2:{ ... }`, an SProp scheme.
    trace = await trace_file(coq_env, "Coq.Arith.PeanoNat")
    assert trace.stopped is None and trace.candidates == len(trace.theorems) == 102
    assert trace.sprop_from is not None  # Scheme ... Sort SProp, run with the flag on
    braces = [t for t in trace.theorems if "2:{" in t.proof]
    assert braces and all(t.steps for t in braces)
    assert {t.module_path for t in trace.theorems} == {"Nat.", "Nat.Private_Parity."}
    assert all(t.id == f"Coq.Arith.PeanoNat:{t.module_path}{t.name}" for t in trace.theorems)


async def test_a_traced_state_is_what_the_search_shows_the_policy(coq_env):
    trace = await trace_file(coq_env, "Coq.Lists.List")
    traced = next(t for t in trace.theorems if t.name == "destruct_list")
    assert traced.scopes == ["bool_scope", "list_scope"] and traced.imports == [
        "Require Import PeanoNat."
    ]
    source = LibrarySource.read("Coq.Lists.List")
    statement = next(s for s in source.statements if s.name == "destruct_list")
    theorem = library_theorem(source, statement, using=traced.section_variables)
    assert traced.section_variables == ["A"]
    async with coq_env.session(theorem, 5.0) as session:
        assert session.root.text == traced.steps[0][0]
    assert traced.steps[0][1] == "induction l as [|a tail]."


async def test_tracing_resumes_from_the_files_already_traced(coq_env, tmp_path, monkeypatch):
    first = await trace_library(coq_env, ["Coq.Bool.Bool"], tmp_path, 1)

    async def must_not_run(env, module):
        raise AssertionError(f"{module} was traced again")

    monkeypatch.setattr(coq_trace, "trace_file", must_not_run)
    again = await trace_library(coq_env, ["Coq.Bool.Bool"], tmp_path, 1)
    assert [len(t.theorems) for t in again] == [len(t.theorems) for t in first] == [123]
    report = write_corpus(Corpus(again), tmp_path, "test machine")
    assert report["candidates"] == report["replayed"] == 123 and report["yield"] == 1.0
    row = json.loads((tmp_path / "pairs.jsonl").read_text().splitlines()[0])
    assert {"state", "tactic", "theorem", "file", "step", "proof", "imports", "scopes"} <= set(row)
    assert row["file"] == "Coq.Bool.Bool" and row["random"] in ("train", "valid", "test")


def test_splits_are_deterministic_and_novel_holds_out_whole_files():
    assert random_split("Coq.Bool.Bool:orb_comm") == random_split("Coq.Bool.Bool:orb_comm")
    shares = [random_split(f"M:t{i}") for i in range(4000)]
    assert 0.87 < shares.count("train") / 4000 < 0.93 and shares.count("test") > 120
    sizes = {f"Coq.F{i}": 10 + i % 7 for i in range(200)}
    novel = novel_splits(sizes)
    assert set(novel) == set(sizes) and set(novel.values()) == {"train", "valid", "test"}
    total = sum(sizes.values())
    for held in ("test", "valid"):
        share = sum(sizes[m] for m, s in novel.items() if s == held) / total
        assert 0.05 <= share < 0.07
    assert novel == novel_splits(dict(reversed(list(sizes.items()))))


async def test_theorems_in_functors_are_corpus_only(coq_env):
    trace = await trace_file(coq_env, "Coq.Structures.OrdersFacts")
    inside = [t for t in trace.theorems if not t.nameable]
    assert inside and all(exclusion(trace, t) == "inside a functor or module type" for t in inside)


def test_the_cli_refuses_bad_options_clearly(tmp_path):
    def trace(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "prover.cli", "trace", "--out",
                               str(tmp_path / "c"), *args], capture_output=True, text=True)  # fmt: skip

    assert "-1 is not in the range x>=1" in trace("--limit", "-1").stderr
    assert "no such installed Coq library file" in trace("--module", "Coq.Nope.X").stderr
    assert "not a logical path" in trace("--module", "Coq/Bool/Bool.v").stderr
    outside = tmp_path / "mine.v"
    outside.write_text("Lemma x : True. Proof. exact I. Qed.\n")
    assert "is not a file of the installed Coq library" in trace("--file", str(outside)).stderr


def test_corpus_splits_names_a_file_that_is_no_trace(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "Coq.Bool.Bool.json").write_text('{"module": "Coq.Bool.Bool"}')
    done = subprocess.run(
        [sys.executable, "-m", "prover.cli", "corpus-splits", "--corpus", str(tmp_path),
         "--manifest", str(tmp_path / "m")], capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode != 0 and "Coq.Bool.Bool.json: not a trace" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "m.jsonl.gz").exists()
