"""One validated configuration object per concern, shared by the CLI, the API and the workers.

The API schema *is* these models, so a knob has exactly one definition and one default.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, model_validator


class Strategy(StrEnum):
    BEST_FIRST = "best-first"
    PASS_AT_N = "pass-at-n"


class Scoring(StrEnum):
    """How best-first search orders open states.

    ``cumulative_logprob``: sum of the tactic log-probs from the root (ReProver).
    ``length_normalized``: that sum divided by ``depth ** length_alpha`` (BFS-Prover), which
    stops the search from preferring shallow states only because they have fewer terms.
    """

    CUMULATIVE_LOGPROB = "cumulative_logprob"
    LENGTH_NORMALIZED = "length_normalized"


class Expansion(StrEnum):
    """How best-first search spends the tactics proposed for a state.

    ``lazy``: the queue orders (state, next untried tactic) pairs by the score the child would
    have, so the search tries ``intros`` and then the child's best closer before the parent's
    weakest guesses (best-first over edges). ``full``: every proposed tactic is tried as soon
    as the state is expanded (ReProver); under a tight wall budget a few slow failing
    closers per state then decide how deep the search gets.
    """

    LAZY = "lazy"
    FULL = "full"


class SearchConfig(BaseModel):
    """Budgets and strategy of one proof search."""

    strategy: Strategy = Field(
        default=Strategy.BEST_FIRST,
        description="best-first: proof-tree search; pass-at-n: N whole proofs, verified",
    )
    n: int = Field(default=32, ge=1, le=4096, description="pass@N: whole proofs sampled")
    tactics_per_expansion: int = Field(
        default=16, ge=1, le=256, description="best-first: tactics tried on each expanded state"
    )
    widen_to: int = Field(
        default=64,
        ge=1,
        le=1024,
        description="best-first: when every state is exhausted before the budget is, ask the "
        "expanded states for twice as many tactics, up to this many (no widening when it is "
        "at most tactics_per_expansion)",
    )
    max_expansions: int = Field(
        default=200, ge=1, le=100_000, description="best-first: expansion budget"
    )
    max_depth: int = Field(default=32, ge=1, le=1000, description="best-first: deepest state kept")
    wall_timeout_s: float = Field(
        default=60.0, gt=0, le=86_400, description="wall-clock budget per theorem, seconds",
        json_schema_extra={"cli": "timeout"},
    )  # fmt: skip
    tactic_timeout_s: float = Field(
        default=5.0, gt=0, le=3_600, description="time limit of one tactic, seconds",
        json_schema_extra={"cli": "tactic-timeout"},
    )  # fmt: skip
    scoring: Scoring = Field(
        default=Scoring.CUMULATIVE_LOGPROB,
        description="best-first priority: cumulative log-prob, or divided by depth^length_alpha",
    )
    expansion: Expansion = Field(
        default=Expansion.LAZY,
        description="best-first: lazy runs one tactic per turn, wherever in the tree the best "
        "one is; full runs all of a state's tactics at once",
    )
    length_alpha: float = Field(
        default=0.5, ge=0.0, le=2.0, description="length_normalized scoring: the depth's exponent"
    )
    early_stop: bool = Field(
        default=True,
        description="pass@N: stop at the first verified proof (--all-samples: judge every "
        "sample, which gives pass@k for all k <= N)",
        json_schema_extra={"cli": "early-stop/all-samples"},
    )
    record_tree: bool = Field(default=True, description="keep the explored tree in the result")


def default_workers() -> int:
    """Prover processes per machine: one per core, at least one."""
    return max(1, os.cpu_count() or 1)


class ProverLimits(BaseModel):
    """Resource limits for prover processes (per process)."""

    memory_bytes: int = Field(
        default=4 * 1024**3, ge=256 * 1024**2,
        description="memory cap (RLIMIT_AS) per prover process (Lean's default: 12 GiB)",
        json_schema_extra={"cli": "memory-gb", "cli_unit": [1024**3, "GiB"]},
    )  # fmt: skip
    pool_size: int = Field(
        default_factory=default_workers, ge=1, le=512,
        description="prover processes (default: one per core; Lean: cores - 1)",
        json_schema_extra={"cli": "workers"},
    )  # fmt: skip
    recycle_after: int = Field(
        default=50, ge=1, description="restart a process after this many theorems (Lean: 16)"
    )
    start_timeout_s: float = Field(
        default=60.0, gt=0, description="seconds to start a prover; to load a header (Lean: 900)",
        json_schema_extra={"cli": "start-timeout"},
    )  # fmt: skip
    check_timeout_s: float = Field(
        default=120.0, gt=0, description="seconds for a proof check or a context load (Lean: 300)",
        json_schema_extra={"cli": "check-timeout"},
    )  # fmt: skip
    grace_s: float = Field(
        default=2.0, ge=0,
        description="wall-clock slack over a tactic's own time limit, seconds (Lean: 5)",
        json_schema_extra={"cli": "grace"},
    )  # fmt: skip


#: Lean differs from Coq in scale: ``import Mathlib`` takes seconds to minutes and 8-12 GB per
#: process, and the REPL never frees states. These replace ``ProverLimits``' defaults for Lean
#: wherever the user did not set the field.
LEAN_LIMIT_DEFAULTS = {
    "memory_bytes": 12 * 1024**3,
    "pool_size": max(1, (os.cpu_count() or 2) - 1),
    "recycle_after": 16,
    "start_timeout_s": 900.0,
    "check_timeout_s": 300.0,
    "grace_s": 5.0,
}


def limits_for_lean(limits: ProverLimits | None) -> ProverLimits:
    """``limits`` with Lean's defaults in every field the user left unset."""
    limits = limits or ProverLimits()
    unset = {k: v for k, v in LEAN_LIMIT_DEFAULTS.items() if k not in limits.model_fields_set}
    return limits.model_copy(update=unset)


