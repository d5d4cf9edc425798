"""The Coq backend: a pool of warm ``coqtop`` processes and per-theorem proof sessions.

Each process loads the automation preamble once; a session loads one theorem's header and
statement on top of it and, when the search is done, ``BackTo`` returns the process to the
preamble so the next theorem skips the start-up (processes are recycled after
``recycle_after`` theorems to bound memory). Proof states are Coq state ids: branching is
``BackTo`` to an older id, not replay. When a process must be killed (a tactic ran past its
wall-clock limit, or it crashed) the session starts a new one and rebuilds any state it is
asked about by replaying that state's tactic path, so the search goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import cast

from search.config import ProverLimits
from search.env.coq_check import (
    ALLOWED_AXIOMS,
    DEFAULT_PREAMBLE,
    check_with_coqc,
    coq_version,
    coqc_binary,
    render_script,
)
from search.env.coq_library import (
    LIBRARY_PREAMBLE,
    LibraryError,
    library_context,
    load_path_args,
    modules_loaded_by,
)
from search.env.coq_syntax import (
    check_header,
    check_statement,
    is_bullet,
    parse_proof,
    parse_tactic,
    statement_identifiers,
    statement_sentence,
)
from search.env.coqtop import CoqTop, Reply, coqtop_binary
from search.env.pool import Pooled, ProcessPool
from search.env.process import kill_on_fault
from search.env.state_tree import StateTree
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

_GOAL_COUNT = re.compile(r"^(\d+) goals?\b")
_GOAL_ID = re.compile(r"\s*\(ID \d+\)")
_OTHER_GOAL = re.compile(r"\n\s*\ngoal \d+ \(ID \d+\) is:\n")
#: Fast control commands (BackTo, Show) get this long before we call the process hung.
_CONTROL_TIMEOUT_S = 10.0


def normalize_goal(text: str) -> str:
    """Strip Coq's internal goal ids and trailing blanks so equal goals compare equal."""
    lines = [line.rstrip() for line in _GOAL_ID.sub("", text).splitlines()]
    return "\n".join(line for line in lines if line.strip()).strip()


def parse_goal_count(show_output: str) -> int | None:
    """Number of goals announced by ``Show.``; 0 for 'No more goals.'; None if unrecognised."""
    text = show_output.strip()
    if text.startswith("No more goals.") or text.startswith("No more goals\n"):
        return 0
    match = _GOAL_COUNT.match(text)
    return int(match.group(1)) if match else None


def first_goal(show_output: str) -> str:
    """The fully printed first goal of ``Show.`` (hypotheses and conclusion)."""
    body = show_output.strip().split("\n", 1)[1] if "\n" in show_output.strip() else ""
    return normalize_goal(_OTHER_GOAL.split(body, maxsplit=1)[0])


def nth_goal(show_n_output: str) -> str:
    """The goal printed by ``Show N.`` (its first line is 'goal N (ID k) is:')."""
    text = show_n_output.strip()
    return normalize_goal(text.split("\n", 1)[1] if "\n" in text else "")


class UnreadableGoals(Exception):
    """``Show.`` printed no goal list (e.g. only shelved goals remain)."""


async def show_goals(coqtop: CoqTop, timeout: float = _CONTROL_TIMEOUT_S) -> tuple[str, ...]:
    """The current goals, each fully printed (as the policy sees them); () when the proof is
    complete. Raises ``UnreadableGoals`` when ``Show.`` prints no goal list."""
    reply = await coqtop.send("Show.", timeout)
    count = parse_goal_count(reply.text)
    if count is None:
        # e.g. goals left on the shelf: a state Qed cannot close and we cannot print.
        raise UnreadableGoals(" ".join(reply.text.split())[:200])
    if count == 0:
        return ()
    goals = [first_goal(reply.text)]
    for index in range(2, count + 1):
        goals.append(nth_goal((await coqtop.send(f"Show {index}.", timeout)).text))
    return tuple(goals)


