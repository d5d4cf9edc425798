"""Training data formats and the trainer: tiny models train on CPU with every loss, and the
checkpoints load in the transformers policy backend."""

from __future__ import annotations

import json

import pytest
import torch

from prover.compose import make_policy
from prover.data import IGNORE, DataError, Example, encode, load_examples
from prover.hf_backend import load_model
from prover.prompts import proof_template, tactic_template
from prover.tiny_model import build_tiny_model
from prover.train import LOG_NAME, RECIPE_NAME, TENSORBOARD_DIR, LossKind, learning_rate_for, train
from search.types import ProofState, ProverKind, Theorem
from tests.policy_helpers import prover_cli, tiny_train_config

TACTIC = tactic_template("tactic-state-v1")
PROOF = proof_template("proof-deepseek-v1")

LEANDOJO = [
    {
        "full_name": "add_zero'",
        "file_path": "Mathlib/Foo.lean",
        "traced_tactics": [
            {
                "tactic": "intro n",
                "state_before": "⊢ ∀ (n : ℕ), n + 0 = n",
                "state_after": "n : ℕ\n⊢ n + 0 = n",
            },
            {"tactic": "simp", "state_before": "n : ℕ\n⊢ n + 0 = n", "state_after": "no goals"},
        ],
    },
    {
        "full_name": "two",
        "file_path": "Mathlib/Bar.lean",
        "traced_tactics": [
            {"tactic": "norm_num", "state_before": "⊢ 1 + 1 = 2", "state_after": "no goals"}
        ],
    },
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def load(path):
    return load_examples(path, TACTIC, PROOF, ProverKind.LEAN)


def test_leandojo_pairs_and_proof_formats(tmp_path):
    dojo = tmp_path / "train.json"
    dojo.write_text(json.dumps(LEANDOJO))
    examples = load(dojo)
    assert [e.target for e in examples] == ["intro n", "simp", "norm_num"]
    assert examples[0].prompt == "⊢ ∀ (n : ℕ), n + 0 = n:::"
    assert examples[0].group == examples[1].group != examples[2].group

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"state": "⊢ 1 = 1", "tactic": "rfl", "theorem": "t", "n_eff": 4}\n\n')
    [pair] = load(pairs)
    assert (pair.prompt, pair.target, pair.group, pair.n_eff) == ("⊢ 1 = 1:::", "rfl", "t", 4)

    proofs = tmp_path / "proofs.jsonl"
    row = {
        "header": "Require Import Arith.",
        "formal_statement": "Theorem t : 1 + 1 = 2.",
        "proof": "reflexivity.",
        "prover": "coq",
    }
    proofs.write_text(json.dumps(row) + "\n")
    [proof] = load(proofs)
    assert proof.prompt.endswith("Theorem t : 1 + 1 = 2.\nProof.\n")
    assert proof.target == "reflexivity.\nQed.\n```"


