"""The model-free policy reads the goal to choose its tactics; priors are log-probabilities."""

from __future__ import annotations

import math
import shutil

import pytest

from prover.automation import (
    CAST_TO_REALS,
    COQ_CHEAP_CLOSERS,
    INR_NUMERALS,
    INR_POSITIVITY,
    LN_EXPAND,
    LN_FACTS,
    NAT_ARITHMETIC,
    NAT_LITERALS_TO_N,
    POW_SUCC,
    SPLIT_CONJUNCTIONS,
    SQRT_FACTS,
    AutomationPolicy,
    cast_to_reals_steps,
    divisibility_to_mod,
    goal_moduli,
    goal_numerals,
    instantiation_step,
    is_recurrence,
    ln_primes_step,
    pow_facts,
    residue_split_step,
    unroll_bound,
    unrolling_step,
)
from search.policy import Candidate, dedupe_and_sort
from search.types import ProofState, ProverKind, Theorem

THEOREM = Theorem(
    name="t",
    header="Definition f (x : nat) := 2 * x.\n",
    statement="Theorem t : forall x : nat, f x = 2 * x.",
)


def goal(text: str) -> ProofState:
    return ProofState(key=0, goals=(text,))


async def tactics(state: ProofState, theorem: Theorem = THEOREM) -> list[str]:
    return [c.text for c in await AutomationPolicy().tactics(theorem, state, 64)]


#: A theorem over the reals: its header's open scope makes closed goals count as real.
REAL = Theorem(
    name="r", header="Require Import Reals.\nOpen Scope R_scope.\n", statement="Theorem r : True."
)


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
    state = goal(
        "n : R\n  f : R -> R\n  h : forall x : R, f x = 5 * x + 4\n  H : n <> 3\n"
        "  H0 : (n + 5) / (n - 3) = 2\n  ============================\n  n - 3 <> 0"
    )
    proposed = await tactics(state, REAL)
    assert "rewrite !h in *" in proposed
    assert "intro; apply H; lra" in proposed and "assumption" in proposed
    assert not any(t.startswith("field_simplify_eq in") for t in proposed), (
        "under the side goal n - 3 <> 0, clearing H0 again only adds that side goal again"
    )
    main = goal(state.goals[0].replace("n - 3 <> 0", "n = 11"))
    proposed = await tactics(main, REAL)
    assert "field_simplify_eq in H0; try lra" in proposed
    assert "field_simplify_eq in h; try lra" not in proposed, "a definition is rewritten"


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


def test_instances_of_a_conjunction_are_split_at_once():
    step = instantiation_step("H", "forall x : R, s (t x) = x /\\ t (s x) = x")
    assert step is not None and step.endswith(f"pose proof (H 2%R); {SPLIT_CONJUNCTIONS}")
    assert SPLIT_CONJUNCTIONS not in (instantiation_step("H", "forall x : R, s (t x) = x") or "")


def test_a_nat_recurrence_is_unrolled_up_to_the_largest_index_in_sight():
    recurrence = "forall n : nat, a (S (S n)) - a (S n) = a (S n) - a n"
    bound = unroll_bound(["a 5%nat = 11 / 15", "a 1%nat = 2 / 3", "a 9%nat = 4 / 5"])
    assert bound == 15
    step = unrolling_step("H", recurrence, bound)
    assert step is not None and step.count("pose proof") == 16 and "(H 15%nat)" in step
    assert unroll_bound(["u 2000 = 3", "u 40 = 1"]) == 3, "numerals past MAX_UNROLL are ignored"
    assert unrolling_step("H", recurrence, 3) is None, "the fixed points 0..3 reach it already"
    assert unrolling_step("h", "forall x : nat, f x = 2 * x", 9) is None, "a definition"
    guarded = unrolling_step("d", "forall n : nat, n >= 3 -> d n = d (n - 1) + d (n - 3)", 5)
    assert guarded is not None and guarded.count("try specialize (h ltac:(repeat split; lia))") == 6


