"""``docker compose`` for real: the README's compose commands, run against a Docker engine.

The images are built as the README says to behind a TLS-inspecting proxy (``docker build
--secret id=ca,...``; our machines reach PyPI through one). Then:

- ``LIMIT=5 BUDGET_S=20 docker compose run --rm eval`` writes the first five MiniF2F-Coq
  test rows to the results folder;
- ``docker compose up -d`` brings up redis, api and worker: ``/healthz`` shows the worker, and
  a theorem POSTed with a key comes back proved;
- a ``docker kill`` of the worker mid-job is followed by redelivery once a worker runs again;
- ``docker compose down`` and ``up`` again: Redis's append-only volume still has the result.

Skipped, with the reason, where no engine runs; ``DCOPROVER_REQUIRE_DOCKER=1`` (CI) turns the
skip into a failure. Containers, networks and volumes are removed at the end."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from search.benchmarks import load_minif2f
from search.types import ProverKind

from support.docker import (
    README_DOWN,
    README_EVAL,
    README_UP,
    builder_client,
    compose_env,
    engine_problem,
)
from support.service_helpers import HARD_STATEMENT, finished, free_port, wait_job, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parent.parent
KEY = "my-secret-key"  # the README's
#: The machine's trust store, given to pip in the build as the README says for proxies.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
OFFICIAL_REDIS = "redis:7.0-bookworm"
DEBIAN_REDIS = "dcoprover-test-redis:7"
COQ_IMAGE = "dcoprover-coq:0.1.0"
THEOREM = {
    "prover": "coq",
    "header": "Require Import Arith Lia.",
    "statement": "Theorem add_comm_twice : forall a b : nat, a + b + 0 = b + a.",
    "budget": {"wall_timeout_s": 60},
}


class Compose:
    """``docker compose ARGS`` in the repository, with this test's project and variables."""

    def __init__(self, client: str, env: dict[str, str]) -> None:
        self.client, self.env = client, env

    def __call__(self, *args: str, **extra: str) -> str:
        return self._run([self.client, "compose", *args], extra)

    def readme(self, command: str) -> str:
        """One of the README's commands, word for word, through bash."""
        return self._run(["bash", "-c", command], {})

    def docker(self, *args: str, **extra: str) -> str:
        return self._run([self.client, *args], extra)

    def _run(self, command: list[str], extra: dict[str, str], timeout: float = 900) -> str:
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                              timeout=timeout, env={**self.env, **extra})  # fmt: skip
        assert done.returncode == 0, f"{' '.join(command)}:\n{done.stderr[-4000:]}"
        return done.stdout


def build(compose: Compose, dockerfile: str, tag: str) -> None:
    """The README's build for a proxy: the CA bundle as a BuildKit secret."""
    secret = f"id=ca,src={CA_BUNDLE}" if Path(CA_BUNDLE).exists() else "id=ca,src=/dev/null"
    compose.docker("build", "--secret", secret, "-f", dockerfile, "-t", tag, ".",
                   DOCKER_BUILDKIT="1")  # fmt: skip


def has_image(client: str, image: str) -> bool:
    """Present, or pulled now (a machine with a registry tests the official image)."""
    for action in (["image", "inspect"], ["pull", "-q"]):
        try:
            done = subprocess.run([client, *action, image], capture_output=True, timeout=300)
        except subprocess.TimeoutExpired:
            return False
        if done.returncode == 0:
            return True
    return False


@pytest.fixture(scope="module")
def compose(tmp_path_factory) -> Iterator[Compose]:
    problem = engine_problem()
    if problem is not None:
        if os.environ.get("DCOPROVER_REQUIRE_DOCKER") == "1":
            pytest.fail(f"DCOPROVER_REQUIRE_DOCKER=1 but {problem}")
        pytest.skip(problem)
    client = builder_client()
    assert client is not None
    home = tmp_path_factory.mktemp("compose")
    env = compose_env(home / "docker-config", client,
                      COMPOSE_PROJECT_NAME=f"dcoprover-live-{os.getpid()}",
                      RESULTS_DIR=str(home / "results"), API_PORT=str(free_port("0.0.0.0")),
                      PATH=f"{Path(client).parent}{os.pathsep}{os.environ['PATH']}")  # fmt: skip
    runner = Compose(client, env)
    build(runner, "docker/coq.Dockerfile", COQ_IMAGE)
    if not has_image(client, OFFICIAL_REDIS):
        # No registry here: Redis from Debian's package, through the compose file's variable.
        build(runner, "tests/docker/redis.Dockerfile", DEBIAN_REDIS)
        env["REDIS_IMAGE"] = DEBIAN_REDIS
    try:
        yield runner
    finally:
        runner("--profile", "eval", "down", "--volumes", "--remove-orphans", "--timeout", "5")


