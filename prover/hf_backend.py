"""The in-process transformers backend: a model, its tokenizer and a request batcher.

The same engine serves ``prover serve-policy --backend transformers`` (over HTTP) and the
in-process ``transformers`` policy (no HTTP), on CPU or CUDA.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from prover.batching import RequestBatcher
from prover.config import SamplingConfig, TransformersBackendConfig
from prover.data import target_ids
from prover.generation import BatchSampler, PromptTooLong, Sample, SampleRequest
from prover.model_policy import Completion


class ModelLoadError(RuntimeError):
    """The model directory is missing or is not a causal language model."""


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} asked for, but CUDA is not available here")
    return device


def load_model(model: str, device: str = "auto", dtype: str = "auto"):
    """(model, tokenizer) from a directory or hub id; bf16 on CUDA unless told otherwise."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = resolve_device(device)
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    looks_local = model.startswith((".", "/", "~")) or model.count("/") != 1
    if looks_local and not Path(model).expanduser().exists():
        raise ModelLoadError(f"model {model!r}: no such directory")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
        loaded = AutoModelForCausalLM.from_pretrained(model, dtype=getattr(torch, dtype))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load model {model!r}: {exc}") from exc
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return loaded.to(device), tokenizer


class TransformersEngine:
    """Tokenise, queue, batch-decode. ``sample`` is safe to call from many tasks at once."""

    def __init__(self, model, tokenizer, config: TransformersBackendConfig) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.sampler = BatchSampler(model, tokenizer)
        self.batcher = RequestBatcher(self.sampler, config.batching)

    @classmethod
    def load(cls, config: TransformersBackendConfig) -> TransformersEngine:
        model, tokenizer = load_model(config.model, config.device, config.dtype)
        return cls(model, tokenizer, config)

    @property
    def max_model_len(self) -> int:
        return self.sampler.max_positions

    def encode(self, prompt: str) -> tuple[int, ...]:
        return tuple(self.tokenizer(prompt)["input_ids"])

    def token_text(self, token_id: int) -> str:
        return self.tokenizer.decode([token_id])

    async def sample(
        self,
        prompt_ids: tuple[int, ...],
        n: int,
        sampling: SamplingConfig,
        stop: tuple[str, ...] = (),
        top_logprobs: int = 0,
    ) -> list[Sample]:
        """``n`` samples; ``PromptTooLong`` when the prompt is over ``max_prompt_tokens`` or
        does not leave room for ``max_tokens`` in the context."""
        if len(prompt_ids) > self.config.max_prompt_tokens:
            raise PromptTooLong(
                f"prompt of {len(prompt_ids)} tokens is over the limit of "
                f"{self.config.max_prompt_tokens} (max_prompt_tokens)"
            )
        request = SampleRequest(
            prompt_ids=prompt_ids,
            n=n,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed,
            stop=stop,
            top_logprobs=top_logprobs,
        )
        return await self.batcher.submit(request)

    async def score(self, prompt: str, continuations: list[str]) -> list[float]:
        """``log p(text + EOS | prompt)`` of each continuation (see ``BatchSampler.score``)."""
        encoded = target_ids(self.tokenizer, continuations)
        return await asyncio.to_thread(self.sampler.score, self.encode(prompt), encoded)

    async def close(self) -> None:
        await self.batcher.close()


class TransformersCompleter:
    """The ``Completer`` of the in-process policy: no HTTP between search and model."""

    def __init__(self, engine: TransformersEngine) -> None:
        self.engine = engine

    async def check(self) -> None:
        """Nothing to check: the model was loaded when the engine was built."""

    async def complete(
        self, prompt: str, n: int, sampling: SamplingConfig, stop: tuple[str, ...]
    ) -> list[Completion]:
        samples = await self.engine.sample(self.engine.encode(prompt), n, sampling, stop)
        return [Completion(s.text, s.token_logprobs, s.finish_reason) for s in samples]

    async def score(self, prompt: str, continuations: list[str]) -> list[float]:
        return await self.engine.score(prompt, continuations)

    async def close(self) -> None:
        await self.engine.close()
