"""``vllm serve`` for production: build its command line and run it.

vLLM needs a GPU and cannot be installed on development or CI machines, so the product talks
to it only over its OpenAI-compatible API; this module is the one place that knows its flags.
Prefix caching is always on: every tactic request of one proof search shares the template's
preamble, and a whole-proof request's N samples share the statement.
"""

from __future__ import annotations

import shutil
import subprocess

from pydantic import BaseModel, Field


class VllmMissing(RuntimeError):
    """``vllm`` is not installed here."""


class VllmServeConfig(BaseModel):
    """The ``vllm serve`` flags the product sets; anything else goes in ``extra_args``."""

    model: str = Field(min_length=1)
    served_model_name: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    max_model_len: int | None = Field(default=None, ge=16)
    gpu_memory_utilization: float = Field(default=0.9, gt=0.0, le=1.0)
    dtype: str = "auto"
    seed: int = 0
    extra_args: tuple[str, ...] = ()


def vllm_command(config: VllmServeConfig) -> list[str]:
    """The argv of ``vllm serve`` for ``config``."""
    argv = [
        "vllm",
        "serve",
        config.model,
        "--host",
        config.host,
        "--port",
        str(config.port),
        "--served-model-name",
        config.served_model_name or config.model,
        "--gpu-memory-utilization",
        str(config.gpu_memory_utilization),
        "--dtype",
        config.dtype,
        "--seed",
        str(config.seed),
        "--enable-prefix-caching",
    ]
    if config.max_model_len is not None:
        argv += ["--max-model-len", str(config.max_model_len)]
    return argv + list(config.extra_args)


def run_vllm(config: VllmServeConfig) -> int:
    """Run ``vllm serve`` in the foreground; its exit code."""
    argv = vllm_command(config)
    if shutil.which(argv[0]) is None:
        raise VllmMissing(
            "vLLM is not installed (no `vllm` on PATH). Install it on a GPU machine with "
            "`pip install 'dcoprover[vllm]'`, or serve the model on CPU with "
            "`prover serve-policy --backend transformers`. Command that would run: "
            + " ".join(argv)
        )
    return subprocess.run(argv, check=False).returncode
