"""The whole-file check: the only judge of whether a Coq proof counts.

A proof found step by step in ``coqtop`` is re-checked here as a file compiled by ``coqc``:
preamble + header + the unchanged statement + ``Proof.`` + the script + ``Qed.``, then a
trailer of our own that

* fails unless every proof and section is closed (``Module`` is refused inside either: coqc
  itself accepts a file that ends inside an outer proof once a nested one has closed);
* asks ``Print Assumptions`` about ``Checked.NAME``, the constant the statement declared in
  this file (``Fail Check Checked.NAME`` before the statement proves nothing else had it);
* asks ``Locate`` for the shortest name of each allowed axiom *at that point*: Coq prints an
  axiom by its shortest unambiguous name, so a printed name that equals the shortest name of
  ``Coq.Logic.Classical_Prop.classic`` is that axiom and no other; a user's ``classic`` or a
  module shadowing ``Classical_Prop`` prints differently and is refused;
* prints the proof term, so that a fixpoint in it must be a copy of a definition's own
  (``coq_fixpoints``: Coq 8.16's guard checker accepts some ill-founded ones).

Everything the trailer prints is read only after random markers, so a proof cannot forge it.
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

from search.env.coq_fixpoints import PRINT_ALL, check_copies, fixpoints, foreign
from search.env.coq_library import (
    LIBRARY_PREAMBLE,
    LibraryContext,
    LibraryError,
    library_context,
    load_path_args,
)
from search.env.coq_syntax import (
    check_header,
    check_statement,
    parse_proof,
    statement_identifiers,
    statement_sentence,
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


#: Loaded before every header, in search and check alike: Coq 8.16's ``lia``/``nia`` and
#: ``lra``/``nra`` need these and most MiniF2F-Coq headers do not import them. The ``Zify*``
#: modules teach ``lia``'s front end ``Nat.modulo``/``Nat.div``, ``N`` and ``^`` with
#: constant exponents, and booleans (``n mod 7 = 5 -> 5 * n mod 7 = 4`` becomes one ``lia``).
#: ``Unset Allow StrictProp`` first: Coq 8.16's SProp conversion bugs (rocq#22378, #21690) need
#: SProp, which a header can reach without naming it (a universe inferred by unification, the
#: generated ``_sind`` schemes); with the flag off Coq itself refuses every use of it.
DEFAULT_PREAMBLE = (
    "Unset Allow StrictProp.",
    "From Coq Require Import Lia Lra Psatz Field ZifyNat ZifyN ZifyPow ZifyBool.",
)
HAMMER_PREAMBLE = "From Hammer Require Import Tactics."


def render_script(sentences: Sequence[str]) -> str:
    """The tactic script as it goes between ``Proof.`` and ``Qed.``: one sentence per line."""
    return "\n".join(sentences)


#: The file's name, hence its library's: the statement declares ``Checked.NAME``.
LIBRARY = "Checked"


def render_source(
    theorem: Theorem,
    sentences: Sequence[str],
    preamble: Sequence[str],
    marker: str,
    allowed_axioms: Sequence[str] = ALLOWED_AXIOMS,
    header: Sequence[str] | None = None,
    library: LibraryContext | None = None,
) -> str:
    """The exact file ``coqc`` compiles for ``theorem`` with the given proof sentences:
    ``header`` is the header's sentences as ``check_header`` returned them (the statement,
    too, goes in as checked, without its comments). A library theorem's context replaces the
    header, and the sections open at its statement are closed after ``Qed``."""
    if header is None and library is not None:
        header = library.sentences
    prefix = library.module_path if library else ""
    library_name = library.module if library else LIBRARY
    name = f"{library_name}.{prefix}{check_statement(theorem.statement)}"
    locates = "".join(
        f"{_print(f'{marker}:locate:{axiom}')}Locate Term {axiom}.\n"
        for axiom in sorted(allowed_axioms)
    )
    return (
        render_context(preamble, check_header(theorem.header) if header is None else header)
        + f"\n\nFail Check {name}.\n"
        + statement_sentence(theorem.statement)
        + f"\n{library.proof_opener if library else 'Proof.'}\n"
        + render_script(sentences)
        + "\nQed.\n"
        + "".join(f"{closer}\n" for closer in (library.closers if library else ()))
        + f"\nModule {marker.replace('-', '_')}. End {marker.replace('-', '_')}.\n"
        + _print(f"{marker}:assumptions")
        + f"Print Assumptions {name}.\n"
        + locates
        + _print(f"{marker}:term")
        + PRINT_ALL
        + f"Print {name}.\n"
        + _print(f"{marker}:end")
    )


def render_context(preamble: Sequence[str], header: Sequence[str]) -> str:
    """What comes before the statement: the preamble, then the header's checked sentences."""
    return "\n".join(preamble) + "\n" + "\n".join(header)


