"""Live tests against a real Lean 4 + Mathlib installation (marked ``lean``).

They run when ``lake`` is on PATH and ``DCOPROVER_LEAN_PROJECT`` names a Lake project with
Mathlib built (``scripts/setup_lean.sh`` prints it: the miniF2F-lean4 checkout), and are
reported as skipped otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prover.automation import AutomationPolicy
from search.benchmarks import find_theorem, load_minif2f
from search.config import LeanConfig, ProverLimits, SearchConfig, Strategy
from search.env.lean import LeanEnvironment
from search.runner import run_search
from search.types import Failed, Proved, ProverKind

PROJECT = os.environ.get("DCOPROVER_LEAN_PROJECT")
pytestmark = [
    pytest.mark.lean,
    pytest.mark.slow,
    pytest.mark.skipif(
        not PROJECT or not (Path(PROJECT) / "lean-toolchain").is_file(),
        reason="set DCOPROVER_LEAN_PROJECT to a Lake project with Mathlib built (scripts/setup_lean.sh)",
    ),
]


@pytest.fixture
async def lean_env():
    env = LeanEnvironment(ProverLimits(pool_size=1), LeanConfig(project_dir=Path(PROJECT or ".")))
    yield env
    await env.close()


@pytest.fixture
def theorems(minif2f_lean):
    return load_minif2f(ProverKind.LEAN, minif2f_lean)


@pytest.mark.parametrize("name", ["mathd_numbertheory_66", "mathd_algebra_304", "mathd_numbertheory_81"])
async def test_automation_proves_easy_minif2f_theorems(lean_env, theorems, name):
    result = await run_search(find_theorem(theorems, name), lean_env, AutomationPolicy(ProverKind.LEAN),
                              SearchConfig(max_expansions=4, wall_timeout_s=300, tactic_timeout_s=60))  # fmt: skip
    assert result.status == "proved", result.message
    assert set(result.axioms) <= {"propext", "Classical.choice", "Quot.sound"}


async def test_verify_accepts_a_correct_proof_and_rejects_wrong_ones(lean_env, theorems):
    theorem = find_theorem(theorems, "mathd_numbertheory_66")
    assert (await lean_env.verify(theorem, "norm_num")).ok
    assert not (await lean_env.verify(theorem, "rfl\n  simp [Nat.succ_ne_zero]")).ok
    assert not (await lean_env.verify(theorem, "native_decide")).ok  # refused by policy
    wrong = theorem.model_copy(update={"statement": theorem.statement.replace("= 7", "= 8")})
    assert not (await lean_env.verify(wrong, "norm_num")).ok


async def test_failing_tactic_is_a_failure_then_another_branch_proves(lean_env, theorems):
    theorem = find_theorem(theorems, "mathd_algebra_304")
    async with lean_env.session(theorem, tactic_timeout_s=60) as session:
        assert isinstance(await session.apply(session.root, "exact foo_bar_baz"), Failed)
        proved = await session.apply(session.root, "norm_num")
        assert isinstance(proved, Proved)
        assert (await session.verify(session.proof_of(proved.state))).ok
    config = SearchConfig(strategy=Strategy.PASS_AT_N, n=4, wall_timeout_s=300, tactic_timeout_s=60)
    result = await run_search(theorem, lean_env, AutomationPolicy(ProverKind.LEAN), config)
    assert result.status == "proved"
