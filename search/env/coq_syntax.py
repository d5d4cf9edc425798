"""Static checks on untrusted Coq text: statements, headers, tactics and whole proofs.

Tactics come from a model and statements from users, so both are code. Coq reads *sentences*
(text up to a ``.`` followed by a blank), and a sentence may be a vernacular command that loads
files, declares axioms or ends the proof early. These checks are the first line of defence;
the second is the whole-file ``coqc`` check with ``Print Assumptions`` (see ``coq_check``).

Policy (documented in the README):
* tactics and proofs: printable ASCII only (unicode look-alikes of keywords are rejected, not
  normalised), except the non-ASCII identifiers of the theorem's own statement (``h₀``);
  statements and headers may use Unicode (no control characters), since Coq
  identifiers do and an odd identifier there can only name, not run, something;
* no string literals (``"``) in tactics, since they are the only way to print arbitrary text;
* comments are removed before checking; an unterminated comment is an error;
* a tactic sentence starts with a lower-case tactic name, a qualified tactic name
  (``Z.div_mod_to_equations``), ``(``, a goal selector (``all:``, ``2:``) or is a
  bullet/brace; anything else starting with an upper-case word is vernacular;
* a denylist of words that may never appear: ``admit``, ``Admitted``, ``Axiom`` ... ;
* a header is an allow-list of sentence shapes (imports, scopes, definitions with a body,
  notations, functor applications): nothing that declares an axiom, opens a proof, adds a hint,
  or changes what the kernel checks;
* a statement's name is an ASCII identifier followed by a character that cannot continue a Coq
  identifier, so Coq and these checks read the same name (Coq 8.16 continues identifiers with
  U+00A0 and U+1DC0..U+1DFF, which Python's ``\\w`` does not).
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources

from search.types import UnsafeInput

#: Words that must not appear anywhere in a tactic or proof: they give up a goal, add an
#: axiom, end the proof, or are vernacular that touches files or the kernel's checks.
FORBIDDEN_IN_PROOF = frozenset(
    {
        "admit", "give_up", "Admitted", "Abort", "Axiom", "Axioms", "Parameter", "Parameters",
        "Conjecture", "Hypothesis", "Hypotheses", "Variable", "Variables", "Load", "Declare",
        "Drop", "Redirect", "Require", "Import", "Export", "Set", "Unset", "Qed", "Defined",
        "Save", "Proof", "Theorem", "Lemma", "Definition", "Fixpoint", "Extraction", "Cd",
        "Add", "Reset", "Back", "BackTo", "Undo", "Restart", "Quit", "Timeout", "Module",
        "Section", "End", "Ltac", "Ltac2", "Tactic", "Instance", "Existing", "Opaque",
        "Transparent", "Print", "Unshelve",
        # An abstracted subproof is a constant of its own, whose term the judge does not read
        # for fixpoints (``coq_fixpoints``).
        "abstract", "transparent_abstract",
    }
)  # fmt: skip

#: What the exploits of Coq 8.16.1's known kernel bugs need (``docs/soundness.md`` lists the
#: bugs): term-level recursion (the guard checker accepts some ill-founded fixpoints,
#: rocq#20413, #20455, and cofixpoints, #22386, #22389), SProp (#22378, #21690), evaluation of
#: ill-typed terms in the VM (#16891: the ``*_no_check`` tactics make them), native compilation
#: and the primitive types (the VM and native bugs). Refused in headers, statements and proofs.
KERNEL_BUG_WORDS = frozenset(
    {
        "fix", "cofix", "CoFixpoint", "CoInductive", "SProp", "StrictProp", "Squash", "sEmpty",
        "sUnit", "Ssig", "native_compute", "PrimInt63", "Uint63", "Sint63", "Int63", "PrimFloat",
        "Floats", "PArray", "PrimArray",
    }
)  # fmt: skip
#: ``exact_no_check``, ``vm_cast_no_check``, ``change_no_check`` ...; and the VM and native
#: casts ``t <: T``, ``t <<: T``.
_KERNEL_BUG_PATTERN = re.compile(r"\b\w+_no_check\b|<<?:")


def _reject_kernel_bug_features(code: str, what: str) -> None:
    """Raise if comment- and string-free ``code`` uses what a known kernel exploit needs."""
    found = sorted(set(_WORD.findall(code)) & KERNEL_BUG_WORDS)
    match = _KERNEL_BUG_PATTERN.search(code)
    if found or match:
        word = found[0] if found else match.group(0)
        raise UnsafeInput(
            f"{what} uses {word!r}, which exploits of known Coq 8.16 kernel bugs need"
        )


#: Vernacular that must never appear in a header either: it reads or writes files, loads
#: native code, or switches off the kernel's checks (see shared/docs/coq.md).
FORBIDDEN_IN_HEADER = (
    r"\bLoad\b", r"\bDeclare\s+ML\s+Module\b", r"\bRedirect\b", r"\bDrop\b",
    r"\bUnset\s+(Guard|Positivity|Universe)\s+Checking\b", r"\bAdmitted\b", r"\badmit\b",
    r"\bAbort\b", r"\bAdd\s+(Rec\s+)?(LoadPath|ML\s+Path)\b", r"\bCd\b", r"\bExtraction\b",
    r"\bBackTo\b", r"\bBack\b", r"\bReset\b", r"\bQuit\b", r"\bTimeout\b",
    r"\bSet\s+(Guard|Positivity|Universe)\b",
    # Declaring axioms in a header would let a module named like a standard library one
    # (``Module Classical_Prop. Axiom classic : False.``) pass the axiom allow-list.
    r"\bAxioms?\b", r"\bParameters?\b", r"\bHypothes[ie]s\b", r"\bVariables?\b",
    r"\bContext\b", r"\bConjectures?\b", r"\bAdmit\b",
)  # fmt: skip

STATEMENT_KEYWORDS = ("Theorem", "Lemma", "Fact", "Remark", "Corollary", "Proposition", "Example")

_QUALID = r"[A-Za-z_][A-Za-z0-9_']*(?:\.[A-Za-z_][A-Za-z0-9_']*)*"
_NAME = r"[^\W\d][\w']*"
#: The sentences a header may hold, by shape (whitespace-normalised, comments removed). Each
#: one imports, scopes or defines; none declares an axiom (``Declare Instance``, ``Parameter``),
#: opens a proof (a definition needs its body, ``:=``), adds a hint, sets a kernel option,
#: recurses (Coq 8.16's guard checker accepts ill-founded ``Fixpoint``s, rocq#20413, #20455,
#: #21053), declares an inductive type (rocq#22378 needs let-ins in a constructor's type, and
#: a definition can hide them) or aliases modules (rocq#21685). MiniF2F's headers need none
#: of these but ``Fixpoint`` and one functor application.
HEADER_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (what, re.compile(pattern))
    for what, pattern in (
        ("Require", rf"(?:From {_QUALID} )?Require(?: (?:Import|Export))?(?: {_QUALID})+\."),
        ("Import", rf"(?:Import|Export)(?: {_QUALID})+\."),
        ("Open Scope", rf"(?:(?:Local|Global) )?(?:Open|Close) Scope {_NAME}\."),
        ("Declare Scope", rf"Declare Scope {_NAME}\."),
        ("Delimit Scope", rf"Delimit Scope {_NAME} with {_NAME}\."),
        ("a definition with its body", rf"(?:Local )?Definition {_NAME}(?=[ :({{\[]).*:=.*\."),
        ("Notation", r'(?:Local )?(?:Notation|Infix) ".*\.'),
        ("an implicit-arguments flag",
         r"(?:Set|Unset) (?:Implicit Arguments|Strict Implicit|Maximal Implicit Insertion"
         r"|Contextual Implicit|Asymmetric Patterns)\."),
    )
)
#: What a *known* header may hold besides (``TRUSTED_HEADERS``): MiniF2F's headers define
#: recursive functions and apply a library functor, and theirs were read and are benign.
KNOWN_HEADER_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Fixpoint", re.compile(rf"(?:Local )?Fixpoint {_NAME}(?=[ :({{\[]).*:=.*\.")),
    ("a functor application",
     re.compile(rf"Module {_NAME} := {_QUALID}(?: ?\( ?{_QUALID} ?\)| {_QUALID})+\.")),
)
#: Words a header's definitions and notations may not use: ``ltac:(...)`` runs tactics while
#: the header loads, and Ltac2 replaces the proof language that ``parse_proof`` checks.
FORBIDDEN_IN_HEADER_BODIES = frozenset({"ltac", "Ltac", "Ltac2", "Program", "Obligation"})
#: Coq's reserved words (the reference manual's lexical conventions): a notation may not make
#: one of them a token of its own. ``Notation "'match' x" := x`` is accepted by Coq, and then
#: ``(match False) -> False with u : True`` reads to a checker as a match, to Coq as a mutual
#: theorem.
COQ_KEYWORDS = frozenset({
    "_", "Axiom", "CoFixpoint", "Definition", "Fixpoint", "Hypothesis", "Parameter", "Prop",
    "SProp", "Set", "Theorem", "Type", "Variable", "as", "at", "cofix", "else", "end", "fix",
    "for", "forall", "fun", "if", "in", "let", "match", "return", "then", "where", "with",
    "Proof", "Qed", "Defined", "Admitted", "Lemma",
})  # fmt: skip
_QUOTED_TOKEN = re.compile(r"'([^'\s]+)'")


def header_digest(sentences: list[str]) -> str:
    """A header's identity for ``TRUSTED_HEADERS``: its checked sentences, whitespace
    normalised, so that layout and comments do not matter and nothing else passes."""
    normalised = "\n".join(" ".join(sentence.split()) for sentence in sentences)
    return hashlib.sha256(normalised.encode()).hexdigest()


def _trusted_headers() -> frozenset[str]:
    lines = resources.files("search.env").joinpath("known_coq_headers.txt").read_text()
    return frozenset(line.split()[0] for line in lines.splitlines() if line and line[0] != "#")


#: Digests of the MiniF2F-Coq headers (``known_coq_headers.txt``): only these may use
#: ``KNOWN_HEADER_SHAPES``.
TRUSTED_HEADERS = _trusted_headers()


#: What may follow a theorem's name: a blank, a colon, a binder. None of these can continue a
#: Coq identifier, so Coq reads exactly the name we read.
_STATEMENT_HEAD = re.compile(
    rf"({'|'.join(STATEMENT_KEYWORDS)})[ \t\n\r]+([A-Za-z_][A-Za-z0-9_']*)(?=[ \t\n\r:({{\[`@])"
)

MAX_TACTIC_CHARS = 4_000
MAX_PROOF_CHARS = 100_000

_BULLET = re.compile(r"^(-+|\++|\*+|\{|\}|(\d+|\[[A-Za-z_][\w']*\]):\{)$")
#: A goal selector with a brace (``2:{``, ``[h]:{``): coqtop reads it as a sentence of its own.
_SELECTOR_BRACE = re.compile(r"(\d+|\[\s*[A-Za-z_][\w']*\s*\])\s*:\s*\{")
_SELECTOR = re.compile(r"^(all|\d+(\s*,\s*\d+)*|\[\s*[A-Za-z_][\w']*\s*\])\s*:\s*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
_STRING = re.compile(r'"(?:[^"]|"")*"')
#: A qualified tactic name (``Z.div_mod_to_equations``, ``Nat.lt_wf_ind``-style paths): Coq has
#: no dotted vernacular keyword, so a sentence that starts with one is a tactic call.
_QUALIFIED_START = re.compile(r"^[A-Z][\w']*(\.[A-Za-z_][\w']*)+(?![\w'])")


def _string_end(text: str, start: int) -> int:
    """Index just past the Coq string literal opening at ``start`` (``""`` escapes a quote)."""
    i = start + 1
    while i < len(text):
        if text[i] == '"':
            if text[i + 1 : i + 2] == '"':
                i += 2
                continue
            return i + 1
        i += 1
    raise UnsafeInput("unterminated string literal")


def strip_comments(text: str) -> str:
    """Remove ``(* ... *)`` comments as Coq's lexer does: they nest, and string literals are
    lexed inside and outside them (so ``"(*"`` opens no comment). Raise on anything left open.
    """
    out: list[str] = []
    depth = 0
    i = 0
    while i < len(text):
        if text[i] == '"':
            end = _string_end(text, i)
            if depth == 0:
                out.append(text[i:end])
            i = end
            continue
        pair = text[i : i + 2]
        if pair == "(*":
            depth += 1
            i += 2
            continue
        if pair == "*)" and depth:
            depth -= 1
            i += 2
            if depth == 0:
                out.append(" ")
            continue
        if depth == 0:
            out.append(text[i])
        i += 1
    if depth:
        raise UnsafeInput("unterminated comment '(*'")
    return "".join(out)


#: A Coq identifier as Python sees one (Unicode letters and digits, ``_``, primes).
_IDENTIFIER = re.compile(r"[^\W\d][\w']*")


def statement_identifiers(statement: str) -> frozenset[str]:
    """The non-ASCII identifiers a statement declares or uses (MiniF2F names hypotheses
    ``h₀``, ``h₁``): tactics and proofs for that statement may name them, since naming an
    identifier the user's own statement already holds can only refer to it."""
    return frozenset(
        word for word in _IDENTIFIER.findall(strip_comments(statement)) if not word.isascii()
    )


