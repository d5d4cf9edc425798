"""The corpus tokenizer: exact round trips, byte fallback for unseen characters, and models
built with it never sample a byte token (half a character)."""

from __future__ import annotations

import json

import pytest

from prover.config import SamplingConfig, TransformersBackendConfig
from prover.hf_backend import TransformersEngine
from prover.tiny_model import BUILT_NAME, build_tiny_model
from prover.tokenizer import BYTE_TOKENS, never_sampled, train_tokenizer
from tests.policy_helpers import prover_cli

TEXTS = [
    "n : nat\nIHn : n + 0 = n\n============================\nS n + 0 = S n",
    "intros n. induction n as [| n IHn]; simpl; auto.",
    "forall x y : R, 0 <= x -> 0 <= y -> x * y <= (x + y) ^ 2",
    "rewrite Nat.add_comm.\n\t- lia.\n  + lra.",
] * 20


def test_round_trips_exactly_and_falls_back_to_bytes_for_unseen_characters():
    tokenizer = train_tokenizer(TEXTS, vocab_size=500)
    odd = ["  two  spaces\n\n\tand a tab", "⊢ ∀ x ∈ ℝ, x² ≥ 0 🙂", "", "a\r\nb\x00c", "n't",
           "<0x41> is no byte", "x" * 20_000]  # fmt: skip
    for text in [*TEXTS[:4], *odd]:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
        assert tokenizer.decode(ids, skip_special_tokens=True) == text
    unseen = tokenizer.convert_ids_to_tokens(tokenizer("🙂", add_special_tokens=False)["input_ids"])
    assert unseen == ["<0xF0>", "<0x9F>", "<0x99>", "<0x82>"], "UTF-8 bytes, no unknown token"
    seen = tokenizer(" induction", add_special_tokens=False)["input_ids"]
    assert len(seen) <= 2, "frequent words are learnt as tokens"
    banned = never_sampled(tokenizer)
    assert len(banned) == len(BYTE_TOKENS) + 2
    assert tokenizer.eos_token_id not in banned


async def test_a_built_model_never_samples_half_a_character(tmp_path):
    tokenizer = train_tokenizer(TEXTS, vocab_size=400)
    model_dir = build_tiny_model(tmp_path / "m", tokenizer=tokenizer, seed=3)
    made = json.loads((model_dir / BUILT_NAME).read_text())
    assert made["initialised"] == "random" and made["parameters"] > 0
    engine = TransformersEngine.load(TransformersBackendConfig(model=str(model_dir), device="cpu"))
    banned = set(never_sampled(engine.tokenizer))
    prompt = engine.encode("n : nat\n⊢ 🙂:::")
    sampling = SamplingConfig(temperature=2.0, max_tokens=24, seed=1)
    samples = await engine.sample(prompt, 64, sampling)
    await engine.close()
    assert not banned & {t for s in samples for t in s.token_ids}
    assert not any("\ufffd" in s.text for s in samples)


def test_build_model_learns_its_tokenizer_from_a_corpus(tmp_path):
    corpus = tmp_path / "pairs.jsonl"
    corpus.write_text(
        "".join(json.dumps({"state": t, "tactic": "lia."}) + "\n" for t in TEXTS) + "\n"
    )
    out = tmp_path / "model"
    done = prover_cli("build-model", str(out), "--corpus", str(corpus), "--vocab-size", "450")
    assert done.returncode == 0, done.stderr[-2000:]
    made = json.loads((out / BUILT_NAME).read_text())
    assert made["tokenizer_corpus"] == [str(corpus)] and made["tokenizer_texts"] == 2 * len(TEXTS)
    config = json.loads((out / "generation_config.json").read_text())
    assert len(config["suppress_tokens"]) == len(BYTE_TOKENS) + 2
    bad = prover_cli("build-model", str(tmp_path / "x"), "--corpus", str(tmp_path / "none"))
    assert bad.returncode != 0 and "no such file" in bad.stderr
    corpus.write_text('{"goal": 1}\n')
    bad = prover_cli("build-model", str(tmp_path / "y"), "--corpus", str(corpus))
    assert bad.returncode != 0 and "not a (state, tactic) row" in bad.stderr


@pytest.mark.parametrize("texts", [[], ["", ""]])
def test_an_empty_corpus_still_gives_a_tokenizer_that_encodes(texts):
    tokenizer = train_tokenizer(texts, vocab_size=300)
    assert tokenizer.decode(tokenizer("lia.", add_special_tokens=False)["input_ids"]) == "lia."
