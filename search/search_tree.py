"""The explored tree of one search, kept apart from the algorithm that grows it.

Best-first and pass@N grow the same kind of tree (ReProver keeps its tree in
``search_tree.py`` for the same reason): the root is the theorem's statement; a node is a
tactic (best-first) or a whole proof (pass@N: every candidate is a child of the root) and what
it produced. The tree decides what a tactic's outcome makes of a node: failed, merged into a
state already seen (the same goals, printed the same way), or a new open state. The algorithm
decides only the order in which nodes are tried. What the tree holds is what a result reports
(``SearchResult.tree``), what expert iteration reads proofs' steps from, and what the
dashboard draws, so every strategy writes it the same way.

Running a step is accounted here too (``run_step``): its time and count in the statistics,
and a prover fault turned into a failed node that is counted, not an exception that ends the
search.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterator

from search.result import NodeStatus, SearchStats, TreeNode
from search.types import Failed, ProofState, ProverFault, StepOutcome


class SearchTree:
    """Nodes by id (the root is 0), the open states behind them, and the goals seen."""

    def __init__(self) -> None:
        self.nodes: list[TreeNode] = []
        self.states: dict[int, ProofState] = {}
        self._seen: dict[tuple[str, ...], int] = {}
        self.max_depth = 0

    def __getitem__(self, node_id: int) -> TreeNode:
        return self.nodes[node_id]

    def set_root(self, state: ProofState) -> TreeNode:
        """The statement's own state, node 0."""
        root = TreeNode(id=0, parent=None, tactic=None, goals=list(state.goals))
        self.nodes.append(root)
        self._open(root, state)
        return root

    def child(self, parent: TreeNode, tactic: str, logprob: float, score: float) -> TreeNode:
        """A node for ``tactic`` tried on ``parent`` (``logprob``: the path's, cumulative);
        it is in the tree from now on, ``open`` until its outcome is recorded."""
        node = TreeNode(
            id=len(self.nodes),
            parent=parent.id,
            tactic=tactic,
            logprob=logprob,
            score=score,
            depth=parent.depth + 1,
        )
        self.nodes.append(node)
        return node

    def fail(self, node: TreeNode, message: str) -> None:
        node.status, node.message = NodeStatus.FAILED, message

    def prove(self, node: TreeNode) -> None:
        node.status = NodeStatus.PROVED
        self._reached(node)

    def merge(self, node: TreeNode, state: ProofState) -> bool:
        """Whether ``state``'s goals were reached before; if so ``node`` is merged into that
        node (it is not a new state: searching it again would repeat that node's subtree)."""
        if state.goals not in self._seen:
            return False
        node.status = NodeStatus.MERGED
        node.message = f"same goals as node {self._seen[state.goals]}"
        return True

    def open(self, node: TreeNode, state: ProofState) -> None:
        """``node``'s tactic left the new ``state`` (goals remain), to be expanded later."""
        node.goals = list(state.goals)
        self._open(node, state)

    def expanded(self) -> Iterator[TreeNode]:
        """The open states the search has already asked the policy about."""
        return (self.nodes[i] for i in self.states if self.nodes[i].status is NodeStatus.EXPANDED)

    def _open(self, node: TreeNode, state: ProofState) -> None:
        self.states[node.id] = state
        self._seen[state.goals] = node.id
        self._reached(node)

    def _reached(self, node: TreeNode) -> None:
        """The depth a proof or an open state reached (failed nodes do not count)."""
        self.max_depth = max(self.max_depth, node.depth)


async def run_step(step: Awaitable[StepOutcome], stats: SearchStats) -> StepOutcome:
    """One prover call of a search (a tactic, or a whole proof's pre-check), timed and counted
    in ``stats``; a prover fault comes back as a ``Failed`` outcome, counted as a fault."""
    started = time.monotonic()
    try:
        return await step
    except ProverFault as fault:
        stats.prover_faults += 1
        return Failed(f"{type(fault).__name__}: {fault}")
    finally:
        stats.prover_calls += 1
        stats.time_prover_s += time.monotonic() - started
