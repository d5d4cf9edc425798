"""Request and response bodies. The search knobs are ``SearchConfig`` itself (the API schema
*is* the config model), so the API, the CLI and the workers share one definition of each."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from search.checking import CheckResult, ProofCheck
from search.config import SearchConfig, Strategy
from search.queue_jobs import MAX_CHECKS_PER_JOB, JobStatus
from search.result import SearchResult
from search.types import ProverKind


class ProofRequest(BaseModel):
    """One theorem to prove: inline (``header`` + ``statement``) or by benchmark name.

    ``strategy`` sits at the top level for convenience; ``budget`` is the rest of the search
    configuration (expansions, wall and tactic time limits, pass@N's ``n``, scoring).
    """

    model_config = ConfigDict(extra="forbid")

    prover: ProverKind = ProverKind.COQ
    header: str = Field(default="", max_length=100_000)
    statement: str | None = Field(default=None, max_length=100_000)
    benchmark: Literal["minif2f", "coqlib"] | None = None
    name: str | None = Field(default=None, max_length=200)
    strategy: Strategy = Strategy.BEST_FIRST
    budget: SearchConfig = Field(default_factory=SearchConfig)

    @model_validator(mode="after")
    def _one_theorem(self) -> ProofRequest:
        if self.benchmark is None and not self.statement:
            raise ValueError("give 'statement' (and 'header'), or 'benchmark' with 'name'")
        if self.benchmark is not None and (self.statement or not self.name):
            raise ValueError("with 'benchmark' give 'name' and no 'statement'")
        if "strategy" in self.budget.model_fields_set and self.budget.strategy != self.strategy:
            raise ValueError("'budget.strategy' disagrees with 'strategy'; give it once")
        return self

    def config(self) -> SearchConfig:
        return self.budget.model_copy(update={"strategy": self.strategy})


class JobAccepted(BaseModel):
    id: str
    status: JobStatus
    url: str
    events: str


class CancelAccepted(BaseModel):
    """``status`` is the job's status after the request: ``cancelled`` (it had not started),
    or ``running`` with ``cancel_requested`` (its worker stops it within a second)."""

    id: str
    status: JobStatus
    cancel_requested: bool


class JobView(BaseModel):
    """A job as clients see it: status, the verified proof, statistics, the config echoed and
    the versions of what ran."""

    id: str
    status: JobStatus
    prover: ProverKind
    theorem: str
    config: SearchConfig
    proof: str | None = None
    message: str = ""
    result: SearchResult | None = None
    attempts: int = 0
    worker: str | None = None
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    versions: dict[str, str | None] = Field(default_factory=dict)
    eval_id: str | None = None


class EvalRequest(BaseModel):
    """A benchmark split as one evaluation run: one job per theorem."""

    model_config = ConfigDict(extra="forbid")

    prover: ProverKind = ProverKind.COQ
    benchmark: Literal["minif2f", "coqlib"] = "minif2f"
    split: Literal[
        "test", "valid", "train", "novel-train", "novel-valid", "novel-test"
    ] = Field(default="test", description="minif2f: test, valid; coqlib: all six")
    limit: int | None = Field(default=None, ge=1, description="only the first K theorems")
    names: list[str] | None = Field(default=None, max_length=10_000)
    strategy: Strategy = Strategy.BEST_FIRST
    budget: SearchConfig = Field(default_factory=SearchConfig)
    trees: bool = Field(
        default=False,
        description="keep each job's search tree (read at /v1/proofs/{job}); off by default, "
        "as the trees of hundreds of searches would dwarf the results",
    )

    @model_validator(mode="after")
    def _split_of_the_benchmark(self) -> EvalRequest:
        if self.benchmark == "minif2f" and self.split not in ("test", "valid"):
            raise ValueError("minif2f has the splits test and valid")
        return self

    def config(self) -> SearchConfig:
        # Trees of hundreds of searches would dwarf the results; ``prover eval`` drops them too.
        return self.budget.model_copy(update={"strategy": self.strategy, "record_tree": self.trees})


class EvalAccepted(BaseModel):
    id: str
    jobs: int
    url: str
    results: str


class EvalView(BaseModel):
    """Progress of an evaluation run; ``pass_at_k`` averages the per-theorem unbiased
    estimates over finished theorems (pass@N with every sample judged), else it is None."""

    id: str
    prover: ProverKind
    benchmark: str
    split: str
    config: SearchConfig
    total: int
    done: int
    solved: int
    solved_rate: float | None
    by_status: dict[str, int]
    pass_at_k: dict[int, float] | None = None
    created_at: float


class CheckRequest(BaseModel):
    """Proofs to judge with the checker the search uses, all for one prover. The request
    waits up to ``wait_s`` for the verdicts (0: return at once and poll the job's URL); the
    wait is a long poll, bounded like one (20 s) so that no client or proxy times out on it."""

    model_config = ConfigDict(extra="forbid")

    checks: list[ProofCheck] = Field(min_length=1, max_length=MAX_CHECKS_PER_JOB)
    wait_s: float = Field(default=10.0, ge=0, le=20)

    @model_validator(mode="after")
    def _one_prover(self) -> CheckRequest:
        if len({check.prover for check in self.checks}) > 1:
            raise ValueError("a batch holds proofs for one prover; send one batch per prover")
        return self


class CheckView(BaseModel):
    """A check job: ``results`` (in the order given) and ``summary`` once it is ``done``."""

    id: str
    status: JobStatus
    prover: ProverKind
    url: str
    results: list[CheckResult] | None = None
    summary: dict[str, int] | None = None
    message: str = ""
    attempts: int = 0
    worker: str | None = None
    created_at: float
    finished_at: float | None = None
    versions: dict[str, str | None] = Field(default_factory=dict)
