"""What untrusted Lean text may contain: the policy for headers, statements, tactics, proofs.

Statements come from users and tactics from a model; to Lean both are code, and Lean code can
run programs (``#eval``, ``run_tac``), change the parser (``macro``, ``syntax``), skip checks
(``set_option debug.skipKernelTC``), or assume what it should prove (``sorry``, ``axiom``,
``native_decide``'s ``Lean.ofReduceBool``). The policy is an allow-list of header commands and
a deny-list of tokens, applied to the text with comments removed. ``#print axioms`` on every
found proof is the backstop for whatever an allow-list misses.

The lexer follows Lean 4's own (``src/Lean/Parser/Basic.lean``: ``whitespace``,
``finishCommentBlock``, ``identFnAux``, ``strLitFnAux``, ``rawStrLitFnAux``;
``src/Init/Meta.lean``: ``isIdFirst``, ``isIdRest``, ``isLetterLike``, ``isSubScriptAlnum``;
read at leanprover/lean4 ``00c1b827`` and ``0134bc5f``), with three decisions of our own:

* **No literals that can hide or run code.** A string is refused outright, wherever it is:
  ``s!"…{e}…"`` elaborates ``e`` as a term (a ``by`` block inside can run any tactic), and so
  does a *plain-looking* string after ``throwError``, ``trace[…]``, ``dbg_trace`` or any syntax
  a file declares with ``interpolatedStr``, so no lexer can tell a harmless string from one
  that runs code. Raw strings (``r#"…"#``, no escapes) are refused with them, and character
  literals (whether ``'(' `` is one depends on the token before it). ``«…»`` quoted names are
  refused too: ``«sorryAx»`` is the identifier ``sorryAx``.
* **Identifiers are read with the characters every Lean version accepts** (recent Lean added
  Latin-1 and Latin Extended-A letters): where a newer Lean reads one longer identifier, we
  read several shorter tokens, so a banned word can never hide inside an identifier.
* **Header commands have arguments that cannot be keywords** (``open Real end`` is two
  commands to Lean): ``open`` takes capitalised names (Lean's command keywords are all
  lower-case), ``universe`` takes one-letter names, ``set_option`` a number or a Boolean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.types import UnsafeInput

#: Commands and escapes that run code, extend the syntax or add unchecked facts: never allowed
#: in a header, statement, tactic or proof.
ESCAPES = frozenset({
    "run_cmd", "run_tac", "run_elab", "run_meta", "by_elab", "elab", "elab_rules", "macro",
    "macro_rules", "syntax", "declare_syntax_cat", "notation", "infix", "infixl", "infixr",
    "prefix", "postfix", "initialize", "builtin_initialize", "implemented_by", "extern",
    "unsafe", "axiom", "opaque", "partial", "import", "sorryAx", "dbg_trace", "dbgTrace",
    "IO", "unsafeIO", "unsafeBaseIO", "unsafeEIO", "unsafeCast", "simproc", "dsimproc",
    "csimp", "termination_by", "decreasing_by", "omit", "deriving", "declare_simp_like_tactic",
    "evalTactic", "elabTerm", "Elab", "Meta", "Macro", "TacticM", "CommandElabM", "TermElabM",
    "MetaM", "CoreM", "addDecl", "Environment", "ofReduceBool", "trustCompiler",
})  # fmt: skip
#: Tokens that leave a proof incomplete.
PLACEHOLDERS = frozenset({"sorry", "admit"})
#: Native code evaluation: proofs trust the compiler (axiom ``Lean.ofReduceBool``).
NATIVE = frozenset({"native_decide", "ofReduceBool", "ofReduceNat", "reduceBool", "reduceNat"})
#: Commands that start a declaration or a scope: a proof that contains one would end the
#: theorem early and smuggle in a second command.
DECLARATIONS = frozenset({
    "theorem", "lemma", "def", "example", "instance", "abbrev", "structure", "class",
    "inductive", "coinductive", "namespace", "section", "end", "universe", "variable",
    "mutual", "deriving", "export", "alias", "attribute", "notation3", "irreducible_def",
    "seal", "unseal", "include", "omit", "add_decl_doc", "noncomputable", "private",
    "protected", "local", "scoped",
})  # fmt: skip
#: ``set_option`` names a header, tactic or proof may set: resource limits and printing.
#: Anything else (``debug.skipKernelTC``, ``trace.*`` floods, ...) is refused.
ALLOWED_OPTIONS = re.compile(
    r"^(maxHeartbeats|maxRecDepth|synthInstance\.maxHeartbeats|synthInstance\.maxSize"
    r"|autoImplicit|relaxedAutoImplicit|pp\.[\w.]+|linter\.[\w.]+)$"
)
#: Commands a header may consist of (the MiniF2F header is imports, one option, one ``open``).
HEADER_COMMANDS = frozenset(
    {"import", "open", "set_option", "universe", "namespace", "section", "end", "noncomputable"}
)
MAX_TACTIC_CHARS = 4_000
MAX_PROOF_CHARS = 100_000

#: ``isLetterLike`` as every Lean 4 version has it (Greek but λ, Π and Σ; Coptic; polytonic
#: Greek; the letter-like block; mathematical alphanumerics), and ``isSubScriptAlnum``.
_LETTER_LIKE = (
    "\u03b1-\u03ba\u03bc-\u03c9"  # lower-case Greek but λ
    "\u0391-\u039f\u03a1\u03a2\u03a4-\u03a9"  # upper-case Greek but Π and Σ
    "\u03ca-\u03fb\u1f00-\u1ffe\u2100-\u214f\U0001d49c-\U0001d59f"
)
_SUBSCRIPT = "\u2080-\u2089\u2090-\u209c\u1d62-\u1d6a"
_ID_FIRST = f"A-Za-z_{_LETTER_LIKE}"
_ID_REST = f"{_ID_FIRST}0-9'!?{_SUBSCRIPT}"
_IDENT = re.compile(f"#?[{_ID_FIRST}][{_ID_REST}]*(?:\\.[{_ID_FIRST}][{_ID_REST}]*)*")
#: What *some* Lean version continues an identifier with: recent Lean adds Latin-1 letters
#: (but × and ÷), Latin Extended-A and U+2C7C (lean4 #9035, #6679). An ``r`` after one of these
#: does not open a raw string.
_POSSIBLY_ID_REST = re.compile(f"[{_ID_REST}\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u017f\u2c7c]")
_CHAR_LITERAL = re.compile(r"'(?:\\.|[^'\\\n])'")
_NATIVE_CONFIG = re.compile(r"\+native\b|\bnative\s*:=")
_SET_OPTION = re.compile(r"\bset_option\s+([^\s]+)")


@dataclass(frozen=True)
class Lexed:
    """Untrusted Lean text as the checks see it: ``code`` has comments removed and literals
    blanked (``""``, ``c``, ``x``); ``literals`` names the refused literals found in it."""

    code: str
    literals: tuple[str, ...]

    def refuse_literals(self, what: str) -> None:
        if self.literals:
            raise UnsafeInput(
                f"{what} contains a {self.literals[0]}, which untrusted Lean text may not "
                "(strings can run code through interpolation; «…» names can spell any keyword)"
            )


def _block_comment_end(text: str, i: int) -> int:
    """Index just past the nested ``/- … -/`` comment whose body starts at ``i``."""
    depth, n = 1, len(text)
    while i < n and depth:
        if text.startswith("/-", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("-/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    if depth:
        raise UnsafeInput("unterminated comment '/-'")
    return i


def _string_end(text: str, i: int) -> int:
    """Index just past the string literal whose opening quote is at ``i``: ``\\`` escapes the
    next character (``strLitFnAux``; a string gap is a backslash before a newline)."""
    i += 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    if i >= len(text):
        raise UnsafeInput("unterminated string literal")
    return i + 1


def _raw_string_end(text: str, i: int) -> int | None:
    """For an ``r`` at ``i`` that opens a raw string (``r"``, ``r#"``, ``r##"`` …), the index
    just past it (``rawStrLitFnAux``: no escapes; it ends at ``"`` and as many ``#``)."""
    hashes = 0
    while text.startswith("#", i + 1 + hashes):
        hashes += 1
    if not text.startswith('"', i + 1 + hashes):
        return None
    close = '"' + "#" * hashes
    end = text.find(close, i + 2 + hashes)
    if end < 0:
        raise UnsafeInput("unterminated raw string literal")
    return end + len(close)


def lex(text: str) -> Lexed:
    """Remove comments and blank literals, as Lean's lexer reads them.

    Block comments nest (``/- /- -/ -/``, doc comments ``/--`` and ``/-!`` alike) and line
    comments run to the end of the line; inside a comment only ``/-`` and ``-/`` count.
    """
    out: list[str] = []
    literals: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        previous = text[i - 1] if i else ""
        starts_token = not _POSSIBLY_ID_REST.match(previous)
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/-", i):
            i = _block_comment_end(text, i + 2)
            out.append(" ")
        elif ch == '"':
            i = _string_end(text, i)
            literals.append("string literal")
            out.append('""')
        elif ch == "r" and starts_token and (end := _raw_string_end(text, i)) is not None:
            i = end
            literals.append("raw string literal")
            out.append('""')
        elif ch in "«»":
            literals.append("«quoted name»")
            end = text.find("»", i)
            i = n if ch == "«" and end < 0 else (end + 1 if ch == "«" else i + 1)
            out.append("x")
        elif ch == "'" and (match := _CHAR_LITERAL.match(text, i)):
            # Whether Lean reads a character literal here depends on the token before the
            # quote (``2'('`` is a numeral and a literal, ``∑'(`` a notation token and a
            # parenthesis), which the text alone does not settle: refused, like strings.
            i = match.end()
            literals.append("character literal")
            out.append("c")
        else:
            out.append(ch)
            i += 1
    return Lexed("".join(out), tuple(literals))


def tokens(code: str) -> list[str]:
    """Identifier-like tokens (``#eval`` and dotted names included) of comment-free code."""
    return _IDENT.findall(code)


def _check_tokens(code: str, what: str, allow_native: bool, banned: frozenset[str]) -> None:
    for token in tokens(code):
        if token.startswith("#"):
            raise UnsafeInput(f"{what} contains the command {token!r}")
        # Every part of a dotted name counts: ``IO.Process.run`` is as much IO as ``IO``.
        parts = token.split(".")
        if any(part in ESCAPES for part in parts) or token in banned:
            raise UnsafeInput(f"{what} contains the forbidden construct {token!r}")
        if any(part in NATIVE for part in parts) and not allow_native:
            raise UnsafeInput(
                f"{what} uses {token!r} (native evaluation; allow it with allow_native_decide)"
            )
    if not allow_native and (match := _NATIVE_CONFIG.search(code)):
        raise UnsafeInput(f"{what} uses native evaluation ({match.group(0)!r})")
    for option in _SET_OPTION.findall(code):
        if not ALLOWED_OPTIONS.match(option):
            raise UnsafeInput(f"{what} sets the option {option!r}, which is not allowed")


def check_header(header: str) -> None:
    """A header is imports, then ``open``, allowed ``set_option``s, ``universe`` and scopes.

    Each command starts at column 0 (Lean does not care about columns, so an indented line is
    checked as the command it continues); only an ``open`` list may continue on indented lines,
    and those hold names only. No argument can be a keyword, so every line is one command
    and ``header_namespace`` computes the namespace Lean will be in.
    """
    lexed = lex(header)
    code = lexed.code
    # ``import`` lines are checked by their shape below; everything else by its tokens.
    rest = "\n".join(line for line in code.splitlines() if not line.startswith("import"))
    _check_tokens(rest, "header", allow_native=False, banned=PLACEHOLDERS)
    lexed.refuse_literals("header")
    seen_other = False
    command = ""
    for line in code.splitlines():
        if not line.strip():
            continue
        words = line.split()
        if line[0].isspace():
            if command != "open" or not all(_OPEN_NAME.fullmatch(w) for w in words):
                raise UnsafeInput(
                    f"header: indented line {line.strip()[:60]!r} (only an 'open' list of names "
                    "may continue on the next line)"
                )
            continue
        command = words[0]
        if command not in HEADER_COMMANDS:
            raise UnsafeInput(
                f"header command {command!r} is not allowed (headers hold only "
                f"{', '.join(sorted(HEADER_COMMANDS))}); put definitions in a Lean project"
            )
        if command == "import" and seen_other:
            raise UnsafeInput("header: 'import' must come before every other command")
        seen_other = seen_other or command != "import"
        _check_header_command(command, words[1:], line)


#: A module or namespace name that cannot be a keyword: Lean's command keywords are all
#: lower-case, so a name whose every component is capitalised is an identifier to Lean.
_OPEN_NAME = re.compile(r"[A-Z][A-Za-z0-9_']*(?:\.[A-Z][A-Za-z0-9_']*)*")
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_']*(?:\.[A-Za-z_][A-Za-z0-9_']*)*")
_UNIVERSE_NAME = re.compile(r"[a-zA-Z][0-9']*")


