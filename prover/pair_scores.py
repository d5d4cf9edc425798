"""How a trained model scores held-out (state, tactic) pairs: per pair, the log-probability of
the tactic and its end, exactly as training computes it (the same template, encoding and
masking). Validation loss and the confidence DCO caps are both read from these numbers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from prover.data import collate, encode, load_pairs
from prover.hf_backend import load_model
from prover.prompts import tactic_template
from prover.train import token_logprobs


@dataclass(frozen=True)
class PairScores:
    """``logprobs[i]`` is log p(tactic_i | state_i); ``tokens[i]`` its target length."""

    logprobs: list[float]
    tokens: list[int]

    @property
    def nats_per_token(self) -> float:
        """Mean per-token cross-entropy of the targets (the validation loss)."""
        return -sum(self.logprobs) / max(sum(self.tokens), 1)


def score_pairs(
    model_dir: Path,
    pairs: Path,
    count: int,
    max_length: int,
    template: str = "tactic-state-v1",
    batch_size: int = 32,
) -> PairScores:
    """Scores of the first ``count`` pairs of ``pairs`` that fit in ``max_length`` tokens
    (training leaves longer ones out, so they are left out here too), prompted with
    ``template`` (give the one the model was trained with: its recipe names it)."""
    model, tokenizer = load_model(str(model_dir), "cpu", "float32")
    tokenizer.padding_side = "right"
    examples = load_pairs(pairs, tactic_template(template))
    items, _ = encode(tokenizer, examples, max_length)
    items = items[:count]
    logprobs: list[float] = []
    tokens: list[int] = []
    with torch.no_grad():
        for start in range(0, len(items), batch_size):
            batch = collate(items[start : start + batch_size], tokenizer.pad_token_id, 1.0)
            token_lp, mask = token_logprobs(model, batch)
            logprobs += (token_lp * mask).sum(dim=1).tolist()
            tokens += mask.sum(dim=1).long().tolist()
    return PairScores(logprobs, tokens)