def pool_key(theorem: Theorem) -> str:
    """Which warm processes can take ``theorem``: a library theorem's are those that have
    (part of) its file loaded, everything else's those with the preamble alone."""
    return f"library:{theorem.library.module}" if theorem.library else ""


@dataclass(kw_only=True)
class _Worker(Pooled):
    """A pooled coqtop with its preamble loaded at prompt ``base``.

    A library process (``key`` ``library:MODULE``) also keeps the file's sentences it has
    loaded: ``prompts[i]`` is the state before sentence ``i``. The next theorem of the file
    starts where the last one's context ended (a later one sends only the sentences between;
    an earlier one is a ``BackTo``), so a file's context is loaded about once per process.
    """

    base: int
    prompts: list[int] = field(default_factory=list)

    @property
    def coqtop(self) -> CoqTop:
        return cast(CoqTop, self.process)

    @property
    def mark(self) -> int:
        """Where the next theorem starts from: the preamble, or the loaded context's end."""
        return self.prompts[-1] if self.prompts else self.base


@dataclass
class _LoadBudget:
    """What is left of one load's time (``CoqSession._load``), shrinking sentence by sentence.

    Each sentence is sent with the time left as its own timeout, so the load as a whole ends
    within ``total_s`` (plus one reply's latency): a timeout kills the process as any other.
    """

    total_s: float
    what: str
    started: float = field(default_factory=time.monotonic)

    async def send(self, coqtop: CoqTop, sentence: str, cap: float | None = None) -> Reply:
        """Send ``sentence`` with the time left (at most ``cap``) as its timeout; raises
        ``ProverTimeout`` naming the whole load once the budget is spent."""
        left = self.started + self.total_s - time.monotonic()
        if left > 0:
            try:
                return await coqtop.send(sentence, left if cap is None else min(cap, left))
            except ProverTimeout:
                if cap is not None and cap < left:
                    raise
        raise ProverTimeout(
            f"{self.what} took over {self.total_s:g}s in total to load "
            f"(stopped at {sentence[:80]!r})"
        ) from None


