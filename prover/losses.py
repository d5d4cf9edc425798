"""Training losses: cross-entropy and Direct Coverage Optimization (DCO), three granularities.

With ``N`` samples and a perfect checker, a target of probability ``p`` is found with
probability ``1 - (1 - p)^N`` (coverage). DCO minimises

    L_DCO(N, p) = -log(1 - (1 - p)^N),

whose gradient is the cross-entropy gradient scaled by one number per example:

    grad L_DCO = F(N, p) * grad(-log p),   F(N, p) = N p (1 - p)^(N - 1) / (1 - (1 - p)^N).

F(1, p) = 1 (DCO at N = 1 is CE), F -> 1 as p -> 0 (hard examples train like CE), and F falls
to ~0 once p is above ~1/N (an example N samples already cover stops sharpening). As the
authors do, F is computed without gradient in float64 from the sequence log-prob and used as
a constant weight on CE; that gives exactly the DCO gradient (``tests/test_losses.py`` checks
it against autograd of L_DCO).

Shapes: ``token_logprobs`` and ``mask`` are ``(batch, tokens)``; ``token_logprobs[b, t]`` is
``log p(y_t | x, y_<t)`` of example ``b``'s target token ``t`` (with gradient), ``mask`` is 1
on target tokens and 0 on prompt and padding. Losses are means over examples (trajectories
for the trajectory loss). ``reduction`` says how tokens add up inside an example:

* ``"sum"``: ``-log p`` of the whole sequence; the exact DCO (and sequence CE) gradient.
* ``"mean"``: that divided by the example's token count (length-normalised, as Hugging Face's
  CE); the weight F is still computed from the whole sequence's ``p``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

Reduction = Literal["sum", "mean"]

#: Below this N p, F comes from its series: the closed form tends to 0/0 there.
SERIES_BELOW = 1e-5
#: Examples whose F is below this teach almost nothing; they are dropped and the batch refilled.
DEFAULT_WEIGHT_THRESHOLD = 0.1


def _log1mexp(x: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(x)) for x <= 0, accurate at both ends (Mächler's two branches)."""
    return torch.where(x > -math.log(2.0), torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def dco_weight(seq_logprob: torch.Tensor, n: float | torch.Tensor) -> torch.Tensor:
    """F(N, p) = N p (1-p)^(N-1) / (1 - (1-p)^N), in float64, from ``log p``.

    Computed in log space: numerator ``exp(log N + log p + (N-1) log(1-p))`` and denominator
    ``-expm1(N log(1-p))``, with ``log(1-p)`` from ``_log1mexp``. Where ``N p < 1e-5`` the
    closed form is replaced by its series, ``1 - (N-1) p / 2 + (N-1)(N-5) p^2 / 12``, whose
    error is O((N p)^3) < 1e-15. ``N = 1`` gives exactly 1; ``p = 1`` gives 0 for ``N > 1``.
    ``n`` is a number or a tensor broadcastable to ``seq_logprob`` (one N_eff per example).
    No gradient flows through the weight.
    """
    logp = seq_logprob.detach().to(torch.float64).clamp(max=0.0)
    n = torch.as_tensor(n, dtype=torch.float64, device=logp.device).expand_as(logp)
    if bool((n < 1).any()):
        raise ValueError("N must be at least 1")
    p = torch.exp(logp)
    log_q = _log1mexp(logp)
    numerator = torch.exp(torch.log(n) + logp + (n - 1) * log_q)
    denominator = -torch.expm1(n * log_q)
    closed = numerator / torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    a = n - 1
    series = 1 - a * p / 2 + a * (a - 4) * p * p / 12
    weight = torch.where(n * p < SERIES_BELOW, series, closed)
    return torch.where(n == 1, torch.ones_like(weight), weight)


def sequence_logprobs(token_logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``log p`` of each example's target: the sum of its masked token log-probs."""
    return (token_logprobs * mask.to(token_logprobs.dtype)).sum(dim=-1)


def _example_nll(
    token_logprobs: torch.Tensor, mask: torch.Tensor, reduction: Reduction
) -> torch.Tensor:
    """-log p per example, summed over its target tokens or averaged (``reduction``)."""
    nll = -sequence_logprobs(token_logprobs, mask)
    if reduction == "mean":
        return nll / mask.to(nll.dtype).sum(dim=-1).clamp(min=1)
    if reduction != "sum":
        raise ValueError(f"reduction must be 'sum' or 'mean', not {reduction!r}")
    return nll


def ce_loss(
    token_logprobs: torch.Tensor, mask: torch.Tensor, reduction: Reduction = "sum"
) -> torch.Tensor:
    """Cross-entropy: mean over examples of ``-log p`` (``reduction`` as in the module doc)."""
    return _example_nll(token_logprobs, mask, reduction).mean()


def dco_loss(
    token_logprobs: torch.Tensor,
    mask: torch.Tensor,
    n: float | torch.Tensor,
    reduction: Reduction = "sum",
) -> torch.Tensor:
    """Sequence-level DCO: mean over examples of ``F(N, p) * (-log p)``, F without gradient.

    Its gradient equals that of ``mean(-log(1 - (1 - p)^N))`` (with ``reduction="sum"``).
    Whole-proof training (pass@N) uses it with the proof as the sequence.
    """
    weight = dco_weight(sequence_logprobs(token_logprobs, mask), n)
    return (weight.to(token_logprobs.dtype) * _example_nll(token_logprobs, mask, reduction)).mean()


def dco_step_loss(
    token_logprobs: torch.Tensor,
    mask: torch.Tensor,
    n_eff: float | torch.Tensor,
    reduction: Reduction = "sum",
) -> torch.Tensor:
    """DCO_step for tree search: each row is one (state, tactic) example with its own budget,

        L = mean_i -log(1 - (1 - p(tactic_i | state_i))^N_eff_i),

    which caps each step's confidence near ``1 / N_eff``: the search then branches about
    ``N_eff`` ways per node. ``n_eff`` is a number or one value per row.
    """
    return dco_loss(token_logprobs, mask, n_eff, reduction)


def dco_trajectory_loss(
    token_logprobs: torch.Tensor,
    mask: torch.Tensor,
    trajectory: torch.Tensor,
    n: float,
    reduction: Reduction = "sum",
) -> torch.Tensor:
    """Trajectory-level DCO: one weight per proof, from the product over its steps.

    Rows are steps; ``trajectory[b]`` numbers the proof row ``b`` belongs to (0..T-1).
    ``p_proof = prod_steps p(tactic | state)``, so ``log p_proof`` is the sum of the steps'
    sequence log-probs, and the loss is the mean over proofs of
    ``F(N, p_proof) * sum_steps(-log p_step)``, whose gradient is that of
    ``-log(1 - (1 - p_proof)^N)``.
    """
    count = int(trajectory.max()) + 1 if trajectory.numel() else 0
    step_logp = sequence_logprobs(token_logprobs, mask)
    proof_logp = step_logp.new_zeros(count).index_add(0, trajectory, step_logp.detach())
    weight = dco_weight(proof_logp, n).to(token_logprobs.dtype)
    step_nll = _example_nll(token_logprobs, mask, reduction)
    proof_nll = step_nll.new_zeros(count).index_add(0, trajectory, step_nll)
    return (weight * proof_nll).mean()


def keep_informative(
    weights: torch.Tensor, limit: int, threshold: float = DEFAULT_WEIGHT_THRESHOLD
) -> torch.Tensor:
    """Indices of the first ``limit`` examples whose weight is at least ``threshold``.

    The trainer draws a pool larger than its batch and scores it with a no-grad pass; examples
    below the threshold (already covered by N samples: F ~ 0) are dropped and the next ones in
    the pool take their places, so every step trains on a full batch of examples that still
    teach something.
    """
    return torch.nonzero(weights >= threshold).flatten()[:limit]
