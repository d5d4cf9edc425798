"""Policies made of policies: an ensemble of models, and a model merged with the automation.

* ``EnsemblePolicy`` splits each call's sample budget across its members by their shares
  (models trained with different N_eff sharpen differently, so together they cover more) and
  merges what they propose, keeping each text's best log-prob.
* ``HybridPolicy`` merges the model's samples with the model-free candidates and ranks every
  candidate by ``weight * log p_model(tactic | state) + (1 - weight) * log p_automation``.
  The model scores the automation's tactics too, so a learned model can only add candidates
  to what the automation tries, and it learns the order in which to try them. A sampled
  tactic the automation does not propose gets the automation's lowest prior: the model alone
  must lift it above the automation's own. ``weight = 0`` keeps the automation's order (the
  model only adds candidates at the end); ``weight = 1`` is the model's order. An expansion
  therefore proposes up to 2n candidates (n of each), tried best first within the same wall
  and expansion budgets as any policy.

Both are ``Policy``s: ``prover.compose.make_policy`` builds them for ``prove``, ``eval``, the
worker and the API from ``--policy ensemble`` / ``--policy hybrid``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

from prover.model_policy import ModelPolicy
from search.policy import Candidate, Policy, PromptTooLong, dedupe_and_sort
from search.types import ProofState, ProverKind, Theorem


def _spelling(prover: ProverKind):
    """One spelling per tactic, the one a model trained on the corpus writes: Coq tactics
    end in their period there (``lia.``), the automation's do not (``lia``); both run alike,
    so without this the same tactic would be scored as two and tried twice."""
    if ProverKind(prover) is not ProverKind.COQ:
        return lambda text: text
    return lambda text: text if text.endswith(".") else text + "."


def _after(first: list[Candidate], then: list[Candidate]) -> list[Candidate]:
    """``first`` in its order, then the texts of ``then`` it lacks, scored below it (two
    lists with no common scale: whole proofs, or tactics the model could not score)."""
    seen = {c.text for c in first}
    extra = [c for c in then if c.text not in seen]
    lowest = min((c.logprob for c in first), default=0.0)
    return [*first, *(Candidate(c.text, lowest - 1 - i, c.num_tokens, c.count)
                      for i, c in enumerate(extra))]  # fmt: skip


def split_budget(n: int, shares: Sequence[float]) -> list[int]:
    """``n`` samples split by ``shares`` (largest remainder), summing to exactly ``n``."""
    total = sum(shares)
    exact = [n * share / total for share in shares]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return counts


class EnsemblePolicy:
    """Members answer with their share of the budget; their candidates are merged."""

    def __init__(self, members: Sequence[tuple[Policy, float]]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if not all(math.isfinite(share) and share > 0 for _, share in members):
            raise ValueError("every ensemble member needs a positive, finite share of the budget")
        self.members = list(members)
        shares = ", ".join(f"{policy.name}={share:g}" for policy, share in self.members)
        self.name = f"ensemble({shares})"

    async def _gather(self, n: int, ask) -> list[Candidate]:
        counts = split_budget(n, [share for _, share in self.members])
        asked = [(policy, k) for (policy, _), k in zip(self.members, counts, strict=True) if k]
        answers = await asyncio.gather(
            *(ask(policy, k) for policy, k in asked), return_exceptions=True
        )
        merged: list[Candidate] = []
        too_long: list[PromptTooLong] = []
        for answer in answers:
            if isinstance(answer, PromptTooLong):
                too_long.append(answer)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                merged.extend(answer)
        if too_long and len(too_long) == len(answers):
            raise too_long[0]  # no member could read the prompt
        return dedupe_and_sort(merged)

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]:
        return await self._gather(n, lambda policy, k: policy.tactics(theorem, state, k))

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]:
        return await self._gather(n, lambda policy, k: policy.proofs(theorem, k))

    async def check(self) -> None:
        await asyncio.gather(*(policy.check() for policy, _ in self.members))

    async def close(self) -> None:
        await asyncio.gather(*(policy.close() for policy, _ in self.members))


class HybridPolicy:
    """The model's samples and the automation's candidates, ranked by both (module doc)."""

    def __init__(self, model: ModelPolicy, automation: Policy, weight: float) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"the hybrid's model weight must be in [0, 1], not {weight}")
        self.model = model
        self.automation = automation
        self.weight = weight
        self.name = f"hybrid({model.name}, weight={weight:g})"

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]:
        prior = await self.automation.tactics(theorem, state, n)
        try:
            sampled = await self.model.tactics(theorem, state, n)
        except PromptTooLong:
            return prior  # the model cannot read this state; the automation still can
        same = _spelling(theorem.prover)
        priors = {same(c.text): c.logprob for c in prior}
        sampled = [Candidate(same(c.text), c.logprob, c.num_tokens, c.count) for c in sampled]
        texts = list(dict.fromkeys([*priors, *(c.text for c in sampled)]))
        try:
            scores = await self.model.score_tactics(state, texts)
        except PromptTooLong:
            # A long automation tactic does not fit after this state: keep both lists, the
            # automation's first, rather than lose the state.
            return _after(prior, sampled)
        model_logp = dict(zip(texts, scores, strict=True))
        counts = {c.text: c.count for c in sampled}
        if not priors:  # nothing to mix with: the model's own order
            return dedupe_and_sort(Candidate(t, model_logp[t], count=counts[t]) for t in texts)
        floor = min(priors.values())
        return dedupe_and_sort(
            Candidate(
                text,
                self.weight * model_logp[text] + (1 - self.weight) * priors.get(text, floor),
                count=counts.get(text, 1),
            )
            for text in texts
        )

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]:
        """Whole proofs: the model's samples, then the automation's (no common scale)."""
        return _after(await self.model.proofs(theorem, n), await self.automation.proofs(theorem, n))

    async def check(self) -> None:
        await asyncio.gather(self.model.check(), self.automation.check())

    async def close(self) -> None:
        await asyncio.gather(self.model.close(), self.automation.close())
