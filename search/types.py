"""The vocabulary shared by every prover backend and every search algorithm.

Following LeanDojo's design, *expected* outcomes of a step (new goals, proof finished, the
prover rejected the tactic) are values the search can ``match`` on, while *broken machinery*
(a tactic that ran past its wall-clock limit, a prover process that died) raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, Field


class ProverKind(StrEnum):
    COQ = "coq"
    LEAN = "lean"


class LibraryRef(BaseModel):
    """Where a theorem of an installed Coq library stands: its module (``Coq.Bool.Bool``), the
    index of its statement among the file's sentences, and the file's SHA-256. Its context is
    that file's text before the statement (``search.coqlib``), trusted because it is read from
    the installed library and checked against the digest; only benchmarks set it."""

    module: str = Field(min_length=1, max_length=200)
    position: int = Field(ge=0)
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    #: In a section: the section variables the library's own proof uses. The check opens the
    #: proof with ``Proof using`` them, so Coq refuses a proof that needs another (a section
    #: ``Hypothesis EM`` would otherwise become a premise of the certified theorem).
    using: tuple[str, ...] | None = None

    @property
    def where(self) -> str:
        """Where the statement stands, as a theorem's ``source`` says it."""
        return f"{self.module} sentence {self.position}"


class Theorem(BaseModel):
    """A statement to prove, with the header (imports, opens, definitions) it needs.

    ``statement`` is the declaration without its proof: for Coq ``Theorem name : P.``, for Lean
    ``theorem name : P := by``. A library theorem has no header: its context is its file's text
    up to the statement (``library``).
    """

    name: str = Field(min_length=1, max_length=200)
    header: str = Field(default="", max_length=100_000)
    statement: str = Field(min_length=1, max_length=100_000)
    prover: ProverKind = ProverKind.COQ
    split: str | None = None
    source: str | None = None
    library: LibraryRef | None = None


@dataclass(frozen=True)
class ProofState:
    """An opaque handle on a proof state inside one prover session.

    ``key`` is backend-private (a Coq state id, a Lean proofState number); ``goals`` is the
    pretty-printed goals, one string per goal, with prover-internal ids removed so that equal
    states print equally (the search merges states on this text).
    """

    key: int
    goals: tuple[str, ...]

    @property
    def text(self) -> str:
        """All goals as one prompt-ready string."""
        return "\n\n".join(self.goals)


@dataclass(frozen=True)
class Goals:
    """The tactic ran and left these goals."""

    state: ProofState


@dataclass(frozen=True)
class Proved:
    """The tactic closed the last goal."""

    state: ProofState


@dataclass(frozen=True)
class Failed:
    """The prover rejected the tactic (or our static checks did); ``message`` says why."""

    message: str


StepOutcome = Goals | Proved | Failed


class ProverFault(Exception):
    """The prover machinery broke; the session has been restarted and may be used again."""


class ProverTimeout(ProverFault):
    """A request ran past its wall-clock limit; the prover process was killed and restarted."""


class ProverCrash(ProverFault):
    """The prover process died or answered something we cannot parse."""


class UnsafeInput(ValueError):
    """Untrusted text (a statement, header or tactic) contains a forbidden construct."""


@dataclass(frozen=True)
class Verdict:
    """The result of checking a whole proof as a file, the only check a reported proof trusts."""

    ok: bool
    message: str = ""
    checked_source: str = ""
    #: The axioms the proof rests on, by full name where the prover resolved them.
    axioms: tuple[str, ...] = field(default_factory=tuple)
    #: True when the check could not finish (the prover timed out or crashed): no verdict on
    #: the proof itself.
    fault: bool = False
    #: What the prover printed besides the verdict (warnings, errors).
    prover_messages: str = ""
