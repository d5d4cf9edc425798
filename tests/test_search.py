"""Best-first and pass@N end to end on real Coq, with every proof re-checked by coqc."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from prover.automation import AutomationPolicy
from search.benchmarks import find_theorem, load_minif2f
from search.best_first import best_first, node_score
from search.config import Expansion, ProverLimits, Scoring, SearchConfig, Strategy
from search.env.coq import CoqEnvironment
from search.pass_at_n import pass_at_n
from search.policy import Candidate, LocalPolicy, PromptTooLong, dedupe_and_sort
from search.result import NodeStatus, SearchResult
from search.types import ProofState, ProverKind, Theorem

pytestmark = pytest.mark.coq


class ListPolicy(LocalPolicy):
    """A policy that proposes a fixed list of tactics or proofs, in order.

    Real search code, real prover: only the proposals are fixed, so a test can put a looping
    or wrong tactic exactly where it wants one.
    """

    name = "list"

    def __init__(self, tactics: list[str] = (), proofs: list[str] = ()) -> None:
        self._tactics = list(tactics)
        self._proofs = list(proofs)

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]:
        return [Candidate(t, -float(i + 1)) for i, t in enumerate(self._tactics)][:n]

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]:
        return dedupe_and_sort(Candidate(p, -1.0) for p in self._proofs[:n])


def assert_coqc_accepts(result: SearchResult) -> None:
    """Independently re-compile the exact file the checker accepted (under its own name: the
    trailer asks about ``Checked.NAME``)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Checked.v"
        path.write_text(result.checked_source)
        done = subprocess.run(["coqc", "-q", str(path)], capture_output=True, text=True, cwd=tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Proof.\n{result.proof}\nQed." in result.checked_source


@pytest.mark.parametrize(
    "name",
    ["mathd_algebra_125", "algebra_apbpceq2_abpbcpcaeq1_aleq1on3anbleq1ancleq4on3"],
)
async def test_best_first_proves_easy_minif2f_theorems(coq_env, minif2f_coq, name):
    theorem = find_theorem(load_minif2f(ProverKind.COQ, minif2f_coq), name)
    config = SearchConfig(wall_timeout_s=60)
    result = await best_first(theorem, coq_env, AutomationPolicy(), config)
    assert result.status == "proved", result.message
    assert_coqc_accepts(result)
    assert result.stats.expansions >= 1 and result.stats.prover_calls >= 1
    assert result.stats.time_total_s >= result.stats.time_prover_s > 0
    tree = json.loads(result.model_dump_json())["tree"]
    assert tree[0]["parent"] is None and any(n["status"] == "proved" for n in tree)


REALS = "Require Import Reals.\nOpen Scope R_scope.\n"
ZARITH = "Require Import ZArith.\nOpen Scope Z_scope.\n"


@pytest.mark.parametrize(
    ("header", "statement"),
    [
        # rewrite with a function's definition, then a closer
        (REALS, "Theorem t (f : R -> R) : (forall x, f x = 5 * x + 4) -> f 1 = 9."),
        # the same, through hypotheses named as MiniF2F names them (h₀: not ASCII)
        (
            REALS,
            "Theorem t (f g : R -> R) (h₀ : forall x, f x = x ^ 3 + 2 * x + 1) "
            "(h₁ : forall x, g x = x - 1) : f (g 1) = 1.",
        ),
        # a sum-of-squares inequality: psatz, with csdp as its oracle
        pytest.param(
            REALS,
            "Theorem t : forall x y : R, y = x ^ 2 - 6 * x + 13 -> 4 <= y.",
            marks=pytest.mark.skipif(
                shutil.which("csdp") is None, reason="csdp not installed (apt install coinor-csdp)"
            ),
        ),
        # clear a denominator in a hypothesis; its side goal n - 3 <> 0 comes from n <> 3
        (REALS, "Theorem t : forall n : R, n <> 3 -> (n + 5) / (n - 3) = 2 -> n = 11."),
        # a nat literal >= 5000 is Init.Nat.of_num_uint (...) until rewritten
        ("Require Import Arith.\n", "Theorem t (n : nat) : 123 * n + 17 = 39500 -> n = 321."),
        # Nat.modulo is lia's only with the preamble's ZifyNat
        (
            "Require Import Arith.\n",
            "Theorem t : forall n : nat, n mod 7 = 5 -> (5 * n) mod 7 = 4.",
        ),
        # a linear system over Coquelicot's C, solved by its real and imaginary parts
        (
            "Require Import Reals.\nRequire Import Coquelicot.Coquelicot.\nOpen Scope C_scope.\n",
            "Theorem t (x e : C) (h0 : x + e = 7) (h1 : 2 * x + e = 3) : e = 11 /\\ x = -4.",
        ),
        # an identity in x: instantiated at a few points it gives linear equations in a b, c
        (
            REALS,
            "Theorem t : forall a b c : R, (forall x, 24 * x ^ 2 - 19 * x - 35 = "
            "(a * x - 5) * (2 * (b * x) + c)) -> a * b - 3 * c = -9.",
        ),
        # sqrt's two facts, after rewriting with the definition
        (
            REALS,
            "Theorem t (f : R -> R) (h0 : forall x, f x = 3 * sqrt (2 * x - 7) - 8) : f 8 = 1.",
        ),
        # INR of a closed nat term becomes a real numeral
        (REALS, "Theorem t : forall s : R, s = INR (3 * 3) - 2 ^ 3 + 1 -> 2 * s - s ^ 2 = 0."),
        # a square's residue: a = 3q + r, one branch per r, nia on each
        (ZARITH, "Theorem t : forall a : Z, a ^ 2 mod 3 <> 2."),
        # a multiple is a divisibility is a residue: n (n + 1) = 2k
        ("Require Import Arith.\n", "Theorem t : forall n : nat, exists k, n * (n + 1) = 2 * k."),
        # logarithms of products and powers are linear in ln a and ln b
        (
            REALS,
            "Theorem t : forall a b : R, 0 < a -> 0 < b -> ln (a * b ^ 2) = 4 -> "
            "ln (a ^ 2 * b) = 5 -> ln (a * b) = 3.",
        ),
        # a quotient of logarithms of numerals needs ln 3 <> 0
        (REALS, "Theorem t : ln (3 ^ 4) / ln (3 ^ 2) = 2."),
        # two expressions for b say a (a + 6) = 0: factored by sympy, split by Rmult_integral
        (
            REALS,
            "Theorem t : forall a b : R, b = a ^ 2 + 4 * a + 6 -> "
            "b = 1 / 2 * a ^ 2 + a + 6 -> a < 0 -> a = -6.",
        ),
        # ln of composite numerals in terms of ln of primes: ln 12 = 2 ln 2 + ln 3
        (REALS, "Theorem t : ln 12 / ln 2 - ln 3 / ln 2 = 2."),
        # a recurrence unrolled to the largest index in sight, past the fixed points 0..3 and
        # the conclusion's numerals (4, 8): linking u 1 and u 7 needs the instances at 5 and 6
        (
            REALS,
            "Theorem t (u : nat -> R) : (forall n, u (S (S n)) - u (S n) = u (S n) - u n) -> "
            "u 1%nat = 2 -> u 7%nat = 14 -> u 4%nat = 8.",
        ),
        # a nat goal whose facts are real: moved to R through INR's injectivity
        (REALS, "Theorem t : forall x : nat, INR x / 2 + 1 = 4 -> x = 6%nat."),
        # 0 < INR a from (0 < a)%nat, for the side goal of clearing INR a
        (
            REALS,
            "Theorem t : forall m a : nat, (0 < a)%nat -> INR m / INR a = 2 -> "
            "INR m - 2 * INR a = 0.",
        ),
        # instances of a conjunction split at once, then congruence over unknown functions
        (
            REALS,
            "Theorem t (s u : R -> R) : (forall x, s (u x) = x /\\ u (s x) = x) -> "
            "u 2 = 5 -> s 5 = 2.",
        ),
        # a closed nat exponent computed, the real powers left alone
        (REALS, "Theorem t (n : nat) : n = 3%nat -> (1 / 2) ^ (n + 1) * 2 ^ (2 * n) = 4."),
    ],
    ids=[
        "function-definition",
        "unicode-hypotheses",
        "sum-of-squares",
        "denominator",
        "large-nat-literal",
        "nat-modulo",
        "complex",
        "polynomial-identity",
        "sqrt",
        "inr-numerals",
        "residue-split",
        "multiple-to-residue",
        "ln-expansion",
        "ln-numerals",
        "factor-split",
        "ln-prime-factors",
        "recurrence-unrolling",
        "cast-to-reals",
        "inr-positivity",
        "conjunction-instances",
        "closed-nat-exponent",
    ],
)
async def test_automation_policy_composes_steps_one_shot_automation_lacks(
    coq_env, header, statement
):
    theorem = Theorem(name="t", header=header, statement=statement)
    result = await best_first(theorem, coq_env, AutomationPolicy(), SearchConfig(wall_timeout_s=60))
    assert result.status == "proved", result.message
    assert_coqc_accepts(result)


async def test_search_goes_on_after_a_looping_tactic_and_merges_equal_states(coq_env):
    theorem = Theorem(name="t", header="Require Import Arith.",
                      statement="Theorem t : forall a b : nat, a + b = b + a.")  # fmt: skip
    policy = ListPolicy(["do 1000000000 idtac", "idtac", "intros", "intros a b", "lia"])
    config = SearchConfig(tactic_timeout_s=1, wall_timeout_s=60)
    result = await best_first(theorem, coq_env, policy, config)
    assert result.status == "proved"
    assert result.proof == "lia."  # the best-scored proof under this policy is found first
    statuses = {(n.tactic, n.status) for n in result.tree}
    assert ("do 1000000000 idtac", NodeStatus.FAILED) in statuses
    assert result.stats.failed_tactics >= 1
    deeper = ListPolicy(
        [
            "do 1000000000 idtac",
            "idtac",
            "intros",
            "intros a b",
            "rewrite Nat.add_comm; reflexivity",
        ]
    )
    result = await best_first(theorem, coq_env, deeper, config)
    assert result.status == "proved"
    assert result.stats.merged_states >= 1  # `idtac` repeats the root, `intros a b` = `intros`
    assert_coqc_accepts(result)


class StagedPolicy(LocalPolicy):
    """Different fixed proposals before and after the binder is introduced."""

    name = "staged"

    def __init__(self, root: list[tuple[str, float]], child: list[tuple[str, float]]) -> None:
        self.root, self.child = root, child

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]:
        proposals = self.root if "forall" in state.goals[0] else self.child
        return [Candidate(text, logprob) for text, logprob in proposals][:n]

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]:
        return []


