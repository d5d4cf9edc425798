"""Batched sampling with per-sequence log-probabilities, for any transformers causal LM.

One call decodes many rows (requests x samples) in one left-padded batch with a key/value
cache; finished rows leave the batch so that short tactics do not pay for long ones. Each
distinct prompt is encoded once and its cache copied to its ``n`` rows (shared prefill).

Two properties the policy relies on:

* **Log-probs of the model, not of the sampler.** Each token's log-prob is taken from the raw
  logits (``log_softmax``), before temperature and top-p, as vLLM reports them by default, so
  a candidate's score is ``log p_model(completion | prompt)`` whatever the sampling knobs.
* **Seeded rows are reproducible whatever they are batched with.** A row with a seed draws
  its noise from its own generator, seeded by ``(seed, sample index)``, one vocabulary-sized
  draw per step; so the same request gives the same samples alone or in a batch of 128.
  Sampling is the exponential race: ``argmax_i p_i / E_i`` with ``E_i ~ Exp(1)`` draws ``i``
  with probability ``p_i``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch

from search.policy import PromptTooLong

__all__ = ["BatchSampler", "PromptTooLong", "Sample", "SampleRequest"]

#: Seeds of different samples of one request are spread by this odd constant.
_SAMPLE_STRIDE = 1_000_003


@dataclass(frozen=True)
class SampleRequest:
    """``n`` samples of one prompt (already tokenised, special tokens included)."""

    prompt_ids: tuple[int, ...]
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 64
    seed: int | None = None
    stop: tuple[str, ...] = ()
    #: Also report the ``top_logprobs`` most likely tokens at each step (the API's ``logprobs``).
    top_logprobs: int = 0


@dataclass
class Sample:
    """One sampled completion: its tokens (end-of-sequence included, when reached), the
    model's log-prob of each, and its text with special tokens and stop strings removed."""

    token_ids: list[int] = field(default_factory=list)
    token_logprobs: list[float] = field(default_factory=list)
    text: str = ""
    #: Per step, when asked for: {token id: log-prob} of the most likely tokens and the sampled one.
    top_logprobs: list[dict[int, float]] = field(default_factory=list)
    finish_reason: Literal["stop", "length"] = "length"

    @property
    def logprob(self) -> float:
        return float(sum(self.token_logprobs))


@dataclass
class _Row:
    request: int
    sample: Sample
    generator: torch.Generator | None
    request_spec: SampleRequest


def _row_generator(seed: int | None, index: int, device: torch.device) -> torch.Generator | None:
    if seed is None:
        return None
    generator = torch.Generator(device=device)
    generator.manual_seed((seed * _SAMPLE_STRIDE + index) % (2**63))
    return generator


def _top_p_filter(probs: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """Zero every token outside the smallest set whose mass reaches ``top_p`` (per row)."""
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)
    return torch.zeros_like(probs).scatter(-1, order, sorted_probs)


