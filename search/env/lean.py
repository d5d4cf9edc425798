"""The Lean 4 backend on the Lean REPL: a pool of warm processes and per-theorem sessions.

Each process loads a theorem header (``import Mathlib`` ...) once, as environment ``env``; a
session sends ``<statement> sorry`` against it and searches from the sorry's proof state.
Branching is sending a tactic to an older proof-state id (the REPL keeps them all). Processes
are pooled by header, one search at a time each, and recycled after ``recycle_after`` theorems
because the REPL never frees a state. When a process has to be killed (a tactic ran past its
wall-clock limit, it crashed or hit its memory cap) the session starts a new one and rebuilds a
state it is asked about by replaying that state's tactics, so the search goes on.

Soundness: a proof counts only after it is re-checked as one whole command against the header
(tactic mode has accepted wrong proofs upstream) and ``#print axioms`` shows nothing beyond
``propext``, ``Classical.choice`` and ``Quot.sound``. The command is built here from the
validated statement and a proof that contains no command, so the statement cannot change.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import textwrap
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from search.config import LeanConfig, ProverLimits, limits_for_lean
from search.env.lean_protocol import (
    ALLOWED_AXIOMS,
    CommandReply,
    Reply,
    command_problems,
    parse_axioms,
    tactic_outcome,
)
from search.env.lean_repl import LeanRepl, repl_argv
from search.env.lean_syntax import (
    check_header,
    check_proof,
    check_statement,
    check_tactic,
    header_namespace,
)
from search.env.pool import Pooled, ProcessPool
from search.env.process import kill_on_fault
from search.env.state_tree import StateTree
from search.latency import LatencyMeter
from search.types import (
    Failed,
    Goals,
    ProofState,
    Proved,
    ProverCrash,
    ProverFault,
    ProverKind,
    ProverTimeout,
    StepOutcome,
    Theorem,
    UnsafeInput,
    Verdict,
)


def lean_toolchain(project_dir: Path | None) -> str | None:
    """The Lean toolchain the project pins (its ``lean-toolchain`` file), else ``lean``'s."""
    pinned = (project_dir or Path.cwd()) / "lean-toolchain"
    if pinned.is_file():
        return pinned.read_text().strip()
    try:
        out = subprocess.run(["lean", "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def mathlib_revision(project_dir: Path | None) -> str | None:
    """The Mathlib commit the project's ``lake-manifest.json`` locks (None without one)."""
    manifest = (project_dir or Path.cwd()) / "lake-manifest.json"
    try:
        packages = json.loads(manifest.read_text()).get("packages", [])
    except (OSError, ValueError):
        return None
    return next((p.get("rev") for p in packages if p.get("name") == "mathlib"), None)


def qualified_name(theorem: Theorem) -> str:
    """The full name Lean gives the theorem: its header's namespace, then its own name."""
    name = check_statement(theorem.statement)
    namespace = header_namespace(theorem.header)
    return f"{namespace}.{name}" if namespace else name


def render_proof(tactics: tuple[str, ...]) -> str:
    """A tactic path as the body of a ``by`` block (each tactic keeps its own line breaks)."""
    return "\n".join(tactics)


def after_statement(statement: str, text: str) -> str:
    """``text`` appended to a statement ending in ``:= by``: after a space, or on its own line
    when the statement's last line holds a ``--`` comment (which would swallow it)."""
    statement = statement.rstrip()
    separator = "\n  " if "--" in statement.rsplit("\n", 1)[-1] else " "
    return statement + separator + text


def proof_command(statement: str, proof: str) -> str:
    """The whole declaration: the statement (ending in ``:= by``) and the proof as one
    parenthesised tactic block, ``by (tac1 ...)``. Inside the parentheses a command keyword
    is a parse error, so no text of the proof (whose parentheses ``check_proof`` has balanced)
    can end the theorem and add a declaration, an alias or an ``open`` of its own."""
    body = textwrap.dedent(proof.strip("\n")).rstrip()
    # A proof whose last line ends in a ``--`` comment would swallow a ``)`` on that line.
    close = "\n  )" if "--" in body.rsplit("\n", 1)[-1] else ")"
    if "\n" not in body:
        return after_statement(statement, f"({body.strip()}{close}")
    return statement.rstrip() + "\n  (" + textwrap.indent(body, "   ").lstrip() + close


@dataclass
class ReplMetrics:
    """Pool health: restarts, timeouts, crashes, and step latency percentiles."""

    restarts: int = 0
    timeouts: int = 0
    crashes: int = 0
    latency: LatencyMeter = field(default_factory=LatencyMeter)

    @property
    def steps(self) -> int:
        return self.latency.count

    def observe(self, seconds: float) -> None:
        self.latency.observe(seconds)

    def fault(self, exc: ProverFault) -> None:
        if isinstance(exc, ProverTimeout):
            self.timeouts += 1
        else:
            self.crashes += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "restarts": self.restarts,
            "timeouts": self.timeouts,
            "crashes": self.crashes,
            "steps": self.steps,
            "step_p50_s": self.latency.quantile(0.5),
            "step_p95_s": self.latency.quantile(0.95),
        }


@dataclass(kw_only=True)
class _Worker(Pooled):
    """A pooled REPL with its ``key``, the header, loaded as environment ``env`` (None: an
    empty header)."""

    env: int | None

    @property
    def repl(self) -> LeanRepl:
        return cast(LeanRepl, self.process)

    @property
    def header(self) -> str:
        return self.key

    def command(self, text: str) -> dict[str, Any]:
        return {"cmd": text} if self.env is None else {"cmd": text, "env": self.env}


async def check_whole_proof(
    worker: _Worker, statement: str, name: str, proof: str, timeout: float, allow_native: bool
) -> Verdict:
    """The check every reported proof passes: the whole declaration as one command, then
    ``#print axioms`` of the theorem's fully qualified ``name``, which must have named nothing
    before the command."""
    command = proof_command(statement, proof)
    reply = await worker.repl.request(worker.command(command), timeout)
    problems = command_problems(reply)
    if problems:
        return Verdict(False, "; ".join(problems)[:2000], command)
    assert isinstance(reply, CommandReply)
    if not await _unknown_before(worker, name, timeout):
        # Then ``#print axioms`` would report on that older constant, not on this theorem.
        return Verdict(False, f"the header's environment already has a constant {name!r}", command)
    axioms = parse_axioms(
        await worker.repl.request({"cmd": f"#print axioms {name}", "env": reply.env}, timeout),
        name,
    )
    allowed = ALLOWED_AXIOMS | ({"Lean.ofReduceBool"} if allow_native else frozenset())
    extra = sorted(set(axioms) - allowed)
    if extra:
        return Verdict(False, f"uses axioms beyond Lean's standard ones: {extra}", command, axioms)
    source = f"{worker.header.rstrip()}\n\n{command}\n" if worker.header.strip() else command
    return Verdict(True, "checked as a whole command; axioms allowed", source, axioms)


async def _unknown_before(worker: _Worker, name: str, timeout: float) -> bool:
    """Whether ``name`` names nothing in the header's environment: Lean's own word that the
    constant ``#print axioms`` will report on is the one the checked command declared."""
    reply = await worker.repl.request(worker.command(f"#print axioms {name}"), timeout)
    if not isinstance(reply, CommandReply):
        raise ProverCrash(f"#print axioms {name} before the theorem: unexpected reply {reply}")
    return bool(reply.errors)


@dataclass
class LeanSession:
    """One theorem open in one Lean REPL; the search applies tactics to its states."""

    environment: LeanEnvironment
    theorem: Theorem
    name: str
    tactic_timeout_s: float
    worker: _Worker | None = None
    restarts: int = 0
    root: ProofState | None = None
    #: ``time.monotonic()`` when the session got its process (``ProofSession.opened_at``).
    opened_at: float = field(default_factory=time.monotonic)
    #: Search states, with their REPL ``proofState`` ids in the current process.
    tree: StateTree[int] = field(default_factory=StateTree)
    _verdicts: dict[str, Verdict] = field(default_factory=dict)

    @property
    def replayed(self) -> int:
        return self.tree.replayed

    @property
    def _limits(self) -> ProverLimits:
        return self.environment.limits

    async def _request(self, payload: dict[str, Any], timeout: float) -> Reply:
        assert self.worker is not None
        return await self.worker.repl.request(payload, timeout)

    async def _load(self) -> None:
        """Open the statement with a ``sorry``; its proof state is the root (key 0)."""
        assert self.worker is not None
        reply = await self._request(
            self.worker.command(after_statement(self.theorem.statement, "sorry")),
            self._limits.check_timeout_s,
        )
        if not isinstance(reply, CommandReply):
            raise ProverCrash(f"unexpected reply to the statement: {reply}")
        if reply.errors:
            raise UnsafeInput(f"statement rejected by Lean: {reply.errors[0].data}")
        if len(reply.sorries) != 1 or reply.sorries[0].proof_state is None:
            raise ProverCrash(f"the statement opened {len(reply.sorries)} proof states, not 1")
        sorry = reply.sorries[0]
        self.root = self.tree.set_root(sorry.proof_state, (sorry.goal,))

    async def _restart(self) -> None:
        """Replace a dead or killed process (same header) and reload the theorem."""
        self.restarts += 1
        self.environment.metrics.restarts += 1
        if self.worker is not None:
            await self.worker.repl.close()
        self.worker = await self.environment.new_worker(self.theorem.header)
        await self._load()

    async def _step(self, proof_state: int, tactic: str) -> tuple[int, tuple[str, ...]] | Failed:
        """One tactic from a REPL state: the new state's id and goals, or why it failed."""
        outcome = tactic_outcome(await self._timed(tactic, proof_state))
        if isinstance(outcome, Failed):
            return outcome
        return outcome.proof_state, outcome.goals

    async def _timed(self, tactic: str, proof_state: int) -> Reply:
        started = time.monotonic()
        reply = await self._request(
            {"tactic": tactic, "proofState": proof_state},
            self.tactic_timeout_s + self._limits.grace_s,
        )
        self.environment.metrics.observe(time.monotonic() - started)
        return reply

    async def _ensure_worker(self) -> None:
        if self.worker is None or not self.worker.repl.alive:
            await self._restart()

    def _kill_on_fault(self) -> contextlib.AbstractContextManager[None]:
        return kill_on_fault(
            lambda: self.worker.repl if self.worker else None, self.environment.metrics.fault
        )

    # -- the search's interface ----------------------------------------------------------
    async def apply(self, state: ProofState, tactic: str) -> StepOutcome:
        """Run one tactic on ``state``. Raises ``ProverFault`` on timeouts and crashes (the
        next call restarts the process and replays)."""
        try:
            text = check_tactic(tactic, self.environment.config.allow_native_decide)
        except UnsafeInput as exc:
            return Failed(f"rejected: {exc}")
        with self._kill_on_fault():
            await self._ensure_worker()
            try:
                parent_id = await self.tree.handle(state.key, self._step)
            except ProverCrash:
                # The process died since its last answer: nothing of this step ran yet.
                await self._restart()
                parent_id = await self.tree.handle(state.key, self._step)
            outcome = await self._step(parent_id, text)
        if isinstance(outcome, Failed):
            return outcome
        proof_state, goals = outcome
        # Sent as given; kept dedented, since in a proof block the indentation is syntax.
        tactic_line = textwrap.dedent(text).strip("\n")
        new_state = self.tree.add(state.key, tactic_line, goals, proof_state)
        return Goals(new_state) if goals else Proved(new_state)

    def proof_of(self, state: ProofState) -> str:
        return render_proof(self.tree.path(state.key))

    async def run_proof(self, proof: str) -> StepOutcome:
        """The whole-proof check itself (one command costs what a tactic run would), cached
        so that ``verify`` of the same proof does not run it twice."""
        try:
            verdict = await self.verify(proof)
        except UnsafeInput as exc:
            return Failed(f"rejected: {exc}")
        return Proved(ProofState(key=-1, goals=())) if verdict.ok else Failed(verdict.message)

    async def verify(self, proof: str) -> Verdict:
        """The sound check of ``proof``, on this session's warm process."""
        text = check_proof(proof, self.environment.config.allow_native_decide)
        if text not in self._verdicts:
            with self._kill_on_fault():
                await self._ensure_worker()
                assert self.worker is not None
                self._verdicts[text] = await check_whole_proof(
                    self.worker,
                    self.theorem.statement,
                    self.name,
                    text,
                    self._limits.check_timeout_s,
                    self.environment.config.allow_native_decide,
                )
        return self._verdicts[text]


class LeanEnvironment:
    """The Lean proof environment: a bounded pool of warm REPL processes, keyed by header.

    ``session(theorem)`` hands out one process for one search (up to ``limits.pool_size``
    at a time; further searches queue); ``verify`` checks a whole proof on a pooled process.
    """

    prover = ProverKind.LEAN

    def __init__(self, limits: ProverLimits | None = None, config: LeanConfig | None = None):
        self.limits = limits_for_lean(limits)
        self.config = config or LeanConfig()
        self._argv = repl_argv(self.config.repl_command, self.config.project_dir)
        self._pool = ProcessPool(self.limits.pool_size, self.limits.recycle_after, self.new_worker)
        self.metrics = ReplMetrics()

    def health(self) -> dict[str, Any]:
        """Processes busy and idle, and the metrics (for ``prover doctor`` and /metrics)."""
        return {"busy": self._pool.busy, "idle": self._pool.idle, **self.metrics.snapshot()}

    async def new_worker(self, header: str) -> _Worker:
        """Start a REPL and load ``header`` (the slow part: ``import Mathlib``)."""
        repl = LeanRepl(self._argv, self.limits.memory_bytes, cwd=self.config.project_dir)
        await repl.start()
        if not header.strip():
            return _Worker(process=repl, key=header, env=None)
        try:
            reply = await repl.request({"cmd": header}, self.limits.start_timeout_s)
        except ProverFault:
            await repl.close()
            raise
        if not isinstance(reply, CommandReply) or reply.errors:
            await repl.close()
            detail = reply.errors[0].data if isinstance(reply, CommandReply) else reply
            raise UnsafeInput(f"header rejected by Lean: {detail}")
        return _Worker(process=repl, key=header, env=reply.env)

    @contextlib.asynccontextmanager
    async def session(
        self, theorem: Theorem, tactic_timeout_s: float
    ) -> AsyncIterator[LeanSession]:
        """Open ``theorem`` in a pooled process; raises ``UnsafeInput`` for a bad theorem."""
        check_header(theorem.header)
        name = qualified_name(theorem)
        async with self._pool.slot():
            session = LeanSession(self, theorem, name, tactic_timeout_s)
            try:
                session.worker = await self._pool.take(theorem.header)
                try:
                    await session._load()
                except ProverCrash:
                    await session._restart()  # a pooled process that died while idle
                yield session
            finally:
                await self._pool.release(session.worker)

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        """Check a whole proof on a pooled process (for callers outside a search)."""
        try:
            check_header(theorem.header)
            name = qualified_name(theorem)
            text = check_proof(proof, self.config.allow_native_decide)
        except UnsafeInput as exc:
            return Verdict(False, f"rejected: {exc}")
        async with self._pool.slot():
            worker = await self._pool.take(theorem.header)
            try:
                return await check_whole_proof(
                    worker, theorem.statement, name, text, self.limits.check_timeout_s,
                    self.config.allow_native_decide,
                )  # fmt: skip
            except ProverFault as exc:
                self.metrics.fault(exc)
                worker.repl.kill()
                raise
            finally:
                await self._pool.release(worker)

    def describe(self) -> dict[str, str | None]:
        return {
            "lean": lean_toolchain(self.config.project_dir),
            "mathlib": mathlib_revision(self.config.project_dir),
            "lean_repl_command": self.config.repl_command,
        }

    async def close(self) -> None:
        await self._pool.close()
