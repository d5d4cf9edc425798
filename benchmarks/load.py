"""Benchmark: the service under sustained load. Does latency hold, and does memory stay flat?

A real ``redis-server``, the API under uvicorn and ``--workers`` worker processes proving
trivial Coq theorems (``Theorem tN : N + 1 = S N.``, each its own search). For ``--duration``
seconds, open-loop submitters ``POST /v1/proofs`` at ``--rate`` jobs per second in all (a late
request does not delay the next one), while ``--pollers`` clients ``GET`` random submitted jobs
back to back, as clients waiting for results do.

Reported: p50/p99 latency of POST and GET under load, against the same requests on the idle
service measured first in the same run (one client, one request at a time); throughput
(requests per second, jobs the workers finished); and resident memory (RSS) of the API, of
each worker process and of their prover children (``coqtop``, and ``coqc`` for the final
check), sampled every second: first vs last tenth of the run and the least-squares slope.
The workers cannot keep up with the submission rate on purpose: the backlog grows in Redis,
and the API's and workers' memory must not.

This is a measurement, not a test: it asserts nothing. It prints a table and writes the figures
to ``--out`` (JSON) and the table to the same path with ``.md``. Run it from the repository
root::

    PYTHONPATH=$PWD python benchmarks/load.py
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
import itertools
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from benchmarks.service_overhead import KEY, Processes, free_port, publish, wait_for
from search.env.coq_check import coq_version

REPO = Path(__file__).resolve().parent.parent
BUDGET = {"wall_timeout_s": 30, "tactic_timeout_s": 2}


def trivial(n: int) -> dict:
    return {"prover": "coq", "statement": f"Theorem t{n} : {n} + 1 = S {n}.", "budget": BUDGET}


def rss_mib(pid: int) -> float:
    """Resident set size of one process (Linux ``/proc``), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (a worker's ``coqtop`` processes)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_ms(values: list[float]) -> dict:
    return {
        "requests": len(values),
        "p50_ms": 1000 * percentile(values, 0.50),
        "p99_ms": 1000 * percentile(values, 0.99),
    }


def memory_trend(times: list[float], values: list[float]) -> dict:
    """First and last tenth of the samples (means) and the least-squares slope per minute."""
    tenth = max(1, len(values) // 10)
    slope = statistics.linear_regression(times, values).slope if len(set(times)) > 1 else 0.0
    return {
        "start_mib": statistics.fmean(values[:tenth]),
        "end_mib": statistics.fmean(values[-tenth:]),
        "max_mib": max(values),
        "slope_mib_per_min": 60 * slope,
    }


class Load:
    """The clients: submitters, pollers and a memory sampler, all on one event loop."""

    def __init__(self, client: httpx.AsyncClient, pids: dict[str, int]) -> None:
        self.client = client
        self.pids = pids
        self.numbers = itertools.count()
        self.job_ids: list[str] = []
        self.post_s: list[float] = []
        self.get_s: list[float] = []
        self.errors: Counter[str] = Counter()
        self.samples: list[dict] = []

    async def post(self, into: list[float]) -> None:
        started = time.perf_counter()
        response = await self.client.post("/v1/proofs", json=trivial(next(self.numbers)))
        into.append(time.perf_counter() - started)
        if response.status_code == 202:
            self.job_ids.append(response.json()["id"])
        else:
            self.errors[f"POST {response.status_code}"] += 1

    async def get(self, into: list[float]) -> None:
        job_id = random.choice(self.job_ids)
        started = time.perf_counter()
        response = await self.client.get(f"/v1/proofs/{job_id}")
        into.append(time.perf_counter() - started)
        if response.status_code != 200:
            self.errors[f"GET {response.status_code}"] += 1

    async def idle_baseline(self, requests: int) -> dict:
        """POST then GET, one request at a time, on the otherwise idle service."""
        post_s: list[float] = []
        get_s: list[float] = []
        for _ in range(requests):
            await self.post(post_s)
            await self.get(get_s)
        return {"post": latency_ms(post_s), "get": latency_ms(get_s)}

    async def run(self, duration: float, rate: float, pollers: int) -> float:
        """The loaded phase; returns its wall time."""
        started = time.monotonic()
        deadline = started + duration

        async def submit() -> None:
            in_flight: set[asyncio.Task] = set()
            for tick in itertools.count():
                at = started + tick / rate
                if at >= deadline:
                    break
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                task = asyncio.create_task(self.post(self.post_s))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            await asyncio.gather(*in_flight)

        async def poll() -> None:
            while time.monotonic() < deadline:
                await self.get(self.get_s)

        async def sample() -> None:
            while time.monotonic() < deadline:
                workers = [pid for name, pid in self.pids.items() if name.startswith("worker")]
                self.samples.append(
                    {
                        "t": time.monotonic() - started,
                        "api": rss_mib(self.pids["api"]),
                        "workers": [rss_mib(pid) for pid in workers],
                        "prover_children": sum(
                            rss_mib(c) for pid in workers for c in children(pid)
                        ),
                        "redis": rss_mib(self.pids["redis"]),
                    }
                )
                await asyncio.sleep(1.0)

        await asyncio.gather(submit(), sample(), *(poll() for _ in range(pollers)))
        return time.monotonic() - started


async def metrics(client: httpx.AsyncClient) -> dict[str, float]:
    """Jobs finished (any status) and jobs waiting or running, from the API's ``/metrics``."""
    totals = {"finished": 0.0, "backlog": 0.0}
    for family in text_string_to_metric_families((await client.get("/metrics")).text):
        for sample in family.samples:
            if sample.name == "prover_jobs_finished_total":
                totals["finished"] += sample.value
            elif sample.name == "prover_queue_depth":
                totals["backlog"] += sample.value
    return totals


async def main(args: argparse.Namespace, console: Console) -> dict:
    load_average = [round(x, 2) for x in os.getloadavg()]
    workdir = Path(tempfile.mkdtemp(prefix="load-"))
    processes = Processes(workdir)
    redis_port, api_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    prover = [sys.executable, "-m", "prover.cli"]
    try:
        redis = processes.start(
            "redis", shutil.which("redis-server") or "redis-server", "--port", str(redis_port),
            "--dir", str(workdir), "--appendonly", "yes", "--save", "",
        )  # fmt: skip
        api = processes.start("api", *prover, "api", "--redis", redis_url, "--port", str(api_port))
        pids = {"redis": redis.pid, "api": api.pid}
        for i in range(args.workers):
            worker = processes.start(
                f"worker{i}", *prover, "worker", "--redis", redis_url, "--concurrency", "1",
                "--workers", "1", "--name", f"load{i}",
            )  # fmt: skip
            pids[f"worker{i}"] = worker.pid
        limits = httpx.Limits(max_connections=args.pollers + 64)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{api_port}", timeout=60, limits=limits,
            headers={"Authorization": f"Bearer {KEY}"},
        ) as client:  # fmt: skip

            async def ready() -> bool:
                health = (await client.get("/healthz")).json()
                return health.get("workers", {}).get("coq") == args.workers

            await wait_for(ready, 60, f"the API and {args.workers} workers")
            load = Load(client, pids)
            console.print("idle baseline: one request at a time")
            idle = await load.idle_baseline(args.idle_requests)
            before = await metrics(client)
            console.print(
                f"load: {args.rate:g} POST/s and {args.pollers} pollers for {args.duration:g} s"
            )
            wall = await load.run(args.duration, args.rate, args.pollers)
            after = await metrics(client)
    finally:
        processes.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    times = [s["t"] for s in load.samples]
    memory = {
        "api": memory_trend(times, [s["api"] for s in load.samples]),
        **{
            f"worker{i}": memory_trend(times, [s["workers"][i] for s in load.samples])
            for i in range(args.workers)
        },
        "prover children (coqtop, coqc)": memory_trend(
            times, [s["prover_children"] for s in load.samples]
        ),
        "redis": memory_trend(times, [s["redis"] for s in load.samples]),
    }
    loaded = {"post": latency_ms(load.post_s), "get": latency_ms(load.get_s)}
    return {
        "date": dt.date.today().isoformat(),
        "machine": {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine()},
        "coq": coq_version(),
        "load_average": load_average,
        "duration_s": round(wall, 1),
        "target_post_per_s": args.rate,
        "pollers": args.pollers,
        "workers": args.workers,
        "idle": idle,
        "loaded": loaded,
        "throughput": {
            "post_per_s": len(load.post_s) / wall,
            "get_per_s": len(load.get_s) / wall,
            "jobs_finished_per_s": (after["finished"] - before["finished"]) / wall,
            "jobs_finished": int(after["finished"] - before["finished"]),
            "backlog_at_end": int(after["backlog"]),
        },
        "errors": dict(load.errors),
        "memory": memory,
        "samples": load.samples,
    }


def report(figures: dict, out: Path, console: Console) -> None:
    idle, loaded, rates = figures["idle"], figures["loaded"], figures["throughput"]

    def latency_row(method: str) -> tuple[str, str, str]:
        under, alone = loaded[method], idle[method]
        return (
            f"{method.upper()} latency p50 / p99 under load",
            f"{under['p50_ms']:.1f} / {under['p99_ms']:.1f} ms",
            f"idle: {alone['p50_ms']:.1f} / {alone['p99_ms']:.1f} ms (p50 ×"
            f"{under['p50_ms'] / alone['p50_ms']:.1f}); {under['requests']} requests",
        )

    rows = [
        latency_row("post"),
        latency_row("get"),
        (
            "throughput",
            f"{rates['post_per_s']:.0f} POST/s, {rates['get_per_s']:.0f} GET/s",
            f"target {figures['target_post_per_s']:g} POST/s; "
            f"errors: {figures['errors'] or 'none'}",
        ),
        (
            "jobs finished by the workers",
            f"{rates['jobs_finished_per_s']:.1f}/s",
            f"{rates['jobs_finished']} in the run; waiting or running at the end: "
            f"{rates['backlog_at_end']}",
        ),
        *(
            (
                f"RSS {name}",
                f"{trend['start_mib']:.0f} → {trend['end_mib']:.0f} MiB",
                f"max {trend['max_mib']:.0f} MiB, slope {trend['slope_mib_per_min']:+.2f} MiB/min",
            )
            for name, trend in figures["memory"].items()
        ),
    ]
    title = (
        f"Load: {figures['target_post_per_s']:g} POST/s + {figures['pollers']} GET pollers "
        f"for {figures['duration_s']:g} s, {figures['workers']} Coq workers"
    )
    note = (
        f"{figures['date']}, {figures['machine']['cores']} cores, Coq {figures['coq']}; one "
        f"uvicorn process, one Redis; load average {figures['load_average']} at the start "
        "(the machine is shared). RSS sampled every second; start/end are the means of the "
        "first and last tenth of the run."
    )
    publish(title, note, rows, figures, out, console)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds under load")
    parser.add_argument("--rate", type=float, default=50.0, help="POST /v1/proofs per second")
    parser.add_argument("--pollers", type=int, default=8, help="clients polling GET")
    parser.add_argument("--workers", type=int, default=2, help="Coq worker processes")
    parser.add_argument("--idle-requests", type=int, default=200)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "load.json")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    console = Console()
    report(asyncio.run(main(arguments, console)), arguments.out, console)