class BatchSampler:
    """Samples completions from ``model`` for many requests at once."""

    def __init__(self, model, tokenizer, max_positions: int | None = None) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        self.max_positions = max_positions or getattr(model.config, "max_position_embeddings", 2048)
        self.eos_ids = self._eos_ids()
        self.pad_id = tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = next(iter(self.eos_ids))
        #: Tokens never sampled: the checkpoint's ``generation_config.suppress_tokens`` (the
        #: models ``prover build-model`` writes list their byte-fallback tokens there, so no
        #: sample can end in half a character).
        suppressed = getattr(model.generation_config, "suppress_tokens", None) or []
        self.suppressed = torch.tensor(sorted(suppressed), dtype=torch.long, device=self.device)
        #: Sampling and scoring run in worker threads; one forward pass at a time.
        self.lock = threading.Lock()

    def _eos_ids(self) -> set[int]:
        found = self.model.generation_config.eos_token_id
        ids = set(found if isinstance(found, list) else [found] if found is not None else [])
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return ids

    def check(self, request: SampleRequest) -> None:
        """Raise ``PromptTooLong`` when the request cannot fit in the context."""
        needed = len(request.prompt_ids) + request.max_tokens
        if needed > self.max_positions:
            raise PromptTooLong(
                f"prompt of {len(request.prompt_ids)} tokens plus max_tokens "
                f"{request.max_tokens} exceeds the model's context of {self.max_positions} tokens"
            )

    @torch.inference_mode()
    def score(
        self, prompt_ids: Sequence[int], continuations: Sequence[Sequence[int]]
    ) -> list[float]:
        """``log p(continuation | prompt)`` of each continuation (the sum of its tokens'
        log-probs), the prompt encoded once for all of them: how the hybrid policy ranks
        tactics it did not sample."""
        longest = max((len(c) for c in continuations), default=0)
        if longest == 0:
            return [0.0] * len(continuations)
        if not prompt_ids:
            raise ValueError("scoring needs a prompt of at least one token (its BOS)")
        if len(prompt_ids) + longest > self.max_positions:
            raise PromptTooLong(
                f"prompt of {len(prompt_ids)} tokens plus a continuation of {longest} exceeds "
                f"the model's context of {self.max_positions} tokens"
            )
        with self.lock:
            return self._score(list(prompt_ids), continuations, longest)

    def _score(
        self, prompt_ids: list[int], continuations: Sequence[Sequence[int]], width: int
    ) -> list[float]:
        rows = len(continuations)
        prompt = torch.tensor([prompt_ids], device=self.device)
        output = self.model(input_ids=prompt, use_cache=True, logits_to_keep=1)
        cache = output.past_key_values
        cache.batch_select_indices(torch.zeros(rows, dtype=torch.long, device=self.device))
        ids = torch.full((rows, width), self.pad_id, dtype=torch.long, device=self.device)
        mask = torch.zeros((rows, width), dtype=torch.float32, device=self.device)
        for i, continuation in enumerate(continuations):
            ids[i, : len(continuation)] = torch.tensor(list(continuation))
            mask[i, : len(continuation)] = 1.0
        attention = torch.cat(
            [torch.ones((rows, len(prompt_ids)), dtype=torch.long, device=self.device),
             mask.long()], dim=1,
        )  # fmt: skip
        positions = len(prompt_ids) + torch.arange(width, device=self.device).expand(rows, -1)
        later = self.model(
            input_ids=ids, attention_mask=attention, position_ids=positions, past_key_values=cache
        ).logits
        first = output.logits[:, -1:, :].expand(rows, 1, -1)
        logits = torch.cat([first, later[:, :-1, :]], dim=1).float()
        chosen = torch.log_softmax(logits, dim=-1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)
        return (chosen * mask).sum(dim=-1).tolist()

    @torch.inference_mode()
    def sample(self, requests: Sequence[SampleRequest]) -> list[list[Sample]]:
        """``n`` samples for each request, in request order."""
        for request in requests:
            self.check(request)
        with self.lock:
            return self._sample(requests)

    def _sample(self, requests: Sequence[SampleRequest]) -> list[list[Sample]]:
        rows = [
            _Row(index, Sample(), _row_generator(request.seed, i, self.device), request)
            for index, request in enumerate(requests)
            for i in range(request.n)
        ]
        if rows:
            self._decode(rows)
        results: list[list[Sample]] = [[] for _ in requests]
        for row in rows:
            results[row.request].append(row.sample)
        return results

    def _prefill(self, rows: list[_Row]):
        """One forward pass per distinct prompt, its cache then copied to each of its rows.

        The ``n`` samples of a request (and requests for the same state from different
        searches) share their prompt, so the prompt is encoded once rather than ``n`` times:
        on a CPU the prefill of a long goal is most of an expansion's cost. Returns the last
        logits, the cache, the attention mask and the positions, one row per sample.
        """
        distinct: dict[tuple[int, ...], int] = {}
        owner = [distinct.setdefault(row.request_spec.prompt_ids, len(distinct)) for row in rows]
        prompts = list(distinct)
        width = max(len(prompt) for prompt in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, prompt in enumerate(prompts):
            input_ids[i, width - len(prompt) :] = torch.tensor(prompt)
            attention[i, width - len(prompt) :] = 1
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        output = self.model(
            input_ids=input_ids,
            attention_mask=attention,
            position_ids=positions,
            use_cache=True,
            logits_to_keep=1,
        )
        cache = output.past_key_values
        index = torch.tensor(owner, device=self.device)
        cache.batch_select_indices(index)
        return output.logits[index, -1, :], cache, attention[index], positions[index]

    def _decode(self, rows: list[_Row]) -> None:
        logits, cache, attention, positions = self._prefill(rows)
        temperature = torch.tensor(
            [row.request_spec.temperature for row in rows], device=self.device
        ).unsqueeze(1)
        top_p = torch.tensor([row.request_spec.top_p for row in rows], device=self.device)
        active = list(range(len(rows)))
        while True:
            tokens, logprobs = self._pick(logits, temperature, top_p.unsqueeze(1), rows, active)
            steps = self._steps(tokens, logprobs, [rows[row] for row in active])
            keep = [i for i, row in enumerate(active) if not self._advance(rows[row], *steps[i])]
            if not keep:
                return
            if len(keep) < len(active):
                index = torch.tensor(keep, device=self.device)
                cache.batch_select_indices(index)
                tokens, attention, positions = tokens[index], attention[index], positions[index]
                temperature, top_p = temperature[index], top_p[index]
                active = [active[i] for i in keep]
            attention = torch.cat([attention, attention.new_ones((len(active), 1))], dim=1)
            positions = positions[:, -1:] + 1
            output = self.model(
                input_ids=tokens.unsqueeze(1),
                attention_mask=attention,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
            )
            logits = output.logits[:, -1, :]

    def _pick(
        self,
        logits: torch.Tensor,
        temperature: torch.Tensor,
        top_p: torch.Tensor,
        rows: list[_Row],
        active: list[int],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Next token of every active row, and the model's log-probs over the vocabulary."""
        logits = logits.float()
        logprobs = torch.log_softmax(logits, dim=-1)
        if len(self.suppressed):
            logits = logits.index_fill(-1, self.suppressed, float("-inf"))
        greedy = temperature.squeeze(1) == 0
        probs = torch.softmax(logits / temperature.clamp(min=1e-6), dim=-1)
        if bool((top_p < 1).any()):
            probs = _top_p_filter(probs, top_p)
        race = torch.empty_like(probs).exponential_()
        for i, row_index in enumerate(active):
            generator = rows[row_index].generator
            if generator is not None:
                race[i] = torch.empty_like(probs[i]).exponential_(generator=generator)
        tokens = torch.where(greedy, logits.argmax(-1), (probs / race).argmax(-1))
        return tokens, logprobs

    @staticmethod
    def _steps(
        tokens: torch.Tensor, logprobs: torch.Tensor, rows: list[_Row]
    ) -> list[tuple[int, float, dict[int, float]]]:
        """Per active row: (token, its log-prob, the top log-probs the row asked for)."""
        chosen = logprobs.gather(-1, tokens.unsqueeze(1)).squeeze(1).tolist()
        token_list = tokens.tolist()
        k = max(row.request_spec.top_logprobs for row in rows)
        top_values, top_ids = logprobs.topk(k, dim=-1) if k else (None, None)
        steps = []
        for i, row in enumerate(rows):
            top: dict[int, float] = {}
            wanted = row.request_spec.top_logprobs
            if wanted and top_ids is not None:
                top = dict(
                    zip(top_ids[i, :wanted].tolist(), top_values[i, :wanted].tolist(), strict=True)
                )
                top[token_list[i]] = chosen[i]
            steps.append((token_list[i], chosen[i], top))
        return steps

    def _advance(self, row: _Row, token: int, logprob: float, top: dict[int, float]) -> bool:
        """Append a token to a row; True when the row is finished."""
        sample, spec = row.sample, row.request_spec
        sample.token_ids.append(token)
        sample.token_logprobs.append(logprob)
        if spec.top_logprobs:
            sample.top_logprobs.append(top)
        ended = token in self.eos_ids
        full = len(sample.token_ids) >= spec.max_tokens
        cut = -1
        if spec.stop or ended or full:
            # Decoding is per row and per step only where stop strings must be watched for.
            text_ids = sample.token_ids[:-1] if ended else sample.token_ids
            sample.text = self.tokenizer.decode(text_ids, skip_special_tokens=True)
            cut = min((sample.text.find(s) for s in spec.stop if s in sample.text), default=-1)
            if cut >= 0:
                sample.text = sample.text[:cut]
        if ended or cut >= 0:
            sample.finish_reason = "stop"
            return True
        return full