class LeanBackend(StrEnum):
    """``repl``: the Lean REPL (default); ``leandojo``: LeanDojo's Dojo, verified by the REPL."""

    REPL = "repl"
    LEANDOJO = "leandojo"


class LeanConfig(BaseModel):
    """Which Lean installation to drive, and the soundness policy's one switch."""

    backend: LeanBackend = Field(
        default=LeanBackend.REPL,
        description="Lean: the REPL, or LeanDojo (traced repos; verified by the REPL)",
        json_schema_extra={"cli": "lean-backend"},
    )

    project_dir: Path | None = Field(
        default=None,
        description="Lean: the Lake project whose Mathlib the REPL loads (its working directory)",
        json_schema_extra={"cli": "lean-project", "env": "DCOPROVER_LEAN_PROJECT"},
    )
    repl_command: str = Field(
        default="lake env repl",
        min_length=1,
        description="Lean: how to start one REPL process, run in the project",
        json_schema_extra={"cli": "lean-repl-cmd", "env": "DCOPROVER_LEAN_REPL_CMD"},
    )
    allow_native_decide: bool = Field(
        default=False,
        description="Lean: accept proofs that trust compiled code (axiom Lean.ofReduceBool)",
        json_schema_extra={"cli": "allow-native-decide"},
    )


class QueueConfig(BaseModel):
    """The job queue's settings, shared by the API and the workers (they must agree)."""

    prefix: str = Field(
        default="prover", min_length=1, pattern=r"^[\w.-]+$", description="Redis key prefix"
    )
    lease_s: float = Field(
        default=15.0, gt=0,
        description="seconds a running job survives without a heartbeat (the same on the API "
        "and every worker)",
        json_schema_extra={"cli": "lease"},
    )  # fmt: skip
    poll_s: float = Field(
        default=0.25, gt=0,
        description="seconds between a worker's heartbeats (and its checks for a cancel)",
        json_schema_extra={"cli": "poll"},
    )  # fmt: skip
    max_deliveries: int = Field(
        default=3, ge=1,
        description="hand-outs of one job (its workers died) before it is dead-lettered",
    )  # fmt: skip

    @model_validator(mode="after")
    def _heartbeats_fit_in_a_lease(self) -> QueueConfig:
        if self.poll_s * 2 >= self.lease_s:
            raise ValueError("the lease must outlast several heartbeats: need poll < lease/2")
        return self
