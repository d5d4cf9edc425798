"""Coq library files as benchmark material: where they are, their sentences, and the context
a theorem of a file is proved in.

A theorem of file F is proved in the environment of F up to that theorem: F's own sentences
before it (its ``Require``s, definitions, notations, scopes, sections and earlier lemmas, with
their proofs), replayed from F's source text. F's compiled module is never loaded: loading it
would make the theorem itself, and every later lemma of F, available (``exact orb_comm``
would "prove" ``orb_comm``). Nothing else that a context loads can contain F either, since
Coq's ``Require`` graph has no cycles; for the same reason the search's automation preamble
(``Lia`` and friends, which load much of the standard library) is not loaded for library
theorems, only ``Unset Allow StrictProp``.

**What is trusted, and why that is safe.** A library context is Coq source that the search
runs unchecked (no header allow-list): it is read from the installed library's own ``.v``
file, found by its logical path under ``coqc -where``, and only when the file's SHA-256 equals
the digest the benchmark manifest recorded and the sentence at the recorded position is the
recorded statement. A user cannot supply a context: the API and the CLI name library theorems
only by benchmark and name, and resolve them here. The proof stays untrusted and passes every
check of the soundness rules; the whole-file ``coqc`` check replays the same context, closes
the sections open at the theorem (``End``; modules stay open), and asks ``Print Assumptions`` about
the theorem's full name, so an earlier lemma counts as a lemma and only the allow-listed
axioms pass.
"""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from search.env.coq_syntax import STATEMENT_KEYWORDS, split_sentences, strip_comments
from search.types import LibraryRef, Theorem

#: What a process for library theorems loads first: no automation (see the module's text).
LIBRARY_PREAMBLE = ("Unset Allow StrictProp.",)
#: Loaded after a library theorem's context for CoqHammer's ``hammer`` (a baseline): only for
#: theorems of files it does not load itself (``modules_loaded_by``).
LIBRARY_HAMMER = ("From Hammer Require Import Hammer.",)

_BLOCK_START = re.compile(
    r"^(?P<kind>Section|Module Type|Module|Declare Module)\s+"
    r"(?:(?:Import|Export)\s+)?(?P<name>[A-Za-z_][\w']*)(?P<rest>.*)$",
    re.DOTALL,
)
_WITH_CLAUSE = re.compile(r"\bwith\s+(?:Module|Definition)\s+[\w'.]+\s*:=\s*[\w'.]+")
_END = re.compile(r"^End\s+(?P<name>[A-Za-z_][\w']*)\s*\.$")
#: Sentences that end a proof.
PROOF_END = re.compile(r"^(?:Qed|Defined|Admitted|Abort|Save)\b")
_DECLARED = re.compile(
    r"^(?:(?:Local|Global|#\[[^\]]*\])\s+)?(?P<keyword>\w+)\s+(?P<name>[A-Za-z_][\w']*)"
)


class LibraryError(ValueError):
    """A library file or theorem that cannot be found or no longer matches its manifest."""


