"""A real model-free policy: the prover's automation tactics with fixed priors.

This is the baseline every learned policy must beat, and what runs when no model is
configured. The priors are hand-set weights (made into log-probabilities), and a few cheap
reads of the goal text decide which tactics apply: ``intros`` only under a binder,
``split`` only on a conjunction, ``destruct`` on the hypotheses that hold one, and so on.

It is a **frozen baseline** (``TUNED_ON``): its steps were designed by reading MiniF2F-Coq's
failures, so neither MiniF2F-Coq split is held out for it, and no step is to be added from
benchmark failures again.
"""

from __future__ import annotations

import re
import shutil

import sympy

from prover.factoring import factor_steps
from search.policy import Candidate, LocalPolicy, dedupe_and_sort, normalize_priors
from search.types import ProofState, ProverKind, Theorem

#: The data that designing this policy's steps read: every benchmark result names it.
TUNED_ON = ("MiniF2F-Coq valid (rounds 1-4)", "MiniF2F-Coq test (round 5)")

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
#: A division sign: ``/`` that is not part of the connectives ``/\`` and ``\/``.
_DIVISION = re.compile(r"(?<!\\)/(?!\\)")
#: A large ``nat`` literal, printed ``Init.Nat.of_num_uint (...)`` or, where no other
#: ``of_num_uint`` is in scope, just ``of_num_uint (...)``.
_LARGE_NAT_LITERAL = re.compile(r"\bof_num_uint\b")


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


def _everywhere(pattern: str, body: str) -> str:
    """``body`` for each match of ``pattern`` in the conclusion or a hypothesis, repeated until
    none is left (``body`` must fail once a match is done, or change it)."""
    return (
        "repeat match goal with "
        f"| |- context [{pattern}] => {body} "
        f"| _ : context [{pattern}] |- _ => {body} end"
    )


#: Large ``nat`` literals (5000 and up) print as ``Init.Nat.of_num_uint (...)``, an opaque
#: function call to ``lia``. This turns each into ``N.to_nat <binary literal>`` (equal by
#: computation, so ``change`` accepts it), which ``lia``'s ``Zify`` front end reads as a number.
_NAT_LITERAL_TO_N = (
    "let z := eval vm_compute in (Coq.NArith.BinNat.N.of_nat (Nat.of_num_uint u)) in "
    "change (Nat.of_num_uint u) with (Coq.NArith.BinNat.N.to_nat z) in *"
)
NAT_LITERALS_TO_N = _everywhere("Nat.of_num_uint ?u", _NAT_LITERAL_TO_N)


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
SQRT_FACTS = _everywhere("sqrt ?e", _SQRT_FACT_ONCE)

#: ``INR (3 * 3)`` and ``INR (fact 3)`` are opaque to ``lra``. Through ``IZR (Z.of_nat _)`` they
#: become the real numerals ``9`` and ``6``, in the goal and the hypotheses (where ``ln_pow``
#: leaves ``INR 3 * ln y``); ``simpl Z.of_nat`` reduces only those applications,
#: never ``2 ^ 2014`` in ``R`` (which ``simpl`` alone would try to unfold for longer than
#: Coq's own ``Timeout``).
INR_NUMERALS = "rewrite ?INR_IZR_INZ in *; simpl Z.of_nat in *"

#: ``(1 / 4) ^ (11 + 1)`` once ``n = 11`` is substituted: ``field`` and ``lra`` need the
#: exponent as one numeral. ``cbn`` with only ``nat``'s operations computes it and leaves the
#: real ``^`` alone (``simpl`` would unfold that too).
NAT_ARITHMETIC = "cbn [Nat.add Nat.mul Nat.sub] in *"
_FUNCTION_TYPE = re.compile(r"^(?:R|Z|nat|Q)(?: -> (?:R|Z|nat|Q))+$")
_CLOSED_NAT_EXPONENT = re.compile(r"\^ \((?:\d+ [-+*] )+\d+\)")

