"""The model-free policy reads the goal to choose its tactics; priors are log-probabilities."""

from __future__ import annotations

import math

from prover.automation import COQ_CHEAP_CLOSERS, NAT_LITERALS_TO_N, AutomationPolicy
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
