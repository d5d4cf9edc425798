"""The whole-file check: the only judge of whether a Coq proof counts.

A proof found step by step in ``coqtop`` is re-checked here as a file compiled by ``coqc``:
preamble + header + the unchanged statement + ``Proof.`` + the script + ``Qed.``, then
``Print Assumptions`` of the theorem, whose axioms must all be on the allow-list. The output of
``Print Assumptions`` is read only after a random marker printed by our own trailer, so a
proof script cannot forge it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import tempfile
from collections.abc import Sequence

from search.env.coq_syntax import check_header, check_statement, parse_proof
from search.env.coqtop import memory_limiter
from search.types import Theorem, UnsafeInput, Verdict

#: Axioms of Coq's standard library that a MiniF2F proof may rest on. Reals are built on the
#: first two; the rest are the standard classical and extensionality axioms.
ALLOWED_AXIOMS = frozenset(
    {
        "ClassicalDedekindReals.sig_forall_dec",
        "ClassicalDedekindReals.sig_not_dec",
        "FunctionalExtensionality.functional_extensionality_dep",
        "Classical_Prop.classic",
        "PropExtensionality.propositional_extensionality",
        "ProofIrrelevance.proof_irrelevance",
        "Eqdep.Eq_rect_eq.eq_rect_eq",
        "ClassicalEpsilon.constructive_indefinite_description",
        "IndefiniteDescription.constructive_indefinite_description",
    }
)

#: Loaded before every header, in search and check alike: Coq 8.16's ``lia``/``nia`` and
#: ``lra``/``nra`` need these and most MiniF2F-Coq headers do not import them.
DEFAULT_PREAMBLE = ("From Coq Require Import Lia Lra Psatz Field.",)
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
    """Axiom names printed by ``Print Assumptions`` after ``marker``; None if not found."""
    at = output.rfind(marker)
    if at < 0:
        return None
    tail = output[at + len(marker) :]
    if "Closed under the global context" in tail:
        return ()
    if "Axioms:" not in tail:
        return None
    body = tail.split("Axioms:", 1)[1]
    names = [
        line.split(" : ", 1)[0].strip()
        for line in body.splitlines()
        if line and not line[0].isspace()
    ]
    return tuple(names)


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
        sentences = parse_proof(proof)
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
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
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
    extra = sorted(set(axioms) - allowed_axioms)
    if extra:
        return Verdict(
            ok=False,
            message=f"proof depends on axioms outside the allow-list: {', '.join(extra)}",
            checked_source=source,
            axioms=axioms,
        )
    return Verdict(ok=True, message="accepted by coqc", checked_source=source, axioms=axioms)
