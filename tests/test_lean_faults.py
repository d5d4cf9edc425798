"""Process faults with real subprocesses: a REPL that hangs, crashes, floods, prints garbage or
runs out of memory is killed within its limit, the session replays onto a new process, and the
pool keeps serving. Also: queueing, reuse by header, and recycling."""

from __future__ import annotations

import asyncio
import time

import pytest

from search.config import LeanConfig, ProverLimits
from search.env.lean import LeanEnvironment
from search.types import Goals, Proved, ProverCrash, ProverTimeout, Theorem

from support.lean_fixtures import RECORDINGS, fake_repl_command

pytestmark = pytest.mark.skipif(not RECORDINGS, reason="Lean REPL recordings not found (set DCOPROVER_SHARED)")

BRANCHING = Theorem(
    name="complex_and",
    statement="theorem complex_and (p q r : Prop) (h1 : p ∧ q) (h2 : q → r) : p ∧ r := by",
    prover="lean",
)
INDUCTION = Theorem(
    name="foo", header="import Mathlib", statement="theorem foo (x : Nat) : x = x := by", prover="lean"
)
# Mathlib/test/exact: two theorems, one after the other, on one process with one header.
FIRST = Theorem(name="test", header="import Mathlib", statement="theorem test : 0 < 1 := by", prover="lean")
SECOND = Theorem(name="test", header="import Mathlib", statement="theorem test : 3 = 7 := by", prover="lean")


def make_env(**limits) -> LeanEnvironment:
    limits = {"pool_size": 1, "memory_bytes": 1 << 30, "grace_s": 0.5, **limits}
    return LeanEnvironment(ProverLimits(**limits), LeanConfig(repl_command=fake_repl_command()))


@pytest.mark.parametrize(
    ("tactic", "fault", "within_s"),
    [
        ("exact FAULT_HANG", ProverTimeout, 3.0),
        # The others must be seen as crashes well before the step's 10 s limit.
        ("exact FAULT_CRASH", ProverCrash, 3.0),
        ("exact FAULT_FLOOD", ProverCrash, 8.0),
        ("exact FAULT_GARBAGE", ProverCrash, 3.0),
        ("exact FAULT_MEMORY", ProverCrash, 8.0),
    ],
)
async def test_fault_is_recovered_and_the_search_goes_on(tactic, fault, within_s):
    env = make_env(memory_bytes=512 << 20)
    try:
        limit = 1 if fault is ProverTimeout else 10
        async with env.session(BRANCHING, tactic_timeout_s=limit) as session:
            split = await session.apply(session.root, "apply And.intro")
            first_pid = session.worker.repl.pid
            started = time.monotonic()
            with pytest.raises(fault) as raised:
                await session.apply(split.state, tactic)
            assert time.monotonic() - started < within_s
            if tactic == "exact FAULT_CRASH":
                assert "fake crash" in str(raised.value)  # stderr's tail is in the report
            # The next step on an old state: a new process, the path replayed, then the step.
            left = await session.apply(split.state, "exact h1.left")
            assert isinstance(left, Goals)
            assert session.worker.repl.pid != first_pid
            assert session.restarts == 1 and session.replayed == 1
            right = await session.apply(left.state, "apply h2")
            assert isinstance(await session.apply(right.state, "exact h1.right"), Proved)
        health = env.health()
        assert health["restarts"] == 1
        assert health["timeouts" if fault is ProverTimeout else "crashes"] == 1
        assert health["step_p50_s"] is not None and health["step_p95_s"] >= health["step_p50_s"]
        # The pool keeps serving other theorems.
        async with env.session(INDUCTION, tactic_timeout_s=1) as session:
            assert isinstance(await session.apply(session.root, "induction x"), Goals)
    finally:
        await env.close()


async def test_process_killed_from_outside_between_steps_is_replaced():
    env = make_env()
    try:
        async with env.session(BRANCHING, tactic_timeout_s=1) as session:
            split = await session.apply(session.root, "apply And.intro")
            session.worker.repl.kill()
            await asyncio.sleep(0.1)
            assert isinstance(await session.apply(split.state, "exact h1.left"), Goals)
    finally:
        await env.close()


async def test_searches_queue_for_a_full_pool_and_processes_are_reused_by_header():
    env = make_env()
    order: list[str] = []

    async def search(theorem: Theorem, hold_s: float) -> int:
        async with env.session(theorem, tactic_timeout_s=1) as session:
            order.append(f"start {theorem.statement}")
            await asyncio.sleep(hold_s)
            outcome = await session.apply(session.root, "exact?")
            order.append(f"end {type(outcome).__name__}")
            return session.worker.repl.pid

    try:
        pids = await asyncio.gather(search(FIRST, 0.3), search(SECOND, 0))
        assert order == [
            f"start {FIRST.statement}", "end Proved", f"start {SECOND.statement}", "end Failed"
        ]
        assert pids[0] == pids[1]  # the second search reused the warm process and header
    finally:
        await env.close()


async def test_processes_are_recycled_after_k_theorems_and_on_a_header_change():
    env = make_env(recycle_after=2)
    pids = []
    try:
        for theorem in (FIRST, SECOND, FIRST, BRANCHING):
            async with env.session(theorem, tactic_timeout_s=1) as session:
                pids.append(session.worker.repl.pid)
                await session.apply(session.root, "exact?" if theorem.header else "apply And.intro")
        assert pids[0] == pids[1] != pids[2]  # recycled after 2 theorems
        assert pids[3] != pids[2]  # another header needs another process (pool of 1)
        assert env.health()["idle"] == 1 and env.health()["restarts"] == 0
    finally:
        await env.close()


async def test_cancelled_step_does_not_return_a_desynchronised_process():
    env = make_env()
    try:
        async with env.session(BRANCHING, tactic_timeout_s=30) as session:
            step = asyncio.create_task(session.apply(session.root, "exact FAULT_HANG"))
            await asyncio.sleep(0.5)
            step.cancel()
            with pytest.raises(asyncio.CancelledError):
                await step
            pid = session.worker.repl.pid
        async with env.session(BRANCHING, tactic_timeout_s=1) as session:
            assert session.worker.repl.pid != pid
            assert isinstance(await session.apply(session.root, "apply And.intro"), Goals)
    finally:
        await env.close()
