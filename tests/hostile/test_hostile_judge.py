"""The red-team corpus against both doors to "proved": the judge alone (``check_one``, as
``prover check`` and ``POST /v1/checks`` run it) and a search that proposes the attack's proof.
Each attack must be refused, with the reason its record names.

Coq runs for real (coqtop and coqc); Lean's refusals are static, before any process, so the
recorded-traffic stand-in of the REPL is enough to show that nothing reached Lean.
"""

from __future__ import annotations

import pytest

from search.checking import CheckVerdict, ProofCheck, check_one
from search.config import LeanConfig, ProverLimits, SearchConfig, Strategy
from search.env.lean import LeanEnvironment
from search.pass_at_n import pass_at_n
from search.result import SearchResult
from search.types import ProverKind, Theorem

from .corpus import COQ_ATTACKS, LEAN_ATTACKS, Attack
from .scripted_policy import ScriptedPolicy
from support.lean_fixtures import RECORDINGS, fake_repl_command

ONE_PROOF = SearchConfig(strategy=Strategy.PASS_AT_N, n=1, wall_timeout_s=60, tactic_timeout_s=5)


def reasons(result: SearchResult) -> str:
    return " ".join([result.message, *(node.message or "" for node in result.tree)])


async def search_with(attack: Attack, env, prover: ProverKind) -> SearchResult:
    theorem = Theorem(name="t", header=attack.header, statement=attack.statement, prover=prover)
    return await pass_at_n(theorem, env, ScriptedPolicy([attack.proof]), ONE_PROOF)


def check_of(attack: Attack, prover: ProverKind) -> ProofCheck:
    return ProofCheck(prover=prover, header=attack.header, statement=attack.statement,
                      proof=attack.proof, name=attack.what)  # fmt: skip


@pytest.mark.coq
@pytest.mark.parametrize("attack", COQ_ATTACKS, ids=lambda a: a.what)
async def test_coq_attack_is_refused_by_the_judge(coq_env, attack):
    result = await check_one(coq_env, check_of(attack, ProverKind.COQ))
    assert result.verdict is CheckVerdict.INVALID, result
    assert attack.judge_refusal in result.reason, result.reason


@pytest.mark.coq
@pytest.mark.parametrize("attack", COQ_ATTACKS, ids=lambda a: a.what)
async def test_coq_attack_is_refused_by_the_search(coq_env, attack):
    result = await search_with(attack, coq_env, ProverKind.COQ)
    assert result.status != "proved", result.proof
    assert attack.refusal in reasons(result), reasons(result)


@pytest.fixture
async def lean_env():
    env = LeanEnvironment(
        ProverLimits(pool_size=1), LeanConfig(repl_command=fake_repl_command("--stateless"))
    )
    yield env
    await env.close()


@pytest.mark.skipif(not RECORDINGS, reason="Lean REPL recordings not found (set DCOPROVER_SHARED)")
@pytest.mark.parametrize("attack", LEAN_ATTACKS, ids=lambda a: a.what)
async def test_lean_attack_is_refused_before_lean_by_judge_and_search(lean_env, attack):
    result = await check_one(lean_env, check_of(attack, ProverKind.LEAN))
    assert result.verdict is CheckVerdict.INVALID, result
    assert attack.refusal in result.reason, result.reason
    searched = await search_with(attack, lean_env, ProverKind.LEAN)
    assert searched.status != "proved"
    assert attack.refusal in reasons(searched), reasons(searched)
    assert lean_env.metrics.steps == 0  # nothing reached the REPL


def test_the_corpus_holds_at_least_sixty_attacks():
    from .corpus import COQ_PROOFS, COQ_STATEMENTS, LEAN_PROOFS, LEAN_STATEMENTS

    older = len(COQ_PROOFS) + len(LEAN_PROOFS) + len(COQ_STATEMENTS) + len(LEAN_STATEMENTS)
    assert len(COQ_ATTACKS) + len(LEAN_ATTACKS) >= 60 and older + len(COQ_ATTACKS) >= 60
