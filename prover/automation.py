"""A real model-free policy: the prover's automation tactics with fixed priors.

This is the baseline every learned policy must beat, and what runs when no model is
configured. The priors are hand-set weights (made into log-probabilities), and a few cheap
reads of the goal text decide which tactics apply: ``intros`` only under a binder,
``split`` only on a conjunction, ``destruct`` on the hypotheses that hold one, and so on.
"""

from __future__ import annotations

import re
import shutil

from prover.policy import Candidate, dedupe_and_sort, normalize_priors
from search.types import ProofState, ProverKind, Theorem

#: Tactics that close (or try to close) a goal outright, with prior weights.
COQ_CLOSERS: dict[str, float] = {
    "lia": 10, "nia": 6, "lra": 8, "nra": 5, "field": 3, "ring": 4, "reflexivity": 3,
    "auto": 3, "easy": 3, "intuition": 2, "congruence": 2, "tauto": 1, "trivial": 1,
    "vm_compute; reflexivity": 1, "field_simplify; lra": 2, "ring_simplify; lra": 1,
    "simpl; lia": 2, "intuition lia": 2, "intuition lra": 2,
}  # fmt: skip

LEAN_CLOSERS: dict[str, float] = {
    "linarith": 10, "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]": 3, "nlinarith": 6,
    "norm_num": 10, "omega": 8, "simp": 5, "decide": 2, "ring": 4, "field_simp": 3,
    "positivity": 3, "aesop": 3, "tauto": 1, "rfl": 2,
}  # fmt: skip

#: Closers that fail fast. Under a binder only these are tried: ``intros`` comes first anyway,
#: and a slow closer that fails there (``nia``, ``nra``, ``vm_compute``, which may even ignore
#: Coq's ``Timeout`` and cost a process restart) only burns the wall budget twice.
COQ_CHEAP_CLOSERS = frozenset(
    {"lia", "lra", "reflexivity", "auto", "easy", "intuition", "congruence", "tauto", "trivial"}
)

_HYP = re.compile(r"^\s*([A-Za-z_][\w']*(?:, [A-Za-z_][\w']*)*) : (.*)$")
_R_HINTS = re.compile(r"\bR\b|\bRabs\b|\bsqrt\b|\bINR\b|\bIZR\b|\bln\b|\bexp\b|\bPI\b")
_ZN_HINTS = re.compile(r"\bnat\b|\bZ\b|\bN\b|\bmod\b|\bZ\.|\bNat\.")
#: ``psatz`` calls ``csdp`` (Debian: ``coinor-csdp``); without it the tactic always fails.
_HAS_CSDP = shutil.which("csdp") is not None
#: An order relation: not the arrows ``->``/``<->`` nor the disequality ``<>``.
_INEQUALITY = re.compile(r"<=|>=|<(?![->])|(?<![-<])>")
_DEF = re.compile(r"^\s*(?:Definition|Fixpoint)\s+([A-Za-z_][\w']*)", re.MULTILINE)


_SEPARATOR = "============================"


def _split_goal(goal: str) -> tuple[list[tuple[str, str]], str]:
    """(hypotheses as (name, type) pairs, conclusion) from a printed Coq goal."""
    if _SEPARATOR not in goal:
        return [], goal.strip()
    hyps_text, conclusion = goal.split(_SEPARATOR, 1)
    hyps: list[tuple[str, str]] = []
    for line in hyps_text.splitlines():
        match = _HYP.match(line)
        if match:
            for name in match.group(1).split(", "):
                hyps.append((name, match.group(2)))
        elif hyps and line.strip():
            name, typ = hyps[-1]
            hyps[-1] = (name, typ + " " + line.strip())
    return hyps, " ".join(conclusion.split())


#: Case split on every ``Rabs`` in the goal and hypotheses (after which ``lra`` often closes).
RABS_CASES = (
    "repeat match goal with "
    "| |- context [Rabs ?x] => unfold Rabs; destruct (Rcase_abs x) "
    "| H : context [Rabs ?x] |- _ => unfold Rabs in H; destruct (Rcase_abs x) end"
)


#: Large ``nat`` literals (5000 and up) print as ``Init.Nat.of_num_uint (...)``, an opaque
#: function call to ``lia``. This turns each into ``N.to_nat <binary literal>`` (equal by
#: computation, so ``change`` accepts it), which ``lia``'s ``Zify`` front end reads as a number.
_NAT_LITERAL_TO_N = (
    "let z := eval vm_compute in (Coq.NArith.BinNat.N.of_nat (Nat.of_num_uint u)) in "
    "change (Nat.of_num_uint u) with (Coq.NArith.BinNat.N.to_nat z) in *"
)
NAT_LITERALS_TO_N = (
    "repeat match goal with "
    f"| |- context [Nat.of_num_uint ?u] => {_NAT_LITERAL_TO_N} "
    f"| H : context [Nat.of_num_uint ?u] |- _ => {_NAT_LITERAL_TO_N} end"
)


