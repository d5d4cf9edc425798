"""Hostile statements and proofs against the Lean pipeline: the static policy refuses them, and
what it lets through goes to the REPL (here the recorded-traffic stand-in, which proves
nothing), so a "proved" can only come from Lean's own whole-command check."""

from __future__ import annotations

import pytest

from search.best_first import best_first
from search.config import LeanConfig, ProverLimits, SearchConfig, Strategy
from search.env.lean import LeanEnvironment
from search.pass_at_n import pass_at_n
from search.types import ProverKind, Theorem

from .corpus import LEAN_FALSE, LEAN_PROOFS, LEAN_STATEMENTS
from .scripted_policy import ScriptedPolicy
from support.lean_fixtures import RECORDINGS, fake_repl_command

pytestmark = pytest.mark.skipif(not RECORDINGS, reason="Lean REPL recordings not found (set DCOPROVER_SHARED)")

CHEAT = Theorem(name="ex", header=LEAN_FALSE[0], statement=LEAN_FALSE[1], prover=ProverKind.LEAN)


@pytest.fixture
async def lean_env():
    # Stateless: the stand-in answers any recorded request, so a search may wander freely.
    command = fake_repl_command("--stateless")
    env = LeanEnvironment(ProverLimits(pool_size=1), LeanConfig(repl_command=command))
    yield env
    await env.close()


async def test_no_hostile_proof_is_verified_and_each_refusal_names_it(lean_env):
    config = SearchConfig(strategy=Strategy.PASS_AT_N, n=len(LEAN_PROOFS), early_stop=False)
    result = await pass_at_n(CHEAT, lean_env, ScriptedPolicy([p for p, _ in LEAN_PROOFS]), config)
    assert result.status != "proved" and result.correct == 0
    messages = {node.tactic: node.message or "" for node in result.tree}
    for proof, named in LEAN_PROOFS:
        assert messages[proof], f"no reason given for {proof[:40]!r}"
        if named is not None:
            assert messages[proof].startswith("rejected") and named in messages[proof], messages[proof]


async def test_no_hostile_tactic_reaches_lean_in_tree_search(lean_env):
    config = SearchConfig(max_expansions=2, tactics_per_expansion=len(LEAN_PROOFS))
    result = await best_first(CHEAT, lean_env, ScriptedPolicy([p for p, _ in LEAN_PROOFS]), config)
    assert result.status != "proved"
    refused = [n for n in result.tree if (n.message or "").startswith("rejected")]
    assert len(refused) == sum(named is not None for _, named in LEAN_PROOFS)


@pytest.mark.parametrize(("statement", "named"), LEAN_STATEMENTS)
async def test_hostile_statements_are_errors_that_name_the_problem(lean_env, statement, named):
    theorem = Theorem(name="t", header="import Mathlib", statement=statement, prover=ProverKind.LEAN)
    result = await best_first(theorem, lean_env, ScriptedPolicy(["rfl"]), SearchConfig())
    assert result.status == "error" and named in result.message
    assert lean_env.health()["busy"] == 0 and lean_env.metrics.steps == 0  # nothing reached Lean


async def test_hostile_header_is_refused_before_any_process_starts(lean_env):
    theorem = CHEAT.model_copy(update={"header": "import Mathlib\nset_option debug.skipKernelTC true"})
    result = await pass_at_n(theorem, lean_env, ScriptedPolicy(["rfl"]), SearchConfig(strategy=Strategy.PASS_AT_N))
    assert result.status == "error" and "debug.skipKernelTC" in result.message
    assert lean_env.health()["idle"] == 0
