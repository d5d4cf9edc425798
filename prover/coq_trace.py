"""Trace Coq's own standard-library proofs into (goal, tactic) pairs: real training data that
is available offline wherever Coq is installed.

Each top-level ``Lemma``/``Theorem``/... of a library file whose proof is ``Proof. ... Qed.``
is replayed step by step in the Coq backend (the same sessions the search uses), and the goals
before each tactic are recorded, printed exactly as the search will show them to the policy.
The header is the file's own module (``Require Import Coq.Bool.Bool.``) plus the scopes the
file opened so far; the lemma is renamed (``trace_<name>``) so it does not clash with the
compiled one. Bullets and braces are dropped (they only focus; the tactics act on the first
goal either way). A lemma that does not replay exactly (a step fails, is not a plain tactic,
or the proof does not end where the script ends) is skipped, so every pair comes from a
proof Coq accepted.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from search.env.base import ProofEnvironment
from search.env.coq_syntax import (
    STATEMENT_KEYWORDS,
    is_bullet,
    split_sentences,
    strip_comments,
)
from search.types import Failed, Goals, Proved, ProverFault, Theorem, UnsafeInput

#: Library files with many top-level lemmas whose proofs are plain tactic scripts.
DEFAULT_FILES = (
    "Bool/Bool.v",
    "Arith/Compare_dec.v",
    "Arith/EqNat.v",
    "Arith/Wf_nat.v",
    "Arith/Cantor.v",
    "Logic/Decidable.v",
)

_OPENS = re.compile(r"^(?:Local |Global )?Open Scope\b|^(?:From \S+ )?Require (?:Import|Export)\b")
_DECLARED = re.compile(r"^(\w+)\s+([A-Za-z_][\w']*)")
_BLOCK = re.compile(r"^(?:Section|Module(?! Type)|Module Type)\s+[\w']+(?!.*:=)")


@dataclass(frozen=True)
class LibraryLemma:
    theorem: Theorem
    tactics: tuple[str, ...]


def stdlib_root() -> Path:
    """Coq's ``theories`` folder, as ``coqc -where`` reports it."""
    try:
        where = subprocess.run(["coqc", "-where"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise FileNotFoundError(f"coqc not found ({exc}); install Debian's coq") from None
    return Path(where.stdout.strip()) / "theories"


def library_lemmas(root: Path, relative: str) -> Iterator[LibraryLemma]:
    """The top-level lemmas of ``root/relative`` with plain ``Proof. ... Qed.`` scripts."""
    path = root / relative
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such Coq library file")
    module = "Coq." + relative.removesuffix(".v").replace("/", ".")
    header = [f"Require Import {module}."]
    sentences = [" ".join(s.split()) for s in split_sentences(strip_comments(path.read_text()))]
    depth, i = 0, 0
    while i < len(sentences):
        sentence = sentences[i]
        i += 1
        if _BLOCK.match(sentence):
            depth += 1
        elif sentence.startswith("End "):
            depth = max(0, depth - 1)
        elif depth == 0 and _OPENS.match(sentence):
            header.append(sentence)
        elif depth == 0 and sentence.split(" ", 1)[0] in STATEMENT_KEYWORDS:
            if i >= len(sentences) or sentences[i] != "Proof.":
                continue
            end = next(
                (
                    j
                    for j in range(i + 1, len(sentences))
                    if sentences[j] in ("Qed.", "Defined.", "Admitted.", "Abort.")
                ),
                None,
            )
            if end is None:
                return
            script = sentences[i + 1 : end]
            i = end + 1
            if sentences[end] != "Qed." or not script:
                continue
            declared = _DECLARED.match(sentence)
            if declared is None:
                continue
            name = declared.group(2)
            statement = _DECLARED.sub(r"\1 trace_\2", sentence, count=1)
            theorem = Theorem(
                name=f"trace_{name}",
                header="\n".join(header),
                statement=statement,
                source=f"{relative}:{name}",
            )
            yield LibraryLemma(theorem, tuple(s for s in script if not is_bullet(s)))


async def trace_lemma(
    env: ProofEnvironment, lemma: LibraryLemma, tactic_timeout_s: float = 10.0
) -> list[dict[str, str]] | None:
    """(state, tactic) rows of one lemma, or None when it does not replay exactly."""
    rows = []
    try:
        async with env.session(lemma.theorem, tactic_timeout_s) as session:
            state = session.root
            for index, tactic in enumerate(lemma.tactics):
                outcome = await session.apply(state, tactic)
                if isinstance(outcome, Failed):
                    return None
                rows.append(
                    {
                        "state": state.text,
                        "tactic": tactic,
                        "theorem": lemma.theorem.source or lemma.theorem.name,
                    }
                )
                state = outcome.state
                if isinstance(outcome, Proved):
                    return rows if index == len(lemma.tactics) - 1 else None
                assert isinstance(outcome, Goals)
    except (ProverFault, UnsafeInput):
        return None
    return None