async def test_lazy_expansion_tries_the_childs_best_tactic_before_the_parents_weak_ones(coq_env):
    theorem = Theorem(name="t", header="Require Import Arith.",
                      statement="Theorem t : forall a b : nat, a + b = b + a.")  # fmt: skip
    weak = ["assumption", "exact I", "exact 0", "constructor", "discriminate", "contradiction"]
    policy = StagedPolicy(
        root=[("intros a b", -0.1)] + [(t, -3.0 - i) for i, t in enumerate(weak)],
        child=[("exact (Nat.add_comm a b)", -0.1), ("assumption", -2.0)],
    )
    lazy = await best_first(theorem, coq_env, policy, SearchConfig(wall_timeout_s=60))
    assert lazy.status == "proved" and lazy.proof == "intros a b.\nexact (Nat.add_comm a b)."
    assert lazy.stats.prover_calls == 2, "the root's weak tactics never ran"
    assert_coqc_accepts(lazy)
    config = SearchConfig(wall_timeout_s=60, expansion=Expansion.FULL)
    full = await best_first(theorem, coq_env, policy, config)
    assert full.status == "proved" and full.proof == lazy.proof
    assert full.stats.prover_calls == 1 + len(weak) + 1, "every root tactic ran first"


async def test_budgets_end_the_search_with_the_right_status(coq_env):
    theorem = Theorem(name="hard", header="Require Import Arith.",
                      statement="Theorem hard : forall n : nat, n * n <> 2.")  # fmt: skip
    few = await best_first(theorem, coq_env, AutomationPolicy(), SearchConfig(max_expansions=1))
    assert few.status == "failed" and few.stats.expansions == 1
    assert few.message == "expansion budget spent" and few.stats.prover_calls > 1
    never = ListPolicy(["intros", "idtac", "simpl"])
    exhausted = await best_first(theorem, coq_env, never, SearchConfig())
    assert exhausted.status == "failed" and "exhausted" in exhausted.message


