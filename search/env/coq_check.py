"""The whole-file check: the only judge of whether a Coq proof counts.

A proof found step by step in ``coqtop`` is re-checked here as a file compiled by ``coqc``:
preamble + header + the unchanged statement + ``Proof.`` + the script + ``Qed.``, then
``Print Assumptions`` of the theorem, whose axioms must all be on the allow-list. The output of
``Print Assumptions`` is read only after a random marker printed by our own trailer, so a
proof script cannot forge it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence

from search.env.coq_syntax import (
    check_header,
    check_statement,
    parse_proof,
    statement_identifiers,
)
from search.env.process import kill_group, memory_limiter
from search.types import Theorem, UnsafeInput, Verdict

#: Axioms of Coq's standard library that a MiniF2F proof may rest on, fully qualified. Reals
#: are built on the first two; the rest are the standard classical and extensionality axioms.
ALLOWED_AXIOMS = frozenset(
    {
        "Coq.Reals.ClassicalDedekindReals.sig_forall_dec",
        "Coq.Reals.ClassicalDedekindReals.sig_not_dec",
        "Coq.Logic.FunctionalExtensionality.functional_extensionality_dep",
        "Coq.Logic.Classical_Prop.classic",
        "Coq.Logic.PropExtensionality.propositional_extensionality",
        "Coq.Logic.ProofIrrelevance.proof_irrelevance",
        "Coq.Logic.Eqdep.Eq_rect_eq.eq_rect_eq",
        "Coq.Logic.ClassicalEpsilon.constructive_indefinite_description",
        "Coq.Logic.IndefiniteDescription.constructive_indefinite_description",
    }
)


def axiom_allowed(printed: str, allowed: frozenset[str] = ALLOWED_AXIOMS) -> bool:
    """Coq prints the shortest unambiguous suffix of an axiom's path; match it on dot
    boundaries. Sound because headers may not declare axioms (``coq_syntax``), so every
    axiom in scope comes from an installed library."""
    return any(full == printed or full.endswith("." + printed) for full in allowed)


#: Loaded before every header, in search and check alike: Coq 8.16's ``lia``/``nia`` and
#: ``lra``/``nra`` need these and most MiniF2F-Coq headers do not import them. The ``Zify*``
#: modules teach ``lia``'s front end ``Nat.modulo``/``Nat.div``, ``N`` and ``^`` with
#: constant exponents, and booleans (``n mod 7 = 5 -> 5 * n mod 7 = 4`` becomes one ``lia``).
DEFAULT_PREAMBLE = ("From Coq Require Import Lia Lra Psatz Field ZifyNat ZifyN ZifyPow ZifyBool.",)
HAMMER_PREAMBLE = "From Hammer Require Import Tactics."


def render_script(sentences: Sequence[str]) -> str:
    """The tactic script as it goes between ``Proof.`` and ``Qed.``: one sentence per line."""
    return "\n".join(sentences)


def render_source(
    theorem: Theorem, sentences: Sequence[str], preamble: Sequence[str], marker: str
) -> str:
    """The exact file ``coqc`` compiles for ``theorem`` with the given proof sentences."""
    name = check_statement(theorem.statement)
    return (
        "\n".join(preamble)
        + "\n"
        + theorem.header.rstrip()
        + "\n\n"
        + theorem.statement.strip()
        + "\nProof.\n"
        + render_script(sentences)
        + "\nQed.\n\n"
        + f'Goal True. idtac "{marker}". exact I. Qed.\n'
        + f"Print Assumptions {name}.\n"
    )


def parse_assumptions(output: str, marker: str) -> tuple[str, ...] | None:
    """What ``Print Assumptions`` printed after ``marker``; None if it cannot be read.

    Items of sections other than ``Axioms`` (``Section Variables``, ...) come back prefixed
    with their section, so that no allow-list admits them.
    """
    at = output.rfind(marker)
    if at < 0:
        return None
    tail = output[at + len(marker) :].strip()
    if tail == "Closed under the global context":
        return ()
    names: list[str] = []
    section: str | None = None
    for line in tail.splitlines():
        if not line.strip() or line[0].isspace():
            continue
        if line.endswith(":") and " : " not in line:
            section = line[:-1].strip()
            continue
        if section is None:
            return None
        name = line.split(" : ", 1)[0].strip()
        names.append(name if section == "Axioms" else f"{section}: {name}")
    return tuple(names) if section is not None else None


def coqc_binary() -> str:
    path = shutil.which("coqc")
    if path is None:
        raise FileNotFoundError(
            "coqc not found on PATH; install Coq 8.16: apt-get install -y coq libcoq-stdlib"
        )
    return path


async def check_with_coqc(
    theorem: Theorem,
    proof: str,
    *,
    preamble: Sequence[str] = DEFAULT_PREAMBLE,
    allowed_axioms: frozenset[str] = ALLOWED_AXIOMS,
    timeout_s: float = 120.0,
    memory_bytes: int = 4 * 1024**3,
) -> Verdict:
    """Compile ``theorem`` with ``proof`` in a fresh temp dir and judge it.

    ``proof`` is the script between ``Proof.`` and ``Qed.``. Returns a ``Verdict``; never
    raises for a bad proof (a bad proof is an expected outcome), only for a missing ``coqc``.
    """
    try:
        check_header(theorem.header)
        sentences = parse_proof(proof, statement_identifiers(theorem.statement))
        marker = f"dcoprover-assumptions-{secrets.token_hex(8)}"
        source = render_source(theorem, sentences, preamble, marker)
    except UnsafeInput as exc:
        return Verdict(ok=False, message=f"rejected before checking: {exc}")
    with tempfile.TemporaryDirectory(prefix="dcoprover-coqc-") as tmp:
        path = os.path.join(tmp, "Checked.v")
        with open(path, "w") as handle:
            handle.write(source)
        proc = await asyncio.create_subprocess_exec(
            coqc_binary(),
            "-q",
            "Checked.v",
            cwd=tmp,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=memory_limiter(memory_bytes),
            start_new_session=True,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
        except asyncio.CancelledError:
            kill_group(proc)  # a cancelled job must not leave coqc (and its csdp) running
            raise
        except TimeoutError:
            kill_group(proc)
            await proc.wait()
            return Verdict(
                ok=False, message=f"coqc ran past {timeout_s:.0f}s", checked_source=source
            )
    output = out.decode(errors="replace")
    if proc.returncode != 0:
        error = re.search(r"Error:(.*)", output, re.DOTALL)
        reason = " ".join((error.group(1) if error else output[-500:]).split())
        return Verdict(
            ok=False, message=f"coqc rejected the proof: {reason}", checked_source=source
        )
    axioms = parse_assumptions(output, marker)
    if axioms is None:
        return Verdict(ok=False, message="no Print Assumptions output", checked_source=source)
    extra = sorted(name for name in set(axioms) if not axiom_allowed(name, allowed_axioms))
    if extra:
        return Verdict(
            ok=False,
            message=f"proof depends on axioms outside the allow-list: {', '.join(extra)}",
            checked_source=source,
            axioms=axioms,
        )
    return Verdict(ok=True, message="accepted by coqc", checked_source=source, axioms=axioms)


@functools.cache
def coq_version() -> str | None:
    """``coqtop -v``'s version number (recorded with results), None when Coq is missing."""
    try:
        out = subprocess.run(["coqtop", "-v"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"version (\S+)", out)
    return match.group(1) if match else None
