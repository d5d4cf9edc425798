"""The model-free policy reads the goal to choose its tactics; priors are log-probabilities."""

from __future__ import annotations

import math
import shutil

import pytest

from prover.automation import (
    COQ_CHEAP_CLOSERS,
    INR_NUMERALS,
    NAT_LITERALS_TO_N,
    SQRT_FACTS,
    AutomationPolicy,
    goal_numerals,
    instantiation_step,
)
from prover.policy import Candidate, dedupe_and_sort
from search.types import ProofState, ProverKind, Theorem

THEOREM = Theorem(
    name="t",
    header="Definition f (x : nat) := 2 * x.\n",
    statement="Theorem t : forall x : nat, f x = 2 * x.",
)


def goal(text: str) -> ProofState:
    return ProofState(key=0, goals=(text,))


async def tactics(state: ProofState) -> list[str]:
    return [c.text for c in await AutomationPolicy().tactics(THEOREM, state, 64)]


async def test_under_a_binder_intros_comes_first_and_only_fast_closers_follow():
    proposed = await tactics(goal("============================\n  forall x : nat, f x = 2 * x"))
    assert "intros" in proposed[:2]
    assert set(proposed) - {"intros", "unfold f in *"} <= COQ_CHEAP_CLOSERS
    assert "nia" not in proposed and "nra" not in proposed


async def test_hypotheses_and_header_definitions_suggest_structural_steps():
    proposed = await tactics(
        goal(
            "x, y : nat\n  H : x = 3 /\\ y = 2\n  H0 : y = x\n  ============================\n  f x = 6"
        )
    )
    assert "destruct H" in proposed and "subst" in proposed and "unfold f in *" in proposed
    assert proposed.index("unfold f in *") < proposed.index("nra")


async def test_function_definitions_denominators_and_disequalities_suggest_their_steps():
    real = Theorem(name="r", header="Require Import Reals.\nOpen Scope R_scope.\n",
                   statement="Theorem r : True.")  # fmt: skip
    state = goal(
        "n : R\n  f : R -> R\n  h : forall x : R, f x = 5 * x + 4\n  H : n <> 3\n"
        "  H0 : (n + 5) / (n - 3) = 2\n  ============================\n  n - 3 <> 0"
    )
    proposed = [c.text for c in await AutomationPolicy().tactics(real, state, 64)]
    assert "rewrite !h in *" in proposed
    assert "field_simplify_eq in H0" in proposed
    assert "intro; apply H; lra" in proposed and "assumption" in proposed
    assert "field_simplify_eq in h" not in proposed, "a definition is rewritten, not simplified"


def test_identities_are_instantiated_at_points_of_their_binder_type_definitions_are_not():
    identity = "forall x : R, 24 * x ^ 2 - 35 = (a * x - 5) * (b * x + c)"
    assert instantiation_step("H", identity) == (
        "pose proof (H 0%R); pose proof (H 1%R); pose proof (H (-1)%R); pose proof (H 2%R)"
    )
    guarded = instantiation_step("H", "forall x : R, x - 3 <> 0 -> 4 * x = A / (x - 3)")
    assert guarded is not None and guarded.count("try specialize (h ltac:(repeat split; lra))") == 4
    assert "(u 3%nat)" in (instantiation_step("u", "forall n : nat, u (n + 1) = u n + 2") or "")
    assert instantiation_step("h", "forall x : R, f x = 2 * x") is None, "rewriting uses it"
    assert instantiation_step("h", "forall x y : R, f (x * y) = f x / y") is None
    assert instantiation_step("h", "x = 3") is None


def test_the_conclusions_numerals_become_instantiation_points_too():
    assert goal_numerals("sigma_inv (sigma (sigma_inv 19)) = 3") == ["19", "3"]
    assert goal_numerals("x = 2 /\\ y = 1.5 /\\ z = 7 /\\ w = 8 /\\ v = 9") == ["7", "8"]
    step = instantiation_step("H", "forall x : R, s (t x) = x", goal_numerals("t 19 = 3"))
    assert step is not None and step.endswith("pose proof (H 19%R); pose proof (H 3%R)")