#: ``0 <= INR n`` for every ``INR n``, and ``0 < INR n`` for every ``(0 < n)%nat``: the facts
#: that ``field_simplify_eq`` needs for ``INR m / INR a = 3 / 4`` (``INR a <> 0``) and that
#: ``lra``/``nra`` cannot derive, since ``INR`` is an atom to them.
_INR_NONNEG_ONCE = (
    "lazymatch goal with _ : 0 <= INR n |- _ => fail | _ => idtac end; pose proof (pos_INR n)"
)
INR_POSITIVITY = (
    "repeat match goal with H : (0 < ?n)%nat |- _ => "
    "lazymatch goal with _ : (0 < INR n)%R |- _ => fail | _ => pose proof (lt_0_INR n H) end "
    "end; " + _everywhere("INR ?n", _INR_NONNEG_ONCE)
)

#: A goal over ``nat`` or ``Z`` whose facts live in ``R`` (``IZR (Z.of_nat x) + 4 / 100 *
#: IZR (Z.of_nat x) = 598 -> x = 575``): the injectivity or monotonicity of the cast moves it
#: to ``R``, where ``lra`` reads the hypotheses. Sums and products are pushed through the cast
#: and every ``INR`` becomes ``IZR (Z.of_nat _)``, so goal and hypotheses use one form.
_TO_REALS_NAT = "rewrite ?plus_INR, ?mult_INR, ?pow_INR, ?INR_IZR_INZ in *; simpl Z.of_nat in *"
_TO_REALS_Z = (
    "rewrite ?plus_IZR, ?mult_IZR, ?minus_IZR, ?opp_IZR, ?INR_IZR_INZ in *; simpl Z.of_nat in *"
)
CAST_TO_REALS: dict[str, tuple[str, ...]] = {
    "nat": tuple(
        f"apply {lemma}; {_TO_REALS_NAT}" for lemma in ("INR_eq", "INR_le", "INR_lt")
    ),
    "Z": tuple(f"apply {lemma}; {_TO_REALS_Z}" for lemma in ("eq_IZR", "le_IZR", "lt_IZR")),
}
_RELATION = re.compile(r" (=|<=|<|>=|>) ")
_IDENTIFIER = re.compile(r"(?<![\w.'])[A-Za-z_][\w']*")


def cast_to_reals_steps(hyps: list[tuple[str, str]], conclusion: str) -> tuple[str, ...]:
    """The steps that move a relation between ``nat`` (or ``Z``) variables to ``R``, where
    hypotheses over ``INR``/``IZR`` of those variables are: none if the conclusion is not a
    plain relation, mixes sorts, or already mentions the reals."""
    facts = " ".join(typ for _, typ in hyps)
    if not re.search(r"\b(?:INR|IZR)\b", facts) or _R_HINTS.search(conclusion):
        return ()
    if not _RELATION.search(conclusion) or re.search(r"/\\|\\/|->|forall|exists", conclusion):
        return ()
    sorts = dict(hyps)
    used = {sorts[name] for name in _IDENTIFIER.findall(conclusion) if name in sorts}
    if len(used) != 1 or not used <= {"nat", "Z"}:
        return ()
    return CAST_TO_REALS[used.pop()]

#: ``0 < b ^ n`` for each power with a variable exponent, which ``lia`` treats as an atom it
#: knows nothing of: after ``induction n`` the step ``10 ^ S n - 1`` needs ``0 < 10 ^ n``.
_POW_FACT_ONCE = (
    "lazymatch goal with _ : (0 < b ^ n)%{sort} |- _ => fail | _ => idtac end; "
    "assert (0 < b ^ n)%{sort} by ({proof})"
)
_POW_PROOFS = {
    "nat": "apply Nat.neq_0_lt_0, Nat.pow_nonzero; lia",
    "Z": "apply Z.pow_pos_nonneg; lia",
    "R": "apply pow_lt; lra",
}


def pow_facts(sort: str) -> str:
    """The step that adds ``0 < b ^ n`` for every ``b ^ n`` over ``sort`` whose exponent is a
    variable and whose base the sort's closer shows positive."""
    once = _POW_FACT_ONCE.format(sort=sort, proof=_POW_PROOFS[sort])
    return _everywhere("?b ^ ?n", f"is_var n; {once}")


#: After ``induction n``, ``b ^ S n`` is ``b * b ^ n``: linear in the atom ``b ^ n``.
POW_SUCC = "rewrite ?Nat.pow_succ_r' in *"