@pytest.fixture(scope="module")
def api(compose: Compose) -> Iterator[httpx.Client]:
    """``docker compose up -d``; a client on the published port, with the key."""
    compose.readme(README_UP)
    client = httpx.Client(base_url=f"http://127.0.0.1:{compose.env['API_PORT']}",
                          headers={"Authorization": f"Bearer {KEY}"}, timeout=30)  # fmt: skip
    wait_live(compose, client)
    yield client
    client.close()


def wait_live(compose: Compose, client: httpx.Client) -> None:
    """Until /healthz shows a Coq worker; the containers' logs if it never does."""
    try:
        wait_until(lambda: worker_is_live(client), 120, "the api with a live Coq worker")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{compose('logs', '--tail', '40')}") from None


def worker_is_live(client: httpx.Client) -> bool:
    try:
        health = client.get("/healthz")
    except httpx.TransportError:
        return False
    return health.status_code == 200 and health.json()["workers"]["coq"] >= 1




def test_compose_run_eval_writes_the_first_five_rows(compose: Compose):
    started = time.monotonic()
    compose.readme(README_EVAL)
    print(f"{README_EVAL}: {time.monotonic() - started:.0f} s")
    out = Path(compose.env["RESULTS_DIR"]) / "minif2f-coq-test-first5-20s.jsonl"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    first_five = [t.name for t in load_minif2f(ProverKind.COQ, split="test")[:5]]
    assert sorted(r["name"] for r in rows) == sorted(first_five)
    # Five AIME problems: the model-free policy proves none of them, but the image's Coq ran
    # every search (a prover that never started would give "error" rows with no calls).
    assert {r["status"] for r in rows} <= {"proved", "failed", "timeout"}, rows
    assert all(r["stats"]["prover_calls"] > 0 for r in rows), rows


def test_compose_up_proves_a_posted_theorem(api: httpx.Client):
    assert api.post("/v1/proofs", json=THEOREM, headers={"Authorization": ""}).status_code == 401
    response = api.post("/v1/proofs", json=THEOREM)
    assert response.status_code == 202, response.text
    job = wait_job(api, response.json()["id"], 120, finished)
    assert job["status"] == "proved" and job["proof"], job
    assert job["versions"]["coq"].startswith("8.16"), job["versions"]


def test_a_killed_worker_container_s_job_is_redelivered(compose: Compose, api: httpx.Client):
    body = {"prover": "coq", "statement": HARD_STATEMENT,
            "budget": {"wall_timeout_s": 20, "tactic_timeout_s": 1, "max_expansions": 100_000}}  # fmt: skip
    job_id = api.post("/v1/proofs", json=body).json()["id"]
    wait_job(api, job_id, 60, lambda j: j["status"] == "running")
    (container,) = compose("ps", "-q", "worker").split()
    compose.docker("kill", container)
    compose("up", "-d", "worker")  # a new worker process; the lease (15 s) lapses first
    job = wait_job(api, job_id, 120, finished)
    assert job["attempts"] == 2 and job["status"] in {"timeout", "failed"}, job


def test_redis_keeps_results_across_down_and_up(compose: Compose, api: httpx.Client):
    job_id = api.post("/v1/proofs", json=THEOREM).json()["id"]
    before = wait_job(api, job_id, 120, finished)
    time.sleep(1.5)  # appendfsync everysec
    compose.readme(README_DOWN)
    compose.readme(README_UP)
    wait_live(compose, api)
    after = api.get(f"/v1/proofs/{job_id}").json()
    assert after["status"] == before["status"] == "proved"
    assert after["proof"] == before["proof"]