def _check_header_command(command: str, args: list[str], line: str) -> None:
    """The shape of one header command (``open X Y``, ``set_option NAME VALUE``, ...)."""
    shapes = {
        "import": len(args) == 1 and _MODULE_NAME.fullmatch(args[0]) is not None,
        "open": _names(args[1:] if args[:1] == ["scoped"] else args, _OPEN_NAME),
        "set_option": len(args) == 2 and re.fullmatch(r"true|false|\d+", args[1]) is not None,
        "universe": _names(args, _UNIVERSE_NAME),
        "namespace": len(args) == 1 and _names(args, _OPEN_NAME),
        "section": len(args) <= 1 and all(_OPEN_NAME.fullmatch(a) for a in args),
        "end": len(args) <= 1 and all(_OPEN_NAME.fullmatch(a) for a in args),
        "noncomputable": args == ["section"],
    }
    if not shapes[command]:
        raise UnsafeInput(f"header: malformed {command!r} command {line.strip()[:80]!r}")


def _names(args: list[str], shape: re.Pattern[str]) -> bool:
    return bool(args) and all(shape.fullmatch(a) for a in args)


def header_namespace(header: str) -> str:
    """The namespace a statement after ``header`` is declared in ('' at the root); the
    header must have passed ``check_header``."""
    scopes: list[tuple[str, str]] = []
    for line in lex(header).code.splitlines():
        words = line.split()
        if not words or line[0].isspace():
            continue
        if words[0] == "namespace":
            scopes.append(("namespace", words[1]))
        elif words[0] == "section" or words[:2] == ["noncomputable", "section"]:
            scopes.append(("section", ""))
        elif words[0] == "end" and scopes:
            scopes.pop()
    return ".".join(name for kind, name in scopes if kind == "namespace")