#: Coquelicot's complex numbers are pairs of reals: an equation between them is two real
#: equations. This destructs every complex variable and splits every complex equation among
#: the hypotheses into its real and imaginary parts; ``C_CLOSERS`` do the same to the goal.
C_COMPONENTS = (
    "repeat match goal with z : C |- _ => destruct z end; "
    "repeat match goal with H : @eq C _ _ |- _ => "
    "let Hre := fresh in let Him := fresh in "
    "pose proof (f_equal fst H) as Hre; pose proof (f_equal snd H) as Him; "
    "simpl in Hre, Him; clear H end"
)
C_CLOSERS: dict[str, float] = {
    "apply injective_projections; simpl; lra": 8,
    "apply injective_projections; simpl; nra": 3,
    "split; apply injective_projections; simpl; lra": 3,
}


#: Every ``sqrt e`` in the goal and hypotheses gets its two facts, ``0 <= sqrt e`` and (where
#: ``nra`` shows ``0 <= e``) ``sqrt e * sqrt e = e``. With them ``nra`` settles
#: ``3 * sqrt (2 * 8 - 7) - 8 = 1`` and ``x = (13 - sqrt 131) / 4 -> ...``, which no closer
#: does alone: they know nothing of ``sqrt``.
_SQRT_FACT_ONCE = (
    "lazymatch goal with _ : 0 <= sqrt e |- _ => fail | _ => idtac end; "
    "pose proof (sqrt_pos e); try pose proof (sqrt_sqrt e ltac:(nra))"
)
SQRT_FACTS = (
    "repeat match goal with "
    f"| |- context [sqrt ?e] => {_SQRT_FACT_ONCE} "
    f"| _ : context [sqrt ?e] |- _ => {_SQRT_FACT_ONCE} end"
)

#: ``INR (3 * 3)`` and ``INR (fact 3)`` are opaque to ``lra``. Through ``IZR (Z.of_nat _)`` they
#: become the real numerals ``9`` and ``6``; ``simpl Z.of_nat`` reduces only those applications,
#: never ``2 ^ 2014`` in ``R`` (which ``simpl`` alone would try to unfold for longer than
#: Coq's own ``Timeout``).
INR_NUMERALS = "rewrite ?INR_IZR_INZ; simpl Z.of_nat"

#: Values at which a universally quantified hypothesis is instantiated, by binder type: an
#: identity in ``x`` (``24 x^2 - 19 x - 35 = (a x - 5)(2 b x + c)``) gives, at a few points, the
#: linear equations in its coefficients that ``lra`` solves.
INSTANCE_POINTS: dict[str, tuple[str, ...]] = {
    "R": ("0%R", "1%R", "(-1)%R", "2%R"),
    "Z": ("0%Z", "1%Z", "(-1)%Z", "2%Z"),
    "nat": ("0%nat", "1%nat", "2%nat", "3%nat"),
}
_SINGLE_BINDER = re.compile(r"^forall \(?([A-Za-z_][\w']*) : (R|Z|nat)\)?, (.*)$")
_EXISTS_NUMBER = re.compile(r"^exists [A-Za-z_][\w']* : (R|Z|nat),")


def goal_numerals(conclusion: str, limit: int = 2) -> list[str]:
    """Up to ``limit`` natural numerals of the conclusion beyond ``INSTANCE_POINTS``' own (3 to
    999): ``sigma_inv (sigma (sigma_inv 19)) = 3`` asks for the hypotheses at 19."""
    found: list[str] = []
    for numeral in re.findall(r"(?<![\w.%])\d+(?![\w.])", conclusion):
        if 3 <= int(numeral) <= 999 and numeral not in found:
            found.append(numeral)
    return found[:limit]


def instantiation_step(name: str, typ: str, extra: list[str] | tuple[str, ...] = ()) -> str | None:
    """One step that instantiates hypothesis ``name : forall x : T, ...`` at the
    ``INSTANCE_POINTS`` of ``T`` and at the ``extra`` numerals; a premise of each instance
    (``x - 3 <> 0 -> ...``) is discharged by ``lra``/``lia`` where it can be. None for other
    hypotheses, and for a function's definition (``forall x, f x = ...``), which rewriting
    uses better."""
    match = _SINGLE_BINDER.match(typ)
    if match is None:
        return None
    variable, sort, body = match.groups()
    if re.match(r"^[A-Za-z_][\w']* " + re.escape(variable) + " = ", body):
        return None
    points = [*INSTANCE_POINTS[sort], *(f"{numeral}%{sort}" for numeral in extra)]
    if "->" not in body:
        return "; ".join(f"pose proof ({name} {point})" for point in points)
    closer = "lra" if sort == "R" else "lia"
    return "; ".join(
        f"let h := fresh in pose proof ({name} {point}) as h; "
        f"try specialize (h ltac:(repeat split; {closer}))"
        for point in points
    )