async def test_a_nat_goal_over_real_facts_is_cast_to_the_reals():
    hyps = [("x", "nat"), ("H", "IZR (Z.of_nat x) + 4 / 100 * IZR (Z.of_nat x) = 598")]
    assert cast_to_reals_steps(hyps, "x = 575") == CAST_TO_REALS["nat"]
    assert cast_to_reals_steps([("a", "Z"), ("H", "IZR a * 2 = 6")], "a <= 3") == CAST_TO_REALS["Z"]
    assert cast_to_reals_steps([("x", "nat"), ("H", "x = 5")], "x = 5") == (), "no real facts"
    assert cast_to_reals_steps(hyps, "INR x = 575") == (), "already in R"
    assert cast_to_reals_steps([*hyps, ("y", "Z")], "Z.of_nat x = y") == (), "two sorts"
    state = goal("x : nat\n  H : IZR (Z.of_nat x) * 2 = 6\n  ============================\n  x = 3")
    assert CAST_TO_REALS["nat"][0] in await tactics(state, REAL)


async def test_positivity_of_casts_and_closed_exponents_get_their_steps_over_the_reals():
    state = goal(
        "m, a : nat\n  H : (0 < a)%nat\n  H1 : INR m / INR a = 3 / 4\n"
        "  ============================\n  (84 * INR m + 70 * INR a) / (INR m + INR a) = 76"
    )
    proposed = await tactics(state, REAL)
    assert INR_POSITIVITY in proposed and "field_simplify_eq; try lra" in proposed
    assert NAT_ARITHMETIC not in proposed
    power = goal("============================\n  (1 / 4) ^ (11 + 1) * 2 ^ (2 * 11) = 1 / 4")
    assert NAT_ARITHMETIC in await tactics(power, REAL)


def test_ln_of_composite_numerals_is_written_over_their_prime_factors():
    step = ln_primes_step("(ln 80 / ln 2) / (ln 2 / ln 40) = 2 /\\ ln 7 = ln 1")
    assert step is not None
    assert "replace (ln 80) with (ln (2 ^ 4 * 5)%R) by (f_equal; lra)" in step
    assert "replace (ln 40) with (ln (2 ^ 3 * 5)%R)" in step
    assert "(ln 2)" not in step and "(ln 7)" not in step and "(ln 1)" not in step, "primes, 1"
    assert step.endswith(f"{LN_EXPAND}; {LN_FACTS}")
    assert ln_primes_step("ln 2 + ln 3 = ln x") is None
    assert ln_primes_step(f"ln {10**12} = 0") is None, "too large to factor here"


async def test_congruence_comes_forward_when_unknown_functions_are_about():
    state = goal(
        "s, t : R -> R\n  H1 : s 2 = 4\n  H2 : t 2 = 4\n  H3 : s (t 2) = 2\n"
        "  ============================\n  s (s 2) = 2"
    )
    proposed = await tactics(state, REAL)
    plain = await tactics(goal("x : R\n  H1 : x = 4\n  ============================\n  x = 4"), REAL)
    assert proposed.index("congruence") < 8
    assert "congruence" not in plain[:8]


@pytest.mark.skipif(shutil.which("csdp") is None, reason="psatz needs csdp (coinor-csdp)")
async def test_psatz_is_offered_for_an_equation_fixed_by_inequalities_at_a_lower_prior():

    async def priors(text: str) -> dict[str, float]:
        candidates = await AutomationPolicy().tactics(REAL, goal(text), 64)
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
    state = goal("x : R\n  H : x = INR (3 * 3)\n  ============================\n  sqrt x = 3")
    proposed = await tactics(state, REAL)
    assert SQRT_FACTS in proposed and INR_NUMERALS in proposed
    plain = await tactics(goal("x : R\n  ============================\n  x = 3"), REAL)
    assert SQRT_FACTS not in plain and INR_NUMERALS not in plain
    witness = await tactics(goal("============================\n  exists a : nat, a * a = 0"))
    assert "exists 0%nat" in witness and "exists 1%nat" in witness


async def test_a_recurrence_is_rewritten_once_and_instantiated_a_definition_everywhere():
    assert is_recurrence("forall n : nat, u (n + 2) = (u n + u (n + 1)) mod 10")
    assert is_recurrence("forall n : nat, (n >= 5)%nat -> x n = (x (n - 1)%nat - x (n - 4)%nat)%Z")
    assert not is_recurrence("forall x : R, f x = 2 * x + 3")
    state = goal(
        "u : nat -> nat\n  H : forall n : nat, u (n + 1) = 2 * u n\n  H0 : u 0 = 1\n"
        "  ============================\n  u 3 = 8"
    )
    proposed = await tactics(state)
    assert "rewrite H in *" in proposed and "rewrite !H in *" not in proposed, "! loops"
    instances = instantiation_step("H", "forall n : nat, u (n + 1) = 2 * u n", ["3", "8"])
    assert instances in proposed and instances.count("(H 3%nat)") == 1
    constructors = goal(
        "s : nat -> R\n  h0 : forall n : nat, s (S (S n)) = s (S n) + s n\n"
        "  ============================\n  s 4 = 10"
    )
    assert "rewrite !h0 in *" in await tactics(constructors), "ends on numerals"
    definition = goal(
        "f : nat -> nat\n  H : forall x : nat, f x = 2 * x\n  ============================\n  f 3 = 6"
    )
    assert "rewrite !H in *" in await tactics(definition)