def check_statement(statement: str) -> str:
    """Exactly one ``theorem``/``lemma`` declaration ending in ``:= by``; returns its name."""
    lexed = lex(statement)
    code = lexed.code.strip()
    _check_tokens(code, "statement", allow_native=False, banned=PLACEHOLDERS)
    lexed.refuse_literals("statement")
    if "@[" in code:
        raise UnsafeInput("statement contains an attribute ('@[')")
    words = tokens(code)
    if len(words) < 2 or words[0] not in ("theorem", "lemma") or not code.startswith(words[0]):
        raise UnsafeInput(
            "a statement must be one 'theorem NAME ... := by' (or 'lemma') declaration"
        )
    for token in words[2:]:
        if token in DECLARATIONS:
            raise UnsafeInput(f"statement contains a second command ({token!r})")
    if not re.search(r":=\s*by$", code):
        raise UnsafeInput("a statement must end with ':= by' (the proof is searched for)")
    # The name is read from the text, so it must be one Lean and we read alike: plain ASCII,
    # followed by a character that cannot continue an identifier.
    name = re.match(r"(?:theorem|lemma)[ \n]+([A-Za-z_][A-Za-z0-9_'.]*)(?=[ \n(:{\[⦃])", code)
    if name is None or name.group(1) != words[1] or words[1].startswith("_root_"):
        raise UnsafeInput(
            "the theorem's name must be a plain ASCII identifier (letters, digits, _, ', .)"
        )
    return words[1]


