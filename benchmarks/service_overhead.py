"""Benchmark: what does the service (HTTP API + Redis queue + workers) cost over running the
same searches in-process, and how fast can jobs be enqueued?

Two questions, one run:

1. **Overhead.** The first ``--limit`` MiniF2F-Coq theorems of a split, searched twice with the
   same config and the same number of prover processes and searches in flight: (a) in-process,
   as ``prover eval`` runs them (one pool of 2 ``coqtop``, 2 searches at a time); (b) through
   the service: ``POST /v1/evals`` to a real API under uvicorn, a real ``redis-server``, and 2
   worker processes with one ``coqtop`` and one search each. Wall time is from the request to
   the last result; the overhead is (b) / (a) - 1.
2. **Enqueue rate** of trivial jobs: ``POST /v1/proofs`` against the API (one uvicorn process,
   16 requests in flight, workers paused so that nothing competes for the cores), and
   ``JobQueue.submit`` / ``submit_many`` called directly (one core, one client).

This is a measurement, not a test: it asserts nothing about time. It prints a table and writes
the figures to ``--out`` (JSON) and the table to the same path with ``.md``. Run it from the
repository root::

    python benchmarks/service_overhead.py --data /work/shared/data/minif2f-coq.jsonl
"""

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and benchmarks/search.py would
# then shadow the ``search`` package.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence

import httpx
from rich.console import Console
from rich.table import Table

from prover.compose import make_environment, make_policy
from search.benchmarks import SPLITS, load_minif2f
from search.config import ProverLimits, QueueConfig, SearchConfig
from search.env.coq_check import coq_version
from search.eval import evaluate
from search.queue import JobQueue, connect
from search.queue_jobs import JobSpec
from search.runner import run_many
from search.types import ProverKind, Theorem

