"""The proof-environment seam: what every prover backend (Coq, Lean REPL, LeanDojo) offers.

The search code is written against these protocols only, so a backend is swapped by
configuration and the search spine is tested end to end on whichever prover runs.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from search.types import ProofState, ProverKind, StepOutcome, Theorem, Verdict


class ProofSession(Protocol):
    """One theorem open in one prover process, for one search at a time."""

    root: ProofState | None
    #: ``time.monotonic()`` when the session got its prover process. A search's wall budget
    #: does not count the time it queued for one: with more searches in flight than
    #: processes, a theorem would otherwise time out before its first tactic.
    opened_at: float

    async def apply(self, state: ProofState, tactic: str) -> StepOutcome:
        """Run ``tactic`` on ``state``; raises ``ProverFault`` on timeouts and crashes."""
        ...

    async def run_proof(self, proof: str) -> StepOutcome:
        """Run a whole proof script from the root (a cheap pre-check before ``verify``)."""
        ...

    def proof_of(self, state: ProofState) -> str:
        """The script that leads from the root to ``state``."""
        ...

    async def verify(self, proof: str) -> Verdict:
        """The sound whole-proof check (as ``ProofEnvironment.verify``), run where it is
        cheapest: Lean re-checks on this session's warm process, Coq runs ``coqc``."""
        ...


class ProofEnvironment(Protocol):
    """A pool of prover processes plus the sound whole-proof check."""

    prover: ProverKind

    def session(
        self, theorem: Theorem, tactic_timeout_s: float
    ) -> AbstractAsyncContextManager[ProofSession]: ...

    async def verify(self, theorem: Theorem, proof: str) -> Verdict: ...

    def describe(self) -> dict[str, str | None]:
        """Versions of the prover installation (recorded with every result)."""
        ...

    async def close(self) -> None: ...
