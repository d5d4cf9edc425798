"""The tree both strategies grow: what an outcome makes of a node, and what it reports."""

from __future__ import annotations

from search.result import NodeStatus, SearchResult, SearchStats, SearchStatus
from search.search_tree import SearchTree, run_step
from search.types import Failed, Goals, ProofState, ProverTimeout


def state(*goals: str, key: int = 0) -> ProofState:
    return ProofState(key=key, goals=goals)


def test_a_state_reached_twice_is_merged_into_the_first_node():
    tree = SearchTree()
    root = tree.set_root(state("a = a"))
    first = tree.child(root, "simpl", -0.5, -0.5)
    assert not tree.merge(first, state("b", key=1))
    tree.open(first, state("b", key=1))
    again = tree.child(root, "cbn", -1.0, -1.0)
    assert tree.merge(again, state("b", key=2))
    assert again.status is NodeStatus.MERGED and again.message == f"same goals as node {first.id}"
    assert list(tree.states) == [0, 1] and again.goals == []
    back_to_root = tree.child(first, "idtac", -1.5, -1.5)
    assert tree.merge(back_to_root, state("a = a", key=3))


def test_ids_parents_and_depth_follow_the_path_and_only_reached_depth_counts():
    tree = SearchTree()
    root = tree.set_root(state("g"))
    child = tree.child(root, "t1", -1.0, -1.0)
    tree.open(child, state("h", key=1))
    grandchild = tree.child(child, "t2", -2.0, -2.0)
    assert [n.id for n in tree.nodes] == [0, 1, 2] and grandchild.parent == child.id
    assert grandchild.depth == 2 and grandchild.status is NodeStatus.OPEN
    tree.fail(grandchild, "no progress")
    assert tree.max_depth == 1  # a failed tactic reached nothing
    proof = tree.child(child, "t3", -2.0, -2.0)
    tree.prove(proof)
    assert tree.max_depth == 2 and proof.status is NodeStatus.PROVED


def test_expanded_lists_only_open_states_the_policy_was_asked_about():
    tree = SearchTree()
    root = tree.set_root(state("g"))
    leaf = tree.child(root, "t", -1.0, -1.0)
    tree.open(leaf, state("h", key=1))
    assert list(tree.expanded()) == []
    root.status = NodeStatus.EXPANDED
    assert list(tree.expanded()) == [root]


async def test_a_fault_in_a_step_is_a_counted_failure_not_an_exception():
    stats = SearchStats()

    async def hung():
        raise ProverTimeout("tactic ran past 3 s")

    async def fine():
        return Goals(state("h", key=1))

    outcome = await run_step(hung(), stats)
    assert isinstance(outcome, Failed) and "ProverTimeout: tactic ran past 3 s" in outcome.message
    assert isinstance(await run_step(fine(), stats), Goals)
    assert (stats.prover_faults, stats.prover_calls) == (1, 2)


def test_an_infinite_log_prob_survives_the_json_round_trip_the_service_makes():
    """A worker stores results as JSON, where -inf and NaN become null; the API reads them
    back, and null must not make the whole job unreadable (it was a 500)."""
    tree = SearchTree()
    root = tree.set_root(state("g"))
    tree.child(root, "impossible", float("-inf"), float("nan"))
    result = SearchResult(
        theorem="t", prover="coq", strategy="best-first", status=SearchStatus.FAILED,
        tree=tree.nodes,
    )
    text = result.model_dump_json()
    assert '"logprob":null' in text and '"score":null' in text
    node = SearchResult.model_validate_json(text).tree[1]
    assert node.logprob == node.score == float("-inf")
