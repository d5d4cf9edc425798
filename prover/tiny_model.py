"""Build a small causal language model directory locally: random weights, a byte-level BPE
tokenizer trained on a few strings, nothing downloaded.

The directory is an ordinary Hugging Face checkpoint: ``AutoModelForCausalLM`` and
``AutoTokenizer`` load it, ``prover serve-policy`` serves it, ``prover train`` fine-tunes it,
and ``vllm serve`` would load it too. Tests, benchmarks and GPU-less demos use it where a real
policy would be a downloaded model.
"""

from __future__ import annotations

from pathlib import Path

BOS, EOS, PAD = "<|bos|>", "<|endoftext|>", "<|pad|>"
#: ChatML markers, so the chat template's text is one token each.
CHAT_MARKERS = ("<|im_start|>", "<|im_end|>")

#: Text the tokenizer's merges are learnt from: goals and tactics of both provers.
_CORPUS = (
    "forall n : nat, n + 0 = n",
    "intros n. induction n as [| n IH]. reflexivity. simpl. rewrite IH. reflexivity.",
    "x y : R\nH : 0 < x\n============================\n x * y <= x ^ 2 + y ^ 2",
    "theorem foo (a b : ℕ) (h : a = b) : a + 0 = b := by\n  simp [h]\n  linarith\n  omega",
    "lia. lra. nia. ring. field. auto. easy. intuition. congruence. tauto. norm_num.",
    "0123456789 + - * / = < > ( ) [ ] { } : ; , . ⊢ → ∀ ∃ ¬ ∧ ∨ ↔",
)

ARCHITECTURES = ("llama", "qwen2")


def build_tokenizer(vocab_size: int = 320, corpus: tuple[str, ...] = _CORPUS):
    """A byte-level BPE tokenizer (every string encodes; no unknown token) with BOS/EOS/PAD."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    specials = [BOS, EOS, PAD, *CHAT_MARKERS]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(list(corpus) * 4, trainer)
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, core.token_to_id(BOS))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(CHAT_MARKERS),
        padding_side="left",
    )


def build_tiny_model(
    out_dir: str | Path,
    *,
    architecture: str = "llama",
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    vocab_size: int = 320,
    max_positions: int = 2048,
    seed: int = 0,
    tokenizer=None,
) -> Path:
    """Write a randomly initialised model and its tokenizer to ``out_dir``; return the path.

    ``architecture`` is ``llama`` or ``qwen2`` (both served by vLLM). The intermediate size is
    ``4 * hidden_size // 2`` and key/value heads are half the heads (grouped-query attention,
    as in the real families), so the code paths are the production ones.
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
        intermediate_size=2 * hidden_size,
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
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
