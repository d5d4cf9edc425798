"""What travels through the job queue: a job's specification, its statuses and a delivery.

These are plain values shared by the API (which writes jobs) and the workers (which run them);
neither the search code nor these models know anything about Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from search.config import SearchConfig
from search.types import Theorem


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PROVED = "proved"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ERROR = "error"
    CANCELLED = "cancelled"


#: A job in one of these states has its one result; nothing changes it any more.
TERMINAL = frozenset(
    {JobStatus.PROVED, JobStatus.FAILED, JobStatus.TIMEOUT, JobStatus.ERROR, JobStatus.CANCELLED}
)


class JobSpec(BaseModel):
    """Everything a worker needs to run one search, and nothing about who asked for it."""

    theorem: Theorem
    config: SearchConfig
    eval_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One stream entry handed to one worker; ``deliveries`` counts how often it was handed out
    (crashed workers' entries are handed out again), which the dead-letter ceiling reads."""

    entry_id: str
    job_id: str
    deliveries: int