@dataclass
class CoqSession:
    """One theorem loaded in one coqtop; the search applies tactics to its states."""

    environment: CoqEnvironment
    theorem: Theorem
    tactic_timeout_s: float
    worker: _Worker | None = None
    restarts: int = 0
    replayed: int = 0
    root: ProofState | None = None
    #: ``time.monotonic()`` when the session got its process (``ProofSession.opened_at``).
    opened_at: float = field(default_factory=time.monotonic)
    #: The search's states (parent, tactic, goals): Coq needs no handles, only the paths.
    tree: StateTree[None] = field(default_factory=StateTree)
    #: The process's document beyond the statement: (tactic, prompt after it). coqtop's
    #: document is linear: ``BackTo`` to an earlier point discards everything after it.
    _line: list[tuple[str, int]] = field(default_factory=list)
    _root_prompt: int = 0

    @functools.cached_property
    def name(self) -> str:
        """The theorem's name as the static checks read it (``check_statement``)."""
        return check_statement(self.theorem.statement)

    @functools.cached_property
    def identifiers(self) -> frozenset[str]:
        """Non-ASCII identifiers of the statement, which tactics may name (``h₀``)."""
        return statement_identifiers(self.theorem.statement)

    # -- loading -------------------------------------------------------------------------
    async def _load(self) -> None:
        """Load header and statement into a (new) worker; the root state gets key 0.

        The whole load has one budget, not one per sentence: a header of many slow sentences
        (or a library file's long context) would otherwise run for their sum. A header gets
        ``start_timeout_s``; a library theorem's context ``check_timeout_s``, the time its
        whole-file check has to compile the same context.
        """
        assert self.worker is not None
        coqtop = self.worker.coqtop
        limits = self.environment.limits
        if self.theorem.library is not None:
            budget = _LoadBudget(limits.check_timeout_s, "the library context")
            await self._load_context(budget)
        else:
            budget = _LoadBudget(limits.start_timeout_s, "the header")
            await self._control(f"BackTo {self.worker.base}.")
            for sentence in check_header(self.theorem.header):
                reply = await budget.send(self.worker.coqtop, sentence)
                if not reply.ok:
                    raise UnsafeInput(f"header rejected by Coq at {sentence[:80]!r}: {reply.error}")
                if reply.proofs:
                    raise UnsafeInput(f"header leaves a proof open at {sentence[:80]!r}")
        statement = statement_sentence(self.theorem.statement)
        reply = await budget.send(coqtop, statement, cap=_CONTROL_TIMEOUT_S)
        if not reply.ok:
            raise UnsafeInput(f"statement rejected by Coq: {reply.error}")
        # The name Coq itself gives the proof must be the one the checks read (and that the
        # whole-file check asks ``Print Assumptions`` about).
        if reply.proofs != (self.name,):
            raise UnsafeInput(
                f"Coq opened the proof {'|'.join(reply.proofs) or 'none'!r}, "
                f"not {self.name!r}: the statement's name reads differently to Coq"
            )
        self._root_prompt = coqtop.prompt
        self._line = []
        goals = await self._show()
        if len(goals) != 1:
            # Two goals at the root is a mutual theorem (the static checks refuse them too).
            raise UnsafeInput(f"statement opened {len(goals)} goals, not one")
        self.root = self.tree.set_root(None, goals)

    async def _load_context(self, budget: _LoadBudget) -> None:
        """Bring a library process to the end of this theorem's context (see ``_Worker``)."""
        assert self.worker is not None and self.theorem.library is not None
        try:
            context = library_context(self.theorem.library, self.theorem.statement)
        except LibraryError as exc:
            raise UnsafeInput(str(exc)) from None
        prompts = self.worker.prompts
        position = len(context.sentences)
        await self._control(f"BackTo {prompts[min(position, len(prompts) - 1)]}.")
        del prompts[position + 1 :]
        for index in range(len(prompts) - 1, position):
            sentence = context.sentences[index]
            reply = await budget.send(self.worker.coqtop, sentence)
            if not reply.ok:
                raise UnsafeInput(
                    f"the context of {self.theorem.library.module} failed to load at sentence "
                    f"{index} ({sentence[:80]!r}): {reply.error}"
                )
            prompts.append(reply.prompt)
        for sentence in self.environment.library_extras:
            reply = await budget.send(self.worker.coqtop, sentence)
            if not reply.ok:
                raise ProverCrash(f"{sentence!r} failed after the context: {reply.error}")

    async def _control(self, sentence: str, timeout: float = _CONTROL_TIMEOUT_S) -> Reply:
        assert self.worker is not None
        return await self.worker.coqtop.send(sentence, timeout)

    async def _show(self) -> tuple[str, ...]:
        assert self.worker is not None
        return await show_goals(self.worker.coqtop)

    async def _restart(self) -> None:
        """Replace a dead or killed process and reload the theorem."""
        self.restarts += 1
        if self.worker is not None:
            await self.worker.coqtop.close()
        self.worker = await self.environment.new_worker(pool_key(self.theorem))
        await self._load()

    async def _goto(self, key: int) -> None:
        """Make state ``key`` current.

        Keeps the longest prefix of the process's document that the state's path shares,
        ``BackTo`` its end, and replays the rest of the path (restarting first if the process
        is gone). Searches that go deep along one branch mostly hit the cheap prefix case.
        """
        if self.worker is None or not self.worker.coqtop.alive:
            await self._restart()
        try:
            await self._follow(self.tree.path(key))
        except ProverCrash:
            # The process died since its last answer (killed from outside, out of memory):
            # nothing of the caller's tactic ran yet, so a fresh process is a clean retry.
            await self._restart()
            await self._follow(self.tree.path(key))

    async def _follow(self, path: tuple[str, ...]) -> None:
        """Bring the process's document to ``path`` by BackTo and replay."""
        shared = 0
        while (
            shared < len(self._line)
            and shared < len(path)
            and self._line[shared][0] == path[shared]
        ):
            shared += 1
        if shared < len(self._line):
            target = self._line[shared - 1][1] if shared else self._root_prompt
            reply = await self._control(f"BackTo {target}.")
            if not reply.ok:
                raise ProverCrash(f"BackTo {target} failed: {reply.error}")
            del self._line[shared:]
        for sentence in path[shared:]:
            reply = await self._timed(sentence)
            self.replayed += 1
            if not reply.ok:
                raise ProverCrash(f"replay of {sentence!r} failed: {reply.error}")
            self._line.append((sentence, reply.prompt))

    async def _timed(self, sentence: str) -> Reply:
        limit = max(1, round(self.tactic_timeout_s))
        return await self._control(
            f"Timeout {limit} {sentence}", timeout=limit + self.environment.limits.grace_s
        )

    def _kill_on_fault(self) -> contextlib.AbstractContextManager[None]:
        return kill_on_fault(lambda: self.worker.coqtop if self.worker else None)

    # -- the search's interface ----------------------------------------------------------
    async def apply(self, state: ProofState, tactic: str) -> StepOutcome:
        """Run one tactic on ``state``. Raises ``ProverFault`` (after restarting) on faults."""
        try:
            sentence = parse_tactic(tactic, self.identifiers)
        except UnsafeInput as exc:
            return Failed(f"rejected: {exc}")
        if is_bullet(sentence):
            return Failed("rejected: bullets and braces are not search steps")
        with self._kill_on_fault():
            await self._goto(state.key)
            reply = await self._timed(sentence)
            if not reply.ok:
                return Failed(reply.error or "error")
            self._line.append((sentence, reply.prompt))
            try:
                goals = await self._show()
            except UnreadableGoals as exc:
                return Failed(f"unsupported proof state: {exc}")
        new_state = self.tree.add(state.key, sentence, goals, None)
        return Proved(new_state) if not goals else Goals(new_state)

    def proof_of(self, state: ProofState) -> str:
        """The tactic script that leads from the root to ``state``."""
        return render_script(self.tree.path(state.key))

    async def verify(self, proof: str) -> Verdict:
        """The whole-file ``coqc`` check (it needs no process of the pool)."""
        return await self.environment.verify(self.theorem, proof)

    async def run_proof(self, proof: str) -> StepOutcome:
        """Run a whole proof script from the root: the cheap pre-check before ``coqc``."""
        try:
            sentences = parse_proof(proof, self.identifiers)
        except UnsafeInput as exc:
            return Failed(f"rejected: {exc}")
        with self._kill_on_fault():
            await self._goto(0)
            for sentence in sentences:
                reply = await (
                    self._control(sentence) if is_bullet(sentence) else self._timed(sentence)
                )
                if not reply.ok:
                    return Failed(f"at {sentence!r}: {reply.error}")
                self._line.append((sentence, reply.prompt))
            try:
                goals = await self._show()
            except UnreadableGoals as exc:
                return Failed(f"unsupported proof state: {exc}")
        state = ProofState(key=-1, goals=goals)
        return Proved(state) if not goals else Failed("proof incomplete: goals remain")


