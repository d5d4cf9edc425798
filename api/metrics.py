"""Prometheus metrics read from Redis at scrape time, so they cover every worker and survive
API restarts: queue depth, live workers, jobs by status, search and prover latency."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from search.queue import JobQueue
from search.types import ProverKind


class _Snapshot:
    """A collector that yields metric families prepared by ``render`` (collect is sync)."""

    def __init__(self) -> None:
        self.families: list = []

    def collect(self):
        return iter(self.families)


async def render(queue: JobQueue) -> bytes:
    depth = GaugeMetricFamily(
        "prover_queue_depth", "Jobs waiting or running, by prover", labels=["prover", "state"]
    )
    workers = GaugeMetricFamily(
        "prover_live_workers", "Workers seen within one lease", labels=["prover"]
    )
    for prover in ProverKind:
        waiting, running = await queue.depth(prover.value)
        depth.add_metric([prover.value, "waiting"], waiting)
        depth.add_metric([prover.value, "running"], running)
        workers.add_metric([prover.value], await queue.live_workers(prover.value))
    finished = CounterMetricFamily(
        "prover_jobs_finished", "Jobs that reached a final status", labels=["status"]
    )
    for status, count in (await queue.redis.hgetall(queue.counts_key)).items():
        finished.add_metric([status], int(count))
    families = [depth, workers, finished]
    for name, help_text in (
        ("search", "Wall time of one search"),
        ("prover", "Time one search spent waiting on the prover"),
    ):
        buckets, total = await queue.latency(name)
        histogram = HistogramMetricFamily(f"prover_{name}_seconds", help_text)
        histogram.add_metric([], buckets, total)
        families.append(histogram)
    snapshot = _Snapshot()
    snapshot.families = families
    registry = CollectorRegistry(auto_describe=False)
    registry.register(snapshot)
    return generate_latest(registry)
