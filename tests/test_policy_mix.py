"""The ensemble and hybrid policies, the model's scoring of given tactics, and the shared
prefill of the n samples of one prompt; on a tiny model in this process."""

from __future__ import annotations

import pytest
import torch

from prover.automation import AutomationPolicy
from prover.compose import ensemble_members, make_policy
from prover.config import TransformersBackendConfig
from prover.generation import SampleRequest
from prover.hf_backend import TransformersEngine
from prover.policy_mix import EnsemblePolicy, HybridPolicy, split_budget
from prover.tiny_model import build_tiny_model
from search.policy import Candidate, LocalPolicy, PromptTooLong
from search.types import ProofState, ProverKind, Theorem
from tests.policy_helpers import prover_cli

THEOREM = Theorem(name="t", statement="Theorem t : forall a b : nat, a + b = b + a.")
STATE = ProofState(key=0, goals=("forall a b : nat, a + b = b + a",))


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


class Fixed(LocalPolicy):
    """Proposes ``k`` copies of its tactics' first ``n`` (or refuses the prompt)."""

    def __init__(self, name: str, tactics: list[str], too_long: bool = False) -> None:
        self.name, self.list, self.too_long, self.asked = name, tactics, too_long, []

    async def tactics(self, theorem, state, n):
        self.asked.append(n)
        if self.too_long:
            raise PromptTooLong("prompt of 5000 tokens is over the limit of 2048")
        return [Candidate(t, -1.0 - i) for i, t in enumerate(self.list[:n])]

    async def proofs(self, theorem, n):
        return await self.tactics(theorem, None, n)


def test_the_budget_splits_by_share_and_sums_to_n():
    assert split_budget(8, [1, 1]) == [4, 4]
    assert split_budget(7, [0.5, 0.25, 0.25]) == [3, 2, 2]  # largest remainders
    assert split_budget(1, [1, 1, 1]) == [1, 0, 0]
    assert all(sum(split_budget(n, [0.3, 0.7])) == n for n in range(20))
    assert ensemble_members("a=0.75, b=0.25") == [("a", 0.75), ("b", 0.25)]
    assert ensemble_members("dir/x,dir/y") == [("dir/x", 1.0), ("dir/y", 1.0)]
    assert ensemble_members("/m/x=y/model,b=2") == [("/m/x=y/model", 1.0), ("b", 2.0)]
    for bad in ("a=nan", "a=-1", "a=inf"):
        with pytest.raises(ValueError, match="positive number"):
            ensemble_members(bad)
    with pytest.raises(ValueError, match="needs --model"):
        ensemble_members(" , ")