def _check_code(text: str, what: str, limit: int, allow_native: bool) -> str:
    if not text.strip():
        raise UnsafeInput(f"empty {what}")
    if len(text) > limit:
        raise UnsafeInput(f"{what} longer than {limit} characters")
    lexed = lex(text)
    _check_tokens(lexed.code, what, allow_native, PLACEHOLDERS | DECLARATIONS)
    lexed.refuse_literals(what)
    if "@[" in lexed.code:
        raise UnsafeInput(f"{what} contains an attribute ('@[')")
    return text


def check_tactic(tactic: str, allow_native: bool = False) -> str:
    """One tactic (it may span lines) proposed by a model; returns it without trailing blanks."""
    return _check_code(tactic.rstrip(), "tactic", MAX_TACTIC_CHARS, allow_native)


def check_proof(proof: str, allow_native: bool = False) -> str:
    """A whole tactic proof (the text after ``:= by``); returns it with trailing blanks cut.

    Its parentheses must balance and never close more than they opened: the whole-proof check
    wraps the proof in ``( ... )``, so that no text of the proof can end the tactic block and
    start a command of its own.
    """
    text = _check_code(proof.rstrip(), "proof", MAX_PROOF_CHARS, allow_native)
    depth = 0
    for char in lex(text).code:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise UnsafeInput("proof closes a parenthesis it did not open")
    if depth:
        raise UnsafeInput("proof leaves a parenthesis open")
    return text