@functools.cache
def coq_root() -> Path:
    """Coq's library folder, as ``coqc -where`` reports it."""
    try:
        where = subprocess.run(["coqc", "-where"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LibraryError(f"coqc not found ({exc}); install Debian's coq") from None
    return Path(where.stdout.strip())


def library_file(logical: str) -> Path:
    """The source of a library module by its logical path: ``Coq.Bool.Bool`` is
    ``theories/Bool/Bool.v``, ``Coquelicot.Rcomplements`` is ``user-contrib/Coquelicot/...``."""
    parts = logical.split(".")
    if len(parts) < 2 or not all(re.fullmatch(r"[A-Za-z_][\w']*", p) for p in parts):
        raise LibraryError(f"{logical!r} is not a logical path such as Coq.Bool.Bool")
    root = coq_root()
    if parts[0] == "Coq":
        path = root / "theories" / Path(*parts[1:-1]) / f"{parts[-1]}.v"
    else:
        path = root / "user-contrib" / Path(*parts[:-1]) / f"{parts[-1]}.v"
    if not path.is_file():
        raise LibraryError(f"{logical}: no such installed Coq library file ({path})")
    return path


def logical_path(path: Path) -> str:
    """The logical path of an installed ``.v`` file (the inverse of ``library_file``)."""
    root = coq_root()
    path = path.resolve()
    for base, prefix in ((root / "theories", ("Coq",)), (root / "user-contrib", ())):
        if path.is_relative_to(base):
            parts = path.relative_to(base).with_suffix("").parts
            return ".".join((*prefix, *parts))
    raise LibraryError(f"{path} is not a file of the installed Coq library under {root}")


def library_modules(library: str) -> list[str]:
    """Every module of an installed library (``Coq`` for the standard library, or a
    ``user-contrib`` name such as ``Coquelicot``), sorted; ``Coq.Init`` is left out (the
    prelude loads it compiled into every process, so its theorems cannot be held out)."""
    root = coq_root() / ("theories" if library == "Coq" else f"user-contrib/{library}")
    if not root.is_dir():
        raise LibraryError(f"no installed Coq library {library!r} (looked in {root})")
    modules = sorted(logical_path(p) for p in root.rglob("*.v"))
    return [m for m in modules if not m.startswith("Coq.Init.")]


_STRING = re.compile(r'"(?:[^"]|"")*"')


def normalize(sentence: str) -> str:
    """A sentence with its whitespace collapsed outside string literals (a string's own
    blanks are its value): how it is sent to coqtop and compared."""
    parts, at = [], 0
    for string in _STRING.finditer(sentence):
        parts += [re.sub(r"\s+", " ", sentence[at : string.start()]), string.group(0)]
        at = string.end()
    parts.append(re.sub(r"\s+", " ", sentence[at:]))
    return "".join(parts).strip()


@dataclass(frozen=True)
class Block:
    """A ``Section`` or ``Module`` open at some point of a file."""

    kind: str
    name: str
    #: A functor (``Module Make (X : T).``) or a module type: its lemmas have no name outside.
    abstract: bool


@dataclass(frozen=True)
class Statement:
    """A lemma of a file: where it stands, its name, and the blocks open around it."""

    position: int
    keyword: str
    name: str
    sentence: str
    blocks: tuple[Block, ...]

    @property
    def module_path(self) -> str:
        """The modules around it, as its full name has them (sections add nothing)."""
        return "".join(f"{b.name}." for b in self.blocks if b.kind != "Section")

    def theorem_name(self, module: str) -> str:
        """Its name in the corpus and the benchmark: ``MODULE:PATH.NAME``
        (``Coq.Arith.PeanoNat:Nat.pred_0``)."""
        return f"{module}:{self.module_path}{self.name}"

    @property
    def nameable(self) -> bool:
        """Whether it has a name outside its blocks (not in a functor or module type)."""
        return not any(b.abstract for b in self.blocks)


@dataclass
class LibrarySource:
    """One library file read as sentences (comments stripped, whitespace collapsed)."""

    logical: str
    path: Path
    digest: str
    sentences: list[str]
    statements: list[Statement] = field(default_factory=list)

    @classmethod
    def read(cls, logical: str) -> LibrarySource:
        path = library_file(logical)
        data = path.read_bytes()
        text = data.decode("utf-8", errors="replace")
        sentences = [normalize(s) for s in split_sentences(strip_comments(text))]
        source = cls(logical, path, hashlib.sha256(data).hexdigest(), sentences)
        source.statements = list(_statements(sentences))
        return source

    def proof_at(self, position: int) -> list[str] | None:
        """The file's own proof of the statement at ``position``: the sentences between its
        ``Proof`` and its ``Qed``/``Defined`` (None when it has no such tactic proof)."""
        end = position + 1
        if end < len(self.sentences) and self.sentences[end].split(" ", 1)[0] == "Proof.":
            end += 1
        elif end < len(self.sentences) and self.sentences[end].startswith("Proof "):
            if not self.sentences[end].startswith(("Proof using", "Proof with")):
                return None  # ``Proof term.``
            end += 1
        start = end
        while end < len(self.sentences) and not PROOF_END.match(self.sentences[end]):
            end += 1
        if end >= len(self.sentences) or not self.sentences[end].startswith(("Qed", "Defined")):
            return None
        return self.sentences[start:end]

    @functools.cached_property
    def _by_position(self) -> dict[int, Statement]:
        return {statement.position: statement for statement in self.statements}

    def statement_at(self, position: int) -> Statement | None:
        """The lemma whose statement is sentence ``position`` (None when that is no lemma)."""
        return self._by_position.get(position)


def _statements(sentences: list[str]) -> Iterator[Statement]:
    """The lemma-like declarations (``Lemma``, ``Theorem``, ...) and the blocks around each."""
    blocks: list[Block] = []
    for position, sentence in enumerate(sentences):
        track_blocks(blocks, sentence)
        declared = _DECLARED.match(sentence)
        # A ``:=`` may stand in the type (``let s := ...``); a lemma given a body instead of
        # a proof opens no proof, and the tracer reports it as such.
        if declared and declared["keyword"] in STATEMENT_KEYWORDS:
            yield Statement(
                position, declared["keyword"], declared["name"], sentence, tuple(blocks)
            )


def track_blocks(blocks: list[Block], sentence: str) -> None:
    """Open or close a block of ``blocks`` (the open ones, outermost first) for ``sentence``
    (``Module M := N.`` opens none): how every reader of a file follows its structure."""
    ended = _END.match(sentence)
    if ended:
        for index in range(len(blocks) - 1, -1, -1):
            if blocks[index].name == ended["name"]:
                del blocks[index:]
                break
        return
    started = _BLOCK_START.match(sentence)
    if started is None or started["kind"] == "Declare Module":
        return
    # ``<: S with Module E := M.E`` constrains the signature; only a ``:=`` left after such
    # clauses defines the module by an expression (``Module M := N.``), which opens nothing.
    if ":=" in _WITH_CLAUSE.sub("", started["rest"]):
        return
    kind, rest = started["kind"], started["rest"].strip()
    abstract = kind == "Module Type" or rest.startswith(("(", "["))
    blocks.append(Block(kind, started["name"], abstract))


@dataclass(frozen=True)
class LibraryContext:
    """What a library theorem is proved in, and what closes it again for the check."""

    #: The file's module: the check compiles the file under this name.
    module: str
    #: The file's sentences before the statement (trusted: see the module's text).
    sentences: tuple[str, ...]
    #: The modules around the statement (``Nat.``): the theorem's full name has them.
    module_path: str
    #: ``End`` for each section open at the statement, innermost first (modules stay open:
    #: the theorem's full name reaches into them, and the check's guard may stand in them).
    closers: tuple[str, ...]
    #: The modules still open after the closers, innermost first.
    open_modules: tuple[str, ...] = ()
    #: How the proof opens: ``Proof using ...`` in a section (see ``LibraryRef.using``).
    proof_opener: str = "Proof."

    def unclosed_message(self) -> str | None:
        """What ``coqc`` says at the end of a file that leaves these modules open (its only
        complaint about a check file that is otherwise accepted), None when none is."""
        if not self.open_modules:
            return None
        names = [f"module {name}" for name in self.open_modules]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return f"Error: The {listed} {'needs' if len(names) == 1 else 'need'} to be closed."


@functools.lru_cache(maxsize=64)
def _read(logical: str) -> LibrarySource:
    return LibrarySource.read(logical)


def library_context(ref: LibraryRef, statement: str) -> LibraryContext:
    """The context of the library theorem ``ref`` whose statement is ``statement``; raises
    ``LibraryError`` unless the installed file is the one the benchmark recorded."""
    source = _read(ref.module)
    if source.digest != ref.digest:
        raise LibraryError(
            f"{ref.module} changed since the benchmark was built (its SHA-256 is "
            f"{source.digest[:12]}, the manifest's {ref.digest[:12]}): rebuild the manifest"
        )
    found = source.statement_at(ref.position)
    if found is None or normalize(statement) != found.sentence:
        raise LibraryError(f"{ref.module}: the statement is not at sentence {ref.position}")
    if not found.nameable:
        raise LibraryError(f"{ref.module}: sentence {ref.position} is inside a functor")
    blocks = found.blocks
    in_section = any(block.kind == "Section" for block in blocks)
    if in_section and ref.using is None:
        raise LibraryError(
            f"{ref.module}: sentence {ref.position} is in a section, and the manifest does not "
            "say which section variables its proof may use: rebuild the manifest"
        )
    return LibraryContext(
        module=ref.module,
        sentences=tuple(source.sentences[: ref.position]),
        module_path=found.module_path,
        # Sections only: they are always innermost (Coq has no module inside a section), and
        # a module closed early may miss fields its signature needs (``Module Nat <: ...``).
        closers=tuple(f"End {b.name}." for b in reversed(blocks) if b.kind == "Section"),
        open_modules=tuple(b.name for b in reversed(blocks) if b.kind != "Section"),
        proof_opener=f"Proof using {' '.join(ref.using or ())}." if in_section else "Proof.",
    )


def library_theorem(
    source: LibrarySource,
    statement: Statement,
    split: str | None = None,
    using: list[str] | None = None,
) -> Theorem:
    """The benchmark theorem for a lemma of ``source``, named ``MODULE:PATH.NAME`` (``using``:
    its section variables, as the tracer found them)."""
    ref = LibraryRef(
        module=source.logical,
        position=statement.position,
        digest=source.digest,
        using=tuple(using) if using is not None else None,
    )
    return Theorem(
        name=statement.theorem_name(source.logical),
        statement=statement.sentence,
        split=split,
        source=ref.where,
        library=ref,
    )


@functools.cache
def modules_loaded_by(sentences: tuple[str, ...]) -> frozenset[str]:
    """The compiled modules that ``sentences`` (``From Hammer Require Import Hammer.``) load,
    as ``Print Libraries`` lists them: a theorem of one of these files cannot be proved with
    them loaded, since its own compiled statement would be in scope."""
    script = "\n".join((*LIBRARY_PREAMBLE, *sentences, "Print Libraries.")) + "\n"
    try:
        out = subprocess.run(
            ["coqtop", "-quiet"], input=script, capture_output=True, text=True, timeout=300
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise LibraryError(f"cannot list what {sentences} load: {exc}") from None
    listed = out.split("Loaded library files:", 1)
    if len(listed) != 2:
        raise LibraryError(f"{sentences} did not load: {out[-300:]}")
    return frozenset(re.findall(r"^\s+([A-Za-z_][\w'.]*)\s*$", listed[1], re.M))


def load_path_args(module: str) -> tuple[str, ...]:
    """The ``coqtop``/``coqc`` options a file of ``module``'s library is compiled with: a
    ``user-contrib`` library's files name each other by short names (Coquelicot's
    ``Require Import Rcomplements.``), which resolve only under ``-R``, as when it was built."""
    library = module.split(".", 1)[0]
    if library == "Coq":
        return ()
    return ("-R", str(coq_root() / "user-contrib" / library), library)


_ASSUMPTION_HEADER = re.compile(r"^[A-Z][A-Za-z ]*:$")


def section_variables(print_assumptions: str) -> list[str]:
    """The section variables ``Print Assumptions`` lists (run inside the section, where a
    constant's section variables are still listed apart, one ``name`` or ``name : type`` per
    line, its type sometimes on the next lines)."""
    names: list[str] = []
    inside = False
    for line in print_assumptions.splitlines():
        if not line.strip() or line[0].isspace() or line.startswith(":"):
            continue
        if _ASSUMPTION_HEADER.match(line):
            inside = line == "Section Variables:"
        elif inside:
            names.append(line.split(" : ", 1)[0].strip())
    return names
