"""Case splits found by factoring the polynomial equations among a goal's hypotheses.

``b = a^2 + 4a + 6`` and ``b = a^2/2 + a + 6`` say ``a (a + 6) = 0``, so ``a = 0 \\/ a = -6``:
a split that ``lra``/``nra`` never make alone, and the one a person makes first. sympy does the
algebra (it ships with torch's stack and is a small pure-Python package); Coq checks each
product by ``nra`` before splitting on it with ``Rmult_integral``, so a wrong factorisation
only costs a failed tactic.
"""

from __future__ import annotations

import functools
import itertools
import re

import sympy

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][\w']*)|(%R)|([-+*/^()]))")
#: Hypotheses taken as equations (and their pairs): beyond this the policy's reply grows for
#: little gain.
MAX_EQUATIONS = 6
MAX_STEPS = 4
#: A statement is user input: ``(a + b) ^ 100000`` would keep sympy expanding for hours, in the
#: worker's event loop. Terms past these bounds are not polynomials this policy factors.
MAX_EXPONENT = 12
MAX_TERM_CHARS = 400


def to_sympy(text: str, variables: dict[str, sympy.Symbol]) -> sympy.Expr | None:
    """``text`` (a Coq real term as Coq prints it) as a sympy polynomial over ``variables``;
    None when it holds anything else (a function call, ``sqrt``, a non-literal exponent)."""
    # Coq names (``x'``, or sympy's own ``E``/``S``) are parsed under plain aliases.
    aliases = {name: f"v{index}" for index, name in enumerate(variables)}
    symbols = {aliases[name]: symbol for name, symbol in variables.items()}
    pieces: list[str] = []
    position = 0
    text = text.strip()
    if len(text) > MAX_TERM_CHARS:
        return None
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            return None
        number, name, _scope, operator = match.groups()
        position = match.end()
        if number is not None:
            pieces.append(number)
        elif name is not None:
            if name not in aliases:
                return None
            pieces.append(aliases[name])
        elif operator == "^":
            exponent = re.match(r"\s*(\d+)", text[position:])
            if exponent is None or int(exponent.group(1)) > MAX_EXPONENT:
                return None
            pieces.append("**" + exponent.group(1))
            position += exponent.end()
        elif operator is not None:
            pieces.append(operator)
        # a %R scope mark adds nothing
    try:
        expression = sympy.sympify("".join(pieces), locals=symbols)
    except (sympy.SympifyError, SyntaxError, TypeError, ZeroDivisionError):
        return None
    return expression if expression.is_polynomial(*variables.values()) else None


def _coq(expression: sympy.Expr) -> str:
    return sympy.sstr(expression).replace("**", " ^ ")


def _equations(hyps: list[tuple[str, str]], variables: dict[str, sympy.Symbol]) -> list[sympy.Expr]:
    """``left - right`` of every hypothesis ``left = right`` between polynomials."""
    found: list[sympy.Expr] = []
    for _, typ in hyps:
        if typ.count(" = ") != 1 or re.search(r"forall|exists|->|/\\|\\/|<>", typ):
            continue
        left, right = (to_sympy(side, variables) for side in typ.split(" = "))
        if left is not None and right is not None:
            found.append(sympy.expand(left - right))
    return found[:MAX_EQUATIONS]


def factor_steps(hyps: list[tuple[str, str]]) -> list[str]:
    """Steps ``assert (F * G = 0) by nra; apply Rmult_integral ...; destruct`` for each
    equation, or difference of two, whose polynomial has at least two distinct factors."""
    return list(_factor_steps(tuple(hyps)))


@functools.lru_cache(maxsize=4096)
def _factor_steps(hyps: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    # Cached: sibling states share their hypotheses, and sympy takes milliseconds per
    # equation where the rest of the policy takes microseconds.
    variables = {name: sympy.Symbol(name) for name, typ in hyps if typ == "R"}
    if not variables:
        return ()
    equations = _equations(list(hyps), variables)
    candidates = equations + [
        a - b
        for a, b in itertools.combinations(equations, 2)
        if max(sympy.total_degree(a), sympy.total_degree(b)) >= 2
    ]
    steps: list[str] = []
    seen: set[frozenset[sympy.Expr]] = set()
    for polynomial in candidates:
        if polynomial == 0 or sympy.total_degree(polynomial) < 2:
            continue
        _, factors = sympy.factor_list(polynomial)
        distinct = [factor for factor, _ in factors if not factor.is_number]
        if len(distinct) < 2 or frozenset(distinct) in seen:
            continue
        seen.add(frozenset(distinct))
        first, rest = distinct[0], sympy.Mul(*distinct[1:])
        steps.append(
            "let h := fresh in "
            f"assert (({_coq(first)}) * ({_coq(rest)}) = 0)%R as h by nra; "
            "apply Rmult_integral in h; destruct h as [h|h]"
        )
        if len(steps) == MAX_STEPS:
            break
    return tuple(steps)