def test_literal_moduli_are_read_from_mod_divide_and_multiples():
    assert goal_moduli("a ^ 2 mod 4 = 0 \\/ a ^ 2 mod 4 = 1") == [4]
    assert goal_moduli("exists k : nat, n ^ 3 + 2 * n = 3 * k") == [3]
    assert goal_moduli("Nat.divide 9 (10 ^ n - 1) /\\ (7 | x)%Z") == [9, 7]
    assert goal_moduli("x mod 1000 = 7 /\\ x mod 1 = 0") == [], "no 1000 or 1 branches"


def test_a_residue_split_branches_once_per_remainder_in_the_variables_sort():
    split = residue_split_step("a", "Z", 3)
    assert "Z.div_mod a 3" in split and "(r = 0 \\/ r = 1 \\/ r = 2)%Z" in split
    assert "destruct c as [c|[c|c]]" in split and split.endswith("subst r"), "a step, not a closer"
    natural = residue_split_step("n", "nat", 2)
    assert "Nat.div_mod n 2" in natural and "Z." not in natural, "a nat header may lack Z"
    assert "Nat.divide" in divisibility_to_mod("nat") and "Z." not in divisibility_to_mod("nat")
    assert "Z.mod_divide" in divisibility_to_mod("Z")


async def test_residue_and_divisibility_steps_are_offered_for_integer_goals():
    square = goal("a : Z\n  ============================\n  a ^ 2 mod 3 = 0 \\/ a ^ 2 mod 3 = 1")
    assert residue_split_step("a", "Z", 3) in await tactics(square)
    multiple = goal("n : nat\n  ============================\n  exists k : nat, n * n + n = 2 * k")
    proposed = await tactics(multiple)
    assert divisibility_to_mod("nat") in proposed and residue_split_step("n", "nat", 2) in proposed
    unrelated = goal("a, b : Z\n  ============================\n  a mod 3 = 1")
    assert residue_split_step("b", "Z", 3) not in await tactics(unrelated), "b is not in the goal"


async def test_powers_with_a_variable_exponent_get_positivity_in_their_own_sort():
    induction_step = goal(
        "n : nat\n  IHn : (10 ^ n - 1) mod 9 = 0\n  ============================\n"
        "  (10 ^ S n - 1) mod 9 = 0"
    )
    proposed = await tactics(induction_step)
    assert POW_SUCC in proposed and pow_facts("nat") in proposed
    assert "(0 < b ^ n)%nat" in pow_facts("nat") and "Z." not in pow_facts("nat")
    integers = goal("a : Z\n  n : Z\n  ============================\n  0 <= a ^ n")
    assert pow_facts("Z") in await tactics(integers)
    constant = await tactics(goal("n : nat\n  ============================\n  2 ^ 10 = n"))
    assert pow_facts("nat") not in constant and POW_SUCC not in constant


async def test_logarithm_steps_are_offered_only_where_ln_appears():
    logs = goal("x : R\n  H : ln (x * x) = 2\n  ============================\n  ln x = 1")
    proposed = await tactics(logs, REAL)
    assert LN_EXPAND in proposed and LN_FACTS in proposed
    plain = goal("x : R\n  H : lnx = 2\n  ============================\n  x = 1")
    assert LN_EXPAND not in await tactics(plain, REAL)


async def test_large_nat_literals_are_made_readable_to_lia_first():
    literal = "of_num_uint (Number.UIntDecimal (Decimal.D5 Decimal.Nil))"
    for printed in (f"Init.Nat.{literal}", literal):  # unqualified where nothing else is named so
        big = goal(f"n : nat\n  ============================\n  n = {printed}")
        assert (await tactics(big))[0] == NAT_LITERALS_TO_N
    conjunction = goal("A, M : nat\n  ============================\n  A <= 9 /\\ M <= 9")
    priors = {c.text: c.logprob for c in await AutomationPolicy().tactics(THEOREM, conjunction, 64)}
    assert priors["vm_compute; reflexivity"] == priors["trivial"], "/\\ is not a division"
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
