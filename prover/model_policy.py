"""A language-model policy: prompt templates around a completion backend.

The search's ``Policy`` (tactics for a state, whole proofs for a theorem) is the same for
every model backend: render the template, ask the backend for ``n`` completions with their
token log-probs, clean each completion into one tactic or proof, and merge duplicates. Only
the ``Completer`` differs: an OpenAI-compatible HTTP server (vLLM) or the in-process
transformers engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from prover.config import PolicyConfig, SamplingConfig
from prover.prompts import (
    RejectedCandidate,
    clean_proof,
    clean_tactic,
    proof_template,
    tactic_template,
)
from search.policy import Candidate, PolicyError, dedupe_and_sort
from search.types import ProofState, Theorem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completion:
    """One sampled completion with the model's log-prob of each of its tokens."""

    text: str
    token_logprobs: Sequence[float]
    finish_reason: str = "stop"


class Completer(Protocol):
    async def check(self) -> None:
        """Raise ``PolicyError`` if the backend cannot serve (server down, unknown model)."""
        ...

    async def complete(
        self, prompt: str, n: int, sampling: SamplingConfig, stop: tuple[str, ...]
    ) -> list[Completion]: ...

    async def close(self) -> None: ...


class ModelPolicy:
    """``Policy`` for any ``Completer``; ``rejected`` counts completions that were not a usable
    tactic or proof (empty, oversized)."""

    def __init__(self, completer: Completer, config: PolicyConfig, name: str) -> None:
        self.completer = completer
        self.config = config
        self.name = name
        self.tactic_template = tactic_template(config.tactic_template)
        self.proof_template = proof_template(config.proof_template)
        self.rejected = 0

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]:
        template = self.tactic_template
        completions = await self.completer.complete(
            template.prompt(state.text), n, self.config.sampling, template.stop
        )
        return self._candidates(
            completions, lambda text: clean_tactic(text, self.config.max_tactic_chars)
        )

    async def score_tactics(self, state: ProofState, tactics: list[str]) -> list[float]:
        """The model's ``log p(tactic | state)`` of each tactic, as training defines it (the
        template's target and the end of sequence)."""
        score = getattr(self.completer, "score", None)
        if score is None:
            raise PolicyError(
                f"{self.name} cannot score tactics it did not sample; the hybrid policy needs "
                "the transformers backend (--member-backend transformers)"
            )
        template = self.tactic_template
        return await score(template.prompt(state.text), [template.target(t) for t in tactics])

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]:
        template = self.proof_template
        completions = await self.completer.complete(
            template.prompt_for(theorem), n, self.config.sampling, template.stop(theorem.prover)
        )
        return self._candidates(
            completions,
            lambda text: clean_proof(text, theorem.prover, self.config.max_proof_chars),
        )

    def _candidates(
        self, completions: list[Completion], clean: Callable[[str], str]
    ) -> list[Candidate]:
        candidates = []
        for completion in completions:
            try:
                text = clean(completion.text)
            except RejectedCandidate as why:
                self.rejected += 1
                log.debug("dropped a completion: %s", why)
                continue
            logprobs = completion.token_logprobs
            candidates.append(Candidate(text, float(sum(logprobs)), max(1, len(logprobs))))
        return dedupe_and_sort(candidates)

    async def check(self) -> None:
        await self.completer.check()

    async def close(self) -> None:
        await self.completer.close()
