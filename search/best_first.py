"""Best-first proof-tree search (ReProver / BFS-Prover style).

Open states sit in a priority queue ordered by their score: the cumulative log-probability of
the tactics that lead to them, optionally divided by ``depth ** alpha`` (BFS-Prover's length
normalisation). Each expansion asks the policy for ``tactics_per_expansion`` tactics. With
``expansion=full`` they all run at once. With ``expansion=lazy`` (the default) the state goes
back into the queue, ranked by the score its next untried tactic's child would have, so one
tactic runs per turn, wherever in the tree the best one is. States whose goals print the same
as a state already seen are merged. A proof found in the session is accepted only after the
environment's whole-proof check.

Widening: when every state is exhausted while budget is left, the expanded states are asked
again for twice as many tactics (up to ``widen_to``) and the ones not yet tried there are
queued. Giving up with budget left is the worst use of it, and a policy's weaker tactics are
better tried then than mixed into the first pass, where they compete with the deep states of
promising branches (doubling ``tactics_per_expansion`` from the start turned 8 of 42 exhausted
MiniF2F-Coq valid theorems into wall-clock timeouts). Everything before the first widening is
the search without it, so it can only add proofs, never lose one that the narrower search finds.

Budgets: ``max_expansions`` (policy calls; tactics already proposed still run when it is
spent), ``max_depth`` and ``wall_timeout_s``. The wall budget is checked
between prover calls (a call is never cancelled half-way, which would desynchronise the
prover), so a search may overrun it by at most one tactic's own time limit.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

from search.config import Expansion, Scoring, SearchConfig
from search.env.base import ProofEnvironment, ProofSession
from search.policy import Candidate, Policy, PromptTooLong
from search.result import NodeStatus, SearchResult, SearchStats, SearchStatus, TreeNode
from search.search_tree import SearchTree, run_step
from search.types import Failed, Goals, ProofState, Proved, ProverFault, Theorem, UnsafeInput
from search.verify import book_opening, verify_candidate

#: A search whose prover broke this many times is reported as an error, not as 'failed'.
MAX_PROVER_FAULTS = 8

#: Called with the live statistics after every expansion (best-first) or candidate (pass@N),
#: so a caller (the service's worker) can report progress; the search knows nothing of how.
ProgressHook = Callable[[SearchStats], None]


def node_score(logprob_sum: float, depth: int, config: SearchConfig) -> float:
    """The priority of a state: higher is expanded first."""
    if config.scoring is Scoring.LENGTH_NORMALIZED and depth > 0:
        return logprob_sum / depth**config.length_alpha
    return logprob_sum


class _Search:
    """The order of one best-first search (its queue, untried tactics, widening); the tree
    it grows is a ``SearchTree``. ``run`` drives it."""

    def __init__(
        self,
        theorem: Theorem,
        env: ProofEnvironment,
        policy: Policy,
        config: SearchConfig,
        on_progress: ProgressHook | None = None,
    ) -> None:
        self.theorem = theorem
        self.on_progress = on_progress
        self.env = env
        self.policy = policy
        self.config = config
        self.stats = SearchStats()
        self.tree = SearchTree()
        self.queue: list[tuple[float, int]] = []
        #: Lazy expansion: the proposed tactics of each expanded state not yet tried, best first.
        self.pending: dict[int, list[Candidate]] = {}
        #: The tactics already run on each state, so that widening queues only new ones.
        self.tried: dict[int, set[str]] = {}
        #: Expanded states waiting to be asked for more tactics in the current widening round.
        self.to_widen: set[int] = set()
        self.breadth = config.tactics_per_expansion
        self.budget_spent = False
        self.started = time.monotonic()
        self.deadline = self.started + config.wall_timeout_s

    def _queue(self, node: TreeNode) -> None:
        heapq.heappush(self.queue, (-node.score, node.id))

    def result(self, status: SearchStatus, **fields) -> SearchResult:
        self.stats.time_total_s = time.monotonic() - self.started
        self.stats.max_depth = self.tree.max_depth
        return SearchResult.of(
            self.theorem.name, self.env.prover.value, self.config, status,
            tree=self.tree.nodes, stats=self.stats, **fields,
        )  # fmt: skip

    async def _propose(self, parent: TreeNode) -> list[Candidate]:
        """The policy's tactics for ``parent``'s state; none for a state whose prompt does not
        fit in the model's context (the reason goes on the node, and the search goes on)."""
        started = time.monotonic()
        state = self.tree.states[parent.id]
        try:
            return await self.policy.tactics(self.theorem, state, self.breadth)
        except PromptTooLong as exc:
            # Failed, not expanded: widening would ask the same state again, in vain.
            self.stats.skipped_states += 1
            self.tree.fail(parent, f"skipped by the policy: {exc}")
            return []
        finally:
            self.stats.policy_calls += 1
            self.stats.time_policy_s += time.monotonic() - started

    async def run(self, session: ProofSession) -> SearchResult:
        assert session.root is not None
        self._queue(self.tree.set_root(session.root))
        while self.queue or self._widen():
            if time.monotonic() >= self.deadline:
                return self.result(SearchStatus.TIMEOUT, message="wall-clock budget spent")
            _, node_id = heapq.heappop(self.queue)
            parent = self.tree[node_id]
            if node_id in self.to_widen:
                found = await self._rexpand(session, parent)
            elif node_id in self.pending:
                found = await self._try_next(session, parent)
            else:
                found = await self._expand(session, parent)
            if found is not None:
                return found
            if self.stats.prover_faults >= MAX_PROVER_FAULTS:
                return self.result(
                    SearchStatus.ERROR,
                    message=f"prover failed {self.stats.prover_faults} times; giving up",
                )
        if time.monotonic() >= self.deadline:
            return self.result(SearchStatus.TIMEOUT, message="wall-clock budget spent")
        if self.budget_spent:
            return self.result(SearchStatus.FAILED, message="expansion budget spent")
        message = "search space exhausted"
        if self.stats.widenings:
            message += f" (widened to {self.breadth} tactics per state)"
        if self.stats.skipped_states:
            message += (
                f"; {self.stats.skipped_states} states skipped: their prompt is over the "
                "policy's context"
            )
        return self.result(SearchStatus.FAILED, message=message)

    def _widen(self) -> bool:
        """Start a widening round: queue every expanded state to be asked for more tactics.
        False when widening is off or spent, or no budget is left for it."""
        if (
            self.breadth >= self.config.widen_to
            or self.budget_spent
            or self.stats.expansions >= self.config.max_expansions
            or time.monotonic() >= self.deadline
        ):
            return False
        self.breadth = min(2 * self.breadth, self.config.widen_to)
        self.stats.widenings += 1
        for node in self.tree.expanded():
            self.to_widen.add(node.id)
            self._queue(node)
        return bool(self.to_widen)

    async def _rexpand(self, session: ProofSession, parent: TreeNode) -> SearchResult | None:
        """Widening: ask ``parent``'s state for ``breadth`` tactics and try the new ones."""
        self.to_widen.discard(parent.id)
        tried = self.tried.get(parent.id, set())
        return await self._expand(session, parent, skip=tried)

    async def _expand(
        self, session: ProofSession, parent: TreeNode, skip: set[str] | frozenset[str] = frozenset()
    ) -> SearchResult | None:
        """Ask the policy for the tactics of ``parent``'s state (less those in ``skip``); run
        them all (``full``) or queue them behind the state (``lazy``)."""
        if self.stats.expansions >= self.config.max_expansions:
            self.budget_spent = True
            return None
        parent.status = NodeStatus.EXPANDED
        self.stats.expansions += 1
        proposed = await self._propose(parent)
        candidates = sorted((c for c in proposed if c.text not in skip), key=lambda c: -c.logprob)
        if self.config.expansion is Expansion.LAZY:
            self.pending[parent.id] = candidates
            self._requeue(parent)
            self._report_progress()
            return None
        for candidate in candidates:
            if time.monotonic() >= self.deadline or self.stats.prover_faults >= MAX_PROVER_FAULTS:
                break
            found = await self._try(session, parent, candidate)
            if found is not None:
                return found
        self._report_progress()
        return None

    async def _try_next(self, session: ProofSession, parent: TreeNode) -> SearchResult | None:
        """Lazy expansion: run ``parent``'s best untried tactic, then queue the state again."""
        found = await self._try(session, parent, self.pending[parent.id].pop(0))
        if found is None:
            self._requeue(parent)
        return found

    def _requeue(self, parent: TreeNode) -> None:
        """Queue ``parent`` again, ranked by the score of its next untried tactic's child."""
        pending = self.pending.get(parent.id)
        if pending:
            edge = node_score(parent.logprob + pending[0].logprob, parent.depth + 1, self.config)
            heapq.heappush(self.queue, (-edge, parent.id))

    def _report_progress(self) -> None:
        if self.on_progress is not None:
            self.stats.time_total_s = time.monotonic() - self.started
            self.stats.max_depth = self.tree.max_depth  # the live depth, as a progress event says
            self.on_progress(self.stats)

    async def _try(
        self, session: ProofSession, parent: TreeNode, candidate: Candidate
    ) -> SearchResult | None:
        """Apply one candidate to ``parent``; return a result only for a verified proof."""
        logprob = parent.logprob + candidate.logprob
        score = node_score(logprob, parent.depth + 1, self.config)
        node = self.tree.child(parent, candidate.text, logprob, score)
        self.tried.setdefault(parent.id, set()).add(candidate.text)
        state = self.tree.states[parent.id]
        outcome = await run_step(session.apply(state, candidate.text), self.stats)
        match outcome:
            case Failed(message=message):
                self.stats.failed_tactics += 1
                self.tree.fail(node, message)
            case Goals(state=reached) if self.tree.merge(node, reached):
                self.stats.merged_states += 1
            case Goals() if node.depth >= self.config.max_depth:
                self.tree.fail(node, "depth limit")
            case Goals(state=reached):
                self.tree.open(node, reached)
                self._queue(node)
            case Proved(state=reached):
                return await self._accept(session, node, reached)
        return None

    async def _accept(
        self, session: ProofSession, node: TreeNode, state: ProofState
    ) -> SearchResult | None:
        proof = session.proof_of(state)
        verdict = await verify_candidate(session, proof, self.stats)
        if not verdict.ok:
            self.tree.fail(node, f"whole-proof check: {verdict.message}")
            return None
        self.tree.prove(node)
        return self.result(
            SearchStatus.PROVED,
            proof=proof,
            checked_source=verdict.checked_source,
            axioms=list(verdict.axioms),
            message=verdict.message,
        )


async def best_first(
    theorem: Theorem,
    env: ProofEnvironment,
    policy: Policy,
    config: SearchConfig,
    on_progress: ProgressHook | None = None,
) -> SearchResult:
    """Search for a proof of ``theorem``; never raises for a bad theorem or a broken prover."""
    search = _Search(theorem, env, policy, config, on_progress)
    try:
        async with env.session(theorem, config.tactic_timeout_s) as session:
            search.deadline += book_opening(session, search.started, search.stats)
            return await search.run(session)
    except UnsafeInput as exc:
        return search.result(SearchStatus.ERROR, message=f"bad input: {exc}")
    except ProverFault as exc:
        return search.result(SearchStatus.ERROR, message=f"prover fault: {exc}")