async def test_an_ensemble_splits_its_budget_and_merges_what_its_members_propose():
    a, b = Fixed("a", ["lia", "auto", "ring"]), Fixed("b", ["auto", "easy", "tauto"])
    ensemble = EnsemblePolicy([(a, 3), (b, 1)])
    merged = await ensemble.tactics(THEOREM, STATE, 4)
    assert (a.asked, b.asked) == ([3], [1])
    assert [c.text for c in merged] == ["lia", "auto", "ring"]
    assert next(c for c in merged if c.text == "auto").count == 2
    # A member that cannot read the prompt leaves the others' answers; all failing re-raises.
    half = EnsemblePolicy([(Fixed("x", ["lia"], too_long=True), 1), (Fixed("y", ["easy"]), 1)])
    assert [c.text for c in await half.tactics(THEOREM, STATE, 2)] == ["easy"]
    none = EnsemblePolicy([(Fixed("x", ["lia"], too_long=True), 1)])
    with pytest.raises(PromptTooLong):
        await none.tactics(THEOREM, STATE, 2)
    for share in (0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive, finite share"):
            EnsemblePolicy([(a, share)])


def test_scoring_equals_the_log_prob_of_a_plain_forward_pass(tiny_dir):
    engine = TransformersEngine.load(TransformersBackendConfig(model=str(tiny_dir), device="cpu"))
    prompt = engine.encode("a b : nat\n⊢ a + b = b + a:::")
    continuations = [[5, 9, 11], [7], [12, 13, 14, 15, 16]]
    scored = engine.sampler.score(prompt, continuations)
    with torch.no_grad():
        for continuation, got in zip(continuations, scored, strict=True):
            ids = torch.tensor([[*prompt, *continuation]])
            logp = torch.log_softmax(engine.model(input_ids=ids).logits[0].float(), -1)
            want = sum(float(logp[len(prompt) - 1 + i, t]) for i, t in enumerate(continuation))
            assert got == pytest.approx(want, abs=1e-4)
    with pytest.raises(PromptTooLong):
        engine.sampler.score(prompt, [[1] * 5000])


def test_the_samples_of_one_prompt_share_one_prefill(tiny_dir):
    engine = TransformersEngine.load(TransformersBackendConfig(model=str(tiny_dir), device="cpu"))
    widths = []
    hook = engine.model.register_forward_pre_hook(
        lambda module, args, kwargs: widths.append(tuple(kwargs["input_ids"].shape)),
        with_kwargs=True,
    )
    one = engine.encode("n : nat\n⊢ n + 0 = n:::")
    other = engine.encode("⊢ 1 + 1 = 2:::")
    requests = [SampleRequest(one, n=8, max_tokens=4, seed=1),
                SampleRequest(other, n=4, max_tokens=4, seed=2),
                SampleRequest(one, n=2, max_tokens=4, seed=3)]  # fmt: skip
    shared = engine.sampler.sample(requests)
    hook.remove()
    assert widths[0] == (2, len(one)), "one prefill row per distinct prompt, not 14"
    alone = engine.sampler.sample([requests[1]])[0]
    assert [s.token_ids for s in alone] == [s.token_ids for s in shared[1]]


async def test_the_hybrid_adds_the_models_samples_and_reranks_by_its_weight(tiny_dir):
    automation = AutomationPolicy(ProverKind.COQ)
    prior = await automation.tactics(THEOREM, STATE, 8)
    keep = make_policy("hybrid", ProverKind.COQ, str(tiny_dir), hybrid_weight=0.0)
    assert isinstance(keep, HybridPolicy)
    ranked = await keep.tactics(THEOREM, STATE, 8)
    texts = [c.text for c in ranked]
    dotted = [c.text if c.text.endswith(".") else c.text + "." for c in prior]
    assert texts[: len(prior)] == dotted, "weight 0: the automation's order, spelt as trained"
    model_only = make_policy("hybrid", ProverKind.COQ, str(tiny_dir), hybrid_weight=1.0)
    by_model = await model_only.tactics(THEOREM, STATE, 8)
    scores = await model_only.model.score_tactics(STATE, [c.text for c in by_model])
    assert [c.logprob for c in by_model] == pytest.approx(scores, abs=1e-5)
    assert set(dotted) <= {c.text for c in by_model}, "it only adds"
    await keep.close()
    await model_only.close()


def test_make_policy_refuses_options_that_do_not_go_together(tiny_dir):
    with pytest.raises(ValueError, match="automation policy uses none"):
        make_policy("automation", ProverKind.COQ, str(tiny_dir))
    with pytest.raises(ValueError, match="needs --model"):
        make_policy("ensemble", ProverKind.COQ, None)
    ensemble = make_policy("ensemble", ProverKind.COQ, f"{tiny_dir}=2,{tiny_dir}=1")
    assert ensemble.name.startswith("ensemble(transformers:") and "=2" in ensemble.name


def test_the_cli_refuses_policy_options_that_would_be_ignored(tiny_dir):
    queued = prover_cli("prove", "--statement", "Theorem t : True.", "--redis",
                        "redis://127.0.0.1:1/0", "--hybrid-weight", "0.3", "--temperature", "0.5")
    assert queued.returncode != 0 and "drop --hybrid-weight, --temperature" in queued.stderr
    unused = prover_cli("prove", "--statement", "Theorem t : True.", "--model", str(tiny_dir))
    assert unused.returncode != 0 and "the automation policy uses none" in unused.stderr
    remote = prover_cli("prove", "--statement", "Theorem t : True.", "--policy", "hybrid",
                        "--model", "m", "--member-backend", "openai")  # fmt: skip
    assert remote.returncode != 0 and "--member-backend transformers" in remote.stderr
