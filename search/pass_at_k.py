"""The unbiased pass@k estimator (Chen et al., 2021, "Evaluating Large Language Models Trained
on Code"): with ``n`` samples of which ``c`` are correct,

    pass@k = 1 - C(n - c, k) / C(n, k),

the probability that at least one of ``k`` samples drawn without replacement is correct.
Computed as a running product to stay exact in floating point for large ``n``.
"""

from __future__ import annotations


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k from ``n`` samples with ``c`` correct (``1 <= k <= n``)."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got c={c}, n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):
        product *= 1.0 - k / i
    return 1.0 - product


def pass_at_k_curve(n: int, c: int) -> dict[int, float]:
    """pass@k for every k in 1..n."""
    return {k: pass_at_k(n, c, k) for k in range(1, n + 1)}