@pytest.mark.parametrize("expansion", list(Expansion))
async def test_widening_asks_an_exhausted_tree_for_more_tactics(coq_env, expansion):
    theorem = Theorem(name="t", header="Require Import Arith.",
                      statement="Theorem t : forall a b : nat, a + b = b + a.")  # fmt: skip
    policy = ListPolicy(["intros", "idtac", "assumption", "lia"])
    narrow = SearchConfig(tactics_per_expansion=2, widen_to=2, expansion=expansion)
    exhausted = await best_first(theorem, coq_env, policy, narrow)
    assert exhausted.status == "failed" and exhausted.message == "search space exhausted"
    assert exhausted.stats.widenings == 0
    widened = await best_first(theorem, coq_env, policy, narrow.model_copy(update={"widen_to": 4}))
    assert widened.status == "proved" and widened.proof == "lia."
    assert widened.stats.widenings == 1
    assert widened.stats.prover_calls > exhausted.stats.prover_calls
    tried = [(node.parent, node.tactic) for node in widened.tree if node.tactic is not None]
    assert len(tried) == len(set(tried)), "no tactic runs twice on the same state"
    assert_coqc_accepts(widened)


async def test_bad_statement_is_an_error_result_not_an_exception(coq_env):
    theorem = Theorem(name="t", statement="Theorem t : not_a_thing.")
    result = await best_first(theorem, coq_env, AutomationPolicy(), SearchConfig())
    assert result.status == "error" and "statement rejected" in result.message


