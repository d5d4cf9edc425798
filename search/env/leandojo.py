"""The Lean 4 backend on LeanDojo 4.20 (optional extra ``dcoprover[leandojo]``).

Pick it to reproduce ReProver-style numbers: the published ReProver, InternLM-StepProver and
BFS-Prover results were obtained through LeanDojo's ``Dojo`` on traced repositories. It needs
the repository traced first (about an hour on 32 CPUs and >= 32 GB for Mathlib) and starts one
Lean process per theorem, which is why the Lean REPL backend is the default.

Outcomes map onto ours: ``TacticState`` -> ``Goals``, ``ProofFinished`` -> ``Proved``,
``LeanError`` and ``ProofGivenUp`` -> ``Failed``; ``DojoTacticTimeoutError`` ->
``ProverTimeout``, ``DojoCrashError``/``DojoInitError`` -> ``ProverCrash`` (the session then
opens a new ``Dojo`` and replays). ``Dojo`` is synchronous: its calls run in a worker thread.
Found proofs are verified by the Lean REPL backend (the whole command and ``#print axioms``),
since LeanDojo only checks in tactic mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from search.env.lean import LeanEnvironment, render_proof
from search.env.lean_syntax import check_proof, check_statement, check_tactic
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

#: ``Theorem.source`` of benchmark theorems: ``owner/repo@commit:path/File.lean``.
_SOURCE = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)@(?P<commit>[0-9a-f]{7,40}):(?P<path>\S+\.lean)$")


def lean_dojo() -> Any:
    """The ``lean_dojo`` module, or a clear error saying how to install it."""
    try:
        import lean_dojo
    except ImportError:
        raise FileNotFoundError(
            "LeanDojo is not installed: pip install 'dcoprover[leandojo]' (and Lean: "
            "scripts/setup_lean.sh)"
        ) from None
    return lean_dojo


def dojo_entry(theorem: Theorem) -> tuple[str, str, str]:
    """(repository URL, commit, file path) of a theorem from a traced repository."""
    match = _SOURCE.match(theorem.source or "")
    if match is None:
        raise UnsafeInput(
            "LeanDojo proves theorems of traced repositories only: the theorem's source must "
            f"read 'owner/repo@commit:path.lean' (got {theorem.source!r}); use the Lean REPL "
            "backend for inline statements"
        )
    return f"https://github.com/{match['repo']}", match["commit"], match["path"]


def map_result(result: Any) -> tuple[Any, tuple[str, ...]] | Failed:
    """A ``Dojo.run_tac`` result as (the state to continue from, its goals) or ``Failed``."""
    dojo = lean_dojo()
    if isinstance(result, dojo.TacticState):
        # The same per-goal text as the REPL's ``goals`` (LeanDojo joins them with blank lines).
        return result, tuple(g.strip() for g in result.pp.split("\n\n") if "⊢" in g)
    if isinstance(result, dojo.ProofFinished):
        return result, ()
    if isinstance(result, dojo.LeanError):
        return Failed(result.error)
    if isinstance(result, dojo.ProofGivenUp):
        return Failed("the proof was given up (it contains `sorry`)")
    raise ProverCrash(f"unexpected LeanDojo result {result!r}")


def map_fault(exc: Exception) -> ProverFault | None:
    """LeanDojo's exceptions as our faults (None: not a LeanDojo fault)."""
    dojo = lean_dojo()
    if isinstance(exc, dojo.DojoTacticTimeoutError):
        return ProverTimeout(f"LeanDojo tactic timeout: {exc}")
    if isinstance(exc, dojo.DojoCrashError | dojo.DojoInitError):
        return ProverCrash(f"LeanDojo {type(exc).__name__}: {exc}")
    return None


