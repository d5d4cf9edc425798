"""Build a model policy from the names the CLI and the workers use."""

from __future__ import annotations

from prover.config import (
    DEFAULT_POLICY_URL,
    OpenAIBackendConfig,
    PolicyBackend,
    PolicyConfig,
    TransformersBackendConfig,
)
from prover.model_policy import ModelPolicy


def make_model_policy(
    backend: str,
    model: str | None,
    policy_url: str | None = None,
    config: PolicyConfig | None = None,
) -> ModelPolicy:
    """``openai``: a client of the server at ``policy_url`` serving ``model``;
    ``transformers``: ``model`` (a directory) loaded in this process."""
    if not model:
        raise ValueError(f"--policy {backend} needs --model (a served model name or directory)")
    config = config or PolicyConfig()
    if PolicyBackend(backend) is PolicyBackend.OPENAI:
        from prover.openai_backend import OpenAICompleter

        url = policy_url or DEFAULT_POLICY_URL
        completer = OpenAICompleter(OpenAIBackendConfig(url=url, model=model))
        return ModelPolicy(completer, config, name=f"openai:{model}")
    from prover.hf_backend import TransformersCompleter, TransformersEngine

    engine = TransformersEngine.load(TransformersBackendConfig(model=model))
    return ModelPolicy(TransformersCompleter(engine), config, name=f"transformers:{model}")
