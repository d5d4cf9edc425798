"""The one process pool under Coq and Lean: reuse by key, recycling, and what is never reused."""

from __future__ import annotations

import asyncio

from search.env.pool import Pooled, ProcessPool
from search.env.process import ProverProcess


class Sleeper(ProverProcess):
    """A real subprocess (``sleep``) standing for a prover: the pool only needs its life."""

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            "sleep", "600", start_new_session=True
        )


def make_pool(size: int = 2, recycle_after: int = 3, reset=None) -> tuple[ProcessPool, list]:
    started: list[Pooled] = []

    async def start(key: str) -> Pooled:
        process = Sleeper()
        await process.start()
        started.append(Pooled(process=process, key=key))
        return started[-1]

    return ProcessPool(size, recycle_after, start, reset), started


async def test_a_released_process_is_reused_for_the_same_key_only():
    pool, started = make_pool()
    try:
        async with pool.slot():
            first = await pool.take("import Mathlib")
            await pool.release(first)
        async with pool.slot():
            assert await pool.take("import Mathlib") is first
            await pool.release(first)
        async with pool.slot():
            other = await pool.take("")
            assert other is not first and len(started) == 2
            await pool.release(other)
    finally:
        await pool.close()
    assert not any(worker.process.alive for worker in started)


async def test_a_process_is_recycled_after_its_theorems_and_when_unhealthy():
    refuse = {"now": False}

    async def reset(worker: Pooled) -> bool:
        return not refuse["now"]

    pool, _ = make_pool(recycle_after=2, reset=reset)
    try:
        worker = await pool.take("")
        await pool.release(worker)  # 1 theorem: kept
        assert pool.idle == 1 and worker.process.alive
        assert await pool.take("") is worker
        await pool.release(worker)  # 2 theorems: recycled
        assert pool.idle == 0 and not worker.process.alive

        in_flight = await pool.take("")
        in_flight.process.in_flight = True  # a request cancelled half-way
        await pool.release(in_flight)
        assert pool.idle == 0 and not in_flight.process.alive

        refused = await pool.take("")
        refuse["now"] = True
        await pool.release(refused)
        assert pool.idle == 0 and not refused.process.alive

        dead = await pool.take("")
        refuse["now"] = False
        await pool.release(dead)
        dead.process.kill()  # died while idle
        assert await pool.take("") is not dead
    finally:
        await pool.close()


async def test_a_full_pool_closes_the_least_recently_used_idle_process_of_another_key():
    pool, _ = make_pool(size=2)
    try:
        a, b = await pool.take("a"), await pool.take("b")
        await pool.release(a)
        await pool.release(b)
        async with pool.slot():  # one slot busy, two idle: one of them must go
            c = await pool.take("c")
        assert not a.process.alive and b.process.alive and c.process.alive
        await pool.release(c)
    finally:
        await pool.close()


async def test_at_most_size_slots_are_held_at_once():
    pool, _ = make_pool(size=2)
    peak = 0

    async def search() -> None:
        nonlocal peak
        async with pool.slot():
            peak = max(peak, pool.busy)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(search() for _ in range(6)))
    assert peak == 2 and pool.busy == 0
