"""Trace the proofs of installed Coq libraries into (state, tactic) pairs: a corpus to train on
and the theorems of a held-out benchmark (``coqlib``).

Each file is walked once, in one ``coqtop``, sentence by sentence, exactly as ``coqc`` would
compile it (on the library preamble only: the file's compiled module is never loaded, see
``search.env.coq_library``). Sections, modules, bullets, braces, ``Proof using`` and
``Defined`` need nothing special: the file's own text runs. Inside the proof of a lemma
(``Lemma``/``Theorem``/``Fact``/...), the goals before each tactic are recorded, printed as the
search prints them to the policy, so that training prompts match serving prompts. A lemma
whose replay breaks (a step fails or runs past its time limit) is closed with ``Admitted`` in
this process, so that the rest of the file still loads, and is reported as skipped with its
reason. Tracing a file costs about what compiling it costs, plus one ``Show`` per step.

Each file's trace is written to its own JSON file as soon as it is done, so an interrupted
run resumes where it stopped (a file whose source changed is traced again).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from search.env.coq import CoqEnvironment, UnreadableGoals, show_goals
from search.env.coq_library import (
    PROOF_END,
    Block,
    LibrarySource,
    Statement,
    section_variables,
    track_blocks,
)
from search.env.coq_syntax import is_bullet
from search.env.coqtop import CoqTop, Reply
from search.runner import run_many
from search.types import ProofState, ProverFault

#: Vernacular commands that may stand inside a proof but are no tactic of it.
_VERNACULAR = frozenset(
    re.findall(
        r"\w+",
        """Show Check Print Set Unset Hint Opaque Transparent Focus Unfocus Undo Restart Locate
        Search SearchPattern SearchRewrite About Eval Compute Typeclasses Arguments Implicit
        Local Global Existing Require Import Export Open Close Ltac Tactic Notation Infix
        Create Declare Remove Strategy Guarded Test Info Time Redirect Fail Timeout Instance
        Definition Let Fixpoint Lemma Theorem Remark Fact Corollary Proposition Example Goal""",
    )
)
#: Coq's own ``Timeout`` for one traced step; the process is given this much more before it
#: is called hung.
STEP_TIMEOUT_S = 60
_GRACE_S = 30.0
#: Any other sentence (a definition, a ``Qed`` that re-checks a long proof) may take this long.
SENTENCE_TIMEOUT_S = 180.0
#: The format of a file's trace; a trace in another format is traced again.
TRACE_FORMAT = 3


@dataclass
class TracedTheorem:
    """One lemma of a file that replayed: where it stands and its steps."""

    id: str
    module: str
    name: str
    keyword: str
    position: int
    statement: str
    module_path: str
    nameable: bool
    ended: str
    #: The proof's sentences as the file has them, bullets and braces included.
    proof: list[str]
    #: The (state, tactic) steps: the goals before each tactic, and the tactic.
    steps: list[tuple[str, str]]
    imports: list[str]
    scopes: list[str]
    #: In a section: the section variables the proof uses (None outside sections).
    section_variables: list[str] | None = None


@dataclass
class FileTrace:
    """What tracing one file gave: its theorems, and every candidate it did not give, why."""

    module: str
    digest: str
    sentences: int
    candidates: int
    theorems: list[TracedTheorem] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    stopped: str | None = None
    #: The first sentence that needed SProp (run with ``Allow StrictProp`` on, for this
    #: sentence only): the search's judge keeps SProp off, so no theorem after it can be
    #: held out in the benchmark (the corpus keeps them).
    sprop_from: int | None = None
    seconds: float = 0.0
    unreadable_steps: int = 0
    format: int = TRACE_FORMAT

    def reasons(self) -> Counter[str]:
        return Counter(reason for _, reason in self.skipped)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileTrace:
        theorems = [TracedTheorem(**t) for t in data.pop("theorems")]
        trace = cls(**data)
        trace.theorems = theorems
        trace.skipped = [tuple(s) for s in trace.skipped]  # type: ignore[misc]
        return trace


@dataclass
class _Open:
    """The lemma being traced."""

    statement: Statement
    imports: list[str]
    scopes: list[str]
    proof: list[str] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)
    failed: str | None = None


def _is_step(sentence: str) -> bool:
    """Whether a sentence inside a proof is a tactic of it (not a bullet, ``Proof``, the end,
    or a vernacular command)."""
    word = sentence.split(" ", 1)[0].rstrip(".")
    return not (
        is_bullet(sentence)
        or PROOF_END.match(sentence)
        or word == "Proof"
        or word in _VERNACULAR
    )


class _Walk:
    """The walk of one file through one coqtop (``trace_file`` drives it)."""

    def __init__(self, source: LibrarySource, coqtop: CoqTop) -> None:
        self.source = source
        self.coqtop = coqtop
        self.trace = FileTrace(
            source.logical, source.digest, len(source.sentences), len(source.statements)
        )
        self.imports: list[str] = []
        #: Open scopes with the block depth they were opened at (they close with the block).
        self.scopes: list[tuple[int, str]] = []
        #: The sections and modules open, followed as the benchmark's reader follows them.
        self.blocks: list[Block] = []
        self.proofs: tuple[str, ...] = ()
        self.current: _Open | None = None
        #: After a failed step: skip the lemma's own sentences up to its end.
        self.skipping = False

    def _id(self, statement: Statement) -> str:
        return statement.theorem_name(self.source.logical)

    def _skip(self, statement: Statement, reason: str) -> None:
        self.trace.skipped.append((self._id(statement), reason))

    async def run(self) -> FileTrace:
        for position, sentence in enumerate(self.source.sentences):
            try:
                if not await self._sentence(position, sentence):
                    break
            except ProverFault as fault:
                self.trace.stopped = f"prover fault at sentence {position}: {fault}"[:500]
                break
        if self.trace.stopped is not None:
            done = {t.position for t in self.trace.theorems}
            skipped = {i for i, _ in self.trace.skipped}
            for statement in self.source.statements:
                if statement.position not in done and self._id(statement) not in skipped:
                    self._skip(statement, "file stopped before it")
        return self.trace

    async def _sentence(self, position: int, sentence: str) -> bool:
        """Run one sentence; False when the file cannot go on."""
        if self.skipping:
            if PROOF_END.match(sentence):
                self.skipping = False
            return True
        statement = self.source.statement_at(position)
        if statement is not None and not self.proofs:
            self.current = _Open(statement, list(self.imports), [s for _, s in self.scopes])
        lemma = self.current if self.current and self.proofs else None
        step = lemma is not None and lemma.failed is None and _is_step(sentence)
        state = None
        if step:
            try:
                # The prompt text the search gives the policy for these goals.
                state = ProofState(key=-1, goals=await show_goals(self.coqtop)).text
            except UnreadableGoals:
                self.trace.unreadable_steps += 1
            reply = await self.coqtop.send(
                f"Timeout {STEP_TIMEOUT_S} {sentence}", STEP_TIMEOUT_S + _GRACE_S
            )
        else:
            reply = await self.coqtop.send(sentence, SENTENCE_TIMEOUT_S)
        if not reply.ok and "Allow StrictProp" in (reply.error or ""):
            reply = await self._with_sprop(sentence)
            if reply.ok and self.trace.sprop_from is None:
                self.trace.sprop_from = position
        if not reply.ok:
            return await self._failed(position, sentence, reply.error or "error", lemma)
        if lemma is not None:
            lemma.proof.append(sentence)
            if state is not None:
                lemma.steps.append((state, sentence))
        self._follow_structure(sentence)
        opened, self.proofs = self.proofs, reply.proofs
        if self.current is not None and opened and not self.proofs:
            await self._close(sentence)
        elif self.current is not None and not self.proofs:
            # The statement did not open a proof (or closed it at once, ``Proof term.``).
            self._skip(self.current.statement, "no proof opened")
            self.current = None
        return True

    async def _with_sprop(self, sentence: str) -> Reply:
        await self.coqtop.send("Set Allow StrictProp.", SENTENCE_TIMEOUT_S)
        try:
            return await self.coqtop.send(sentence, SENTENCE_TIMEOUT_S)
        finally:
            await self.coqtop.send("Unset Allow StrictProp.", SENTENCE_TIMEOUT_S)

    async def _failed(
        self, position: int, sentence: str, error: str, lemma: _Open | None
    ) -> bool:
        if lemma is not None:
            reason = "step timed out" if "Timeout" in error else "step failed"
            lemma.failed = reason
            # Close the lemma so the rest of the file loads; skip the rest of its proof.
            reply = await self.coqtop.send("Admitted.", SENTENCE_TIMEOUT_S)
            if not reply.ok:
                self.trace.stopped = f"could not close {lemma.statement.name}: {reply.error}"
                return False
            self._skip(lemma.statement, reason)
            self.current, self.proofs = None, reply.proofs
            self.skipping = not PROOF_END.match(sentence)
            return True
        if self.current is not None and position == self.current.statement.position:
            self._skip(self.current.statement, "statement failed")
            self.current = None
            return True
        self.trace.stopped = f"sentence {position} failed ({sentence[:80]!r}): {error}"[:500]
        return False

    async def _close(self, sentence: str) -> None:
        lemma = self.current
        assert lemma is not None
        self.current = None
        ended = sentence.split(" ", 1)[0].rstrip(".")
        if ended == "Proof":
            self._skip(lemma.statement, "proved by a term (Proof t.)")
        elif ended not in ("Qed", "Defined", "Save"):
            self._skip(lemma.statement, f"ends with {ended}")
        elif not lemma.steps:
            self._skip(lemma.statement, "no tactic steps")
        else:
            statement = lemma.statement
            variables = None
            if any(block.kind == "Section" for block in statement.blocks):
                printed = await self.coqtop.send(
                    f"Print Assumptions {statement.name}.", SENTENCE_TIMEOUT_S
                )
                variables = section_variables(printed.text)
            self.trace.theorems.append(
                TracedTheorem(
                    id=self._id(statement),
                    module=self.source.logical,
                    name=statement.name,
                    keyword=statement.keyword,
                    position=statement.position,
                    statement=statement.sentence,
                    module_path=statement.module_path,
                    nameable=statement.nameable,
                    ended=ended,
                    proof=lemma.proof,
                    steps=lemma.steps,
                    imports=lemma.imports,
                    scopes=lemma.scopes,
                    section_variables=variables,
                )
            )

    def _follow_structure(self, sentence: str) -> None:
        """Imports and open scopes, as the pairs record them."""
        words = sentence.split()
        track_blocks(self.blocks, sentence)
        depth = len(self.blocks)
        self.scopes = [(d, s) for d, s in self.scopes if d <= depth]
        if "Require" in words[:3]:
            self.imports.append(sentence)
        elif "Scope" in words[:3] and words[0] in ("Open", "Local", "Global", "#[local]",
                                                     "#[global]"):  # fmt: skip
            scope = words[-1].rstrip(".")
            self.scopes.append((0 if "lobal" in words[0] else depth, scope))
        elif words[:2] == ["Close", "Scope"]:
            scope = words[-1].rstrip(".")
            self.scopes = [(d, s) for d, s in self.scopes if s != scope]


async def trace_file(env: CoqEnvironment, module: str) -> FileTrace:
    """Walk one library file (by logical path) in a fresh library process."""
    started = time.monotonic()
    source = LibrarySource.read(module)
    worker = await env.new_worker(f"library:{module}")
    try:
        trace = await _Walk(source, worker.coqtop).run()
    finally:
        await worker.coqtop.close()
    trace.seconds = round(time.monotonic() - started, 2)
    return trace


def trace_path(out: Path, module: str) -> Path:
    return out / "files" / f"{module}.json"


def cached_trace(out: Path, module: str) -> FileTrace | None:
    """A file's trace from an earlier run, if its source, the format and the statements found
    in it are unchanged."""
    path = trace_path(out, module)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        source = LibrarySource.read(module)
    except (OSError, ValueError):
        return None
    if (data.get("digest"), data.get("format"), data.get("candidates")) != (
        source.digest,
        TRACE_FORMAT,
        len(source.statements),  # the statements this version of the reader finds
    ):
        return None
    return FileTrace.from_json(data)


def save_trace(out: Path, trace: FileTrace) -> None:
    path = trace_path(out, trace.module)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(trace), ensure_ascii=False))
    temporary.replace(path)


async def trace_library(
    env: CoqEnvironment,
    modules: list[str],
    out: Path,
    workers: int,
    on_file: Callable[[FileTrace], None] | None = None,
) -> list[FileTrace]:
    """Trace ``modules`` ``workers`` at a time, resuming from the traces already in ``out``."""

    async def one(module: str) -> FileTrace:
        trace = cached_trace(out, module)
        if trace is None:
            trace = await trace_file(env, module)
            save_trace(out, trace)
        if on_file is not None:
            on_file(trace)
        return trace

    return await run_many(modules, one, workers)