def _require_ascii(text: str, what: str, allowed: frozenset[str] = frozenset()) -> None:
    if allowed:
        text = _IDENTIFIER.sub(lambda m: "x" if m.group(0) in allowed else m.group(0), text)
    for ch in text:
        if not (ch.isascii() and (ch.isprintable() or ch in "\n\t\r")):
            raise UnsafeInput(f"{what} contains the non-ASCII or control character {ch!r}")


def _reject_control_characters(text: str, what: str) -> None:
    """Statements and headers may use Unicode (Coq identifiers and notations do), but no
    control characters, which could hide text from a reader, and no blanks other than ASCII
    ones: Coq 8.16 reads U+00A0 as part of an identifier, where a reader (and Python) sees a
    space."""
    for ch in text:
        if ch.isspace() and ch not in " \n\t\r":
            raise UnsafeInput(f"{what} contains the non-ASCII blank {ch!r}")
        if not (ch.isprintable() or ch in "\n\t\r"):
            raise UnsafeInput(f"{what} contains the control character {ch!r}")


def split_sentences(text: str) -> list[str]:
    """Split comment-free Coq text into sentences, bullets and braces included.

    A sentence ends, as in Coq's lexer, at a ``.`` (also the last dot of ``...``, but not of
    ``..``) followed by a blank or the end of the text, outside string literals; a leading
    bullet (``-``, ``+``, ``*``), brace or goal selector with a brace (``2:{``, written without
    blanks) is a sentence of its own.
    """
    sentences: list[str] = []
    current: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        at_start = not "".join(current).strip()
        selector = _SELECTOR_BRACE.match(text, i) if at_start else None
        if selector is not None:
            sentences.append("".join(selector.group(0).split()))
            current = []
            i = selector.end()
            continue
        if at_start and ch in "-+*{}":
            run = ch
            while ch in "-+*" and i + 1 < n and text[i + 1] == ch:
                i += 1
                run += ch
            sentences.append(run)
            current = []
            i += 1
            continue
        if ch == '"':
            end = _string_end(text, i)
            current.append(text[i:end])
            i = end
            continue
        current.append(ch)
        # ``..`` (in recursive notations) is a token of its own, not a full stop.
        two_dots = i >= 1 and text[i - 1] == "." and (i < 2 or text[i - 2] != ".")
        if ch == "." and (i + 1 == n or text[i + 1].isspace()) and not two_dots:
            sentences.append("".join(current).strip())
            current = []
        i += 1
    rest = "".join(current).strip()
    if rest:
        sentences.append(rest)
    return sentences