def test_bad_data_says_where(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"state": "⊢ 1 = 1", "tactic": "rfl"}\n{"state": "⊢ 2 = 2", "tactic": "  "}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: tactic is missing or empty"):
        load(bad)
    bad.write_text('{"state": "⊢ 1 = 1", "tactic": "rfl"}\n{not json\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: not JSON"):
        load(bad)
    bad.write_text('{"goal": "x"}\n')
    with pytest.raises(DataError, match="unknown format"):
        load(bad)
    with pytest.raises(DataError, match="no such file"):
        load(tmp_path / "missing.jsonl")
    dojo = tmp_path / "d.json"
    dojo.write_text(json.dumps([{"full_name": "x"}]))
    with pytest.raises(DataError, match="theorem 0 has no traced_tactics"):
        load(dojo)


def test_encoding_masks_the_prompt_and_skips_long_examples(tiny_dir):
    _, tokenizer = load_model(str(tiny_dir), "cpu")
    examples = [Example("⊢ 1 = 1:::", "rfl"), Example("x" * 400, "simp")]
    [item], skipped = encode(tokenizer, examples, max_length=64)
    assert skipped == 1
    prompt = tokenizer("⊢ 1 = 1:::")["input_ids"]
    assert item.input_ids[: len(prompt)] == prompt
    assert item.labels[: len(prompt)] == [IGNORE] * len(prompt)
    target = item.labels[len(prompt) :]
    assert target[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(target[:-1]) == "rfl"


def target_logprob(model_dir, example: Example) -> float:
    model, tokenizer = load_model(str(model_dir), "cpu")
    [item], _ = encode(tokenizer, [example], 128)
    with torch.no_grad():
        logits = model(torch.tensor([item.input_ids])).logits[0, :-1]
    labels = torch.tensor(item.labels[1:])
    chosen = torch.log_softmax(logits, -1)[labels != IGNORE].gather(
        -1, labels[labels != IGNORE, None]
    )
    return float(chosen.sum())


@pytest.mark.parametrize("loss", list(LossKind))
async def test_each_loss_trains_and_the_checkpoint_serves(tmp_path, tiny_dir, loss):
    examples = [Example(f"⊢ {i} + 0 = {i}:::", "simp", group=f"p{i // 2}") for i in range(12)]
    config = tiny_train_config(loss=loss, batch_size=4, steps=8, learning_rate=3e-3, max_length=64)
    before = target_logprob(tiny_dir, examples[0])
    summary = train(config, examples, str(tiny_dir), tmp_path / "out")
    assert summary["examples"] == 12 and summary["skipped"] == 0
    assert target_logprob(tmp_path / "out", examples[0]) > before + 1.0, "training learnt the data"
    records = [json.loads(line) for line in (tmp_path / "out" / LOG_NAME).read_text().splitlines()]
    logged = [r for r in records if "loss" in r]
    assert logged and all("mean_weight" in r for r in logged) == (loss is not LossKind.CE)
    recipe = json.loads((tmp_path / "out" / RECIPE_NAME).read_text())
    assert recipe["loss"] == loss.value and recipe["tactic_template"] == "tactic-state-v1"
    policy = make_policy("transformers", ProverKind.LEAN, model=str(tmp_path / "out"))
    state = ProofState(key=0, goals=("⊢ 3 + 0 = 3",))
    candidates = await policy.tactics(
        Theorem(name="t", statement="theorem t : 3 + 0 = 3 := by"), state, 4
    )
    assert candidates
    await policy.close()


def test_confidence_filter_drops_covered_examples_and_refills(tmp_path, tiny_dir):
    # An empty target is one token (EOS): p ~ 1/320, so at N = 4096 its weight is ~1e-5 and it
    # is dropped; "simp" targets have p ~ 1e-7 (weight ~1) and are kept.
    covered = [Example(f"⊢ {i} = {i}:::", "") for i in range(16)]
    hard = [Example(f"⊢ {i} + 0 = {i}:::", "simp simp") for i in range(16)]
    config = tiny_train_config(
        loss="dco", n=4096, pool_factor=4, learning_rate=1e-4, max_length=64, filter="fresh"
    )
    train(config, covered + hard, str(tiny_dir), tmp_path / "out")
    records = [json.loads(line) for line in (tmp_path / "out" / LOG_NAME).read_text().splitlines()]
    dropped = [r["dropped_fraction"] for r in records if "dropped_fraction" in r]
    assert dropped and 0.25 < sum(dropped) / len(dropped) < 0.75
    assert all(r["mean_weight"] > 0.9 for r in records if "mean_weight" in r)


def test_the_stale_filter_drops_covered_examples_from_the_second_pass_on(tmp_path, tiny_dir):
    # The same data as above, with no scoring pass: in the first pass over the data nothing
    # is known and every drawn row is trained; from the second on, the rows seen covered
    # (the empty targets) are dropped by the confidence they had when they were trained.
    covered = [Example(f"⊢ {i} = {i}:::", "") for i in range(16)]
    hard = [Example(f"⊢ {i} + 0 = {i}:::", "simp simp") for i in range(16)]
    config = tiny_train_config(
        loss="dco", n=4096, pool_factor=2, batch_size=8, steps=12, learning_rate=1e-4,
        max_length=64, filter="stale", group_by_length=False,
    )  # fmt: skip
    train(config, covered + hard, str(tiny_dir), tmp_path / "out")
    records = [json.loads(line) for line in (tmp_path / "out" / LOG_NAME).read_text().splitlines()]
    logged = [r for r in records if "dropped_fraction" in r]
    assert logged[0]["dropped_fraction"] == 0.0, "nothing is known at the start"
    later = [r["dropped_fraction"] for r in logged[2:]]
    assert sum(later) / len(later) > 0.2, "covered rows are dropped once seen"
    assert all(isinstance(r["mean_target_prob"], float) for r in logged), "numbers, not strings"
    recipe = json.loads((tmp_path / "out" / RECIPE_NAME).read_text())
    assert recipe["filter"] == "stale"


def test_the_default_learning_rate_follows_the_base_model(tmp_path, tiny_dir):
    from prover.tiny_model import BUILT_NAME
    from prover.train import (
        LEARNING_RATE_CONTINUED,
        LEARNING_RATE_FROM_SCRATCH,
        LEARNING_RATE_PRETRAINED,
    )

    assert learning_rate_for(str(tiny_dir)) == LEARNING_RATE_FROM_SCRATCH
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    assert learning_rate_for(str(foreign)) == LEARNING_RATE_PRETRAINED
    examples = [Example(f"⊢ {i} + 0 = {i}:::", "simp") for i in range(4)]
    config = tiny_train_config(steps=1, learning_rate=None)
    train(config, examples, str(tiny_dir), tmp_path / "out")
    recipe = json.loads((tmp_path / "out" / RECIPE_NAME).read_text())
    assert recipe["learning_rate"] == LEARNING_RATE_FROM_SCRATCH
    assert (tmp_path / "out" / BUILT_NAME).exists(), "a model trained from scratch stays one"
    # Trained once, it trains on at a tenth of that (expert iteration's rounds).
    assert learning_rate_for(str(tmp_path / "out")) == LEARNING_RATE_CONTINUED


def tensorboard_scalars(log_dir) -> set[str]:
    """The scalar tags TensorBoard itself reads back from the event files in ``log_dir``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(log_dir))
    accumulator.Reload()
    return set(accumulator.Tags()["scalars"])


def test_train_command(tmp_path, tiny_dir):
    data = tmp_path / "train.json"
    data.write_text(json.dumps(LEANDOJO))
    done = prover_cli(
        "train",
        "--data",
        str(data),
        "--loss",
        "dco-step",
        "--n-eff",
        "8",
        "--base-model",
        str(tiny_dir),
        "--out",
        str(tmp_path / "out"),
        "--steps",
        "3",
        "--batch-size",
        "2",
        "--lr",
        "1e-3",
        "--tensorboard",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trained on 3 examples (0 too long)" in done.stdout
    assert (tmp_path / "out" / "model.safetensors").exists()
    assert "train/mean_weight" in tensorboard_scalars(tmp_path / "out" / TENSORBOARD_DIR)
    bad = prover_cli(
        "train",
        "--data",
        str(tmp_path / "none.jsonl"),
        "--base-model",
        str(tiny_dir),
        "--out",
        str(tmp_path / "o2"),
    )
    assert bad.returncode != 0 and "no such file" in bad.stderr
