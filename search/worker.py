"""A search worker: takes jobs from the queue, runs up to C searches at once on one prover
pool, and writes each result back. It only moves jobs; the search is ``search.runner``'s.

Per job, a watcher loop runs beside the search every ``poll_s``: it renews the lease (the
heartbeat), publishes progress, and cancels the search when a cancel was requested or the
lease was lost (the worker stalled and another one took the job over). Cancelling the asyncio
task is enough: the Coq pool handles a step cancelled half-way.

On SIGTERM (``stop``) the worker takes no new jobs, gives running searches ``shutdown_grace_s``
to finish, then cancels the rest and releases them to the queue, where another worker starts
them at once. On ``kill -9`` nothing is released: the leases run out and other workers
reclaim the jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from search.checking import CheckBatch, check_many
from search.env.base import ProofEnvironment
from search.policy import Policy, PolicyError
from search.queue import JobQueue
from search.queue_jobs import CheckSpec, Delivery, JobSpec, JobStatus
from search.result import SearchResult, SearchStats
from search.runner import run_search_safely, versions

log = logging.getLogger("prover.worker")
T = TypeVar("T")

#: Failures of the Redis connection the worker waits out (Redis restarting, network blips).
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
#: How often a worker whose policy server is down asks it again.
POLICY_RETRY_S = 2.0


class Lease(Enum):
    """How a watched job ended other than by finishing."""

    #: The worker stalled and another one took the job over: it writes the result.
    LOST = "lost"
    #: A cancel was requested.
    CANCELLED = "cancelled"


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    """Moves jobs between the queue and the search, ``concurrency`` at a time."""

    def __init__(
        self,
        queue: JobQueue,
        env: ProofEnvironment,
        policy: Policy,
        concurrency: int,
        name: str | None = None,
        shutdown_grace_s: float = 5.0,
        progress_interval_s: float = 1.0,
        wait_for_policy: bool = True,
    ) -> None:
        self.queue = queue
        self.env = env
        self.prover = env.prover.value
        self.policy = policy
        self.concurrency = max(1, concurrency)
        self.name = name or default_name()
        self.shutdown_grace_s = shutdown_grace_s
        self.progress_interval_s = progress_interval_s
        self.versions = {**versions(env), "policy": policy.name}
        self.running: dict[str, asyncio.Task] = {}
        self._stopping = asyncio.Event()
        #: True: a job whose policy server is down goes back to the queue and the worker takes
        #: no job until the server answers; False: the job ends as an error with the reason.
        self.wait_for_policy = wait_for_policy
        self._policy_down = False

    def stop(self) -> None:
        """Ask for a graceful shutdown (the SIGTERM handler)."""
        self._stopping.set()

    async def run(self) -> None:
        """Take and run jobs until ``stop``; then finish or release what is in flight."""
        await self.queue.register(self.prover, self.name)
        log.info("worker %s serving %s, %d at a time", self.name, self.prover, self.concurrency)
        try:
            while not self._stopping.is_set():
                try:
                    await self._take_some()
                except REDIS_DOWN as exc:
                    log.warning("redis unavailable (%s); retrying in 1 s", exc)
                    await asyncio.sleep(1.0)
        finally:
            await self._shut_down()

    async def _take_some(self) -> None:
        await self.queue.announce(self.prover, self.name)
        if self._policy_down and not await self._policy_back():
            await asyncio.sleep(POLICY_RETRY_S)
            return
        free = self.concurrency - len(self.running)
        # Wait and block briefly only, so a SIGTERM is noticed within about a second.
        if free <= 0:
            await asyncio.wait(
                list(self.running.values()), timeout=1.0, return_when=asyncio.FIRST_COMPLETED
            )
            return
        for delivery in await self.queue.take(self.prover, self.name, free, block_ms=1000):
            task = asyncio.create_task(self._run_job(delivery))
            self.running[delivery.job_id] = task
            task.add_done_callback(lambda _, job=delivery.job_id: self.running.pop(job, None))

    async def _shut_down(self) -> None:
        if self.running:
            log.info(
                "stopping: %d searches get %.0f s to finish",
                len(self.running),
                self.shutdown_grace_s,
            )
            await asyncio.wait(list(self.running.values()), timeout=self.shutdown_grace_s)
        for task in list(self.running.values()):
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)
        with contextlib.suppress(*REDIS_DOWN):
            await self.queue.unregister(self.prover, self.name)
        await self.policy.close()
        await self.env.close()

    async def _run_job(self, delivery: Delivery) -> None:
        try:
            await self._run_job_unguarded(delivery)
        except asyncio.CancelledError:
            # Shutdown: the search was cancelled before it ended; hand the job back.
            await self._retrying(lambda: self.queue.release(self.prover, delivery))
            log.info("released job %s", delivery.job_id)
        except PolicyError as exc:
            # wait_for_policy: the job is not at fault; it waits in the queue for the server.
            self._policy_down = True
            await self._retrying(lambda: self.queue.release(self.prover, delivery))
            log.warning("job %s released, policy unavailable: %s", delivery.job_id, exc)
        except REDIS_DOWN as exc:
            # The lease runs out and another worker (or this one) takes the job again.
            log.warning("job %s abandoned, redis unavailable: %s", delivery.job_id, exc)
        except Exception:
            log.exception("job %s: worker fault", delivery.job_id)

    async def _run_job_unguarded(self, delivery: Delivery) -> None:
        if delivery.deliveries > self.queue.max_deliveries:
            await self._dead_letter(delivery)
            return
        started = await self.queue.start(self.prover, delivery, self.name)
        if started is None:
            return
        attempt, spec = started
        if isinstance(spec, CheckSpec):
            log.info("job %s attempt %d: %d checks", delivery.job_id, attempt, len(spec.checks))
            outcome = await self._check(delivery, spec)
        else:
            log.info("job %s attempt %d: %s", delivery.job_id, attempt, spec.theorem.name)
            outcome = await self._search(delivery, spec)
        if outcome is None:  # lease lost: the worker that took the job over writes the result
            log.warning(
                "job %s: lease lost to another worker; dropping attempt %d",
                delivery.job_id,
                attempt,
            )
            return
        status, message, result = outcome
        payload = result.model_dump_json() if result is not None else ""
        written = await self._retrying(
            lambda: self.queue.finish(
                self.prover, delivery, attempt, status, message, payload, self.versions
            )
        )
        if written and isinstance(result, SearchResult):
            await self.queue.record_latency(result.stats)

    async def _search(
        self, delivery: Delivery, spec: JobSpec
    ) -> tuple[JobStatus, str, SearchResult | None] | None:
        """Run the search under the watcher; None when the lease was lost."""
        latest: SearchStats | None = None

        def on_progress(stats: SearchStats) -> None:
            nonlocal latest
            latest = stats

        reraise = (PolicyError,) if self.wait_for_policy else ()
        search = asyncio.create_task(
            run_search_safely(
                spec.theorem, self.env, self.policy, spec.config, on_progress, reraise=reraise
            )
        )
        outcome = await self._watched(delivery, search, lambda: latest)
        if outcome is Lease.LOST:
            return None
        if outcome is Lease.CANCELLED:
            return JobStatus.CANCELLED, "cancelled by request", None
        return JobStatus(outcome.status.value), outcome.message, outcome

    async def _check(
        self, delivery: Delivery, spec: CheckSpec
    ) -> tuple[JobStatus, str, CheckBatch | None] | None:
        """Judge a batch of proofs under the watcher; None when the lease was lost."""
        checks = asyncio.create_task(check_many(lambda _: self.env, spec.checks, self.concurrency))
        outcome = await self._watched(delivery, checks, lambda: None)
        if outcome is Lease.LOST:
            return None
        if outcome is Lease.CANCELLED:
            return JobStatus.CANCELLED, "cancelled by request", None
        batch = CheckBatch.of(outcome)
        return JobStatus.DONE, batch.describe(), batch

    async def _watched(
        self, delivery: Delivery, task: asyncio.Task[T], latest: Callable[[], SearchStats | None]
    ) -> T | Lease:
        """Wait for ``task`` while renewing the job's lease every ``poll_s`` and publishing
        ``latest()`` progress; cancel it when a cancel is requested or the lease is lost."""
        published_at, published = 0.0, (-1, -1)
        try:
            while True:
                done, _ = await asyncio.wait([task], timeout=self.queue.poll_s)
                if done:
                    return task.result()
                lease = await self.queue.heartbeat(self.prover, delivery, self.name)
                if lease != 0:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    return Lease.LOST if lease < 0 else Lease.CANCELLED
                stats, now = latest(), time.monotonic()
                if stats is not None and now - published_at >= self.progress_interval_s:
                    marker = (stats.expansions, stats.prover_calls)
                    if marker != published:
                        published, published_at = marker, now
                        await self.queue.progress(delivery.job_id, stats)
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _policy_back(self) -> bool:
        """Whether the policy answers again (the model-free policy always does)."""
        try:
            await self.policy.check()
        except PolicyError as exc:
            log.warning("policy still unavailable: %s", exc)
            return False
        log.info("policy available again; taking jobs")
        self._policy_down = False
        return True

    async def _dead_letter(self, delivery: Delivery) -> None:
        attempts = await self.queue.attempts(delivery.job_id)
        reason = (
            f"dead-lettered: handed out {delivery.deliveries} times without a result "
            f"(limit {self.queue.max_deliveries}); the workers running it died"
        )
        log.error("job %s %s", delivery.job_id, reason)
        await self.queue.finish(
            self.prover,
            delivery,
            attempts,
            JobStatus.ERROR,
            reason,
            versions=self.versions,
            dead_letter=reason,
        )

    async def _retrying(self, write: Callable[[], Awaitable[T]]) -> T:
        """Retry an idempotent queue write while Redis is down, for up to a minute."""
        for wait in (0.5, 1, 2, 4, 8, 15, 30):
            try:
                return await write()
            except REDIS_DOWN as exc:
                log.warning("queue write failed (%s); retrying in %.1f s", exc, wait)
                await asyncio.sleep(wait)
        return await write()