class CoqEnvironment:
    """The Coq proof environment: a bounded pool of warm coqtop processes.

    ``session(theorem)`` hands out one process for one search (searches run concurrently, up
    to ``limits.pool_size`` at a time); ``verify`` is the whole-file ``coqc`` check.
    """

    prover = ProverKind.COQ

    def __init__(
        self,
        limits: ProverLimits | None = None,
        preamble: Sequence[str] = DEFAULT_PREAMBLE,
        allowed_axioms: frozenset[str] = ALLOWED_AXIOMS,
        library_extras: Sequence[str] = (),
    ) -> None:
        coqtop_binary(), coqc_binary()  # fail now, with install advice, not mid-run
        self.limits = limits or ProverLimits()
        self.preamble = tuple(preamble)
        #: Sent after a library theorem's context (``LIBRARY_HAMMER``), in search and check.
        self.library_extras = tuple(library_extras)
        self.allowed_axioms = allowed_axioms
        self._workdir = tempfile.TemporaryDirectory(prefix="dcoprover-coqtop-")
        self._pool = ProcessPool(
            self.limits.pool_size, self.limits.recycle_after, self.new_worker, self._reset
        )
        self._check_slots = asyncio.Semaphore(self.limits.pool_size)
        self.restarts = 0

    async def new_worker(self, key: str = "") -> _Worker:
        """A coqtop with the preamble loaded: the automation preamble, or for a library
        process (``pool_key``) the library preamble alone, on which its file is loaded."""
        library = key.startswith("library:")
        # A library file's process is named after its module, so its self-references resolve.
        module = key.removeprefix("library:")
        top = ("-top", module, *load_path_args(module)) if library else ()
        coqtop = CoqTop(self.limits.memory_bytes, extra_args=top, cwd=self._workdir.name)
        await coqtop.start(self.limits.start_timeout_s)
        for sentence in LIBRARY_PREAMBLE if library else self.preamble:
            reply = await coqtop.send(sentence, self.limits.start_timeout_s)
            if not reply.ok:
                await coqtop.close()
                raise ProverCrash(f"preamble {sentence!r} failed: {reply.error}")
        base = coqtop.prompt
        return _Worker(process=coqtop, key=key, base=base, prompts=[base] if library else [])

    @contextlib.asynccontextmanager
    async def session(self, theorem: Theorem, tactic_timeout_s: float) -> AsyncIterator[CoqSession]:
        """Open ``theorem`` in a pooled process; raises ``UnsafeInput`` for a bad theorem."""
        if theorem.library is not None and theorem.header.strip():
            raise UnsafeInput("a library theorem has its file's context, not a header")
        self._refuse_leaks(theorem)
        check_header(theorem.header)
        check_statement(theorem.statement)
        async with self._pool.slot():
            session = CoqSession(self, theorem, tactic_timeout_s)
            session.worker = await self._pool.take(pool_key(theorem))
            try:
                try:
                    await session._load()
                except ProverCrash:
                    # A pooled process that died while idle (e.g. killed for memory).
                    await session._restart()
                yield session
            finally:
                self.restarts += session.restarts
                await self._pool.release(session.worker)

    @staticmethod
    async def _reset(worker: _Worker) -> bool:
        """Back to where the next theorem starts (``mark``); a process that cannot is not
        reused."""
        try:
            return (await worker.coqtop.send(f"BackTo {worker.mark}.", _CONTROL_TIMEOUT_S)).ok
        except ProverFault:
            return False

    def _refuse_leaks(self, theorem: Theorem) -> None:
        """Raise ``UnsafeInput`` when ``library_extras`` load the library theorem's own file."""
        if theorem.library is None or not self.library_extras:
            return
        try:
            leaks = theorem.library.module in modules_loaded_by(self.library_extras)
        except LibraryError as exc:
            raise UnsafeInput(str(exc)) from None
        if leaks:
            raise UnsafeInput(
                f"{' '.join(self.library_extras)} loads {theorem.library.module} itself "
                "(its compiled theorems would be in scope)"
            )

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        """The whole-file check every reported proof must pass (see ``coq_check``)."""
        try:
            self._refuse_leaks(theorem)
        except UnsafeInput as exc:
            return Verdict(ok=False, message=f"rejected before checking: {exc}")
        async with self._check_slots:
            return await check_with_coqc(
                theorem,
                proof,
                preamble=self.preamble,
                allowed_axioms=self.allowed_axioms,
                library_extras=self.library_extras,
                timeout_s=self.limits.check_timeout_s,
                memory_bytes=self.limits.memory_bytes,
            )

    def describe(self) -> dict[str, str | None]:
        return {"coq": coq_version()}

    async def close(self) -> None:
        await self._pool.close()