#: Positivstellensatz certificates of degree 2 and 4 (sums of squares: ``4 <= x^2 - 6x + 13``,
#: ``(a + b)^4 <= 8 (a^4 + b^4)``), found by the external SDP solver ``csdp`` and checked by
#: Coq's kernel, so the solver is only an oracle. Offered only where ``csdp`` is installed.
PSATZ_CLOSERS: dict[str, float] = {"psatz R 2": 5, "psatz R 4": 2}


def coq_closers() -> dict[str, float]:
    """Every Coq closing tactic this policy knows, with its prior: the plain list, the complex
    number closers and, where ``csdp`` is installed, ``psatz``. Whole proofs (pass@N) and the
    one-shot baseline of ``benchmarks/search.py`` use exactly this list, so best-first search
    is compared with the same tactics tried alone, not with a shorter list."""
    return COQ_CLOSERS | C_CLOSERS | (PSATZ_CLOSERS if _HAS_CSDP else {})


def _hypothesis_steps(hyps: list[tuple[str, str]], conclusion: str, real: bool) -> dict[str, float]:
    """Steps that use one named hypothesis: case splits, rewriting, clearing denominators.

    These are what one-shot automation cannot do and search can: rewrite with a function's
    defining equation (``h : forall x, f x = 5 * x + 4``) and then call a closer, or clear the
    denominators of ``h : (n + 5) / (n - 3) = 2`` (``field_simplify_eq`` leaves ``n - 3 <> 0``
    as a side goal, which the disequality step closes).
    """
    closer = "lra" if real else "lia"
    numerals = goal_numerals(conclusion)
    weights: dict[str, float] = {}
    for name, typ in hyps:
        if "/\\" in typ or "\\/" in typ or typ.startswith("exists") or "<->" in typ:
            weights[f"destruct {name}"] = 8
        if typ.startswith("forall") and " = " in typ and "<->" not in typ:
            weights[f"rewrite !{name} in *"] = 6
        elif re.match(r"^[A-Za-z_][\w']* = ", typ) or re.search(r" = [A-Za-z_][\w']*$", typ):
            weights["subst"] = 6
            weights[f"rewrite {name} in *"] = 2
        elif "=" in typ and not typ.startswith("forall"):
            weights[f"rewrite {name}"] = 1.5
        if typ.startswith("forall") or "->" in typ:
            weights[f"apply {name}"] = 1
        instances = instantiation_step(name, typ, numerals)
        if instances is not None:
            weights[instances] = 5
        if real and "/" in typ and " = " in typ and not typ.startswith("forall"):
            weights[f"field_simplify_eq in {name}"] = 5
        if " <> " in typ and " <> " in conclusion:
            weights[f"intro; apply {name}; {closer}"] = 6
        mentioned = re.search(r"\b" + re.escape(name) + r"\b", conclusion) is not None
        if typ in ("nat", "Z") and mentioned:
            weights[f"induction {name}"] = 1.5
            weights[f"destruct {name}"] = 1
    return weights


