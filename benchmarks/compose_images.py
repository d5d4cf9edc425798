"""Benchmark: what `docker compose` costs a user: the images' build times and sizes, and the
first run of the compose evaluation against the same evaluation outside a container.

Builds the Coq image (and the Debian Redis image the tests use where no registry answers)
with ``--no-cache``, the pip step fed the machine's CA bundle as a BuildKit secret, as
docs/docker.md says for a TLS-inspecting proxy. Then, in one run: ``LIMIT=5 BUDGET_S=20
docker compose run --rm eval`` (the README's command) and the same five theorems with
``prover eval`` on this machine (the baseline), each timed whole.

    .venv/bin/python -m benchmarks.compose_images --docker /usr/bin/docker \\
        --out benchmarks/results/compose-images

``--docker`` must be a client that builds with BuildKit (one with buildx, or Debian's
docker.io); ``DOCKER_CONFIG`` may lend it the compose plugin (tests/support/docker.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.results_files import write_results
from search.machine import describe, machine

REPO = Path(__file__).resolve().parent.parent
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
IMAGES = {
    "dcoprover-coq:0.1.0": "docker/coq.Dockerfile",
    "dcoprover-test-redis:7": "tests/docker/redis.Dockerfile",
}
EVAL_ENV = {"LIMIT": "5", "BUDGET_S": "20"}


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return time.monotonic() - started


def image_mb(docker: str, tag: str) -> float:
    size = subprocess.run([docker, "image", "inspect", tag, "--format", "{{.Size}}"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    return int(size) / 1e6


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docker", default="docker")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    facts = machine()
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    secret = f"id=ca,src={CA_BUNDLE}"
    images = {}
    for tag, dockerfile in IMAGES.items():
        seconds = timed([args.docker, "build", "--no-cache", "--secret", secret, "-f", dockerfile,
                         "-t", tag, "."], env)  # fmt: skip
        images[tag] = {"build_s": round(seconds, 1), "size_mb": round(image_mb(args.docker, tag))}
        print(tag, images[tag], flush=True)

    with tempfile.TemporaryDirectory() as results:
        project = {"COMPOSE_PROJECT_NAME": f"dcoprover-bench-{os.getpid()}", "RESULTS_DIR": results,
                   "REDIS_IMAGE": "dcoprover-test-redis:7", **EVAL_ENV}  # fmt: skip
        compose_env = {**env, **project}
        try:
            in_container = timed([args.docker, "compose", "run", "--rm", "eval"], compose_env)
        finally:
            subprocess.run([args.docker, "compose", "--profile", "eval", "down", "--volumes"],
                           cwd=REPO, env=compose_env, capture_output=True)  # fmt: skip
        container_rows = rows(Path(results) / "minif2f-coq-test-first5-20s.jsonl")
        host_out = Path(results) / "host.jsonl"
        on_host = timed([sys.executable, "-m", "prover.cli", "eval", "--prover", "coq",
                         "--benchmark", "minif2f", "--split", "test", "--limit", "5",
                         "--timeout", "20", "--out", str(host_out)], env)  # fmt: skip
        host_rows = rows(host_out)

    status = {r["name"]: r["status"] for r in container_rows}
    report = {
        "machine": facts,
        "images": images,
        "eval": {
            "command": "LIMIT=5 BUDGET_S=20 docker compose run --rm eval",
            "container_s": round(in_container, 1),
            "host_s": round(on_host, 1),
            "ratio": round(in_container / on_host, 2),
            "container_status": status,
            "host_status": {r["name"]: r["status"] for r in host_rows},
        },
        "splits_read_by_tuning": "none (no tuning; MiniF2F-Coq test, first five, only timed)",
    }
    write_results(args.out, report, markdown(report))


def markdown(report: dict) -> str:
    lines = [
        "# docker compose: image builds and the first compose evaluation",
        "",
        f"Machine: {describe(report['machine'])}. Builds are `--no-cache`, with the CA bundle "
        "as a BuildKit secret; downloads (Debian's mirror, PyPI) are included.",
        "",
        "| image | build (s) | size (MB) |",
        "|---|---|---|",
    ]
    for tag, image in report["images"].items():
        lines.append(f"| `{tag}` | {image['build_s']} | {image['size_mb']} |")
    ev = report["eval"]
    lines += [
        "",
        f"`{ev['command']}`, with the images built: {ev['container_s']} s, against "
        f"{ev['host_s']} s for the same `prover eval` on the machine itself (ratio "
        f"{ev['ratio']}; the difference is the containers' start and Coq's start in them).",
        "",
        "| theorem | in the container | on the machine |",
        "|---|---|---|",
    ]
    for name, status in ev["container_status"].items():
        lines.append(f"| {name} | {status} | {ev['host_status'].get(name, 'not run')} |")
    lines += ["", f"Splits read by any tuning: {report['splits_read_by_tuning']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
