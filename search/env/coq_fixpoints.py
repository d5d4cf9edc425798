"""No fixpoint in a proof term but a copy of a definition's own.

Coq 8.16.1's guard checker accepts some ill-founded fixpoints (rocq#20455, #20413): an
axiom-free proof of ``False``. Refusing the word ``fix`` in proofs is not enough, since Ltac
builds new fixpoints without it: ``eval cbv delta`` takes a library fixpoint out of its
constant, ``context C [...]`` rewrites a subterm of its body, and ``eval cbv beta`` splices
the result into the proof (the red team's third round did exactly this with ``EnvRing.Padd``).

So the judge reads the proof term itself, printed with every notation and implicit argument
off (``Set Printing All``) and no depth limit, and each ``fix``/``cofix`` in it must be a
subterm of the body of the definition it is named after, equal up to the names of bound
variables (Coq's ``constr_eq``, in a second file: ``check_copies``). ``unfold sum_f`` then
``induction`` puts ``sum_f``'s own fixpoint in the motive, which is as sound as ``sum_f``; a
rewritten fixpoint keeps its name but not its body, and is refused. A fixpoint named after
nothing in scope, or whose printed text Coq cannot read back, is refused too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Printing settings for the proof term and the definitions it is compared with.
PRINT_ALL = "Set Printing All.\nSet Printing Depth 1000000.\n"
_FIXPOINT = re.compile(r"\b(co)?fix\s+([A-Za-z_][\w']*)")


@dataclass(frozen=True)
class Fixpoint:
    """A ``fix``/``cofix`` node of a printed term: its bound name and its text (from the
    keyword to the end of the parenthesised group around it), whitespace normalised."""

    name: str
    text: str


def _normal(text: str) -> str:
    return " ".join(text.split())


def fixpoints(printed: str) -> list[Fixpoint]:
    """Every ``fix``/``cofix`` node of a term printed under ``PRINT_ALL`` (distinct ones)."""
    found: dict[str, Fixpoint] = {}
    for match in _FIXPOINT.finditer(printed):
        start = match.start()
        before = printed[:start].rstrip()
        end = len(printed)
        if before.endswith("("):
            depth = 1
            for index in range(start, len(printed)):
                depth += {"(": 1, ")": -1}.get(printed[index], 0)
                if depth == 0:
                    end = index
                    break
        fixpoint = Fixpoint(match.group(2), _normal(printed[start:end]))
        found.setdefault(fixpoint.text, fixpoint)
    return list(found.values())


def check_copies(fixes: list[Fixpoint], marker: str) -> str:
    """Sentences that print ``{marker}:copy:N`` for each fixpoint N (by index) that is a
    subterm of its namesake's body, equal up to bound names; after the first one that is not,
    the file stops with Coq's error."""
    goals = []
    for index, fix in enumerate(fixes):
        goals.append(
            "Goal True.\n"
            f"let body := eval cbv delta [{fix.name}] in {fix.name} in\n"
            f"let copy := constr:({fix.text}) in\n"
            "match body with context [?x] => constr_eq x copy; "
            f'idtac "{marker}:copy:{index}" end.\n'
            "exact I. Qed.\n"
        )
    return "".join(goals)


def foreign(fixes: list[Fixpoint], output: str, marker: str) -> list[str]:
    """The names of the fixpoints ``check_copies`` did not confirm in ``output``."""
    confirmed = set(re.findall(rf"{re.escape(marker)}:copy:(\d+)", output))
    return sorted({fix.name for index, fix in enumerate(fixes) if str(index) not in confirmed})
