"""Hostile statements and proofs against the real Coq pipeline: no false "proved", ever, and
each refusal says what it refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from search.best_first import best_first
from search.config import SearchConfig, Strategy
from search.pass_at_n import pass_at_n
from search.types import ProverKind, Theorem

from .corpus import COQ_FALSE, COQ_PROOFS, COQ_STATEMENTS
from .scripted_policy import ScriptedPolicy

pytestmark = pytest.mark.coq

CHEAT = Theorem(name="cheat", header=COQ_FALSE[0], statement=COQ_FALSE[1], prover=ProverKind.COQ)
PASS_AT_N = SearchConfig(strategy=Strategy.PASS_AT_N, n=len(COQ_PROOFS), early_stop=False,
                         wall_timeout_s=300, tactic_timeout_s=5)  # fmt: skip


async def test_no_hostile_proof_proves_a_false_statement_and_each_refusal_names_it(coq_env):
    result = await pass_at_n(CHEAT, coq_env, ScriptedPolicy([p for p, _ in COQ_PROOFS]), PASS_AT_N)
    assert result.status != "proved" and result.correct == 0, result.proof
    messages = {node.tactic: node.message or "" for node in result.tree}
    for proof, named in COQ_PROOFS:
        assert messages[proof], f"no reason given for {proof[:40]!r}"
        if named is not None:
            assert named in messages[proof], (proof[:60], messages[proof])


async def test_no_hostile_tactic_proves_a_false_statement_in_tree_search(coq_env):
    config = SearchConfig(max_expansions=3, tactics_per_expansion=len(COQ_PROOFS),
                          wall_timeout_s=300, tactic_timeout_s=5)  # fmt: skip
    result = await best_first(CHEAT, coq_env, ScriptedPolicy([p for p, _ in COQ_PROOFS]), config)
    assert result.status != "proved", result.proof
    assert result.stats.prover_faults == 0


@pytest.mark.parametrize(("statement", "named"), COQ_STATEMENTS)
async def test_hostile_statements_are_errors_that_name_the_problem(coq_env, statement, named):
    theorem = Theorem(name="t", statement=statement, prover=ProverKind.COQ)
    result = await pass_at_n(theorem, coq_env, ScriptedPolicy(["exact I."]), PASS_AT_N)
    assert result.status == "error" and named in result.message


def test_oversized_statement_is_refused_by_the_schema():
    with pytest.raises(ValidationError, match="100000"):
        Theorem(name="t", statement="Theorem t : " + "1 + " * 30_000 + "1 = 1.")


async def test_deeply_nested_statement_is_answered_not_hung(coq_env):
    """Coq's parser recurses on nesting: the step must end (an answer or a fault), in time."""
    nested = "Theorem t : " + "(" * 20_000 + "True" + ")" * 20_000 + "."
    theorem = Theorem(name="t", statement=nested, prover=ProverKind.COQ)
    config = SearchConfig(max_expansions=1, wall_timeout_s=60, tactic_timeout_s=5)
    result = await best_first(theorem, coq_env, ScriptedPolicy(["exact I."]), config)
    assert result.status in ("proved", "error")
    if result.status == "proved":  # it is true: then the proof went through coqc like any other
        assert "exact I." in result.checked_source