#: ``ln (x * y ^ 3)`` and ``logb (5 ^ 2) (5 ^ 4)`` are opaque to ``lra``/``field``; expanded into
#: sums of ``ln x`` and ``ln y`` (positivity side conditions by ``lra``, or ``pow_lt`` first) they
#: are linear in those atoms: ``ln (x y^3) = 1``, ``ln (x^2 y) = 1`` give ``ln (x y) = 3/5``.
LN_EXPAND = "rewrite ?ln_mult, ?ln_div, ?ln_pow in * by (try apply pow_lt; lra)"
#: ``0 < ln N`` for every numeral ``N > 1`` under ``ln`` (``field`` needs ``ln 5 <> 0``).
_LN_FACT_ONCE = (
    "lazymatch goal with _ : 0 < ln n |- _ => fail | _ => idtac end; "
    "assert (0 < ln n) by (rewrite <- ln_1; apply ln_increasing; lra)"
)
LN_FACTS = _everywhere("ln (IZR (Zpos ?p))", f"let n := constr:(IZR (Zpos p)) in {_LN_FACT_ONCE}")

#: Numerals under ``ln`` past this are not factored: the step's text grows with the primes.
MAX_LN_NUMERAL = 10**9
_LN_NUMERAL = re.compile(r"\bln (\d+)\b")


def ln_primes_step(text: str) -> str | None:
    """One step that writes ``ln N`` for each composite numeral ``N`` of ``text`` as the sum
    over its prime factors (``ln 80 = 4 ln 2 + ln 5``), then adds ``0 < ln p`` for each prime.
    ``ln 80 / ln 2 / (ln 2 / ln 40)`` then is a rational function of ``ln 2`` and ``ln 5``
    that ``field`` settles; as numerals, ``ln 80`` and ``ln 40`` were unrelated atoms. None
    when no composite numeral is under ``ln``."""
    replacements: list[str] = []
    for numeral in dict.fromkeys(_LN_NUMERAL.findall(text)):
        number = int(numeral)
        if number < 4 or number > MAX_LN_NUMERAL or sympy.isprime(number):
            continue
        factors = sorted(sympy.factorint(number).items())
        product = " * ".join(f"{p} ^ {e}" if e > 1 else str(p) for p, e in factors)
        replacements.append(f"replace (ln {numeral}) with (ln ({product})%R) by (f_equal; lra)")
    if not replacements:
        return None
    return "; ".join([*replacements, LN_EXPAND, LN_FACTS])


#: A multiple, ``exists k, e = c * k``, is a divisibility ``c | e``, and a divisibility by a
#: nonzero ``c`` is ``e mod c = 0``: the form that ``lia``/``nia`` read (``Zify`` knows ``mod``
#: by a constant, not ``divide``).
#: The standard library module of each integer sort's lemmas.
_MODULE = {"nat": "Nat", "Z": "Z"}
_TO_DIVIDE = (
    "| |- exists k : {sort}, ?e = {product} => cut ({module}.divide c e); "
    "[let k := fresh in let h := fresh in intros [k h]; exists k; lia|] "
)


def divisibility_to_mod(sort: str) -> str:
    """The step that turns ``exists k, e = c * k`` (or ``k * c``) and ``c | e`` over ``sort``
    (nat or Z) into ``e mod c = 0``. Only the module of ``sort`` is named: a header over
    ``nat`` may not load ``Z``'s."""
    module = _MODULE[sort]
    cases = "".join(
        _TO_DIVIDE.format(sort=sort, product=product, module=module)
        for product in (f"(?c * k)%{sort}", f"(k * ?c)%{sort}")
    )
    return f"try match goal with {cases}end; rewrite <- ?{module}.mod_divide by lia"


_MODULUS = re.compile(
    r"\bmod (\d+)\b|\b(?:Nat|Z)\.divide (\d+)\b|\((\d+) \||= (\d+) \* [A-Za-z_][\w']*\b"
)
#: A divisibility or multiple in the conclusion, with its sort (``(c | e)`` is ``Z``'s notation).
_DIVISIBILITY = re.compile(r"\b(Nat|Z)\.divide \d|(\()\d+ \||^exists \w+ : (nat|Z), .* = ")
#: Case splits by residue branch ``modulus`` ways; beyond ten they cost more than they find.
RESIDUE_MODULI = range(2, 11)


