"""The hostile model: a policy that proposes exactly the given texts (tactics and proofs)."""

from __future__ import annotations

from search.policy import Candidate, LocalPolicy
from search.types import ProofState, Theorem


class ScriptedPolicy(LocalPolicy):
    name = "scripted-hostile"

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]:
        return [Candidate(text, -float(i)) for i, text in enumerate(self.texts[:n])]

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]:
        return [Candidate(text, -float(i)) for i, text in enumerate(self.texts[:n])]
