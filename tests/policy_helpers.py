"""Helpers for the policy tests: a tiny model, and a real uvicorn server on a free port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from prover.config import BatchingConfig, TransformersBackendConfig
from prover.hf_backend import TransformersEngine
from prover.serve import create_app


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