def goal_moduli(text: str, limit: int = 2) -> list[int]:
    """Up to ``limit`` literal moduli of ``text`` (``mod 4``, ``Nat.divide 9``, ``(7 | _)``,
    ``= 3 * k``) that a residue case split can use."""
    found: list[int] = []
    for groups in _MODULUS.findall(text):
        modulus = int(next(group for group in groups if group))
        if modulus in RESIDUE_MODULI and modulus not in found:
            found.append(modulus)
    return found[:limit]


def residue_split_step(variable: str, sort: str, modulus: int) -> str:
    """Write ``variable`` (of ``sort`` nat or Z) as ``modulus * q + r`` and split on the
    ``modulus`` values of ``r``: one goal per remainder, for the closers (``nia``) to take in
    turn. It closes nothing itself, so the one-shot baseline lacks nothing it has.

    ``a^2 mod 4 = 0 \\/ a^2 mod 4 = 1`` is out of ``nia``'s reach as stated (it needs the
    residue of ``a``), but with ``a = 4q + 1`` it is linear arithmetic over the monomials of
    ``q``. The remainder replaces ``variable mod modulus`` wherever it appears, so a hypothesis
    ``a mod 4 = 3`` makes three of the branches contradictory.
    """
    module = _MODULE[sort]
    bound = "Z.mod_pos_bound" if sort == "Z" else "Nat.mod_upper_bound"
    cases = " \\/ ".join(f"r = {value}" for value in range(modulus))
    pattern = "c"
    for _ in range(modulus - 1):
        pattern = f"[c|{pattern}]"
    return (
        "let b := fresh in let d := fresh in let r := fresh in "
        "let q := fresh in let c := fresh in "
        f"pose proof ({bound} {variable} {modulus} ltac:(lia)) as b; "
        f"pose proof ({module}.div_mod {variable} {modulus} ltac:(lia)) as d; "
        f"set (r := {module}.modulo {variable} {modulus}) in *; "
        f"set (q := {module}.div {variable} {modulus}) in *; clearbody r q; subst {variable}; "
        f"assert ({cases})%{sort} as c by lia; destruct c as {pattern}; subst r"
    )


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


#: A natural numeral standing alone: not part of a name, a decimal or a scope (``2%nat``'s ``2``
#: counts, ``%nat`` after it does not).
_NATURAL_NUMERAL = re.compile(r"(?<![\w.%])\d+(?![\w.])")


def goal_numerals(conclusion: str, limit: int = 2) -> list[str]:
    """Up to ``limit`` natural numerals of the conclusion beyond ``INSTANCE_POINTS``' own (3 to
    999): ``sigma_inv (sigma (sigma_inv 19)) = 3`` asks for the hypotheses at 19."""
    found: list[str] = []
    for numeral in _NATURAL_NUMERAL.findall(conclusion):
        if 3 <= int(numeral) <= 999 and numeral not in found:
            found.append(numeral)
    return found[:limit]


def _mentions(text: str, name: str) -> bool:
    return re.search(r"\b" + re.escape(name) + r"\b", text) is not None


def is_recurrence(typ: str) -> bool:
    """Whether ``typ`` is an equation ``forall ..., [premises ->] u args = rhs`` whose right side
    calls ``u`` again (``u (n + 2) = u n + u (n + 1)``): a recurrence, not a definition."""
    body = typ.split(", ", 1)[-1].split(" -> ")[-1]
    if " = " not in body:
        return False
    left, right = body.split(" = ", 1)
    head = re.match(r"^\(?([A-Za-z_][\w']*)", left)
    return head is not None and _mentions(right, head.group(1))


def rewriting_loops(typ: str) -> bool:
    """Whether ``rewrite !h`` with the equation ``typ`` can run forever: a recurrence on ``x n``
    or ``u (n + 2)`` rewrites its own right side again. One on ``s (S (S n))`` strips
    constructors from a numeral each time, so it ends."""
    return is_recurrence(typ) and not re.search(r", [A-Za-z_][\w']* \(S ", typ)


