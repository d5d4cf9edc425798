"""Expert iteration: verified steps come from real Coq searches, and a round retrains."""

from __future__ import annotations

import json

import pytest

from prover.automation import AutomationPolicy
from prover.data import Example
from prover.iterate import (
    DATA_NAME,
    ROUNDS_NAME,
    iterate,
    search_all,
    verified_steps,
    with_verified_share,
)
from prover.tiny_model import build_tiny_model
from search.config import SearchConfig
from search.env.coq_syntax import split_sentences
from search.types import ProverKind, Theorem
from tests.policy_helpers import prover_cli, tiny_train_config

pytestmark = pytest.mark.coq

THEOREMS = [
    Theorem(name="plus_zero", statement="Theorem plus_zero : forall n : nat, n + 0 = n."),
    Theorem(name="conj_true", statement="Theorem conj_true : True /\\ 1 = 1."),
]


async def test_verified_steps_follow_the_proof_path(coq_env):
    config = SearchConfig(max_expansions=20, wall_timeout_s=60)
    results = await search_all(THEOREMS, coq_env, AutomationPolicy(ProverKind.COQ), config, 2)
    for result in results:
        assert result.status == "proved", result.message
        steps = verified_steps(result)
        # The tree holds tactics as the policy proposed them; the proof ends each with a period.
        sentences = [sentence.removesuffix(".") for sentence in split_sentences(result.proof)]
        assert [s["tactic"].removesuffix(".") for s in steps] == sentences
        assert steps[0]["state"] == "\n\n".join(result.tree[0].goals)
        assert all(s["theorem"] == result.theorem and s["state"] for s in steps)
    failed = results[0].model_copy(update={"status": "failed"})
    assert verified_steps(failed) == []


async def test_a_round_searches_records_and_retrains(tmp_path, coq_env):
    base = build_tiny_model(tmp_path / "base")
    config = tiny_train_config(loss="dco-step")
    seed = [Example("n : nat\n============================\n n + 0 = n:::", "lia.")] * 4
    search = SearchConfig(max_expansions=2, tactics_per_expansion=4, wall_timeout_s=30)
    reports = await iterate(
        THEOREMS, coq_env, str(base), tmp_path / "run", 2, config, search, seed_data=seed
    )
    assert [r.round for r in reports] == [1, 2]
    assert reports[0].model == str(base) and reports[0].theorems == 2
    # Round 1 trained on the seed data; round 2 had nothing new and kept that policy.
    assert reports[1].model == str(tmp_path / "run" / "round-1")
    assert (tmp_path / "run" / "round-1" / "model.safetensors").exists()
    assert not (tmp_path / "run" / "round-2").exists() or reports[1].new_steps
    rows = [json.loads(line) for line in (tmp_path / "run" / ROUNDS_NAME).read_text().splitlines()]
    assert [row["round"] for row in rows] == [1, 2]
    assert all(0.0 <= row["solve_rate"] <= 1.0 for row in rows)
    for row in rows:
        assert sum(c["theorems"] for c in row["by_split"].values()) == 2
        assert sum(c["proved"] for c in row["by_split"].values()) == row["proved"]
        results = (tmp_path / "run" / f"round-{row['round']}-results.jsonl").read_text()
        names = [json.loads(line)["name"] for line in results.splitlines()]
        assert names == [t.name for t in THEOREMS]
    assert (tmp_path / "run" / DATA_NAME).exists()


def test_trace_coq_stdlib_gives_pairs_train_reads(tmp_path):
    from prover.data import load_pairs
    from prover.prompts import tactic_template

    out = tmp_path / "corpus"
    done = prover_cli("trace", "--prover", "coq", "--out", str(out), "--module", "Coq.Bool.Bool")
    assert done.returncode == 0, done.stderr
    assert "traced 123 of 123 lemmas" in done.stdout
    rows = [json.loads(line) for line in (out / "pairs.jsonl").read_text().splitlines()]
    assert len(rows) >= 123
    assert all(
        r["state"] and r["tactic"].endswith(".") and r["theorem"].startswith("Coq.Bool.Bool:")
        for r in rows
    )
    first = next(r for r in rows if r["theorem"] == "Coq.Bool.Bool:diff_true_false")
    assert (first["state"], first["tactic"], first["theorem"]) == (
        "============================\n  true <> false",
        "discriminate.",
        "Coq.Bool.Bool:diff_true_false",
    )
    assert first["proof"] == ["Proof.", "discriminate.", "Qed."] and first["file"] == "Coq.Bool.Bool"
    examples = load_pairs(out / "pairs.jsonl", tactic_template("tactic-state-v1"))
    assert len(examples) == len(rows)


def test_iterate_command(tmp_path):
    base = build_tiny_model(tmp_path / "base")
    done = prover_cli("iterate", "--base-model", str(base), "--out", str(tmp_path / "run"),
                      "--rounds", "1", "--set", "minif2f:valid:2", "--set", "coqlib:train:1",
                      "--steps", "1", "--max-expansions", "1",
                      "--tactics-per-expansion", "2", "--timeout", "20")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("round 1: solved ") and "/3 (" in done.stdout
    assert len((tmp_path / "run" / ROUNDS_NAME).read_text().splitlines()) == 1
    held_out = prover_cli("iterate", "--base-model", str(base), "--out", str(tmp_path / "r2"),
                          "--set", "coqlib:test:5")  # fmt: skip
    assert held_out.returncode != 0 and "coqlib test is held out from training" in held_out.stderr
    bad = prover_cli("iterate", "--base-model", str(base), "--out", str(tmp_path / "r3"),
                     "--set", "minif2f")  # fmt: skip
    assert bad.returncode != 0 and "expected BENCHMARK:SPLIT[:K]" in bad.stderr
    nan = prover_cli("iterate", "--base-model", str(base), "--out", str(tmp_path / "r4"),
                     "--set", "minif2f:valid:2", "--verified-share", "nan")  # fmt: skip
    assert nan.returncode != 0 and "verified share must be in [0, 0.9]" in nan.stderr
    assert "Traceback" not in nan.stderr and not (tmp_path / "r4" / ROUNDS_NAME).exists()


def test_verified_steps_are_repeated_to_their_share_of_the_data():
    seed = [Example(f"s{i}:::", "auto.") for i in range(900)]
    verified = [Example(f"v{i}:::", "lia.") for i in range(10)]
    assert with_verified_share(seed, verified, 0.0) == [*seed, *verified]
    mixed = with_verified_share(seed, verified, 0.1)
    assert mixed[:900] == seed and len(mixed) == 1000  # 10 steps x 10 = 10% of 1,000
    assert with_verified_share(seed, [], 0.5) == seed
    assert with_verified_share([], verified, 0.5) == verified
    for bad in (1.0, 0.95, -0.1, float("nan")):  # the data grows as seed / (1 - share)
        with pytest.raises(ValueError, match="share"):
            with_verified_share(seed, verified, bad)
