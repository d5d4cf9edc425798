"""The policy seam: what the search asks of a model (or of a model-free heuristic).

Best-first search asks for ``tactics(state, n)``; pass@N asks for ``proofs(theorem, n)``.
Both return candidates with their sequence log-probability (sum of token log-probs) and token
count, de-duplicated and sorted best first, so that scores are comparable across backends.
The protocol lives here, with the search that calls it; its implementations (the model-free
automation, the model policies) live in ``prover/`` and import it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from search.types import ProofState, Theorem


@dataclass(frozen=True)
class Candidate:
    """One proposed tactic or proof."""

    text: str
    logprob: float
    num_tokens: int = 1
    #: How many raw samples had this text (pass@N counts duplicates for its estimator).
    count: int = 1


class PolicyError(RuntimeError):
    """The policy backend could not answer (server down, unknown model, rejected request)."""


class PromptTooLong(ValueError):
    """The prompt (a proof state, a statement) plus the tokens to sample does not fit in the
    model's context. Not a ``PolicyError``: the policy is up and answers other prompts, so
    best-first search skips that state and goes on (and a worker does not wait for a server
    that is not down)."""


@runtime_checkable
class Policy(Protocol):
    """Proposes tactics for a proof state and whole proofs for a theorem."""

    name: str

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]: ...

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]: ...

    async def check(self) -> None:
        """Raise ``PolicyError`` if the policy cannot answer now (its server is down, or does
        not serve its model); callers check once before a run rather than once per theorem."""
        ...

    async def close(self) -> None:
        """Release what the policy holds (an HTTP client, a loaded model)."""
        ...


class LocalPolicy:
    """Base of the policies that answer from this process with nothing to check or release
    (the model-free automation, scripted policies in tests and benchmarks)."""

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None


def dedupe_and_sort(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Merge candidates with the same (whitespace-normalised) text, keeping the best log-prob
    and adding up their counts, and sort them best first."""
    best: dict[str, Candidate] = {}
    for candidate in candidates:
        key = " ".join(candidate.text.split())
        if not key:
            continue
        seen = best.get(key)
        count = candidate.count + (seen.count if seen else 0)
        top = candidate if seen is None or candidate.logprob > seen.logprob else seen
        best[key] = Candidate(key, top.logprob, top.num_tokens, count)
    return sorted(best.values(), key=lambda c: -c.logprob)


def normalize_priors(weights: dict[str, float]) -> dict[str, float]:
    """Turn positive weights into log-probabilities that sum (in probability) to one."""
    total = sum(weights.values())
    return {text: math.log(weight / total) for text, weight in weights.items()}