def instantiation_step(name: str, typ: str, extra: list[str] | tuple[str, ...] = ()) -> str | None:
    """One step that instantiates hypothesis ``name : forall x : T, ...`` at the
    ``INSTANCE_POINTS`` of ``T`` and at the ``extra`` numerals; a premise of each instance
    (``x - 3 <> 0 -> ...``) is discharged by ``lra``/``lia`` where it can be. None for other
    hypotheses, and for a function's definition (``forall x, f x = ...``), which rewriting
    uses better; a recurrence (``u (n + 1) = 2 * u n``) is instantiated, not rewritten."""
    match = _SINGLE_BINDER.match(typ)
    if match is None:
        return None
    variable, sort, body = match.groups()
    definition = re.match(r"^[A-Za-z_][\w']* " + re.escape(variable) + " = ", body)
    if definition and not is_recurrence(typ):
        return None
    points = list(dict.fromkeys([*INSTANCE_POINTS[sort], *(f"{n}%{sort}" for n in extra)]))
    # Instances of a conjunction (``s (t x) = x /\ t (s x) = x``) are split at once: one
    # ``destruct`` per instance would cost the search an expansion each.
    split = f"; {SPLIT_CONJUNCTIONS}" if "/\\" in body else ""
    return _instances(name, body, sort, points) + split


def _instances(name: str, body: str, sort: str, points: list[str]) -> str:
    """``pose proof`` of hypothesis ``name`` (a ``forall`` over ``sort`` with ``body``) at each
    of ``points``; where ``body`` has a premise, each instance's premise is discharged by
    ``lra`` (over R) or ``lia`` where it can be."""
    if "->" not in body:
        return "; ".join(f"pose proof ({name} {point})" for point in points)
    closer = "lra" if sort == "R" else "lia"
    return "; ".join(
        f"let h := fresh in pose proof ({name} {point}) as h; "
        f"try specialize (h ltac:(repeat split; {closer}))"
        for point in points
    )


#: Every conjunction among the hypotheses split into its parts.
SPLIT_CONJUNCTIONS = "repeat match goal with h : _ /\\ _ |- _ => destruct h end"


#: What follows clearing denominators (``field_simplify_eq``): ``lra`` on each goal it leaves,
#: which settles the side goals ``INR a <> 0`` (given ``0 < INR a``) and often the cleared
#: equation itself, in the same step instead of one expansion each.
CLEARED = "try lra"

#: Unrolling a recurrence stops at this index: beyond it the instances swamp ``lra``.
MAX_UNROLL = 30


def unroll_bound(texts: list[str]) -> int:
    """The largest natural numeral (at most ``MAX_UNROLL``) in ``texts``: a recurrence on
    ``u`` over ``nat`` that links ``u 1``, ``u 9`` and ``u 5`` needs its instances 0 to 9."""
    numerals = [int(n) for text in texts for n in _NATURAL_NUMERAL.findall(text)]
    return max((n for n in numerals if n <= MAX_UNROLL), default=0)


