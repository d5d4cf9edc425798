"""Factoring the polynomial hypotheses: which equations become case splits, and which don't."""

from __future__ import annotations

import sympy

from prover.factoring import factor_steps, to_sympy

QUADRATICS = [
    ("a", "R"), ("b", "R"), ("c", "R"),
    ("H", "b = a ^ 2 + 4 * a + 6"), ("H0", "b = 1 / 2 * a ^ 2 + a + 6"), ("H1", "a < c"),
]  # fmt: skip


def test_coq_real_terms_read_as_polynomials_and_anything_else_is_refused():
    a = sympy.Symbol("a")
    assert to_sympy("1 / 2 * a ^ 2 - - a", {"a": a}) == a**2 / 2 + a
    assert to_sympy("(a * a)%R", {"a": a}) == a**2
    assert to_sympy("f a", {"a": a}) is None, "a function call is not a polynomial"
    assert to_sympy("sqrt a", {"a": a}) is None
    assert to_sympy("a ^ n", {"a": a}) is None, "only literal exponents"
    assert to_sympy("a / a", {"a": a}) == 1
    assert to_sympy("1 / a", {"a": a}) is None


def test_hostile_sizes_are_refused_before_sympy_expands_them():
    a, b = sympy.Symbol("a"), sympy.Symbol("b")
    assert to_sympy("(a + b) ^ 100000", {"a": a, "b": b}) is None
    assert to_sympy("(a + b) ^ 12", {"a": a, "b": b}) == (a + b) ** 12
    assert to_sympy(" + ".join(["a"] * 200), {"a": a}) is None
    assert factor_steps([("a", "R"), ("H", "(a + 1) ^ 99999 = 0")]) == []


def test_the_difference_of_two_equations_is_factored_into_a_case_split():
    steps = factor_steps(QUADRATICS)
    assert len(steps) == 1
    assert "assert ((a) * (a + 6) = 0)%R" in steps[0]
    assert "Rmult_integral" in steps[0] and steps[0].endswith("destruct h as [h|h]")


def test_linear_and_irreducible_equations_give_no_split():
    assert factor_steps([("x", "R"), ("H", "2 * x + 3 = 7")]) == []
    assert factor_steps([("x", "R"), ("H", "x ^ 2 + 1 = 0")]) == []
    assert factor_steps([("n", "nat"), ("H", "n * n = n")]) == [], "reals only"
    assert factor_steps([("x", "R"), ("H", "forall y : R, x * y = y * y")]) == []
