"""The job queue on Redis Streams: at-least-once delivery, leases, dead letters, one result.

Layout (``prefix`` defaults to ``prover``):

- ``{prefix}:jobs:{prover}``: a stream per prover with the consumer group ``workers``. An entry
  is only a job id; it stays *pending* (delivered, not acknowledged) while a worker runs it.
- ``{prefix}:job:{id}``: the job record (a hash: spec, status, attempts, worker, times).
- ``{prefix}:result:{id}``: the ``SearchResult`` JSON, written once (first writer wins).
- ``{prefix}:events:{id}``: the job's event stream (queued, started, progress, result), which
  the API relays as server-sent events; a stream, so a client can resume from an event id.
- ``{prefix}:hb:{id}``: the heartbeat key of a running job (worker name, expires with the lease).
- ``{prefix}:done``: one entry per result written, ``{prefix}:dead``: dead-lettered jobs.

Crash safety: a running worker renews its job's lease every ``poll_s``. The renewal resets the
entry's idle time, so ``XAUTOCLAIM`` with ``min_idle = lease`` takes exactly the entries whose
worker stopped renewing: reclaiming depends on the heartbeat, never on how long a search may
take. Each hand-out counts as a delivery; past ``max_deliveries`` the job is dead-lettered
with an error result instead of crashing workers forever.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from search import queue_scripts
from search.config import QueueConfig
from search.queue_jobs import AnySpec, Delivery, JobSpec, JobStatus, parse_spec
from search.result import SearchStats

GROUP = "workers"
#: Progress and result events kept per job (older ones are trimmed).
EVENTS_KEPT = 1000
#: Upper bounds (seconds) of the search-time and prover-time histogram buckets.
LATENCY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


def eval_of(spec: AnySpec) -> str:
    """The evaluation run a job belongs to ('' for none; check jobs belong to none)."""
    return (spec.eval_id or "") if isinstance(spec, JobSpec) else ""


def new_id() -> str:
    return uuid.uuid4().hex


def connect(url: str, max_connections: int | None = None) -> Redis:
    """A client that rides out a Redis restart: a command that meets a dropped connection is
    retried on a new one with backoff (0.05 s doubling to 1 s, about 5 s in all) before the
    error reaches the caller. A retried write may run twice; every script is safe to repeat
    (a job still gets one result). ``max_connections``: a blocking pool of that size, where a
    caller waits for a free connection instead of failing."""
    options = {
        "decode_responses": True,
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=8),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }
    if max_connections is None:
        return Redis.from_url(url, **options)
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10,
                                           **options)  # fmt: skip
    return Redis.from_pool(pool)


class JobQueue:
    """Both sides of the queue: the API submits, reads and cancels; workers take and finish.

    ``config.lease_s`` is how long a job survives without a heartbeat before another worker
    may take it; ``config.poll_s`` is how often a worker renews it and looks for a cancel
    request, which bounds how fast a cancel takes effect.
    """

    def __init__(self, redis: Redis, config: QueueConfig | None = None) -> None:
        config = config or QueueConfig()
        self.redis = redis
        self.prefix = config.prefix
        self.lease_ms = int(config.lease_s * 1000)
        self.poll_s = config.poll_s
        self.max_deliveries = config.max_deliveries
        self._claim_cursor: dict[str, str] = {}
        self._scripts = {
            name: redis.register_script(getattr(queue_scripts, name))
            for name in ("SUBMIT", "START", "FINISH", "HEARTBEAT", "CANCEL", "RELEASE")
        }

    # -- keys -----------------------------------------------------------------------------
    def stream(self, prover: str) -> str:
        return f"{self.prefix}:jobs:{prover}"

    def job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def events_key(self, job_id: str) -> str:
        return f"{self.prefix}:events:{job_id}"

    @property
    def done_key(self) -> str:
        return f"{self.prefix}:done"

    @property
    def dead_key(self) -> str:
        return f"{self.prefix}:dead"

    @property
    def counts_key(self) -> str:
        return f"{self.prefix}:counts"

    def workers_key(self, prover: str) -> str:
        return f"{self.prefix}:workers:{prover}"

    def _keys(self, job_id: str, prover: str) -> list[str]:
        """The keys every script takes, in the order ``queue_scripts`` documents."""
        return [
            self.job_key(job_id),
            f"{self.prefix}:result:{job_id}",
            self.events_key(job_id),
            self.stream(prover),
            self.done_key,
            self.dead_key,
            self.counts_key,
            f"{self.prefix}:hb:{job_id}",
        ]

    # -- API side -------------------------------------------------------------------------
    async def submit(self, spec: AnySpec) -> str:
        """Record and enqueue one job; returns its id."""
        (job_id,) = await self.submit_many([spec])
        return job_id

    async def submit_many(self, specs: Iterable[AnySpec]) -> list[str]:
        """Record and enqueue jobs in one round trip per thousand (an eval run is hundreds)."""
        ids: list[str] = []
        batch: list[AnySpec] = []
        for spec in specs:
            batch.append(spec)
            if len(batch) == 1000:
                ids += await self._submit_batch(batch)
                batch = []
        if batch:
            ids += await self._submit_batch(batch)
        return ids

    async def _submit_batch(self, specs: list[AnySpec]) -> list[str]:
        ids = [new_id() for _ in specs]
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id, spec in zip(ids, specs, strict=True):
                prover = spec.prover.value
                await self._scripts["SUBMIT"](
                    keys=self._keys(job_id, prover),
                    args=[job_id, spec.model_dump_json(), prover, now, eval_of(spec)],
                    client=pipe,
                )
            await pipe.execute()
        return ids

    async def job(self, job_id: str) -> dict[str, str] | None:
        """The job record, or None for an unknown id."""
        record = await self.redis.hgetall(self.job_key(job_id))
        return record or None

    async def result(self, job_id: str) -> str | None:
        return await self.redis.get(f"{self.prefix}:result:{job_id}")

    async def cancel(self, job_id: str) -> str | None:
        """Cancel a job; returns its status after the request, or None for an unknown id."""
        record = await self.job(job_id)
        if record is None:
            return None
        status = await self._scripts["CANCEL"](
            keys=self._keys(job_id, record["prover"]),
            args=[GROUP, record.get("entry", ""), job_id, time.time(), self.prefix],
        )
        return status or None

    async def events(
        self, job_id: str, after: str = "0", block_ms: int | None = None
    ) -> list[tuple[str, str, dict]]:
        """Events after ``after`` as ``(event id, type, data)``, waiting up to ``block_ms``."""
        reply = await self.redis.xread({self.events_key(job_id): after}, count=100, block=block_ms)
        if not reply:
            return []
        return [(eid, f["type"], json.loads(f["data"])) for eid, f in reply[0][1]]

    async def last_event(self, job_id: str) -> tuple[str, str, dict] | None:
        """The newest event as ``(event id, type, data)``: a finished job's is its result."""
        reply = await self.redis.xrevrange(self.events_key(job_id), count=1)
        if not reply:
            return None
        eid, fields = reply[0]
        return eid, fields["type"], json.loads(fields["data"])

    async def live_workers(self, prover: str) -> int:
        """Workers for ``prover`` that renewed their registration within one lease."""
        cutoff = time.time() - self.lease_ms / 1000
        return await self.redis.zcount(self.workers_key(prover), cutoff, "+inf")

    async def depth(self, prover: str) -> tuple[int, int]:
        """(entries not yet handed out, entries running) for ``prover``'s stream."""
        try:
            groups = await self.redis.xinfo_groups(self.stream(prover))
        except ResponseError:  # no stream yet: nothing was ever submitted for this prover
            return 0, 0
        for group in groups:
            if group["name"] == GROUP:
                return int(group.get("lag") or 0), int(group["pending"])
        return await self.redis.xlen(self.stream(prover)), 0

    # -- worker side ----------------------------------------------------------------------
    async def register(self, prover: str, consumer: str) -> None:
        """Create the consumer group if needed and announce a live worker."""
        try:
            await self.redis.xgroup_create(self.stream(prover), GROUP, id="0", mkstream=True)
        except ResponseError as exc:  # BUSYGROUP: another worker created it first
            if "BUSYGROUP" not in str(exc):
                raise
        await self.announce(prover, consumer)

    async def announce(self, prover: str, consumer: str) -> None:
        """Renew this worker's registration (the API refuses jobs no live worker can run)."""
        await self.redis.zadd(self.workers_key(prover), {consumer: time.time()})

    async def unregister(self, prover: str, consumer: str) -> None:
        await self.redis.zrem(self.workers_key(prover), consumer)

    async def take(self, prover: str, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        """Up to ``count`` jobs: first entries whose worker died (lease expired), then new ones,
        waiting up to ``block_ms`` for those (0: not at all)."""
        stream = self.stream(prover)
        # XAUTOCLAIM looks at no more than 10 * count pending entries a call: go on from where
        # the last call stopped, so stale entries deep in a long pending list are reached too.
        cursor, claimed, _ = await self.redis.xautoclaim(
            stream,
            GROUP,
            consumer,
            min_idle_time=self.lease_ms,
            start_id=self._claim_cursor.get(prover, "0-0"),
            count=count,
        )
        self._claim_cursor[prover] = cursor
        deliveries = [await self._delivery(stream, eid, f) for eid, f in claimed if f]
        if deliveries:
            return deliveries
        reply = await self.redis.xreadgroup(
            GROUP, consumer, {stream: ">"}, count=count, block=block_ms or None
        )
        if not reply:
            return []
        return [Delivery(eid, fields["job"], 1) for eid, fields in reply[0][1]]

    async def _delivery(self, stream: str, entry_id: str, fields: dict) -> Delivery:
        (pending,) = await self.redis.xpending_range(stream, GROUP, entry_id, entry_id, 1)
        return Delivery(entry_id, fields["job"], int(pending["times_delivered"]))

    async def start(
        self, prover: str, delivery: Delivery, consumer: str
    ) -> tuple[int, AnySpec] | None:
        """Mark the job running; returns (attempt number, spec), or None if it needs no run."""
        reply = await self._scripts["START"](
            keys=self._keys(delivery.job_id, prover),
            args=[GROUP, delivery.entry_id, consumer, time.time()],
        )
        if reply[0] < 0:
            return None
        return int(reply[0]), parse_spec(reply[1])

    async def attempts(self, job_id: str) -> int:
        return int(await self.redis.hget(self.job_key(job_id), "attempts") or 0)

    async def heartbeat(self, prover: str, delivery: Delivery, consumer: str) -> int:
        """Renew the lease: -1 lost (another worker has it), 1 cancel requested, 0 carry on."""
        return await self._scripts["HEARTBEAT"](
            keys=self._keys(delivery.job_id, prover),
            args=[GROUP, consumer, delivery.entry_id, self.lease_ms],
        )

    async def progress(self, job_id: str, stats: SearchStats) -> None:
        data = {
            "expansions": stats.expansions,
            "best_depth": stats.max_depth,
            "prover_calls": stats.prover_calls,
            "elapsed_s": round(stats.time_total_s, 3),
        }
        await self.redis.xadd(
            self.events_key(job_id),
            {"type": "progress", "data": json.dumps(data)},
            maxlen=EVENTS_KEPT,
            approximate=True,
        )

    async def finish(
        self,
        prover: str,
        delivery: Delivery,
        attempt: int,
        status: JobStatus,
        message: str,
        result_json: str = "",
        versions: dict | None = None,
        dead_letter: str = "",
    ) -> bool:
        """Write the job's result and acknowledge its entry, atomically. Returns False when the
        job already had a result (a stalled worker finishing late): the write is dropped."""
        written = await self._scripts["FINISH"](
            keys=self._keys(delivery.job_id, prover),
            args=[
                GROUP,
                delivery.entry_id,
                delivery.job_id,
                attempt,
                status.value,
                result_json,
                message,
                time.time(),
                json.dumps(versions or {}),
                dead_letter,
                self.prefix,
            ],
        )
        return bool(written)

    async def release(self, prover: str, delivery: Delivery) -> None:
        """Give a job back to the queue unfinished (graceful shutdown)."""
        await self._scripts["RELEASE"](
            keys=self._keys(delivery.job_id, prover),
            args=[GROUP, delivery.entry_id, delivery.job_id],
        )

    # -- latency histograms, shared by all workers, read by the API's /metrics -------------
    async def record_latency(self, stats: SearchStats) -> None:
        """Count one finished search in the search-time and prover-time histograms."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, seconds in (("search", stats.time_total_s), ("prover", stats.time_prover_s)):
                key = f"{self.prefix}:latency:{name}"
                bucket = next((b for b in LATENCY_BUCKETS if seconds <= b), float("inf"))
                pipe.hincrby(key, repr(bucket), 1)
                pipe.hincrbyfloat(key, "sum", seconds)
            await pipe.execute()

    async def latency(self, name: str) -> tuple[list[tuple[str, int]], float]:
        """Cumulative ``(le, count)`` buckets and the sum, as Prometheus histograms want them."""
        raw = await self.redis.hgetall(f"{self.prefix}:latency:{name}")
        buckets, total = [], 0
        for bound in (*LATENCY_BUCKETS, float("inf")):
            total += int(raw.get(repr(bound), 0))
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), total))
        return buckets, float(raw.get("sum", 0.0))