@dataclass
class DojoSession:
    """One theorem open in one ``Dojo`` (one Lean process)."""

    environment: LeanDojoEnvironment
    theorem: Theorem
    tactic_timeout_s: float
    restarts: int = 0
    root: ProofState | None = None
    #: ``time.monotonic()`` when the session got its process (``ProofSession.opened_at``).
    opened_at: float = field(default_factory=time.monotonic)
    tree: StateTree[Any] = field(default_factory=StateTree)
    _dojo: Any = None
    _context: Any = None

    async def _call(self, function: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(function, *args)
        except Exception as exc:
            fault = map_fault(exc)
            if fault is None:
                raise
            raise fault from exc

    async def _open(self) -> None:
        dojo_module = lean_dojo()
        url, commit, path = dojo_entry(self.theorem)
        # LeanGitRepo asks GitHub about the repository: blocking network, so in the thread too.
        repo = await self._call(dojo_module.LeanGitRepo, url, commit)
        entry = dojo_module.Theorem(repo, path, self.theorem.name)
        self._context = dojo_module.Dojo(entry, timeout=max(1, round(self.tactic_timeout_s)))
        self._dojo, initial = await self._call(self._context.__enter__)
        mapped = map_result(initial)
        if isinstance(mapped, Failed):
            raise ProverCrash(f"LeanDojo could not open {self.theorem.name}: {mapped.message}")
        self.root = self.tree.set_root(*mapped)

    async def _close(self) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            with contextlib.suppress(Exception):
                await asyncio.to_thread(context.__exit__, None, None, None)

    async def _restart(self) -> None:
        self.restarts += 1
        await self._close()
        await self._open()

    async def _step(self, state: Any, tactic: str) -> tuple[Any, tuple[str, ...]] | Failed:
        return map_result(await self._call(self._dojo.run_tac, state, tactic))

    async def apply(self, state: ProofState, tactic: str) -> StepOutcome:
        try:
            text = check_tactic(tactic, self.environment.verifier.config.allow_native_decide)
        except UnsafeInput as exc:
            return Failed(f"rejected: {exc}")
        if self._context is None:
            await self._restart()
        try:
            handle = await self.tree.handle(state.key, self._step)
            outcome = await self._step(handle, text)
        except ProverFault:
            await self._close()  # the next step opens a new Dojo and replays
            raise
        if isinstance(outcome, Failed):
            return outcome
        new_state = self.tree.add(state.key, text.strip(), outcome[1], outcome[0])
        return Goals(new_state) if outcome[1] else Proved(new_state)

    def proof_of(self, state: ProofState) -> str:
        return render_proof(self.tree.path(state.key))

    async def run_proof(self, proof: str) -> StepOutcome:
        verdict = await self.verify(proof)
        return Proved(ProofState(key=-1, goals=())) if verdict.ok else Failed(verdict.message)

    async def verify(self, proof: str) -> Verdict:
        return await self.environment.verify(self.theorem, proof)


class LeanDojoEnvironment:
    """Searches through LeanDojo (at most ``pool_size`` Dojos at a time); verifies through the
    Lean REPL backend ``verifier``."""

    prover = ProverKind.LEAN

    def __init__(self, verifier: LeanEnvironment) -> None:
        lean_dojo()  # fail now, with install advice, not mid-run
        self.verifier = verifier
        self.limits = verifier.limits
        self._slots = asyncio.Semaphore(self.limits.pool_size)

    @contextlib.asynccontextmanager
    async def session(
        self, theorem: Theorem, tactic_timeout_s: float
    ) -> AsyncIterator[DojoSession]:
        check_statement(theorem.statement)
        dojo_entry(theorem)
        async with self._slots:
            session = DojoSession(self, theorem, tactic_timeout_s)
            try:
                await session._open()
                yield session
            finally:
                await session._close()

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        try:
            check_proof(proof, self.verifier.config.allow_native_decide)
        except UnsafeInput as exc:
            return Verdict(False, f"rejected: {exc}")
        return await self.verifier.verify(theorem, proof)

    def describe(self) -> dict[str, str | None]:
        return {**self.verifier.describe(), "lean_dojo": metadata.version("lean-dojo")}

    async def close(self) -> None:
        await self.verifier.close()