def coq_tactic_weights(theorem: Theorem, state: ProofState) -> dict[str, float]:
    """Prior weights of the Coq automation tactics for the first goal of ``state``.

    Closers come first; the structural steps (``intros``, ``destruct``, ``subst``,
    ``unfold``, ``induction``, case splits) are what best-first search composes them with.
    """
    hyps, conclusion = _split_goal(state.goals[0] if state.goals else "")
    weights = dict(COQ_CLOSERS)
    text = state.text
    # A closed goal over R prints no type at all (``(2 ^ 2014 + 2 ^ 2012) / ... = 5 / 3``):
    # the open scope of the header tells.
    real = bool(_R_HINTS.search(text)) or "Open Scope R_scope" in theorem.header
    integral = bool(_ZN_HINTS.search(text))
    for tactic in ("lra", "nra", "field", "field_simplify; lra", "ring_simplify; lra",
                   "intuition lra"):  # fmt: skip
        weights[tactic] *= 3.0 if real else 0.2
    for tactic in ("lia", "nia", "simpl; lia", "intuition lia"):
        weights[tactic] *= 3.0 if integral and not real else 0.5
    binder = conclusion.startswith("forall") or "->" in conclusion
    if binder or conclusion.startswith("~"):
        weights = {t: w for t, w in weights.items() if t in COQ_CHEAP_CLOSERS}
        weights["intros"] = 30
    if "/\\" in conclusion or "<->" in conclusion:
        weights["split"] = 12
        weights["repeat split"] = 4
    if "\\/" in conclusion:
        weights["left"] = 3
        weights["right"] = 3
    if "Rabs" in text:
        weights[RABS_CASES] = 8
    weights.update(_hypothesis_steps(hyps, conclusion, real))
    if real and _HAS_CSDP and not binder:
        # psatz also settles an equation fixed by inequalities (``x^3 = -45``, ``y^3 = -101``,
        # ``x < IZR n < y`` give ``n = -4``), at a lower prior.
        if _INEQUALITY.search(conclusion):
            weights.update(PSATZ_CLOSERS)
        elif any(_INEQUALITY.search(typ) for _, typ in hyps):
            weights.update({tactic: w / 2 for tactic, w in PSATZ_CLOSERS.items()})
    if " <> " in conclusion or conclusion.startswith("~"):
        weights["assumption"] = 4
    if real and "/" in conclusion and " = " in conclusion:
        weights["field_simplify_eq"] = 4
    if real and "sqrt" in text:
        weights[SQRT_FACTS] = 6
    if real and "INR" in text:
        weights[INR_NUMERALS] = 3
    witness = _EXISTS_NUMBER.match(conclusion)
    if witness is not None:
        for point in INSTANCE_POINTS[witness.group(1)][:2]:
            weights[f"exists {point}"] = 1.5
    if "Open Scope C_scope" in theorem.header or re.search(r": C\b", text):
        weights.update(C_CLOSERS)
        weights[C_COMPONENTS] = 5
    if "Init.Nat.of_num_uint" in text:
        weights[NAT_LITERALS_TO_N] = 40  # before lia, which cannot read them
    for definition in _DEF.findall(theorem.header):
        if re.search(r"\b" + re.escape(definition) + r"\b", text):
            weights[f"unfold {definition} in *"] = 10
    if real:
        # Reduction on real numbers does not compute, and ``simpl`` on ``2 ^ 2014`` in R runs
        # past Coq's own Timeout (a watchdog kill and restart each time).
        weights.pop("vm_compute; reflexivity", None)
        weights.pop("simpl; lia", None)
        return weights
    if "(" in conclusion or "^" in conclusion:
        weights["simpl"] = 2
    if re.search(r"\bmod\b|\bdiv\b|/|\bgcd\b", conclusion):
        weights["vm_compute; reflexivity"] = 4
        weights["simpl in *"] = 2
    return weights


def lean_tactic_weights(theorem: Theorem, state: ProofState) -> dict[str, float]:
    """Prior weights of the Lean automation tactics (used with the Lean backends)."""
    weights = dict(LEAN_CLOSERS)
    target = state.goals[0].split("⊢")[-1] if state.goals else ""
    if "∀" in target or "→" in target:
        weights["intro"] = 30
    if "∧" in target or "↔" in target:
        weights["constructor"] = 12
    return weights


class AutomationPolicy:
    """Fixed-prior automation tactics for one prover (``coq`` or ``lean``)."""

    def __init__(self, prover: ProverKind = ProverKind.COQ) -> None:
        self.prover = ProverKind(prover)
        self.name = f"automation-{self.prover.value}"

    def _weights(self, theorem: Theorem, state: ProofState) -> dict[str, float]:
        if self.prover is ProverKind.COQ:
            return coq_tactic_weights(theorem, state)
        return lean_tactic_weights(theorem, state)

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]:
        priors = normalize_priors(self._weights(theorem, state))
        return dedupe_and_sort(Candidate(t, lp) for t, lp in priors.items())[:n]

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]:
        """Whole proofs: every closer, alone and after the introduction step."""
        closers = coq_closers() if self.prover is ProverKind.COQ else LEAN_CLOSERS
        intro = "intros." if self.prover is ProverKind.COQ else "intros"
        separator = "." if self.prover is ProverKind.COQ else ""
        scripts: dict[str, float] = {}
        for tactic, weight in closers.items():
            scripts[f"{intro}\n{tactic}{separator}"] = weight * 2
            scripts[f"{tactic}{separator}"] = weight
        if self.prover is ProverKind.COQ:
            for tactic, weight in closers.items():
                scripts[f"intros.\nrepeat split; {tactic}."] = weight / 2
        priors = normalize_priors(scripts)
        return dedupe_and_sort(Candidate(t, lp) for t, lp in priors.items())[:n]
