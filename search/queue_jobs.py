"""What travels through the job queue: a job's specification, its statuses and a delivery.

These are plain values shared by the API (which writes jobs) and the workers (which run them);
neither the search code nor these models know anything about Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field, TypeAdapter, model_validator

from search.checking import ProofCheck
from search.config import SearchConfig
from search.types import ProverKind, Theorem

#: The most proofs one check job holds (``POST /v1/checks`` takes a batch as one job).
MAX_CHECKS_PER_JOB = 100


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PROVED = "proved"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ERROR = "error"
    CANCELLED = "cancelled"
    #: A check job judged all its proofs (each verdict is in its result).
    DONE = "done"


#: A job in one of these states has its one result; nothing changes it any more.
TERMINAL = frozenset(
    {
        JobStatus.PROVED, JobStatus.FAILED, JobStatus.TIMEOUT, JobStatus.ERROR,
        JobStatus.CANCELLED, JobStatus.DONE,
    }
)  # fmt: skip


class JobSpec(BaseModel):
    """Everything a worker needs to run one search, and nothing about who asked for it."""

    theorem: Theorem
    config: SearchConfig
    eval_id: str | None = None

    @property
    def prover(self) -> ProverKind:
        return self.theorem.prover


class CheckSpec(BaseModel):
    """A batch of proofs to judge, no search: one job, run by a worker of ``prover``."""

    prover: ProverKind
    checks: list[ProofCheck] = Field(min_length=1, max_length=MAX_CHECKS_PER_JOB)

    @model_validator(mode="after")
    def _one_prover(self) -> CheckSpec:
        if any(check.prover is not self.prover for check in self.checks):
            raise ValueError(f"every proof of a check job is for its prover, {self.prover.value}")
        return self


AnySpec = JobSpec | CheckSpec
_SPECS: TypeAdapter[AnySpec] = TypeAdapter(AnySpec)


def parse_spec(raw: str) -> AnySpec:
    """A stored job specification, whichever kind (their required fields tell them apart)."""
    return _SPECS.validate_json(raw)


@dataclass(frozen=True)
class Delivery:
    """One stream entry handed to one worker; ``deliveries`` counts how often it was handed out
    (crashed workers' entries are handed out again), which the dead-letter ceiling reads."""

    entry_id: str
    job_id: str
    deliveries: int