def _print(text: str) -> str:
    """A sentence that prints ``text`` on a line of its own (vernacular cannot print)."""
    return f'Goal True. idtac "{text}". exact I. Qed.\n'


def _between(output: str, start: str, end: str) -> str | None:
    at = output.find(start + "\n")
    stop = output.find(end, at)
    if at < 0 or stop < 0:
        return None
    return output[at + len(start) : stop].strip()


def parse_assumptions(text: str) -> tuple[str, ...] | None:
    """The names ``Print Assumptions`` printed (its output, ``text``); None if unreadable.

    Items of sections other than ``Axioms`` (``Section Variables``, ...) come back prefixed
    with their section, and lines that are not ``name : type`` (``f is assumed to be
    guarded.``) come back whole, so that no allow-list admits them.
    """
    if text == "Closed under the global context":
        return ()
    names: list[str] = []
    section: str | None = None
    for line in text.splitlines():
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


_LOCATED = re.compile(
    r"^\w+ (?P<path>\S+)(?: \(shorter name to refer to it in current context is (?P<short>\S+)\))?"
)


def shortest_name(locate_output: str, full_name: str) -> str | None:
    """The name Coq prints for ``full_name`` here, read from ``Locate Term full_name``'s
    output (None when no such constant is loaded)."""
    entries = re.split(r"\n(?=\S)", locate_output.strip())
    for entry in entries:
        match = _LOCATED.match(" ".join(entry.split()))
        if match and match["path"] == full_name:
            return match["short"] or full_name
    return None


def resolve_axioms(
    output: str, marker: str, allowed_axioms: frozenset[str]
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Read the trailer's output: (axioms by full name, printed names that are no allowed
    axiom). None when the trailer's output is missing or unreadable."""
    text = _between(output, f"{marker}:assumptions", f"{marker}:locate:")
    printed = None if text is None else parse_assumptions(text)
    if printed is None:
        return None
    ordered = sorted(allowed_axioms)
    by_printed: dict[str, str] = {}
    for axiom, following in zip(ordered, [*ordered[1:], None], strict=True):
        end = f"{marker}:locate:{following}" if following else f"{marker}:term"
        located = _between(output, f"{marker}:locate:{axiom}", end)
        if located is None:
            return None
        short = shortest_name(located, axiom)
        if short is not None:
            by_printed[short] = axiom
    resolved = tuple(by_printed.get(name, name) for name in printed)
    refused = tuple(name for name in printed if name not in by_printed)
    return resolved, refused


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
    library_extras: Sequence[str] = (),
) -> Verdict:
    """Compile ``theorem`` with ``proof`` in a fresh temp dir and judge it.

    ``proof`` is the script between ``Proof.`` and ``Qed.``. Returns a ``Verdict``; never
    raises for a bad proof (a bad proof is an expected outcome), only for a missing ``coqc``.
    A library theorem (``theorem.library``) is checked in its file's context, after the
    library preamble instead of ``preamble``, followed by ``library_extras``.
    """
    library = None
    try:
        if theorem.library is not None:
            if theorem.header.strip():
                raise UnsafeInput("a library theorem has its file's context, not a header")
            library = library_context(theorem.library, theorem.statement)
            preamble, header = LIBRARY_PREAMBLE, [*library.sentences, *library_extras]
        else:
            header = check_header(theorem.header)
        sentences = parse_proof(proof, statement_identifiers(theorem.statement))
        marker = f"dcoprover-{secrets.token_hex(8)}"
        source = render_source(
            theorem, sentences, preamble, marker, allowed_axioms, header, library
        )
    except (UnsafeInput, LibraryError) as exc:
        return Verdict(ok=False, message=f"rejected before checking: {exc}")
    context = render_context(preamble, header)
    return await judge_source(
        source, marker, allowed_axioms, timeout_s, memory_bytes, context,
        library.module if library else LIBRARY, library.unclosed_message() if library else None,
    )  # fmt: skip