def unrolling_step(name: str, typ: str, bound: int) -> str | None:
    """One step that instantiates the ``nat`` recurrence ``name`` at every index 0 to
    ``bound`` (``a (S (S n)) - a (S n) = a (S n) - a n`` with ``a 1``, ``a 9`` given and ``a 5``
    asked: seven instances make it linear algebra for ``lra``). None for anything else, and
    where ``instantiation_step``'s fixed points (0 to 3) already reach ``bound``."""
    match = _SINGLE_BINDER.match(typ)
    if match is None or match.group(2) != "nat" or not is_recurrence(typ) or bound <= 3:
        return None
    return _instances(name, match.group(3), "nat", [f"{i}%nat" for i in range(bound + 1)])


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
    side_goal = bool(re.search(r" <> 0$", conclusion))
    numerals = goal_numerals(conclusion)
    bound = unroll_bound([conclusion, *(typ for _, typ in hyps)])
    weights: dict[str, float] = {}
    for name, typ in hyps:
        if "/\\" in typ or "\\/" in typ or typ.startswith("exists") or "<->" in typ:
            weights[f"destruct {name}"] = 8
        if typ.startswith("forall") and " = " in typ and "<->" not in typ:
            once = rewriting_loops(typ)
            weights[f"rewrite {name} in *" if once else f"rewrite !{name} in *"] = 6
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
        unrolled = unrolling_step(name, typ, bound)
        if unrolled is not None:
            weights[unrolled] = 5
        # Not under a side goal ``d <> 0`` of an earlier clearing, whose context still holds the
        # hypothesis with its denominators: clearing it again only adds the side goal again.
        if (
            real
            and _DIVISION.search(typ)
            and " = " in typ
            and not typ.startswith("forall")
            and not side_goal
        ):
            weights[f"field_simplify_eq in {name}; {CLEARED}"] = 5
        if " <> " in typ and " <> " in conclusion:
            weights[f"intro; apply {name}; {closer}"] = 6
        mentioned = _mentions(conclusion, name)
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
    if real and _DIVISION.search(conclusion) and " = " in conclusion:
        weights[f"field_simplify_eq; {CLEARED}"] = 4
    if real and "sqrt" in text:
        weights[SQRT_FACTS] = 6
    if real and re.search(r"\^ [A-Za-z_]", text):
        weights[pow_facts("R")] = 2
    if any(_FUNCTION_TYPE.match(typ) for _, typ in hyps) and " = " in conclusion:
        # An unknown function (``sigma : R -> R``) is an atom to the arithmetic closers; its
        # equations (``sigma 2 = 4``, ``sigma (inv_sigma 2) = 2``) chain by congruence.
        weights["congruence"] = 6
    if real and _CLOSED_NAT_EXPONENT.search(text):
        weights[NAT_ARITHMETIC] = 4
    if real and "INR" in text:
        weights[INR_NUMERALS] = 3
        weights[INR_POSITIVITY] = 4
    if real:
        weights.update(dict.fromkeys(cast_to_reals_steps(hyps, conclusion), 4.0))
    if real and not binder:
        weights.update(dict.fromkeys(factor_steps(hyps), 5.0))
    if real and re.search(r"\bln\b", text):
        weights[LN_EXPAND] = 5
        weights[LN_FACTS] = 3
        primes = ln_primes_step(text)
        if primes is not None:
            weights[primes] = 5
    witness = _EXISTS_NUMBER.match(conclusion)
    if witness is not None:
        for point in INSTANCE_POINTS[witness.group(1)][:2]:
            weights[f"exists {point}"] = 1.5
    if "Open Scope C_scope" in theorem.header or re.search(r": C\b", text):
        weights.update(C_CLOSERS)
        weights[C_COMPONENTS] = 5
    if _LARGE_NAT_LITERAL.search(text):
        weights[NAT_LITERALS_TO_N] = 40  # before lia, which cannot read them
    for definition in _DEF.findall(theorem.header):
        if _mentions(text, definition):
            weights[f"unfold {definition} in *"] = 10
    if real:
        # Reduction on real numbers does not compute, and ``simpl`` on ``2 ^ 2014`` in R runs
        # past Coq's own Timeout (a watchdog kill and restart each time).
        weights.pop("vm_compute; reflexivity", None)
        weights.pop("simpl; lia", None)
        return weights
    if "(" in conclusion or "^" in conclusion:
        weights["simpl"] = 2
    if re.search(r"\bmod\b|\bdiv\b|\bgcd\b", conclusion) or _DIVISION.search(conclusion):
        weights["vm_compute; reflexivity"] = 4
        weights["simpl in *"] = 2
    weights.update(_residue_steps(hyps, conclusion, text))
    if re.search(r"\^ \(?S ", text):
        weights[POW_SUCC] = 5
    if re.search(r"\^ [A-Za-z_]", text):
        weights[pow_facts("Z" if re.search(r": Z\b|%Z", text) else "nat")] = 3
    return weights


def _residue_steps(hyps: list[tuple[str, str]], conclusion: str, text: str) -> dict[str, float]:
    """Divisibility into ``mod``, and residue case splits of the integer variables of the
    conclusion by the literal moduli of the goal (``a^2 mod 3``, ``Nat.divide 3``, ``3 * k``)."""
    weights: dict[str, float] = {}
    divisibility = _DIVISIBILITY.search(conclusion)
    if divisibility is not None:
        sort = "nat" if {"Nat", "nat"} & set(divisibility.groups()) else "Z"
        weights[divisibility_to_mod(sort)] = 6
    moduli = goal_moduli(text)
    variables = [
        (name, typ) for name, typ in hyps if typ in ("nat", "Z") and _mentions(conclusion, name)
    ]
    for name, sort in variables[:3]:
        for modulus in moduli:
            weights[residue_split_step(name, sort, modulus)] = 4
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


class AutomationPolicy(LocalPolicy):
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
