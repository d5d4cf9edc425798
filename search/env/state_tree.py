"""The states of one search, kept so that any of them can be rebuilt in a fresh process.

Lean backends hand out process-local handles for proof states (a REPL ``proofState`` number, a
LeanDojo ``TacticState``). When a process is killed (timeout, crash, memory), every handle dies
with it, but the search still holds states it wants to expand: each state therefore records its
parent and tactic, and ``handle`` replays the missing part of the path in the new process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from search.types import Failed, ProofState, ProverCrash

H = TypeVar("H")
#: Run one tactic from a handle: the new handle and its goals, or why it failed.
Step = Callable[[H, str], Awaitable[tuple[H, tuple[str, ...]] | Failed]]


@dataclass(frozen=True)
class StateRecord:
    parent: int | None
    tactic: str | None
    goals: tuple[str, ...]


@dataclass
class StateTree(Generic[H]):
    """Search states by key (the root is 0) and their handles in the current process."""

    records: dict[int, StateRecord] = field(default_factory=dict)
    handles: dict[int, H] = field(default_factory=dict)
    replayed: int = 0

    def set_root(self, handle: H, goals: tuple[str, ...]) -> ProofState:
        """A (re)loaded theorem: the root's handle in the new process, others forgotten."""
        self.records.setdefault(0, StateRecord(None, None, goals))
        self.handles = {0: handle}
        return ProofState(key=0, goals=goals)

    def add(self, parent: int, tactic: str, goals: tuple[str, ...], handle: H) -> ProofState:
        key = len(self.records)
        self.records[key] = StateRecord(parent, tactic, goals)
        self.handles[key] = handle
        return ProofState(key=key, goals=goals)

    def path(self, key: int) -> tuple[str, ...]:
        """The tactics from the root to state ``key``."""
        tactics: list[str] = []
        record = self.records[key]
        while record.parent is not None and record.tactic is not None:
            tactics.append(record.tactic)
            record = self.records[record.parent]
        return tuple(reversed(tactics))

    async def handle(self, key: int, step: Step[H]) -> H:
        """The handle of state ``key``, replaying its tactics from the nearest live ancestor."""
        if key in self.handles:
            return self.handles[key]
        record = self.records[key]
        assert record.parent is not None and record.tactic is not None
        parent = await self.handle(record.parent, step)
        outcome = await step(parent, record.tactic)
        self.replayed += 1
        if isinstance(outcome, Failed) or outcome[1] != record.goals:
            raise ProverCrash(f"replaying {record.tactic!r} did not reproduce its state")
        self.handles[key] = outcome[0]
        return outcome[0]
