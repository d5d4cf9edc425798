"""pass@N: sample N whole proofs from the policy and verify each.

Each distinct candidate is first run in the warm prover session (milliseconds), and only those
that close the goal there go to the whole-file check (a fresh ``coqc`` costs 0.3–2.5 s), so
wrong candidates are cheap. Every candidate is a child of the root in the same kind of tree
best-first grows (``search_tree``). Duplicate samples are checked once and counted with their
multiplicity. With ``early_stop`` the search ends at the first verified proof; otherwise all
samples are judged and the result carries the unbiased pass@k estimate for every k <= N.
"""

from __future__ import annotations

import time

from search.best_first import MAX_PROVER_FAULTS, ProgressHook
from search.config import SearchConfig
from search.env.base import ProofEnvironment
from search.pass_at_k import pass_at_k_curve
from search.policy import Policy, PromptTooLong
from search.result import SearchResult, SearchStats, SearchStatus
from search.search_tree import SearchTree, run_step
from search.types import Proved, ProverFault, Theorem, UnsafeInput, Verdict
from search.verify import book_opening, verify_candidate


async def pass_at_n(
    theorem: Theorem,
    env: ProofEnvironment,
    policy: Policy,
    config: SearchConfig,
    on_progress: ProgressHook | None = None,
) -> SearchResult:
    """Sample ``config.n`` proofs of ``theorem`` and verify them; never raises for bad input."""
    started = time.monotonic()
    deadline = started + config.wall_timeout_s
    stats = SearchStats()
    tree = SearchTree()
    samples = correct = 0
    first: tuple[str, Verdict] | None = None
    status = SearchStatus.FAILED
    message = ""

    def finish(status: SearchStatus, message: str, complete: bool) -> SearchResult:
        stats.time_total_s = time.monotonic() - started
        return SearchResult.of(
            theorem.name,
            env.prover.value,
            config,
            status,
            tree=tree.nodes,
            proof=first[0] if first else None,
            checked_source=first[1].checked_source if first else None,
            axioms=list(first[1].axioms) if first else [],
            message=message,
            stats=stats,
            samples=samples,
            correct=correct,
            pass_at_k=pass_at_k_curve(samples, correct) if complete and samples else None,
        )

    policy_started = time.monotonic()
    try:
        candidates = await policy.proofs(theorem, config.n)
    except PromptTooLong as exc:
        stats.skipped_states += 1
        return finish(SearchStatus.ERROR, f"the policy cannot read this statement: {exc}", False)
    finally:
        stats.policy_calls += 1
        stats.time_policy_s += time.monotonic() - policy_started
    try:
        asked = time.monotonic()
        async with env.session(theorem, config.tactic_timeout_s) as session:
            deadline += book_opening(session, asked, stats)
            assert session.root is not None
            root = tree.set_root(session.root)
            for candidate in candidates:
                if time.monotonic() >= deadline:
                    return finish(
                        SearchStatus.PROVED if first else SearchStatus.TIMEOUT,
                        "wall-clock budget spent",
                        complete=False,
                    )
                samples += candidate.count
                node = tree.child(root, candidate.text, candidate.logprob, candidate.logprob)
                faults = stats.prover_faults
                outcome = await run_step(session.run_proof(candidate.text), stats)
                if stats.prover_faults > faults and stats.prover_faults >= MAX_PROVER_FAULTS:
                    # Faulted samples are not wrong samples: no pass@k from a broken prover.
                    return finish(
                        SearchStatus.ERROR,
                        f"prover failed {stats.prover_faults} times; last: {outcome.message}",
                        complete=False,
                    )
                if on_progress is not None:
                    stats.time_total_s = time.monotonic() - started
                    on_progress(stats)
                if not isinstance(outcome, Proved):
                    tree.fail(node, outcome.message)
                    stats.failed_tactics += 1
                    continue
                verdict = await verify_candidate(session, candidate.text, stats)
                if not verdict.ok:
                    tree.fail(node, verdict.message)
                    stats.failed_tactics += 1
                    continue
                tree.prove(node)
                correct += candidate.count
                if first is None:
                    first = (candidate.text, verdict)
                    status, message = SearchStatus.PROVED, verdict.message
                if config.early_stop:
                    return finish(status, message, complete=False)
    except UnsafeInput as exc:
        return finish(SearchStatus.ERROR, f"bad input: {exc}", complete=False)
    except ProverFault as exc:
        return finish(SearchStatus.ERROR, f"prover fault: {exc}", complete=False)
    return finish(status, message or f"none of {samples} samples verified", complete=True)
