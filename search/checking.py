"""The judge on its own: verify given proofs of given statements, no search.

``prover check`` and ``POST /v1/checks`` both come here, and both use the environment's own
``verify`` (the whole-file ``coqc`` check, the Lean REPL's whole-command check), which is the
check every proof a search reports has passed. So a published proof set can be re-checked by
anyone with the same judge the search used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from search.benchmarks import coqlib_theorem
from search.env.base import ProofEnvironment
from search.env.coq_syntax import check_statement as coq_statement_name
from search.env.lean_syntax import check_statement as lean_statement_name
from search.runner import run_many
from search.types import ProverFault, ProverKind, Theorem, UnsafeInput

MAX_TEXT_CHARS = 100_000


class ProofCheck(BaseModel):
    """One proof to judge: the statement it claims, the header it needs, and the proof (for
    Coq the script between ``Proof.`` and ``Qed.``, for Lean the tactics after ``:= by``).

    Or, instead of ``header`` and ``statement``, ``benchmark`` and ``name``: the statement is
    then the benchmark's own, so a proof set cannot pass by changing what it claims to prove
    (a header may redefine ``False``; a benchmark's does not).
    """

    model_config = ConfigDict(extra="forbid")

    prover: ProverKind = ProverKind.COQ
    header: str = Field(default="", max_length=MAX_TEXT_CHARS)
    statement: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)
    benchmark: Literal["minif2f", "coqlib"] | None = None
    proof: str = Field(max_length=MAX_TEXT_CHARS)
    name: str | None = Field(default=None, max_length=200, description="echoed in the result")

    @model_validator(mode="after")
    def _one_statement(self) -> ProofCheck:
        if self.benchmark is None and self.statement is None:
            raise ValueError("give 'statement' (and 'header'), or 'benchmark' with 'name'")
        pinned = self.benchmark is not None
        if pinned and (self.statement is not None or self.header or not self.name):
            raise ValueError("with 'benchmark' give 'name' and no 'statement' or 'header'")
        return self

    def pinned(self, theorems: Sequence[Theorem]) -> ProofCheck:
        """This check with the benchmark's header and statement for ``name`` (raises
        ``KeyError`` when the benchmark has no such theorem)."""
        if self.benchmark is None:
            return self
        found = {t.name: t for t in theorems}[self.name or ""]
        if self.benchmark == "coqlib":
            return self  # looked up where it is checked: its context is the library's
        return self.model_copy(
            update={"benchmark": None, "header": found.header, "statement": found.statement}
        )


class CheckVerdict(StrEnum):
    #: The prover accepted the unchanged statement with this proof, on allowed axioms only.
    VALID = "valid"
    #: The proof does not prove the statement, or the input was refused; ``reason`` says why.
    INVALID = "invalid"
    #: No verdict: the prover timed out, crashed or is not installed.
    ERROR = "error"


class CheckResult(BaseModel):
    name: str | None = None
    prover: ProverKind
    verdict: CheckVerdict
    reason: str
    #: The axioms the proof rests on, by full name (empty unless the prover got that far).
    axioms: list[str] = Field(default_factory=list)
    #: What the prover printed besides the verdict (warnings, errors).
    messages: str = ""
    time_s: float
    #: The exact text the prover checked (empty when the input was refused before).
    checked_source: str = ""


def statement_name(item: ProofCheck) -> str:
    """The declared name, as the prover's static checks read it (raises ``UnsafeInput``)."""
    assert item.statement is not None
    if item.prover is ProverKind.COQ:
        return coq_statement_name(item.statement)
    return lean_statement_name(item.statement)


async def check_one(env: ProofEnvironment, item: ProofCheck) -> CheckResult:
    """Judge one proof with ``env``'s own whole-proof check; never raises for bad input or a
    broken prover (those are verdicts), only for programming errors."""
    started = time.monotonic()

    def result(verdict: CheckVerdict, reason: str, **fields) -> CheckResult:
        elapsed = round(time.monotonic() - started, 4)
        return CheckResult(
            name=item.name, prover=item.prover, verdict=verdict, reason=reason, time_s=elapsed,
            **fields,
        )  # fmt: skip

    if item.benchmark == "coqlib":
        try:
            theorem = coqlib_theorem(item.name or "")
        except KeyError:
            return result(CheckVerdict.INVALID, f"no theorem named {item.name!r} in coqlib")
    elif item.statement is None:
        return result(CheckVerdict.INVALID, f"{item.name!r} was not looked up in {item.benchmark}")
    else:
        try:
            name = statement_name(item)
        except UnsafeInput as exc:
            return result(CheckVerdict.INVALID, f"rejected: {exc}")
        theorem = Theorem(
            name=name, header=item.header, statement=item.statement, prover=item.prover
        )
    try:
        verdict = await env.verify(theorem, item.proof)
    except (ProverFault, OSError) as exc:
        return result(CheckVerdict.ERROR, f"{type(exc).__name__}: {exc}")
    if verdict.fault:
        kind = CheckVerdict.ERROR
    else:
        kind = CheckVerdict.VALID if verdict.ok else CheckVerdict.INVALID
    return result(
        kind,
        verdict.message,
        axioms=list(verdict.axioms),
        messages=verdict.prover_messages,
        checked_source=verdict.checked_source,
    )


async def check_many(
    environments: Callable[[ProverKind], ProofEnvironment],
    items: Iterable[ProofCheck],
    concurrency: int,
) -> list[CheckResult]:
    """Judge ``items`` with at most ``concurrency`` checks in flight; results keep the input's
    order. ``environments`` gives the environment for a prover (made on first use)."""

    async def one(item: ProofCheck) -> CheckResult:
        try:
            env = environments(item.prover)
        except (FileNotFoundError, ValueError) as exc:  # the prover is not installed
            return CheckResult(
                name=item.name, prover=item.prover, verdict=CheckVerdict.ERROR,
                reason=f"{item.prover.value} cannot run here: {exc}", time_s=0.0,
            )  # fmt: skip
        return await check_one(env, item)

    return await run_many(items, one, concurrency)


def summary(results: Sequence[CheckResult]) -> dict[str, int]:
    """How many results have each verdict (every verdict listed, zero included)."""
    return {v.value: sum(r.verdict is v for r in results) for v in CheckVerdict}


class CheckBatch(BaseModel):
    """The verdicts of one batch, in the order the proofs were given."""

    results: list[CheckResult]
    summary: dict[str, int]

    @classmethod
    def of(cls, results: Sequence[CheckResult]) -> CheckBatch:
        return cls(results=list(results), summary=summary(results))

    def describe(self) -> str:
        return ", ".join(f"{count} {verdict}" for verdict, count in self.summary.items())
