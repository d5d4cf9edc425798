"""The Lean REPL's replies, parsed, and what each one means for a search.

Protocol facts (``shared/docs/lean-repl.md``; pinned by the recorded pairs in
``shared/fixtures/lean-repl``): a command reply carries ``env`` and, when non-empty,
``messages`` and ``sorries``; a tactic reply carries ``proofState``, ``goals``,
``proofStatus`` and possibly ``messages``/``sorries``; a protocol error is ``{"message": ...}``.

The traps this module exists for: Lean recovers from a failing tactic with a synthetic
``sorry`` (an error message, ``goals: []``, ``proofStatus: "Incomplete: contains sorry"``), so
an empty goal list is not a proof; only ``"Completed"`` without an error is. And a step that
opens a ``sorry`` of its own (``have h : P := sorry``) has not proved anything either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from search.types import Failed, ProverCrash

COMPLETED = "Completed"
OPEN_GOALS = "Incomplete: open goals remain"
#: Axioms a Lean proof may use: the three of Lean's core that Mathlib relies on.
ALLOWED_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
_DEPENDS = re.compile(r"'(?P<name>.+?)' depends on axioms:\s*\[(?P<axioms>[^\]]*)\]")
_NO_AXIOMS = re.compile(r"'(?P<name>.+?)' does not depend on any axioms")
_STALE = ("Unknown proof state", "Unknown environment")


@dataclass(frozen=True)
class Message:
    """A Lean message; ``line`` is 1-based in the command's own text (0: not located)."""

    severity: str
    data: str
    line: int = 0


@dataclass(frozen=True)
class Sorry:
    goal: str
    proof_state: int | None


class _WithMessages:
    messages: tuple[Message, ...]

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.severity == "error"]


@dataclass(frozen=True)
class CommandReply(_WithMessages):
    """The reply to ``{"cmd": ...}``: the new environment id and what Lean said."""

    env: int
    messages: tuple[Message, ...]
    sorries: tuple[Sorry, ...]


@dataclass(frozen=True)
class TacticReply(_WithMessages):
    """The reply to ``{"tactic": ..., "proofState": n}``."""

    proof_state: int
    goals: tuple[str, ...]
    proof_status: str | None
    messages: tuple[Message, ...]
    sorries: tuple[Sorry, ...]


@dataclass(frozen=True)
class ProtocolMessage:
    """``{"message": ...}``: the REPL refused the request (unknown state, Lean exception)."""

    text: str

    @property
    def stale(self) -> bool:
        """The request named a state or environment this process does not have."""
        return self.text.startswith(_STALE)


@dataclass(frozen=True)
class TacticProgress:
    """A tactic that ran cleanly: the REPL's new state id and its goals."""

    proof_state: int
    goals: tuple[str, ...]

    @property
    def completed(self) -> bool:
        return not self.goals


Reply = CommandReply | TacticReply | ProtocolMessage


def _messages(raw: Any) -> tuple[Message, ...]:
    return tuple(
        Message(
            severity=str(m.get("severity", "error")),
            data=str(m.get("data", "")),
            line=int((m.get("pos") or {}).get("line", 0)),
        )
        for m in raw or ()
    )


def _sorries(raw: Any) -> tuple[Sorry, ...]:
    return tuple(
        Sorry(goal=str(s.get("goal", "")), proof_state=s.get("proofState")) for s in raw or ()
    )


def parse_reply(obj: Any) -> Reply:
    """Type one decoded reply; raises ``ProverCrash`` for anything the protocol cannot produce."""
    if not isinstance(obj, dict):
        raise ProverCrash(f"Lean REPL reply is not a JSON object: {str(obj)[:200]}")
    try:
        if "message" in obj and "env" not in obj and "proofState" not in obj:
            return ProtocolMessage(str(obj["message"]))
        if "proofState" in obj and "env" not in obj:
            return TacticReply(
                proof_state=int(obj["proofState"]),
                goals=tuple(str(g) for g in obj.get("goals") or ()),
                proof_status=obj.get("proofStatus"),
                messages=_messages(obj.get("messages")),
                sorries=_sorries(obj.get("sorries")),
            )
        if "env" in obj:
            return CommandReply(
                env=int(obj["env"]),
                messages=_messages(obj.get("messages")),
                sorries=_sorries(obj.get("sorries")),
            )
    except (TypeError, ValueError, AttributeError) as exc:
        raise ProverCrash(f"malformed Lean REPL reply ({exc}): {str(obj)[:200]}") from None
    raise ProverCrash(f"unrecognised Lean REPL reply: {str(obj)[:200]}")


def tactic_outcome(reply: Reply) -> TacticProgress | Failed:
    """What a tactic step achieved. Faults (a stale state id, a reply of the wrong kind)
    raise ``ProverCrash``: the session then restarts and replays."""
    if isinstance(reply, ProtocolMessage):
        if reply.stale:
            raise ProverCrash(f"Lean REPL lost a state: {reply.text}")
        return Failed(reply.text.removeprefix("Lean error:").strip())
    if not isinstance(reply, TacticReply):
        raise ProverCrash(f"expected a tactic reply, got {reply}")
    if reply.errors:
        return Failed(reply.errors[0].data)
    if reply.sorries:
        return Failed("the step left a goal to `sorry`")
    if reply.proof_status == COMPLETED and not reply.goals:
        return TacticProgress(reply.proof_state, ())
    if reply.proof_status == OPEN_GOALS and reply.goals:
        return TacticProgress(reply.proof_state, reply.goals)
    return Failed(f"proof status: {reply.proof_status or 'not reported (REPL too old?)'}")


def command_problems(reply: Reply) -> list[str]:
    """Why a whole-proof command does not prove its theorem ([] when it does, so far)."""
    if isinstance(reply, ProtocolMessage):
        return [reply.text]
    if not isinstance(reply, CommandReply):
        raise ProverCrash(f"expected a command reply, got {reply}")
    problems = [f"line {m.line}: {m.data}" for m in reply.errors]
    if reply.sorries or any("sorry" in m.data for m in reply.messages if m.severity == "warning"):
        problems.append("the proof uses `sorry`")
    return problems


def parse_axioms(reply: Reply, name: str) -> tuple[str, ...]:
    """The axioms ``#print axioms name`` reports for exactly ``name`` (``()`` for none).

    Lean prints ``'N' depends on axioms: [a, b]`` or ``'N' does not depend on any axioms``
    with ``N`` fully qualified, one report per constant the name resolves to (an opened
    namespace can add others): only the report for ``name`` itself counts, and there must be
    exactly one.
    """
    if not isinstance(reply, CommandReply):
        raise ProverCrash(f"#print axioms: unexpected reply {reply}")
    if reply.errors:
        raise ProverCrash(f"#print axioms {name} failed: {reply.errors[0].data}")
    found: list[tuple[str, ...]] = []
    for message in reply.messages:
        if message.severity != "info":
            continue
        text = " ".join(message.data.split())
        for match in _DEPENDS.finditer(text):
            if match["name"] == name:
                found.append(tuple(a.strip() for a in match["axioms"].split(",") if a.strip()))
        found += [() for match in _NO_AXIOMS.finditer(text) if match["name"] == name]
    if len(found) != 1:
        raise ProverCrash(f"#print axioms {name}: {len(found)} reports for it, not one")
    return found[0]
