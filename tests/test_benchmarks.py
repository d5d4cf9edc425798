"""Loading MiniF2F statement sets from the shared JSONL and from a repository checkout."""

from __future__ import annotations

import functools
import http.server
import tarfile
import threading
from pathlib import Path

import pytest

from search.benchmarks import (
    BenchmarkError,
    BenchmarkSource,
    download,
    find_theorem,
    load_minif2f,
    parse_coq_file,
)
from search.types import ProverKind

# test/mathd_algebra_125.v of LLM4Rocq/miniF2F-rocq, verbatim.
MATHD_ALGEBRA_125 = (
    "Require Import Arith.\n\nTheorem mathd_algebra_125 :\n  forall x y : nat,\n"
    "  (0 < x /\\ 0 < y) ->\n  (5 * x = y) ->\n  ((x - 3) + (y - 3) = 30) ->\n  x = 6.\n"
    "Proof.\nAdmitted."
)


def test_shared_jsonl_loads_both_splits_and_skips_statements_coq_816_rejects(minif2f_coq):
    everything = load_minif2f(ProverKind.COQ, minif2f_coq, include_unsupported=True)
    supported = load_minif2f(ProverKind.COQ, minif2f_coq)
    assert len(everything) == 488 and len(supported) == 477
    test = load_minif2f(ProverKind.COQ, minif2f_coq, "test")
    assert test and all(t.split == "test" for t in test)
    theorem = find_theorem(supported, "mathd_algebra_125")
    assert theorem.statement.startswith("Theorem mathd_algebra_125")
    assert theorem.source.startswith("LLM4Rocq/miniF2F-rocq@")


def test_checkout_files_parse_into_header_and_statement(tmp_path):
    (tmp_path / "test").mkdir()
    (tmp_path / "valid").mkdir()
    (tmp_path / "test" / "mathd_algebra_125.v").write_text(MATHD_ALGEBRA_125)
    (tmp_path / "valid" / "v1.v").write_text(
        "From Stdlib Require Import Reals.\nLemma v1 : True.\nProof. exact I. Qed."
    )
    theorems = load_minif2f(ProverKind.COQ, tmp_path)
    assert [t.name for t in theorems] == ["mathd_algebra_125", "v1"]
    first = theorems[0]
    assert first.header == "Require Import Arith.\n"
    assert first.statement.endswith("x = 6.") and "Proof" not in first.statement
    assert theorems[1].header.startswith("From Coq Require Import Reals.")
    assert load_minif2f(ProverKind.COQ, tmp_path, "valid")[0].name == "v1"


def test_bad_data_gives_clear_errors(tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"name": "x"\n')
    with pytest.raises(BenchmarkError, match="not JSON"):
        load_minif2f(ProverKind.COQ, broken)
    missing = tmp_path / "rows.jsonl"
    missing.write_text('{"name": "x", "split": "test"}\n')
    with pytest.raises(BenchmarkError, match="formal_statement"):
        load_minif2f(ProverKind.COQ, missing)
    with pytest.raises(BenchmarkError, match="no such file"):
        load_minif2f(ProverKind.COQ, tmp_path / "nope.jsonl")
    with pytest.raises(BenchmarkError, match="no test"):
        load_minif2f(ProverKind.COQ, tmp_path)
    with pytest.raises(BenchmarkError, match="no Theorem"):
        parse_coq_file("Require Import Arith.", "test", "x.v")


def test_download_unpacks_the_pinned_archive_once(tmp_path, monkeypatch):
    """The real download path (urllib, tarfile) against an HTTP server on loopback."""
    source = BenchmarkSource("LLM4Rocq/miniF2F-rocq", "b60affae5d9b")
    tree = tmp_path / "src" / "miniF2F-rocq-b60affae5d9b" / "test"
    tree.mkdir(parents=True)
    (tree / "mathd_algebra_125.v").write_text(MATHD_ALGEBRA_125)
    serve = tmp_path / "serve"
    serve.mkdir()
    with tarfile.open(serve / "archive.tar.gz", "w:gz") as archive:
        archive.add(tree.parent, arcname="miniF2F-rocq-b60affae5d9b")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(serve))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("DCOPROVER_CACHE", str(tmp_path / "cache"))
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/archive.tar.gz"
        root = download(source, url)
        assert (root / "test" / "mathd_algebra_125.v").exists()
        assert download(source, url + ".missing") == root  # cached: no second fetch
        theorems = load_minif2f(ProverKind.COQ, root)
        assert [t.name for t in theorems] == ["mathd_algebra_125"]
        assert theorems[0].source == "LLM4Rocq/miniF2F-rocq@b60affae5d9b:test/mathd_algebra_125.v"
    finally:
        server.shutdown()


