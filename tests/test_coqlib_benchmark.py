"""The coqlib benchmark as users run it: the shipped manifest, its splits, and `prover eval`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest

from search.benchmarks import BenchmarkError, load_benchmark, load_coqlib
from search.env.coq_library import LibrarySource, library_context
from search.types import ProverKind

pytestmark = pytest.mark.coq


@pytest.fixture(scope="module")
def manifest() -> dict:
    from importlib import resources

    return json.loads((resources.files("search.data") / "coqlib.json").read_text())


def test_the_splits_match_the_manifest_and_novel_files_are_held_out_whole(manifest):
    every = load_coqlib()
    assert len(every) == manifest["theorems"] >= 9_000
    assert len({t.name for t in every}) == len(every)
    for family, counts in manifest["splits"].items():
        for split, count in counts.items():
            name = split if family == "random" else f"novel-{split}"
            assert len(load_coqlib(name)) == count
    files = defaultdict(set)
    for split in ("novel-train", "novel-valid", "novel-test"):
        for theorem in load_coqlib(split):
            files[split].add(theorem.library.module)
    assert not files["novel-test"] & files["novel-train"]
    assert not files["novel-valid"] & files["novel-train"]
    assert sorted(files["novel-test"]) == manifest["novel_test_files"]


def test_manifest_rows_still_match_the_installed_library():
    test = load_coqlib("test")
    for theorem in test[:: max(1, len(test) // 25)]:
        context = library_context(theorem.library, theorem.statement)
        assert len(context.sentences) == theorem.library.position


def test_benchmark_names_and_splits_are_checked():
    with pytest.raises(BenchmarkError, match="unknown coqlib split"):
        load_coqlib("dev")
    with pytest.raises(BenchmarkError, match="coqlib is a Coq benchmark"):
        load_benchmark("coqlib", ProverKind.LEAN)


def test_prover_eval_runs_coqlib_theorems_in_their_contexts(tmp_path):
    out = tmp_path / "rows.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "prover.cli", "eval", "--prover", "coq", "--benchmark", "coqlib",
         "--split", "test", "--limit", "3", "--timeout", "10", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["name"] for r in rows} == {t.name for t in load_coqlib("test")[:3]}
    assert all(r["status"] in ("proved", "failed", "timeout") for r in rows), rows
    bad = subprocess.run(
        [sys.executable, "-m", "prover.cli", "eval", "--benchmark", "minif2f", "--split",
         "novel-test", "--out", str(tmp_path / "x.jsonl")], capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode != 0 and "minif2f has the splits" in bad.stderr


async def test_the_file_own_proof_of_a_held_out_theorem_passes_the_judge(coq_env):
    theorem = next(t for t in load_coqlib("test") if t.library.module == "Coq.Reals.RIneq")
    proof = LibrarySource.read("Coq.Reals.RIneq").proof_at(theorem.library.position)
    verdict = await coq_env.verify(theorem, "\n".join(proof))
    assert verdict.ok, verdict.message
