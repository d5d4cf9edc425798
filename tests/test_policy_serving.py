"""Policy serving end to end: the transformers server under real uvicorn, the real `openai`
async client over real HTTP, and the in-process backend with its request batcher."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import time

import openai
import pytest
import torch
from transformers import AutoModelForCausalLM

from prover.backends import make_model_policy
from prover.compose import make_policy
from prover.config import (
    BatchingConfig,
    OpenAIBackendConfig,
    PolicyConfig,
    SamplingConfig,
    TransformersBackendConfig,
)
from prover.generation import PromptTooLong
from prover.hf_backend import ModelLoadError, TransformersEngine, load_model
from prover.model_policy import ModelPolicy
from prover.openai_backend import OpenAICompleter
from prover.prompts import tactic_template
from prover.tiny_model import build_tiny_model
from search.policy import PolicyError
from search.types import ProofState, ProverKind, Theorem
from tests.policy_helpers import free_port, prover_cli, running_server, served_by_cli

THEOREM = Theorem(name="t", header="Require Import Arith.", statement="Theorem t : 1 + 1 = 2.")
STATE = ProofState(key=1, goals=("============================\n 1 + 1 = 2",))
SAMPLING = SamplingConfig(temperature=1.0, max_tokens=12, seed=1234)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def server_url(tiny_dir):
    with running_server(tiny_dir, max_prompt_tokens=256) as url:
        yield url


def client_for(url: str, model: str = "tiny", **options) -> OpenAICompleter:
    return OpenAICompleter(OpenAIBackendConfig(url=url, model=model, **options))


async def test_openai_backend_gets_n_candidates_with_logprobs(server_url):
    completer = client_for(server_url)
    completions = await completer.complete("1 + 1 = 2:::", 8, SAMPLING, ("\n\n",))
    assert len(completions) == 8
    for completion in completions:
        assert completion.token_logprobs and all(lp <= 0 for lp in completion.token_logprobs)
        assert completion.finish_reason in ("stop", "length")
    policy = ModelPolicy(completer, PolicyConfig(sampling=SAMPLING), name="openai:tiny")
    candidates = await policy.tactics(THEOREM, STATE, 8)
    assert candidates, "a random model still writes non-empty text"
    assert [c.logprob for c in candidates] == sorted((c.logprob for c in candidates), reverse=True)
    assert sum(c.count for c in candidates) + policy.rejected == 8
    assert all(math.isfinite(c.logprob) and c.num_tokens >= 1 for c in candidates)
    proofs = await policy.proofs(THEOREM, 4)
    assert all(p.text and "```" not in p.text for p in proofs)
    await policy.close()


async def test_returned_logprob_equals_a_forward_pass(server_url, tiny_dir):
    client = openai.AsyncOpenAI(base_url=server_url, api_key="EMPTY", max_retries=0)
    prompt = tactic_template("tactic-state-v1").prompt(STATE.text)
    response = await client.completions.create(
        model="tiny",
        prompt=prompt,
        n=3,
        max_tokens=16,
        logprobs=2,
        seed=7,
        extra_body={"return_tokens_as_token_ids": True},
    )
    await client.close()
    model, tokenizer = load_model(str(tiny_dir), device="cpu")
    prompt_ids = tokenizer(prompt)["input_ids"]
    assert response.usage.prompt_tokens == len(prompt_ids)
    for choice in response.choices:
        ids = [int(token.removeprefix("token_id:")) for token in choice.logprobs.tokens]
        with torch.no_grad():
            logits = model(torch.tensor([prompt_ids + ids])).logits[0].double()
        expected = torch.log_softmax(logits, -1)[len(prompt_ids) - 1 : -1].gather(
            -1, torch.tensor(ids).unsqueeze(1)
        )
        served = choice.logprobs.token_logprobs
        assert sum(served) == pytest.approx(float(expected.sum()), abs=1e-4)
        assert served == pytest.approx(expected.squeeze(1).tolist(), abs=1e-4)
        for step, top in zip(served, choice.logprobs.top_logprobs, strict=True):
            assert 2 <= len(top) <= 3 and max(top.values()) >= step - 1e-6


async def test_same_seed_same_samples_over_http(server_url):
    completer = client_for(server_url)
    first = await completer.complete("x + 0 = x:::", 4, SAMPLING, ())
    again = await completer.complete("x + 0 = x:::", 4, SAMPLING, ())
    other = await completer.complete("x + 0 = x:::", 4, SAMPLING.model_copy(update={"seed": 9}), ())
    assert [c.text for c in first] == [c.text for c in again]
    assert [c.text for c in first] != [c.text for c in other]
    assert len({c.text for c in first}) > 1, "the n samples of one request differ"


async def test_batching_returns_what_one_at_a_time_returns(tiny_dir):
    model, tokenizer = load_model(str(tiny_dir), device="cpu")
    prompts = [f"n + {i} = {i} + n:::" * (1 + i % 3) for i in range(12)]

    async def run(batching: BatchingConfig):
        config = TransformersBackendConfig(model=str(tiny_dir), batching=batching)
        engine = TransformersEngine(model, tokenizer, config)
        sampling = [
            SAMPLING.model_copy(update={"seed": 100 + i, "max_tokens": 4 + 3 * (i % 4)})
            for i in range(len(prompts))
        ]
        results = await asyncio.gather(
            *(
                engine.sample(engine.encode(p), 3, s, ("=",))
                for p, s in zip(prompts, sampling, strict=True)
            )
        )
        await engine.close()
        return results, engine.batcher.stats

    alone, alone_stats = await run(BatchingConfig(max_batch_rows=1, max_wait_ms=0))
    batched, batched_stats = await run(BatchingConfig(max_batch_rows=64, max_wait_ms=50))
    assert alone_stats.batches == len(prompts)
    assert batched_stats.batches < len(prompts) / 2, "concurrent requests were batched"
    for one, many in zip(alone, batched, strict=True):
        assert [s.token_ids for s in one] == [s.token_ids for s in many]
        assert [s.text for s in one] == [s.text for s in many]
        for a, b in zip(one, many, strict=True):
            assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)
            assert "=" not in a.text


async def test_in_process_transformers_policy(tiny_dir):
    policy = make_policy("transformers", ProverKind.COQ, model=str(tiny_dir))
    candidates = await policy.tactics(THEOREM, STATE, 6)
    assert candidates and all(c.logprob < 0 for c in candidates)
    await policy.close()


async def test_server_down_is_a_clear_error():
    completer = client_for(f"http://127.0.0.1:{free_port()}/v1", max_retries=1)
    started = time.monotonic()
    with pytest.raises(PolicyError, match=r"cannot reach the policy server .*serve-policy"):
        await completer.complete("goal:::", 2, SAMPLING, ())
    assert time.monotonic() - started < 30
    with pytest.raises(PolicyError, match="cannot reach"):
        await completer.check()


async def test_wrong_model_name_lists_the_served_ones(server_url):
    completer = client_for(server_url, model="no-such-model")
    with pytest.raises(PolicyError, match=r"'no-such-model' is not served .*served: tiny"):
        await completer.complete("goal:::", 2, SAMPLING, ())
    with pytest.raises(PolicyError, match="not served"):
        await completer.check()
    await client_for(server_url).check()


async def test_oversized_prompt_and_bad_requests_are_rejected(server_url):
    completer = client_for(server_url)
    # Over HTTP as in process: a prompt that does not fit is PromptTooLong (the search skips
    # that state), not a PolicyError (which would make a worker wait for the server).
    with pytest.raises(PromptTooLong, match=r"prompt of \d+ tokens is over the limit of 256"):
        await completer.complete("x" * 5000, 2, SAMPLING, ())
    tight = SAMPLING.model_copy(update={"max_tokens": 4000})
    with pytest.raises(PromptTooLong, match="exceeds the model's context of 2048"):
        await completer.complete("goal:::", 1, tight, ())
    client = openai.AsyncOpenAI(base_url=server_url, api_key="EMPTY", max_retries=0)
    with pytest.raises(
        openai.BadRequestError, match="n: Input should be greater than or equal to 1"
    ):
        await client.completions.create(model="tiny", prompt="a", n=0)
    with pytest.raises(openai.BadRequestError, match="stream=true is not supported"):
        await client.completions.create(model="tiny", prompt="a", stream=True)
    models = await client.models.list()
    assert [m.id for m in models.data] == ["tiny"]
    await client.close()


async def test_empty_and_oversized_tactics_are_dropped_and_counted(server_url):
    policy = ModelPolicy(
        client_for(server_url), PolicyConfig(sampling=SAMPLING, max_tactic_chars=1), name="tight"
    )
    candidates = await policy.tactics(THEOREM, STATE, 6)
    assert all(len(c.text) == 1 for c in candidates)
    assert policy.rejected + sum(c.count for c in candidates) == 6
    assert policy.rejected >= 1


def test_in_process_errors_name_the_problem(tmp_path, tiny_dir):
    with pytest.raises(ValueError, match="needs --model"):
        make_policy("openai", ProverKind.COQ)
    with pytest.raises(ModelLoadError, match="no such directory"):
        make_model_policy("transformers", str(tmp_path / "missing"))
    with pytest.raises(ModelLoadError, match="cannot load model"):
        make_model_policy("transformers", str(tmp_path))
    engine = TransformersEngine.load(
        TransformersBackendConfig(model=str(tiny_dir), max_prompt_tokens=8)
    )
    with pytest.raises(PromptTooLong, match="over the limit of 8"):
        asyncio.run(engine.sample(engine.encode("a long prompt " * 4), 1, SAMPLING))
    # The engine outlives an event loop: each asyncio.run gets the same, seeded samples.
    first, again = (asyncio.run(engine.sample(engine.encode("x:::"), 2, SAMPLING)) for _ in "12")
    assert [s.token_ids for s in first] == [s.token_ids for s in again]


def test_cli_builds_a_tiny_model_and_serves_it(tmp_path):
    """`prover tiny-model` then `prover serve-policy` as a user runs them: real processes."""
    model_dir = tmp_path / "m"
    built = prover_cli("tiny-model", str(model_dir), "--architecture", "qwen2")
    assert built.returncode == 0, built.stderr
    assert AutoModelForCausalLM.from_pretrained(model_dir).config.model_type == "qwen2"
    with served_by_cli("--backend", "transformers", "--model", str(model_dir), name="cli") as url:
        assert len(asyncio.run(client_for(url, "cli").complete("goal:::", 3, SAMPLING, ()))) == 3


@pytest.mark.vllm
@pytest.mark.gpu
def test_live_vllm_serves_the_tiny_model(tmp_path):
    """Against the real `vllm serve` (only where vLLM and a GPU are installed)."""
    model_dir = build_tiny_model(tmp_path / "m")
    with served_by_cli(
        "--backend",
        "vllm",
        "--model",
        str(model_dir),
        "--max-model-len",
        "512",
        name="tiny",
        wait_s=600,
    ) as url:
        completions = asyncio.run(client_for(url).complete("goal:::", 4, SAMPLING, ()))
        assert len(completions) == 4 and all(c.token_logprobs for c in completions)


def test_vllm_command_line_and_missing_vllm(monkeypatch):
    from prover.vllm_server import VllmMissing, VllmServeConfig, run_vllm, vllm_command

    config = VllmServeConfig(
        model="/models/p",
        served_model_name="policy",
        port=8100,
        max_model_len=4096,
        gpu_memory_utilization=0.8,
        extra_args=("--tensor-parallel-size", "2"),
    )
    argv = vllm_command(config)
    assert argv[:3] == ["vllm", "serve", "/models/p"]
    flags = dict(zip(argv[3:9:2], argv[4:10:2], strict=True))
    assert "--enable-prefix-caching" in argv
    assert argv[argv.index("--max-model-len") + 1] == "4096"
    assert argv[argv.index("--served-model-name") + 1] == "policy"
    assert argv[argv.index("--gpu-memory-utilization") + 1] == "0.8"
    assert argv[argv.index("--port") + 1] == "8100" and flags["--host"] == "127.0.0.1"
    assert argv[-2:] == ["--tensor-parallel-size", "2"]
    if shutil.which("vllm") is None:
        with pytest.raises(VllmMissing, match="vLLM is not installed"):
            run_vllm(config)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(VllmMissing, match=r"Command that would run: vllm serve /models/p"):
        run_vllm(config)


@pytest.mark.coq
def test_prove_with_a_model_policy_fails_fast_with_the_reason(server_url):
    def prove(model: str, url: str, *more: str):
        return prover_cli("prove", "--prover", "coq", "--statement", "Theorem t : 1 + 1 = 2.",
                          "--max-expansions", "2", "--policy", "openai", "--model", model,
                          "--policy-url", url, *more)  # fmt: skip

    down = prove("tiny", f"http://127.0.0.1:{free_port()}/v1")
    assert down.returncode != 0 and "cannot reach the policy server" in down.stderr
    wrong = prove("nope", server_url)
    assert wrong.returncode != 0 and "'nope' is not served" in wrong.stderr
    served = prove("tiny", server_url, "--json")
    assert served.returncode == 0, served.stderr
    assert json.loads(served.stdout)["stats"]["policy_calls"] >= 1


@pytest.mark.parametrize(
    "message",
    [
        "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens "
        "(2000 in the messages, 100 in the completion).",
        "The decoder prompt (length 5000) is longer than the maximum model length of 4096.",
    ],
)
def test_vllms_context_errors_are_read_as_prompt_too_long(message):
    from prover.openai_backend import _CONTEXT_OVERFLOW

    assert _CONTEXT_OVERFLOW.search(message)
    assert not _CONTEXT_OVERFLOW.search("n: Input should be greater than or equal to 1")