def is_bullet(sentence: str) -> bool:
    """A bullet (``-``, ``+``, ``*`` runs) or brace: structure, not a tactic."""
    return _BULLET.match(sentence) is not None


def check_tactic_sentence(sentence: str) -> None:
    """Raise ``UnsafeInput`` unless ``sentence`` is a single tactic (or bullet/brace)."""
    if is_bullet(sentence):
        return
    if not sentence.endswith("."):
        raise UnsafeInput(f"tactic is not terminated by '.': {sentence[:80]!r}")
    body = _SELECTOR.sub("", sentence[:-1].strip(), count=1).strip()
    if not body:
        raise UnsafeInput("empty tactic")
    for word in _WORD.findall(body):
        if word in FORBIDDEN_IN_PROOF:
            raise UnsafeInput(f"forbidden construct {word!r} in tactic {sentence[:80]!r}")
    _reject_kernel_bug_features(body, f"tactic {sentence[:80]!r}")
    if not (body[0].islower() or body[0] == "(" or _QUALIFIED_START.match(body)):
        raise UnsafeInput(f"not a tactic (vernacular command?): {sentence[:80]!r}")


def _check_proof_text(
    text: str, what: str, max_chars: int, allowed: frozenset[str] = frozenset()
) -> None:
    """Checks shared by single tactics and whole proofs, before any parsing. ``allowed``: the
    non-ASCII identifiers of the theorem's statement (``statement_identifiers``)."""
    if len(text) > max_chars:
        raise UnsafeInput(f"{what} longer than {max_chars} characters")
    _require_ascii(text, what, allowed)
    if '"' in text:
        raise UnsafeInput(f"string literals are not allowed in {what}s")
    if ".." in text:
        raise UnsafeInput(f"'..' is not allowed in {what}s (Coq reads '...' as a sentence end)")


