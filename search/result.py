"""What a search returns: status, the verified proof, statistics and the explored tree.

Every field is JSON-serialisable (pydantic), so the same object is printed by ``prover prove
--json``, written as a row by ``prover eval`` and stored by the service.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from search.config import SearchConfig


class SearchStatus(StrEnum):
    PROVED = "proved"
    FAILED = "failed"
    TIMEOUT = "timeout"
    ERROR = "error"


class NodeStatus(StrEnum):
    OPEN = "open"
    EXPANDED = "expanded"
    PROVED = "proved"
    FAILED = "failed"
    MERGED = "merged"


def _null_is_minus_infinity(value: object) -> object:
    return float("-inf") if value is None else value


#: A log-probability or score. JSON has no infinity: pydantic writes -inf (a policy's log-prob
#: of an impossible tactic) and NaN as null, so null reads back as -inf instead of failing the
#: whole result.
LogValue = Annotated[
    float,
    BeforeValidator(_null_is_minus_infinity),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "null"}]}),
]


class TreeNode(BaseModel):
    """One node of the explored tree: the tactic that led here and what it produced."""

    id: int
    parent: int | None
    tactic: str | None
    logprob: LogValue = 0.0
    score: LogValue = 0.0
    depth: int = 0
    status: NodeStatus = NodeStatus.OPEN
    goals: list[str] = Field(default_factory=list)
    message: str | None = None


class SearchStats(BaseModel):
    """Where the search spent its effort; times in seconds."""

    expansions: int = 0
    #: Rounds of widening: the tree was exhausted and its states were asked for more tactics.
    widenings: int = 0
    prover_calls: int = 0
    policy_calls: int = 0
    merged_states: int = 0
    failed_tactics: int = 0
    prover_faults: int = 0
    #: States the policy could not read (their prompt is over its context): left unexpanded.
    skipped_states: int = 0
    max_depth: int = 0
    candidates_checked: int = 0
    time_prover_s: float = 0.0
    time_policy_s: float = 0.0
    time_check_s: float = 0.0
    #: Queued for a prover process (more searches in flight than processes): in the total,
    #: not in the wall budget (``ProofSession.opened_at``).
    time_waiting_s: float = 0.0
    time_total_s: float = 0.0

    @property
    def time_searching_s(self) -> float:
        """The search's own wall time: the total less the wait for a process, which depends
        on how many searches share the pool. Rates (expansions per second) divide by this."""
        return max(0.0, self.time_total_s - self.time_waiting_s)

    @property
    def time_ours_s(self) -> float:
        """Time spent in the search itself (queueing, scoring, bookkeeping)."""
        return max(
            0.0,
            self.time_searching_s - self.time_prover_s - self.time_policy_s - self.time_check_s,
        )


class SearchResult(BaseModel):
    """The outcome of one search; ``proof`` is set only when ``coqc``/Lean accepted it."""

    theorem: str
    prover: str
    strategy: str
    status: SearchStatus
    proof: str | None = None
    checked_source: str | None = None
    axioms: list[str] = Field(default_factory=list)
    message: str = ""
    stats: SearchStats = Field(default_factory=SearchStats)
    #: pass@N only: candidates sampled, candidates verified correct, and pass@k for k <= n.
    samples: int | None = None
    correct: int | None = None
    pass_at_k: dict[int, float] | None = None
    tree: list[TreeNode] | None = None
    config: SearchConfig | None = None

    @classmethod
    def of(
        cls,
        theorem: str,
        prover: str,
        config: SearchConfig,
        status: SearchStatus,
        tree: list[TreeNode] | None = None,
        **fields,
    ) -> SearchResult:
        """The one way a result is built: what ran (theorem, prover, strategy, the whole
        configuration) and how it ended; the tree only when the configuration keeps it."""
        return cls(
            theorem=theorem,
            prover=prover,
            strategy=config.strategy.value,
            status=status,
            tree=tree if config.record_tree else None,
            config=config,
            **fields,
        )