async def compile_coq(
    source: str, timeout_s: float, memory_bytes: int, library: str = LIBRARY
) -> tuple[int, str, str]:
    """``coqc`` on ``source`` in a fresh temporary directory: (exit code, stdout, stderr).
    The file is compiled as the library module ``library`` (a library theorem's file under its
    own name, so that the file's references to itself, ``QArith_base.Qnum``, resolve; and a
    context that loaded the installed module would be refused, "inconsistent assumptions").
    Raises ``TimeoutError`` after ``timeout_s`` (the process group is killed)."""
    directory, _, basename = library.rpartition(".")
    bind = (*load_path_args(library), "-Q", ".", directory) if directory else ()
    with tempfile.TemporaryDirectory(prefix="dcoprover-coqc-") as tmp:
        path = os.path.join(tmp, f"{basename}.v")
        with open(path, "w") as handle:
            handle.write(source)
        proc = await asyncio.create_subprocess_exec(
            coqc_binary(),
            "-q",
            *bind,
            f"{basename}.v",
            cwd=tmp,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=memory_limiter(memory_bytes),
            start_new_session=True,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
        except asyncio.CancelledError:
            kill_group(proc)  # a cancelled job must not leave coqc (and its csdp) running
            raise
        except TimeoutError:
            kill_group(proc)
            await proc.wait()
            raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace").strip()


async def judge_source(
    source: str,
    marker: str,
    allowed_axioms: frozenset[str],
    timeout_s: float,
    memory_bytes: int,
    context: str,
    library: str = LIBRARY,
    unclosed: str | None = None,
) -> Verdict:
    """Compile a file built by ``render_source`` and read the verdict off its trailer (and,
    when the proof term has fixpoints, the definitions they are named after, in ``context``:
    the preamble and header). This layer does not rely on the static checks: what it refuses,
    it refuses on Coq's word."""

    def verdict(ok: bool, message: str, **fields) -> Verdict:
        return Verdict(ok=ok, message=message, checked_source=source, **fields)

    try:
        code, output, messages = await compile_coq(source, timeout_s, memory_bytes, library)
        if (
            code != 0
            and unclosed is not None
            and messages.endswith(unclosed)
            and messages.count("Error:") == 1
        ):
            # A library theorem's modules stay open (see ``LibraryContext``): coqc's one
            # error, at the end of the file, after everything else was accepted (coqc stops
            # at its first error; warnings may come before it).
            code = 0
    except TimeoutError:
        return verdict(False, f"coqc ran past {timeout_s:.0f}s", fault=True)
    if code != 0:
        reason = _reason(messages or output)
        return verdict(False, f"coqc rejected the proof: {reason}", prover_messages=messages)
    found = resolve_axioms(output, marker, allowed_axioms)
    if found is None:
        return verdict(False, "no Print Assumptions output", prover_messages=messages)
    axioms, refused = found
    if refused:
        return verdict(
            False,
            f"proof depends on axioms outside the allow-list: {', '.join(refused)}",
            axioms=axioms,
            prover_messages=messages,
        )
    term = _between(output, f"{marker}:term", f"{marker}:end")
    if term is None:
        return verdict(False, "no proof term printed", prover_messages=messages)
    fixes = fixpoints(term)
    if fixes:
        copies = f"{context}\n{check_copies(fixes, marker)}"
        try:
            _, checked, _ = await compile_coq(copies, timeout_s, memory_bytes, library)
        except TimeoutError:
            return verdict(False, f"coqc ran past {timeout_s:.0f}s", fault=True)
        strangers = foreign(fixes, checked, marker)
        if strangers:
            return verdict(
                False,
                "the proof term has a fixpoint that is no copy of a definition's own "
                f"({', '.join(strangers)}): Coq 8.16's guard checker accepts ill-founded ones",
                axioms=axioms,
                prover_messages=messages,
            )
    return verdict(True, "accepted by coqc", axioms=axioms, prover_messages=messages)


def _reason(output: str) -> str:
    """coqc's error, in words that say which of our guards refused the file."""
    error = re.search(r"Error:(.*)", output, re.DOTALL)
    reason = " ".join((error.group(1) if error else output[-500:]).split())
    if "The command has not failed" in reason:
        return "the header already defines the theorem's name (" + reason + ")"
    if "Open proofs remain" in reason or "not allowed inside sections" in reason:
        return "a proof or section is still open after the theorem (" + reason + ")"
    return reason


@functools.cache
def coq_version() -> str | None:
    """``coqtop -v``'s version number (recorded with results), None when Coq is missing."""
    try:
        out = subprocess.run(["coqtop", "-v"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"version (\S+)", out)
    return match.group(1) if match else None
