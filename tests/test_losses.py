"""The DCO loss: its weight F against the closed form in high precision, its gradient against
autograd of -log(1 - (1 - p)^N) on a tiny model, and threshold filtering."""

from __future__ import annotations

import math

import mpmath
import pytest
import torch

from prover.losses import (
    ce_loss,
    dco_loss,
    dco_step_loss,
    dco_trajectory_loss,
    dco_weight,
    keep_informative,
    sequence_logprobs,
)

NS = (1, 4, 64, 4096)
PS = [
    1e-12,
    1e-9,
    1e-7,
    1e-5,
    1e-4,
    1e-3,
    0.01,
    0.05,
    0.1,
    0.3,
    0.5,
    0.9,
    0.999,
    1 - 1e-9,
    1 - 1e-12,
]


def reference_f(n: int, p: float) -> float:
    """F(N, p) in 60-digit arithmetic, straight from the closed form."""
    with mpmath.workdps(60):
        p = mpmath.mpf(p)
        q = 1 - p
        return float(n * p * q ** (n - 1) / (1 - q**n))


def test_f_matches_the_closed_form_everywhere():
    grid = torch.tensor(PS + torch.logspace(-12, 0, 200).tolist(), dtype=torch.float64)
    grid = grid.clamp(1e-12, 1 - 1e-12)
    for n in NS:
        weights = dco_weight(torch.log(grid), n)
        assert weights.dtype == torch.float64
        assert torch.isfinite(weights).all()
        for p, got in zip(grid.tolist(), weights.tolist(), strict=True):
            expected = reference_f(n, p)
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-300), (n, p)


def test_f_known_values_and_limits():
    assert float(dco_weight(torch.tensor(math.log(0.01)), 64)) == pytest.approx(0.72, abs=0.005)
    assert float(dco_weight(torch.tensor(math.log(0.05)), 64)) == pytest.approx(0.13, abs=0.005)
    assert float(dco_weight(torch.tensor(math.log(0.1)), 64)) == pytest.approx(0.008, abs=0.0005)
    assert float(dco_weight(torch.tensor(math.log(0.1)), 16)) == pytest.approx(0.40, abs=0.005)
    logp = torch.tensor([0.0, -1e-30, -50.0, -800.0, float("-inf")], dtype=torch.float64)
    assert dco_weight(logp, 1).tolist() == [1.0] * 5
    weights = dco_weight(logp, 64)
    assert weights[0] == 0.0 and weights[-1] == 1.0 and weights[-2] == 1.0
    assert torch.isfinite(weights).all()
    per_example = dco_weight(torch.log(torch.tensor([0.1, 0.1])), torch.tensor([1.0, 16.0]))
    assert per_example[0] == 1.0 and per_example[1] == pytest.approx(0.40, abs=0.005)
    with pytest.raises(ValueError, match="at least 1"):
        dco_weight(torch.tensor([-1.0]), 0)


def tiny_model_logprobs(seed: int = 0):
    """Token log-probs of random targets under a small float64 causal LM, with gradient."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=8,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=32,
    )
    model = LlamaForCausalLM(config).double()
    ids = torch.randint(0, 8, (5, 7))
    mask = torch.zeros(5, 6, dtype=torch.float64)
    mask[:, 2:] = 1.0  # the first two predicted tokens are prompt
    mask[3, 5] = 0.0  # one example ends early (padding)
    logits = model(ids).logits[:, :-1]
    token_logprobs = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return model, token_logprobs, mask


def grads(model, loss) -> torch.Tensor:
    model.zero_grad()
    loss.backward()
    return torch.cat([p.grad.flatten() for p in model.parameters()])


@pytest.mark.parametrize("n", [1, 4, 64, 4096])
def test_dco_gradient_equals_autograd_of_the_coverage_loss(n):
    model, token_logprobs, mask = tiny_model_logprobs()
    ours = grads(model, dco_loss(token_logprobs, mask, n))
    model, token_logprobs, mask = tiny_model_logprobs()
    p = torch.exp(sequence_logprobs(token_logprobs, mask))
    coverage_loss = -torch.log(1 - (1 - p) ** n)
    expected = grads(model, coverage_loss.mean())
    assert torch.allclose(ours, expected, atol=1e-6, rtol=1e-6)
    assert expected.abs().max() > 1e-4, "the check is not vacuous"


def test_step_loss_uses_each_examples_own_budget():
    model, token_logprobs, mask = tiny_model_logprobs(1)
    n_eff = torch.tensor([1.0, 4.0, 16.0, 64.0, 4096.0], dtype=torch.float64)
    ours = grads(model, dco_step_loss(token_logprobs, mask, n_eff))
    model, token_logprobs, mask = tiny_model_logprobs(1)
    p = torch.exp(sequence_logprobs(token_logprobs, mask))
    expected = grads(model, (-torch.log(1 - (1 - p) ** n_eff)).mean())
    assert torch.allclose(ours, expected, atol=1e-6, rtol=1e-6)


def test_trajectory_loss_weights_a_proof_by_the_product_of_its_steps():
    model, token_logprobs, mask = tiny_model_logprobs(2)
    trajectory = torch.tensor([0, 0, 1, 1, 1])
    ours = grads(model, dco_trajectory_loss(token_logprobs, mask, trajectory, 16))
    model, token_logprobs, mask = tiny_model_logprobs(2)
    step = sequence_logprobs(token_logprobs, mask)
    proof_p = torch.exp(torch.stack([step[:2].sum(), step[2:].sum()]))
    expected = grads(model, (-torch.log(1 - (1 - proof_p) ** 16)).mean())
    assert torch.allclose(ours, expected, atol=1e-6, rtol=1e-6)


def test_ce_is_dco_at_n_1_and_mean_reduction_divides_by_length():
    _, token_logprobs, mask = tiny_model_logprobs(3)
    assert torch.allclose(ce_loss(token_logprobs, mask), dco_loss(token_logprobs, mask, 1))
    lengths = mask.sum(-1)
    expected = (-sequence_logprobs(token_logprobs, mask) / lengths).mean()
    assert torch.allclose(ce_loss(token_logprobs, mask, "mean"), expected)
    with pytest.raises(ValueError, match="reduction"):
        ce_loss(token_logprobs, mask, "max")


def test_threshold_filtering_drops_and_refills():
    weights = torch.tensor([0.9, 0.05, 0.5, 0.0, 0.2, 0.7, 0.11, 0.3], dtype=torch.float64)
    kept = keep_informative(weights, limit=4, threshold=0.1)
    # 0.05 and 0.0 are dropped; their places go to the next informative examples, in order.
    assert kept.tolist() == [0, 2, 4, 5]
    assert keep_informative(weights, limit=8, threshold=0.1).tolist() == [0, 2, 4, 5, 6, 7]
    assert keep_informative(weights, limit=8, threshold=0.0).tolist() == list(range(8))
    assert keep_informative(torch.zeros(3), limit=2, threshold=0.1).numel() == 0