# MiniF2F/Test/aime_1983_p2.lean of yangky11/miniF2F-lean4, verbatim.
AIME_1983_P2 = (
    "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"
    "theorem aime_1983_p2\n  (x p : ℝ)\n  (f : ℝ → ℝ)\n  (h₀ : 0 < p ∧ p < 15)\n"
    "  (h₁ : p ≤ x ∧ x ≤ 15)\n  (h₂ : f x = abs (x - p) + abs (x - 15) + abs (x - p - 15)) :\n"
    "  15 ≤ f x := by sorry"
)


def test_lean_checkout_files_parse_like_the_shared_rows(tmp_path, minif2f_lean_rows):
    (tmp_path / "MiniF2F" / "Test").mkdir(parents=True)
    (tmp_path / "MiniF2F" / "Valid").mkdir(parents=True)
    (tmp_path / "MiniF2F" / "Test" / "aime_1983_p2.lean").write_text(AIME_1983_P2)
    # A valid-split file in the same layout, with the proof's sorry on its own line.
    (tmp_path / "MiniF2F" / "Valid" / "t.lean").write_text(
        "import Mathlib\n\ntheorem t (n : ℕ) : n + 0 = n := by\n  sorry\n"
    )
    theorems = load_minif2f(ProverKind.LEAN, tmp_path)
    assert [(t.name, t.split) for t in theorems] == [("aime_1983_p2", "test"), ("t", "valid")]
    row = next(r for r in minif2f_lean_rows if r["name"] == "aime_1983_p2")
    assert theorems[0].statement == row["formal_statement"]
    assert theorems[0].header == row["header"]
    assert theorems[0].source == "yangky11/miniF2F-lean4@5746b7d6c478:MiniF2F/Test/aime_1983_p2.lean"
    assert theorems[1].statement.endswith(":= by")
    with pytest.raises(BenchmarkError, match="miniF2F-lean4 checkout"):
        load_minif2f(ProverKind.LEAN, tmp_path / "MiniF2F")


def test_shared_lean_jsonl_loads(minif2f_lean):
    theorems = load_minif2f(ProverKind.LEAN, minif2f_lean, "valid")
    assert len(theorems) == 244 and all(t.prover is ProverKind.LEAN for t in theorems)


def test_the_statements_ship_with_the_package_and_load_without_a_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the embedded statements must not need the network")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    coq = load_minif2f(ProverKind.COQ, include_unsupported=True)
    lean = load_minif2f(ProverKind.LEAN)
    assert len(coq) == 488 and len(load_minif2f(ProverKind.COQ)) == 477 and len(lean) == 488
    assert len(load_minif2f(ProverKind.COQ, split="test")) == 241
    assert {t.source.split(":")[0] for t in coq} == {"LLM4Rocq/miniF2F-rocq@b60affae5d9b"}
    assert {t.source.split(":")[0] for t in lean} == {"yangky11/miniF2F-lean4@5746b7d6c478"}


def test_the_shipped_statements_are_the_shared_ones(minif2f_coq, minif2f_lean):
    for prover, shared in ((ProverKind.COQ, minif2f_coq), (ProverKind.LEAN, minif2f_lean)):
        assert load_minif2f(prover, include_unsupported=True) == load_minif2f(
            prover, shared, include_unsupported=True
        )


def test_github_at_a_commit_downloads_that_revision(tmp_path, monkeypatch):
    """--data github@COMMIT fetches the named commit's archive (here from a refusing URL: the
    error names what was asked for)."""
    monkeypatch.setenv("DCOPROVER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(BenchmarkError, match=r"miniF2F-rocq/archive/0123abc\.tar\.gz"):
        load_minif2f(ProverKind.COQ, Path("github@0123abc"))
    with pytest.raises(BenchmarkError, match=r"miniF2F-rocq/archive/b60affae5d9b\.tar\.gz"):
        load_minif2f(ProverKind.COQ, Path("github"))
