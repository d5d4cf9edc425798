"""The policy's tokenizer: BPE learnt from proof states and tactics, with byte fallback.

Why not byte-level BPE (GPT-2's)? Its tokens are bytes and runs of bytes, so a model can
sample half of a multi-byte character: with a 320-token byte vocabulary, 16-17% of sampled
tactics were dropped as broken bytes. Here tokens are whole characters and runs of them,
learnt from the text the model will see, and a character outside the learnt alphabet is
encoded as its UTF-8 bytes (``<0xE2>``, the 256 byte tokens of Llama's tokenizer) so that any
string still encodes and decodes exactly. The byte tokens are for reading prompts only: the
models ``build-model`` writes list them in ``generation_config.suppress_tokens``, which the
sampler honours, so no sample can end in half a character.

Text is split before merging the way GPT-2 splits it (a word with its leading space, runs of
spaces, newlines), which keeps training fast and the pieces meaningful; the split is
lossless, so ``decode(encode(text)) == text``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

BOS, EOS, PAD = "<|bos|>", "<|endoftext|>", "<|pad|>"
#: ChatML markers, so the chat template's text is one token each.
CHAT_MARKERS = ("<|im_start|>", "<|im_end|>")
BYTE_TOKENS = tuple(f"<0x{value:02X}>" for value in range(256))
#: GPT-2's split, less its contractions: newline runs, a word or a punctuation run with its
#: leading space, and runs of other whitespace.
_SPLIT = r"\n+| ?[A-Za-z_'0-9]+| ?[^\sA-Za-z_'0-9]+|[^\S\n]+"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096, max_alphabet: int = 1000):
    """A ``PreTrainedTokenizerFast`` learnt from ``texts``: BOS prepended, EOS and PAD set,
    left padding (what batched sampling needs), byte fallback for unseen characters.

    ``max_alphabet`` caps the characters kept as tokens of their own (the most frequent);
    the others fall back to bytes.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(byte_fallback=True, fuse_unk=False))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(_SPLIT), behavior="isolated")
    core.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    specials = [BOS, EOS, PAD, *CHAT_MARKERS]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        limit_alphabet=max_alphabet,
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer)
    core = _with_byte_tokens(core)
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


def _with_byte_tokens(core):
    """``core`` with the 256 byte tokens added to its BPE vocabulary as ordinary tokens (as in
    Llama's), not as added tokens: an added token is matched in the raw text (a goal that
    prints ``<0x41>`` would read as the byte ``A``) and is dropped by ``skip_special_tokens``
    decoding (a sampled byte would vanish from the text)."""
    from tokenizers import Tokenizer

    spec = json.loads(core.to_str())
    vocab = spec["model"]["vocab"]
    for name in BYTE_TOKENS:
        vocab.setdefault(name, len(vocab))
    return Tokenizer.from_str(json.dumps(spec))


def never_sampled(tokenizer) -> list[int]:
    """Token ids a sample must not contain: the byte-fallback tokens, BOS and PAD."""
    names = [*BYTE_TOKENS, BOS, PAD]
    ids = [tokenizer.convert_tokens_to_ids(name) for name in names]
    unknown = tokenizer.unk_token_id
    return sorted({i for i in ids if i is not None and i != unknown})