def parse_tactic(text: str, allowed: frozenset[str] = frozenset()) -> str:
    """Validate one model-proposed tactic; return it as exactly one sentence ending in ``.``.
    ``allowed``: non-ASCII identifiers the tactic may name (``statement_identifiers``)."""
    _check_proof_text(text, "tactic", MAX_TACTIC_CHARS, allowed)
    body = " ".join(strip_comments(text).split())
    if not body:
        raise UnsafeInput("empty tactic")
    if not body.endswith("."):
        body += "."
    sentences = split_sentences(body)
    if len(sentences) != 1:
        raise UnsafeInput(f"expected one tactic, got {len(sentences)} sentences: {body[:80]!r}")
    check_tactic_sentence(sentences[0])
    return sentences[0]


def parse_proof(text: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Validate a whole proof script (what goes between ``Proof.`` and ``Qed.``).

    An enclosing ``Proof.`` ... ``Qed.`` is tolerated and removed, since models often emit it.
    Returns the sentences in order. ``allowed`` as for ``parse_tactic``.
    """
    _check_proof_text(text, "proof", MAX_PROOF_CHARS, allowed)
    sentences = split_sentences(strip_comments(text))
    if sentences and sentences[0] == "Proof.":
        sentences = sentences[1:]
    if sentences and sentences[-1] in ("Qed.", "Defined."):
        sentences = sentences[:-1]
    if not sentences:
        raise UnsafeInput("empty proof")
    for sentence in sentences:
        check_tactic_sentence(" ".join(sentence.split()))
    return [" ".join(s.split()) for s in sentences]


def check_header(header: str) -> list[str]:
    """Raise ``UnsafeInput`` unless every sentence of ``header`` has an allowed shape
    (``HEADER_SHAPES``); return the sentences as checked (comments removed), which is what
    Coq must be given: never the raw text, whose comments Coq may lex differently (``.(*``
    is the token ``.(`` and a star to Coq, not a comment). Known-dangerous commands are named
    first, for a clearer reason."""
    if len(header) > MAX_PROOF_CHARS:
        raise UnsafeInput(f"header longer than {MAX_PROOF_CHARS} characters")
    _reject_control_characters(header, "header")
    code = strip_comments(header)
    for pattern in FORBIDDEN_IN_HEADER:
        found = re.search(pattern, code)
        if found:
            raise UnsafeInput(f"forbidden command {found.group(0)!r} in header")
    sentences = split_sentences(code)
    shapes = HEADER_SHAPES
    if header_digest(sentences) in TRUSTED_HEADERS:
        shapes = HEADER_SHAPES + KNOWN_HEADER_SHAPES
    for sentence in sentences:
        _check_header_sentence(" ".join(sentence.split()), shapes)
    return sentences


def _check_header_sentence(sentence: str, shapes: tuple[tuple[str, re.Pattern[str]], ...]) -> None:
    if not sentence.endswith("."):
        raise UnsafeInput(f"header sentence not terminated by '.': {sentence[:80]!r}")
    if "#[" in sentence:
        raise UnsafeInput(f"attributes (#[...]) are not allowed in headers: {sentence[:80]!r}")
    if not any(shape.fullmatch(sentence) for _, shape in shapes):
        allowed = ", ".join(what for what, _ in shapes)
        raise UnsafeInput(
            f"header command not allowed: {sentence[:80]!r} (a header holds only: {allowed})"
        )
    code = _STRING.sub(" ", sentence)
    for string in _STRING.findall(sentence):
        tokens = set(_QUOTED_TOKEN.findall(string)) | set(string.strip('"').split())
        if tokens & COQ_KEYWORDS:
            keyword = sorted(tokens & COQ_KEYWORDS)[0]
            raise UnsafeInput(f"a notation may not use the keyword {keyword!r}: {sentence[:80]!r}")
    words = set(_WORD.findall(code))
    if words & FORBIDDEN_IN_HEADER_BODIES:
        found = sorted(words & FORBIDDEN_IN_HEADER_BODIES)[0]
        raise UnsafeInput(f"forbidden construct {found!r} in header: {sentence[:80]!r}")
    _reject_kernel_bug_features(code, "header")


def check_statement(statement: str, name: str | None = None) -> str:
    """Validate that ``statement`` is exactly one theorem declaration; return its name."""
    if len(statement) > MAX_PROOF_CHARS:
        raise UnsafeInput(f"statement longer than {MAX_PROOF_CHARS} characters")
    _reject_control_characters(statement, "statement")
    code = strip_comments(statement).strip()
    sentences = split_sentences(code)
    if len(sentences) != 1 or not sentences[0].endswith("."):
        raise UnsafeInput(
            "statement must be exactly one declaration ending in '.', e.g. 'Theorem t : 1 = 1.'"
        )
    keyword = re.match(r"\w+", sentences[0])
    if not keyword or keyword.group(0) not in STATEMENT_KEYWORDS:
        raise UnsafeInput(f"statement must start with one of {', '.join(STATEMENT_KEYWORDS)}")
    match = _STATEMENT_HEAD.match(sentences[0])
    if not match:
        raise UnsafeInput(
            "the theorem's name must be an ASCII identifier (letters, digits, _ and ') followed "
            "by a blank, ':' or a binder"
        )
    code = _STRING.sub(" ", sentences[0])
    for word in _WORD.findall(code):
        if word in ("Admitted", "admit", "Axiom", "Qed", "Proof", "Defined", "Abort", "Load"):
            raise UnsafeInput(f"forbidden construct {word!r} in statement")
        if word in FORBIDDEN_IN_HEADER_BODIES:
            raise UnsafeInput(f"forbidden construct {word!r} in statement")
    _reject_kernel_bug_features(code, "statement")
    if _has_unmatched_with(code):
        # ``Theorem t : A with u : B.`` is proved as a mutual fixpoint that Coq builds itself:
        # the guard-checker bugs without the word ``fix``.
        raise UnsafeInput("mutual theorems ('with') are not allowed: Coq proves them as a fixpoint")
    if name is not None and match.group(2) != name:
        raise UnsafeInput(f"statement declares {match.group(2)!r}, expected {name!r}")
    return match.group(2)


def _has_unmatched_with(code: str) -> bool:
    """Whether a ``with`` of comment- and string-free ``code`` closes no ``match`` opened at
    its own bracket depth (so it can only be the mutual-theorem ``with``)."""
    depth, open_matches = 0, [0]
    for token in re.findall(r"[A-Za-z_][\w']*|[()\[\]{}]", code):
        if token in "([{":
            depth += 1
            open_matches.append(0)
        elif token in ")]}":
            depth = max(0, depth - 1)
            if len(open_matches) > 1:
                open_matches.pop()
        elif token == "match":
            open_matches[-1] += 1
        elif token == "with":
            if not open_matches[-1]:
                return True
            open_matches[-1] -= 1
    return False


def statement_sentence(statement: str) -> str:
    """The statement as ``check_statement`` checked it (comments removed): the text Coq gets."""
    check_statement(statement)
    return split_sentences(strip_comments(statement).strip())[0]