REPO = Path(__file__).resolve().parent.parent
KEY = "benchmark-key"
TRIVIAL = {"prover": "coq", "statement": "Theorem t : 1 + 1 = 2."}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """The service's processes, each in its own process group, all stopped on exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "PROVER_API_KEYS": KEY,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        process = subprocess.Popen(
            argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append(process)
        return process

    def signal(self, process: subprocess.Popen, sig: int) -> None:
        os.killpg(process.pid, sig)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if await check():
                return
        except (httpx.TransportError, OSError):
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


async def direct(theorems: list[Theorem], config: SearchConfig, out: Path) -> dict:
    """(a): in-process, exactly as ``prover eval`` runs a batch."""
    env = make_environment(ProverKind.COQ, ProverLimits(pool_size=2))
    policy = make_policy("automation", ProverKind.COQ)
    started = time.monotonic()
    summary = await evaluate(
        theorems, env, policy, config, out / "direct.jsonl", 2, show_progress=False
    )
    return {"wall_s": time.monotonic() - started, "solved": summary.statuses.get("proved", 0)}


async def via_service(
    client: httpx.AsyncClient, theorems: list[Theorem], split: str, config: SearchConfig
) -> dict:
    """(b): one evaluation run through the API, the queue and two workers."""
    body = {
        "split": split,
        "names": [t.name for t in theorems],
        "budget": config.model_dump(mode="json"),
    }
    started = time.monotonic()
    response = await client.post("/v1/evals", json=body)
    response.raise_for_status()
    eval_id = response.json()["id"]
    while True:
        view = (await client.get(f"/v1/evals/{eval_id}")).json()
        if view["done"] == view["total"]:
            break
        await asyncio.sleep(0.2)
    return {"wall_s": time.monotonic() - started, "solved": view["solved"]}


async def enqueue_http(client: httpx.AsyncClient, jobs: int, in_flight: int, api_pid: int) -> dict:
    """Accepted ``POST /v1/proofs`` per wall second, and per CPU second of the API process
    (what one core sustains, whatever else runs on the machine)."""

    async def one(_: int) -> None:
        (await client.post("/v1/proofs", json=TRIVIAL)).raise_for_status()

    started, cpu = time.monotonic(), cpu_seconds(api_pid)
    await run_many(range(jobs), one, in_flight)
    return {
        "per_wall_s": jobs / (time.monotonic() - started),
        "per_api_cpu_s": jobs / (cpu_seconds(api_pid) - cpu),
    }


async def enqueue_direct(redis_url: str, jobs: int) -> dict:
    """``JobQueue.submit`` one job per call, and ``submit_many`` in one batch: jobs per wall
    second and per CPU second of this (client) process."""
    redis = connect(redis_url)
    queue = JobQueue(redis, QueueConfig(prefix="enqueue-benchmark"))
    spec = JobSpec(
        theorem=Theorem(name="t", statement="Theorem t : 1 + 1 = 2."), config=SearchConfig()
    )

    async def submit_one(_: int) -> None:
        await queue.submit(spec)

    rates = {}
    for name, submit in (
        ("submit", lambda: run_many(range(jobs), submit_one, 16)),
        ("submit_many", lambda: queue.submit_many([spec] * jobs)),
    ):
        started, cpu = time.monotonic(), time.process_time()
        await submit()
        rates[name] = {
            "per_wall_s": jobs / (time.monotonic() - started),
            "per_client_cpu_s": jobs / (time.process_time() - cpu),
        }
    await redis.aclose()
    return rates


async def main(args: argparse.Namespace, console: Console) -> dict:
    load_average = [round(x, 2) for x in os.getloadavg()]
    theorems = load_minif2f(ProverKind.COQ, args.data, args.split)[: args.limit]
    config = SearchConfig(
        wall_timeout_s=args.budget, tactic_timeout_s=args.tactic_timeout, record_tree=False
    )
    workdir = Path(tempfile.mkdtemp(prefix="service-overhead-"))
    processes = Processes(workdir)
    redis_port, api_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    try:
        processes.start(
            "redis",
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(redis_port),
            "--dir",
            str(workdir),
            "--appendonly",
            "yes",
            "--save",
            "",
        )
        prover = [sys.executable, "-m", "prover.cli"]
        api = processes.start(
            "api",
            *prover,
            "api",
            "--redis",
            redis_url,
            "--port",
            str(api_port),
            "--data",
            str(args.data),
        )

        def start_workers(tag: str) -> list[subprocess.Popen]:
            """Two fresh workers (cold prover pools, as in-process starts cold)."""
            worker = [
                *prover,
                "worker",
                "--redis",
                redis_url,
                "--concurrency",
                "1",
                "--workers",
                "1",
            ]
            return [
                processes.start(f"worker-{tag}{i}", *worker, "--name", f"{tag}{i}")
                for i in range(2)
            ]

        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}",
            timeout=60,
            headers={"Authorization": f"Bearer {KEY}"},
        ) as client:

            async def two_workers() -> bool:
                health = (await client.get("/healthz")).json()
                return health.get("workers", {}).get("coq") == 2

            # Rounds in the order ABBA..., so a drift in the machine's load hits both alike.
            baseline, service = [], []
            for round_ in range(args.rounds):
                for mode in "ab" if round_ % 2 == 0 else "ba":
                    if mode == "a":
                        console.print(f"round {round_ + 1}: (a) in-process")
                        baseline.append(await direct(theorems, config, workdir / f"a{round_}"))
                        continue
                    workers = start_workers(f"r{round_}-")
                    await wait_for(two_workers, 60, "the API and two workers")
                    console.print(f"round {round_ + 1}: (b) API + Redis + 2 workers")
                    service.append(await via_service(client, theorems, args.split, config))
                    for worker in workers:  # SIGTERM: they deregister
                        processes.signal(worker, signal.SIGTERM)
                        worker.wait()

            workers = start_workers("enqueue-")
            await wait_for(two_workers, 60, "two workers")
            for worker in workers:  # nothing may compete with the enqueue measurement
                processes.signal(worker, signal.SIGSTOP)
            http = await enqueue_http(client, args.enqueue_jobs, 16, api.pid)
        direct_rates = await enqueue_direct(redis_url, args.enqueue_jobs)
    finally:
        processes.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "date": dt.date.today().isoformat(),
        "machine": {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine()},
        "coq": coq_version(),
        "load_average": load_average,
        "split": args.split,
        "theorems": len(theorems),
        "budget_s": args.budget,
        "tactic_timeout_s": args.tactic_timeout,
        "rounds": args.rounds,
        "in_process": baseline,
        "service": service,
        "overhead": sum(b["wall_s"] for b in service) / sum(a["wall_s"] for a in baseline) - 1,
        "enqueue_jobs": args.enqueue_jobs,
        "enqueue_per_s": {"http_post": http, **direct_rates},
    }


def report(figures: dict, out: Path, console: Console) -> None:
    a, b = figures["in_process"], figures["service"]
    rates = figures["enqueue_per_s"]

    def walls(runs: list[dict]) -> str:
        return ", ".join(f"{run['wall_s']:.1f}" for run in runs)

    def solved(runs: list[dict]) -> str:
        return ", ".join(str(run["solved"]) for run in runs) + " solved"

    rows = [
        ("in-process (`prover eval`), wall s per round", walls(a), solved(a)),
        ("service (API + Redis + 2 workers), wall s per round", walls(b), solved(b)),
        (
            "service overhead",
            f"{100 * figures['overhead']:+.1f}%",
            "total service wall ÷ total in-process wall - 1",
        ),
        (
            "enqueue: POST /v1/proofs, 16 in flight",
            f"{rates['http_post']['per_wall_s']:.0f}/s",
            f"{rates['http_post']['per_api_cpu_s']:.0f} per API CPU-second",
        ),
        (
            "enqueue: JobQueue.submit, concurrent",
            f"{rates['submit']['per_wall_s']:.0f}/s",
            f"{rates['submit']['per_client_cpu_s']:.0f} per client CPU-second",
        ),
        (
            "enqueue: JobQueue.submit_many",
            f"{rates['submit_many']['per_wall_s']:.0f}/s",
            f"{rates['submit_many']['per_client_cpu_s']:.0f} per client CPU-second",
        ),
    ]
    title = (
        f"Service overhead: {figures['theorems']} MiniF2F-Coq "
        f"{figures['split']} theorems, {figures['budget_s']:g} s budget"
    )
    note = (
        f"{figures['date']}, {figures['machine']['cores']} cores, Coq {figures['coq']}; "
        f"{figures['enqueue_jobs']} jobs per enqueue measurement; load average "
        f"{figures['load_average']} at the start (the machine is shared)."
    )
    publish(title, note, rows, figures, out, console)


def publish(
    title: str,
    note: str,
    rows: list[tuple[str, str, str]],
    figures: dict,
    out: Path,
    console: Console,
) -> None:
    """Print the (measure, value, note) rows as a table; write ``figures`` to ``out`` (JSON)
    and the table under ``title`` and ``note`` to the same path with ``.md``."""
    table = Table(title=title)
    for column in ("measure", "value", "note"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=1) + "\n")
    lines = [
        f"# {title}",
        "",
        note,
        "",
        "| measure | value | note |",
        "|---|---|---|",
        *(f"| {m} | {v} | {n} |" for m, v, n in rows),
    ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    console.print(f"wrote {out} and {out.with_suffix('.md')}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="minif2f-coq.jsonl")
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument("--limit", type=int, default=40, help="the first K theorems")
    parser.add_argument("--budget", type=float, default=10.0, help="wall s per theorem")
    parser.add_argument("--tactic-timeout", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2, help="of (a) and (b) each")
    parser.add_argument("--enqueue-jobs", type=int, default=2000)
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "service-overhead.json"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    console = Console()
    report(asyncio.run(main(arguments, console)), arguments.out, console)
