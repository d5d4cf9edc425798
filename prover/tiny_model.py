"""Build a causal language model directory locally: random weights and a tokenizer learnt
from text (a corpus, or a few built-in strings for the tiny test models), nothing downloaded.

The directory is an ordinary Hugging Face checkpoint: ``AutoModelForCausalLM`` and
``AutoTokenizer`` load it, ``prover serve-policy`` serves it, ``prover train`` fine-tunes it,
and ``vllm serve`` would load it too. Tests, benchmarks and GPU-less demos use it where a real
policy would be a downloaded model.
"""

from __future__ import annotations

import json
from pathlib import Path

from prover.tokenizer import never_sampled, train_tokenizer

#: Written next to weights built here: ``prover train`` reads it to choose its defaults (a
#: model initialised at random needs a far larger learning rate than a pretrained one).
BUILT_NAME = "dcoprover_model.json"

#: Text the tiny tokenizer's merges are learnt from: goals and tactics of both provers.
_CORPUS = (
    "forall n : nat, n + 0 = n",
    "intros n. induction n as [| n IH]. reflexivity. simpl. rewrite IH. reflexivity.",
    "x y : R\nH : 0 < x\n============================\n x * y <= x ^ 2 + y ^ 2",
    "theorem foo (a b : ℕ) (h : a = b) : a + 0 = b := by\n  simp [h]\n  linarith\n  omega",
    "lia. lra. nia. ring. field. auto. easy. intuition. congruence. tauto. norm_num.",
    "0123456789 + - * / = < > ( ) [ ] { } : ; , . ⊢ → ∀ ∃ ¬ ∧ ∨ ↔",
)

ARCHITECTURES = ("llama", "qwen2")


def build_tokenizer(vocab_size: int = 400, corpus: tuple[str, ...] = _CORPUS):
    """The tiny models' tokenizer: ``train_tokenizer`` on a few built-in strings."""
    return train_tokenizer(list(corpus) * 4, vocab_size)


def build_tiny_model(
    out_dir: str | Path,
    *,
    architecture: str = "llama",
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    vocab_size: int = 400,
    max_positions: int = 2048,
    seed: int = 0,
    tokenizer=None,
    intermediate_size: int | None = None,
    recipe: dict | None = None,
) -> Path:
    """Write a randomly initialised model and its tokenizer to ``out_dir``; return the path.

    ``architecture`` is ``llama`` or ``qwen2`` (both served by vLLM). The intermediate size is
    ``2 * hidden_size`` unless given, and key/value heads are half the heads (grouped-query
    attention, as in the real families), so the code paths are the production ones. The
    tokenizer's byte tokens go to ``generation_config.suppress_tokens`` (never sampled), and
    ``BUILT_NAME`` records how the model was made (``recipe`` adds to it).
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, not {architecture!r}")
    if hidden_size % num_heads:
        raise ValueError(f"hidden_size {hidden_size} is not a multiple of num_heads {num_heads}")
    tokenizer = tokenizer or build_tokenizer(vocab_size)
    config_class, model_class = {
        "llama": (LlamaConfig, LlamaForCausalLM),
        "qwen2": (Qwen2Config, Qwen2ForCausalLM),
    }[architecture]
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or 2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=max(1, num_heads // 2),
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = model_class(config)
    model.generation_config.suppress_tokens = never_sampled(tokenizer)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    made = {
        "initialised": "random",
        "seed": seed,
        "architecture": architecture,
        "parameters": sum(p.numel() for p in model.parameters()),
        **(recipe or {}),
    }
    (out / BUILT_NAME).write_text(json.dumps(made, indent=2) + "\n")
    return out
