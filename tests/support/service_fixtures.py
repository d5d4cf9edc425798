"""Real service components for the service and fault-injection tests: a ``redis-server`` on a
free port in a temporary directory, the API under uvicorn, and worker processes, all as
subprocesses. Each test folder's conftest.py imports the fixtures it uses from here."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from support.service_helpers import (
    API_KEY,
    LEASE_S,
    MINIF2F_COQ,
    MINIF2F_LEAN,
    child_env,
    free_port,
    stop,
    wait_until,
)


class RedisServer:
    """A ``redis-server`` with append-only persistence in a temporary directory; ``restart``
    stops it (SIGTERM: the append-only file is flushed) and starts it again on the same port."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary, self.directory, self.port = binary, directory, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = self._start()

    def _start(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.directory), "--appendonly", "yes", "--save", "", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        client = redis.Redis(port=self.port)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(answers, 10, "redis-server")
        client.close()
        return process

    def stop(self) -> None:
        stop(self.process, signal.SIGTERM)

    def restart(self, down_s: float = 0.0) -> None:
        """Stop, stay down ``down_s`` seconds (past the clients' retries, so they must
        reconnect rather than retry), and start again."""
        self.stop()
        time.sleep(down_s)
        self.process = self._start()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not on PATH: apt-get install redis-server")
    server = RedisServer(binary, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def rdb(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client for looking at what the service wrote."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


def data_options() -> list[str]:
    """``--data``/``--lean-data`` for the shared benchmark files that exist."""
    options = (("--data", MINIF2F_COQ), ("--lean-data", MINIF2F_LEAN))
    return [arg for option, path in options if path.exists() for arg in (option, str(path))]


@pytest.fixture
def api(redis_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    """The API under uvicorn as ``prover api`` starts it; a client that sends the key."""
    with running_api(redis_url, tmp_path) as client:
        yield client


@contextmanager
def running_api(redis_url: str, tmp_path: Path, *extra: str) -> Iterator[httpx.Client]:
    """``prover api`` with ``extra`` options, until the block ends; a client with the key."""
    port = free_port()
    log = (tmp_path / f"api-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "prover.cli", "api", "--redis", redis_url, "--port", str(port),
         "--lease", LEASE_S, *data_options(), *extra],
        env=child_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}",
                          headers={"Authorization": f"Bearer {API_KEY}"}, timeout=30)  # fmt: skip

    def healthy() -> bool:
        assert process.poll() is None, Path(log.name).read_text()
        try:
            return client.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    wait_until(healthy, 30, "the API")
    try:
        yield client
    finally:
        client.close()
        stop(process, signal.SIGTERM)
        log.close()


@pytest.fixture
def workers(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start ``prover worker`` processes (each its own process group); all killed at the end."""
    started: list[subprocess.Popen] = []

    def start(name: str, *extra: str, concurrency: int = 2) -> subprocess.Popen:
        log = (tmp_path / f"worker-{name}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "prover.cli", "worker", "--redis", redis_url, "--prover", "coq",
             "--concurrency", str(concurrency), "--workers", "1", "--name", name,
             "--lease", LEASE_S, *extra],
            env=child_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        started.append(process)
        return process

    yield start
    for process in started:
        stop(process)
