"""Helpers for the policy tests: a tiny model, and a real uvicorn server on a free port."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from prover.config import BatchingConfig, OpenAIBackendConfig, TransformersBackendConfig
from prover.hf_backend import TransformersEngine
from prover.openai_backend import OpenAICompleter
from prover.serve import create_app
from prover.train import TrainConfig
from search.policy import PolicyError


def tiny_train_config(**overrides) -> TrainConfig:
    """A training run small enough for a test on CPU; ``overrides`` set what the test is about."""
    defaults = {
        "n": 4,
        "steps": 4,
        "batch_size": 2,
        "max_length": 128,
        "learning_rate": 1e-3,
        "warmup_ratio": 0.0,
        "save_steps": 1000,
    }
    return TrainConfig(**(defaults | overrides))


CLI_ENV = {**os.environ, "PYTHONPATH": os.getcwd()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prover_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the `prover` command line as a user runs it: a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "prover.cli", *args],
        capture_output=True,
        text=True,
        env=CLI_ENV,
        timeout=timeout,
    )


@contextmanager
def served_by_cli(*args: str, name: str, wait_s: float = 120) -> Iterator[str]:
    """`prover serve-policy ARGS` on a free port; yields its base URL once `/v1/models`
    lists ``name``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    server = subprocess.Popen(
        [sys.executable, "-m", "prover.cli", "serve-policy", *args, "--served-model-name", name,
         "--port", str(port)],
        env=CLI_ENV, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + wait_s
        while True:
            # A client per try: an async client belongs to the event loop it first ran in.
            ready = OpenAICompleter(OpenAIBackendConfig(url=url, model=name, max_retries=0))
            try:
                asyncio.run(ready.check())
                break
            except PolicyError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.25)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


@contextmanager
def running_server(model_dir, name: str = "tiny", **engine_options) -> Iterator[str]:
    """Serve ``model_dir`` with uvicorn on a free loopback port; yield the base URL."""
    config = TransformersBackendConfig(
        model=str(model_dir),
        device="cpu",
        batching=engine_options.pop("batching", BatchingConfig(max_wait_ms=20)),
        **engine_options,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(TransformersEngine.load(config), name),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
