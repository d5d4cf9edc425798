"""The Coq backend against real coqtop processes: stepping, branching, limits and recovery."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import psutil
import pytest

from search.config import ProverLimits
from search.env.coq import CoqEnvironment
from search.env.coqtop import CoqTop
from search.env.process import kill_group
from search.types import Failed, Goals, Proved, ProverCrash, ProverTimeout, Theorem, UnsafeInput

pytestmark = pytest.mark.coq

COMM = Theorem(
    name="comm",
    header="Require Import Arith.\n",
    statement="Theorem comm : forall n m : nat, n + m = m + n /\\ n * 1 = n.",
)


async def test_steps_report_goals_errors_and_completion(coq_env):
    async with coq_env.session(COMM, tactic_timeout_s=5) as session:
        assert "forall n m : nat" in session.root.goals[0]
        intros = await session.apply(session.root, "intros")
        assert isinstance(intros, Goals) and "n, m : nat" in intros.state.goals[0]
        split = await session.apply(intros.state, "split")
        assert isinstance(split, Goals) and len(split.state.goals) == 2
        # The second goal is printed in full (hypotheses too), not only its conclusion.
        assert "n, m : nat" in split.state.goals[1] and "n * 1 = n" in split.state.goals[1]
        failed = await session.apply(session.root, "foo")
        assert isinstance(failed, Failed) and "foo" in failed.message
        done = await session.apply(intros.state, "split; lia")
        assert isinstance(done, Proved) and done.state.goals == ()
        assert session.proof_of(done.state) == "intros.\nsplit; lia."


async def test_branching_back_to_an_older_state_after_exploring_a_sibling(coq_env):
    """coqtop's document is linear: going back to a sibling's subtree must still work."""
    async with coq_env.session(COMM, tactic_timeout_s=5) as session:
        intros = await session.apply(session.root, "intros")
        split = await session.apply(intros.state, "split")
        other = await session.apply(session.root, "intros n m")
        assert isinstance(other, Goals)
        # `split` was discarded from coqtop's document by the sibling step; it is rebuilt.
        first = await session.apply(split.state, "lia")
        assert isinstance(first, Goals) and first.state.goals[0].endswith("n * 1 = n")
        second = await session.apply(first.state, "lia")
        assert isinstance(second, Proved)
        assert session.proof_of(second.state) == "intros.\nsplit.\nlia.\nlia."


async def test_rejected_tactics_never_reach_coq(coq_env):
    async with coq_env.session(COMM, tactic_timeout_s=5) as session:
        for tactic in ["admit", "lia. Qed.", "Admitted", "-", "Axiom x : False"]:
            outcome = await session.apply(session.root, tactic)
            assert isinstance(outcome, Failed) and outcome.message.startswith("rejected")


async def test_loop_is_stopped_by_the_tactic_time_limit_and_the_session_goes_on(coq_env):
    async with coq_env.session(COMM, tactic_timeout_s=1) as session:
        loop = await session.apply(
            session.root, "intros; repeat (split; [idtac|idtac]); do 1000000000 idtac"
        )
        assert isinstance(loop, Failed) and "Timeout" in loop.message
        assert isinstance(await session.apply(session.root, "intros; split; lia"), Proved)


#: ``psatz R 8`` on six variables runs for seconds, in ``csdpcert`` and ``csdp`` processes
#: that coqtop starts: about 4 s more after a 1 s ``Timeout`` interrupts it, unless killed.
SUM_OF_SQUARES = Theorem(
    name="sos",
    header="Require Import Reals.\nOpen Scope R_scope.\n",
    statement="Theorem sos : forall a b c d e f : R, "
    "a^4 + b^4 + c^4 + d^4 + e^4 + f^4 >= 4*a*b*c*d + a*b*e*f - 3.",
)


def live(processes: list[psutil.Process], wait_s: float = 5.0) -> list[psutil.Process]:
    """Those of ``processes`` still running after at most ``wait_s`` (zombies are not)."""
    deadline = time.monotonic() + wait_s
    while True:
        running = []
        for process in processes:
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    running.append(process)
            except psutil.NoSuchProcess:
                pass
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.05)


async def test_a_timed_out_psatz_leaves_no_solver_running(coq_env):
    async with coq_env.session(SUM_OF_SQUARES, tactic_timeout_s=1) as session:
        outcome = await session.apply(session.root, "intros; psatz R 8")
        assert isinstance(outcome, Failed) and "Timeout" in outcome.message
        coqtop = psutil.Process(session.worker.coqtop.pid)
        assert live(coqtop.children(recursive=True), wait_s=0.5) == []
        assert isinstance(await session.apply(session.root, "intros; nra"), (Failed, Proved))


async def test_killing_a_group_whose_leader_has_exited_kills_the_rest():
    proc = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        "sleep 300 >/dev/null 2>&1 & echo $!",
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    out, _ = await proc.communicate()
    orphan = psutil.Process(int(out))
    assert proc.returncode == 0 and orphan.is_running()
    kill_group(proc)
    assert live([orphan]) == []


async def test_hung_prover_is_killed_by_the_watchdog_and_restarted(coq_env):
    """A prover that stops answering (SIGSTOP: no Coq Timeout can fire) is killed."""
    async with coq_env.session(COMM, tactic_timeout_s=1) as session:
        intros = await session.apply(session.root, "intros")
        os.kill(session.worker.coqtop.pid, signal.SIGSTOP)
        with pytest.raises(ProverTimeout):
            await session.apply(intros.state, "split")
        # The next step restarts coqtop, replays `intros`, and carries on.
        outcome = await session.apply(intros.state, "split; lia")
        assert isinstance(outcome, Proved)
        assert session.restarts == 1


async def test_killed_coqtop_is_restarted_transparently(coq_env):
    async with coq_env.session(COMM, tactic_timeout_s=5) as session:
        intros = await session.apply(session.root, "intros")
        split = await session.apply(intros.state, "split")
        await session.apply(session.root, "idtac")  # move coqtop's document elsewhere
        old_pid = session.worker.coqtop.pid
        os.kill(old_pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        outcome = await session.apply(split.state, "lia")
        assert isinstance(outcome, Goals)
        assert session.worker.coqtop.pid != old_pid and session.restarts == 1


async def test_memory_limit_stops_only_the_runaway_tactic():
    env = CoqEnvironment(ProverLimits(pool_size=1, memory_bytes=1024**3))
    theorem = Theorem(name="big", header="Require Import List.", statement="Theorem big : True.")
    try:
        async with env.session(theorem, tactic_timeout_s=30) as session:
            hog = "let x := eval vm_compute in (List.length (List.repeat 0 30000000)) in idtac"
            # Coq either reports the failed allocation or dies of it; both are survivable.
            try:
                outcome = await session.apply(session.root, hog)
                assert isinstance(outcome, Failed) and "memory" in outcome.message.lower()
            except ProverCrash as crash:
                assert "exited" in str(crash)
            assert isinstance(await session.apply(session.root, "exact I"), Proved)
    finally:
        await env.close()


async def test_processes_are_reused_across_theorems_and_recycled():
    env = CoqEnvironment(ProverLimits(pool_size=1, recycle_after=2))
    try:
        pids = []
        for index in range(3):
            theorem = Theorem(name=f"t{index}", statement=f"Theorem t{index} : {index} = {index}.")
            async with env.session(theorem, tactic_timeout_s=5) as session:
                pids.append(session.worker.coqtop.pid)
                assert isinstance(await session.apply(session.root, "reflexivity"), Proved)
        assert pids[0] == pids[1] != pids[2]
    finally:
        await env.close()


async def test_bad_header_or_statement_is_a_clear_error(coq_env):
    bad_statement = Theorem(name="t", statement="Theorem t : undefined_thing = 1.")
    with pytest.raises(UnsafeInput, match="statement rejected by Coq"):
        async with coq_env.session(bad_statement, tactic_timeout_s=5):
            pass
    bad_header = Theorem(
        name="t", header="Require Import NoSuchLib.", statement="Theorem t : True."
    )
    with pytest.raises(UnsafeInput, match="header rejected by Coq"):
        async with coq_env.session(bad_header, tactic_timeout_s=5):
            pass
    smuggled = Theorem(name="t", header='Load "x".', statement="Theorem t : True.")
    with pytest.raises(UnsafeInput, match="forbidden"):
        async with coq_env.session(smuggled, tactic_timeout_s=5):
            pass


async def test_coqtop_send_times_out_without_a_prompt():
    coqtop = CoqTop(memory_bytes=2 * 1024**3)
    await coqtop.start(30)
    try:
        with pytest.raises(ProverTimeout):
            # No terminating period: coqtop waits for more input, so no prompt ever comes.
            await coqtop.send("Check nat", timeout=0.5)
        assert not coqtop.alive  # killed: its next reply could not be trusted
    finally:
        await coqtop.close()


async def test_search_cancelled_mid_step_does_not_return_its_process_to_the_pool():
    env = CoqEnvironment(ProverLimits(pool_size=1))
    try:

        async def slow_search() -> None:
            async with env.session(COMM, tactic_timeout_s=5) as session:
                pids.append(session.worker.coqtop.pid)
                await session.apply(session.root, "do 1000000000 idtac")

        pids: list[int] = []
        task = asyncio.create_task(slow_search())
        await asyncio.sleep(1.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with env.session(COMM, tactic_timeout_s=5) as session:
            # A reused process would hand us the cancelled step's reply: it must be a new one.
            assert session.worker.coqtop.pid != pids[0]
            assert isinstance(await session.apply(session.root, "intros; split; lia"), Proved)
    finally:
        await env.close()


#: Eight sentences of about a second each: under the old per-sentence limit a header of them
#: loaded for their sum however small ``start_timeout_s`` was.
SLOW_HEADER = Theorem(
    name="slow",
    header="".join(
        f"Definition d{i} : Nat.pow 2 15 = Nat.pow 2 15 + 0 := eq_refl.\n" for i in range(8)
    ),
    statement="Theorem slow : True.",
)


async def test_a_header_load_has_one_budget_in_total_not_one_per_sentence():
    env = CoqEnvironment(ProverLimits(pool_size=1, start_timeout_s=3))
    try:
        started = time.monotonic()
        with pytest.raises(ProverTimeout, match="in total"):
            async with env.session(SLOW_HEADER, tactic_timeout_s=1):
                pass
        # The process start (under its own limit) and one reply's latency come on top.
        assert time.monotonic() - started < 3 + 5
        # The pool goes on: the next theorem gets a working process.
        async with env.session(COMM, tactic_timeout_s=5) as session:
            assert isinstance(await session.apply(session.root, "intros; split; lia"), Proved)
    finally:
        await env.close()
