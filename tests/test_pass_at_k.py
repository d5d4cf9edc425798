"""The unbiased pass@k estimator against brute-force enumeration."""

from __future__ import annotations

import itertools

import pytest

from search.pass_at_k import pass_at_k, pass_at_k_curve


@pytest.mark.parametrize(("n", "c"), [(5, 0), (5, 1), (6, 2), (7, 7), (8, 3)])
def test_matches_enumeration_of_all_k_subsets(n, c):
    samples = [True] * c + [False] * (n - c)
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(samples, k))
        exact = sum(any(s) for s in subsets) / len(subsets)
        assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_curve_is_monotone_and_stable_for_large_n():
    curve = pass_at_k_curve(4096, 3)
    values = [curve[k] for k in range(1, 4097)]
    assert values == sorted(values) and values[-1] == 1.0
    assert curve[1] == pytest.approx(3 / 4096)


def test_rejects_impossible_counts():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)
