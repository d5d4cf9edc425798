"""Validated configuration of the policy: one model per concern, shared by the CLI, the
serving backends and the trainer (the pattern of ``search/config.py``)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

#: Default URL of a local policy server (``vllm serve`` and ``prover serve-policy`` both
#: listen on port 8000 unless told otherwise).
DEFAULT_POLICY_URL = "http://127.0.0.1:8000/v1"


class SamplingConfig(BaseModel):
    """How candidates are sampled; the fields are the ``/v1/completions`` request's."""

    temperature: float = Field(default=1.0, ge=0.0, le=10.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=128, ge=1, le=32_768, description="new tokens per sample")
    seed: int | None = Field(default=None, description="fixed seed: same prompt, same samples")


class OpenAIBackendConfig(BaseModel):
    """Where the OpenAI-compatible server is and how hard to try reaching it."""

    url: str = Field(default=DEFAULT_POLICY_URL, description="base URL, ending in /v1")
    model: str = Field(min_length=1, description="served model name (`/v1/models` lists them)")
    api_key: str = Field(default="EMPTY", description="vLLM's --api-key, if it was given one")
    timeout_s: float = Field(default=120.0, gt=0, le=3_600, description="per HTTP request")
    max_retries: int = Field(default=3, ge=0, le=20, description="on connection errors, 5xx, 429")
    max_concurrency: int = Field(default=64, ge=1, le=4_096, description="requests in flight")


class BatchingConfig(BaseModel):
    """Request batching of the in-process transformers backend.

    Concurrent requests are gathered for at most ``max_wait_ms`` or until ``max_batch_rows``
    sequences (requests x samples) are waiting, then decoded in one padded batch: a GPU does
    a batch of 32 rows in about the time of one row, which is the whole point.
    """

    max_batch_rows: int = Field(default=64, ge=1, le=8_192)
    max_wait_ms: float = Field(default=5.0, ge=0.0, le=10_000.0)


class TransformersBackendConfig(BaseModel):
    """The in-process transformers backend: a model directory and where to run it."""

    model: str = Field(min_length=1, description="model directory (or hub id when online)")
    device: str = Field(default="auto", description="auto, cpu, cuda, cuda:1 ...")
    dtype: str = Field(default="auto", pattern="^(auto|float32|bfloat16|float16)$")
    max_prompt_tokens: int = Field(default=2048, ge=1, le=131_072)
    batching: BatchingConfig = Field(default_factory=BatchingConfig)


class PolicyBackend(StrEnum):
    OPENAI = "openai"
    TRANSFORMERS = "transformers"


class PolicyName(StrEnum):
    AUTOMATION = "automation"
    OPENAI = "openai"
    TRANSFORMERS = "transformers"
    ENSEMBLE = "ensemble"
    HYBRID = "hybrid"


class PolicyChoice(BaseModel):
    """Which policy proposes tactics: the options ``prove``, ``eval`` and ``worker`` share."""

    policy: PolicyName = Field(
        default=PolicyName.AUTOMATION,
        description="automation (model-free), openai (a served model), transformers (a model "
        "in this process), ensemble (several models sharing the budget), hybrid (a model "
        "merged with the automation)",
    )
    model: str | None = Field(
        default=None,
        description="openai: the served model name; transformers and hybrid: the model "
        "directory; ensemble: MODEL[=SHARE],MODEL[=SHARE],... (equal shares by default; a "
        "worker also reads DCOPROVER_MODEL)",
    )
    policy_url: str | None = Field(
        default=None,
        description="openai (and members served over HTTP): the server's base URL "
        "(default http://127.0.0.1:8000/v1; a worker also reads DCOPROVER_POLICY_URL)",
    )
    member_backend: PolicyBackend = Field(
        default=PolicyBackend.TRANSFORMERS,
        description="ensemble and hybrid: how their models are run",
    )
    hybrid_weight: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="hybrid: weight of the model's log-prob against the automation's prior",
    )


class PolicyConfig(BaseModel):
    """Which prompt templates a model policy uses, and how it samples."""

    tactic_template: str = "tactic-state-v1"
    proof_template: str = "proof-deepseek-v1"
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    max_tactic_chars: int = Field(default=2_000, ge=1, le=100_000)
    max_proof_chars: int = Field(default=20_000, ge=1, le=1_000_000)