async def test_pass_at_n_verifies_every_sample_and_estimates_pass_at_k(coq_env):
    theorem = Theorem(name="t", statement="Theorem t : forall a b : nat, a + b = b + a.")
    policy = ListPolicy(proofs=["intros. lia.", "intros. reflexivity.", "Proof. lia. Qed.",
                                "admit.", "intros. Admitted."])  # fmt: skip
    config = SearchConfig(strategy=Strategy.PASS_AT_N, n=5, early_stop=False)
    result = await pass_at_n(theorem, coq_env, policy, config)
    assert result.status == "proved"
    assert (result.samples, result.correct) == (5, 2)
    assert result.pass_at_k[1] == pytest.approx(0.4)
    assert result.pass_at_k[4] == 1.0
    assert_coqc_accepts(result.model_copy(update={"proof": "intros.\nlia."}))
    rejected = [n for n in result.tree if n.status == "failed"]
    assert any("rejected" in (n.message or "") for n in rejected)


async def test_pass_at_n_reports_failure_when_no_sample_is_right(coq_env):
    theorem = Theorem(name="f", statement="Theorem f : 1 = 2.")
    policy = ListPolicy(proofs=["reflexivity.", "lia.", "admit."])
    result = await pass_at_n(theorem, coq_env, policy, SearchConfig(n=3, early_stop=False))
    assert result.status == "failed" and result.correct == 0 and result.proof is None
    assert result.pass_at_k == {1: 0.0, 2: 0.0, 3: 0.0}


def test_length_normalised_score_prefers_deep_confident_paths():
    cumulative = SearchConfig()
    normalised = SearchConfig(scoring=Scoring.LENGTH_NORMALIZED, length_alpha=1.0)
    # Four confident steps vs. one unlikely step:
    assert node_score(-4.0, 4, cumulative) < node_score(-2.0, 1, cumulative)
    assert node_score(-4.0, 4, normalised) > node_score(-2.0, 1, normalised)
    assert node_score(0.0, 0, normalised) == 0.0


class TooLongAtDepth(LocalPolicy):
    """Proposes ``intros`` at the root; the state after it is 'too long' for the model."""

    name = "too-long"

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]:
        if "forall" in state.goals[0]:
            return [Candidate("intros", -0.1), Candidate("intros a b", -0.2)]
        raise PromptTooLong("prompt of 9999 tokens is over the limit of 2048")

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]:
        raise PromptTooLong("prompt of 9999 tokens is over the limit of 2048")


async def test_a_state_over_the_prompt_limit_is_skipped_with_its_reason(coq_env):
    theorem = Theorem(name="t", statement="Theorem t : forall a b : nat, a + b = b + a.")
    result = await best_first(theorem, coq_env, TooLongAtDepth(), SearchConfig())
    assert result.status == "failed", "the search went on and ended, no exception"
    assert result.stats.skipped_states >= 1
    assert "states skipped: their prompt is over the policy's context" in result.message
    skipped = [n for n in result.tree if n.message and n.message.startswith("skipped by")]
    assert skipped and "9999 tokens" in skipped[0].message
    assert result.stats.skipped_states == len(skipped), "widening does not ask them again"
    config = SearchConfig(strategy=Strategy.PASS_AT_N, n=4)
    whole = await pass_at_n(theorem, coq_env, TooLongAtDepth(), config)
    assert whole.status == "error" and "cannot read this statement" in whole.message


@pytest.mark.parametrize("strategy", [Strategy.BEST_FIRST, Strategy.PASS_AT_N])
async def test_time_queued_for_a_prover_process_is_not_spent_from_the_wall_budget(strategy):
    """More searches in flight than processes (a worker's ``--concurrency`` over ``--workers``):
    a search that waited 3 s for the only process still has its whole 2 s budget."""
    env = CoqEnvironment(ProverLimits(pool_size=1))
    theorem = Theorem(name="t", statement="Theorem t : forall a b : nat, a + b = b + a.")
    policy = ListPolicy(tactics=["intros a b", "lia"], proofs=["intros a b; lia."])
    search = best_first if strategy == Strategy.BEST_FIRST else pass_at_n
    try:
        async with env.session(theorem, tactic_timeout_s=5):
            queued = asyncio.create_task(
                search(theorem, env, policy, SearchConfig(strategy=strategy, wall_timeout_s=2))
            )
            await asyncio.sleep(3)
        result = await queued
    finally:
        await env.close()
    assert result.status == "proved", result.message
    assert result.stats.time_waiting_s >= 2.9
    assert result.stats.time_total_s >= result.stats.time_waiting_s