@pytest.mark.skipif(shutil.which("csdp") is None, reason="psatz needs csdp (coinor-csdp)")
async def test_psatz_is_offered_for_an_equation_fixed_by_inequalities_at_a_lower_prior():
    real = Theorem(name="r", header="Require Import Reals.\nOpen Scope R_scope.\n",
                   statement="Theorem r : True.")  # fmt: skip

    async def priors(text: str) -> dict[str, float]:
        candidates = await AutomationPolicy().tactics(real, goal(text), 64)
        return {c.text: c.logprob for c in candidates}

    bounded = await priors(
        "x : R\n  H : x ^ 3 = -45\n  H0 : x < 3\n  ====" + "=" * 24 + "\n  x = 2"
    )
    inequality = await priors("x : R\n  ============================\n  0 <= x ^ 2")
    assert "psatz R 2" in bounded and "psatz R 2" in inequality
    assert bounded["psatz R 2"] < bounded["lra"]
    arrows = await priors(
        "x : R\n  H : x <> 2\n  H0 : x = 3 -> x = 4\n  ============================\n  x = 2"
    )
    assert "psatz R 2" not in arrows, "<>, -> and <-> are not order relations"


async def test_sqrt_inr_and_numeric_witness_steps_are_offered_where_they_apply():
    real = Theorem(name="r", header="Require Import Reals.\nOpen Scope R_scope.\n",
                   statement="Theorem r : True.")  # fmt: skip
    state = goal("x : R\n  H : x = INR (3 * 3)\n  ============================\n  sqrt x = 3")
    proposed = [c.text for c in await AutomationPolicy().tactics(real, state, 64)]
    assert SQRT_FACTS in proposed and INR_NUMERALS in proposed
    bare = goal("x : R\n  ============================\n  x = 3")
    plain = [c.text for c in await AutomationPolicy().tactics(real, bare, 64)]
    assert SQRT_FACTS not in plain and INR_NUMERALS not in plain
    witness = await tactics(goal("============================\n  exists a : nat, a * a = 0"))
    assert "exists 0%nat" in witness and "exists 1%nat" in witness


async def test_large_nat_literals_are_made_readable_to_lia_first():
    big = goal(
        "n : nat\n  ============================\n  n = Init.Nat.of_num_uint (Number.UIntDecimal (Decimal.D5 Decimal.Nil))"
    )
    proposed = await tactics(big)
    assert proposed[0] == NAT_LITERALS_TO_N
    assert (await tactics(goal("============================\n  2 = 2")))[0] != NAT_LITERALS_TO_N


async def test_priors_are_normalised_log_probabilities_sorted_best_first():
    closed = goal("============================\n  1 = 1")
    candidates = await AutomationPolicy().tactics(THEOREM, closed, 64)
    assert abs(math.fsum(math.exp(c.logprob) for c in candidates) - 1.0) < 1e-9
    assert [c.logprob for c in candidates] == sorted((c.logprob for c in candidates), reverse=True)
    assert len(await AutomationPolicy().tactics(THEOREM, closed, 3)) == 3


async def test_whole_proofs_are_distinct_and_lean_has_its_own_tactics():
    proofs = await AutomationPolicy().proofs(THEOREM, 1000)
    assert len({p.text for p in proofs}) == len(proofs) > 20
    lean = await AutomationPolicy(ProverKind.LEAN).tactics(THEOREM, goal("⊢ ∀ x, x = x"), 5)
    assert lean[0].text == "intro"


def test_dedupe_adds_counts_and_keeps_the_best_logprob():
    merged = dedupe_and_sort([Candidate("lia.", -2.0), Candidate(" lia. ", -1.0), Candidate("", 0)])
    assert merged == [Candidate("lia.", -1.0, 1, 2)]
