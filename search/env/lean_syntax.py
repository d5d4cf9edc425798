"""What untrusted Lean text may contain: the policy for headers, statements, tactics, proofs.

Statements come from users and tactics from a model; to Lean both are code, and Lean code can
run programs (``#eval``, ``run_tac``), change the parser (``macro``, ``syntax``), skip checks
(``set_option debug.skipKernelTC``), or assume what it should prove (``sorry``, ``axiom``,
``native_decide``'s ``Lean.ofReduceBool``). The policy is an allow-list of header commands and
a deny-list of tokens, applied to the text with comments and string literals removed (so that a
comment may mention ``#eval`` but code may not hide it in one). ``#print axioms`` on every
found proof is the backstop for whatever an allow-list misses.
"""

from __future__ import annotations

import re

from search.types import UnsafeInput

#: Commands and escapes that run code, extend the syntax or add unchecked facts: never allowed
#: in a header, statement, tactic or proof.
ESCAPES = frozenset({
    "run_cmd", "run_tac", "run_elab", "run_meta", "by_elab", "elab", "elab_rules", "macro",
    "macro_rules", "syntax", "declare_syntax_cat", "notation", "infix", "infixl", "infixr",
    "prefix", "postfix", "initialize", "builtin_initialize", "implemented_by", "extern",
    "unsafe", "axiom", "opaque", "partial", "import", "sorryAx", "dbg_trace", "dbgTrace",
    "IO", "unsafeIO", "unsafeBaseIO", "unsafeEIO",
})  # fmt: skip
#: Tokens that leave a proof incomplete.
PLACEHOLDERS = frozenset({"sorry", "admit"})
#: Native code evaluation: proofs trust the compiler (axiom ``Lean.ofReduceBool``).
NATIVE = frozenset({"native_decide", "ofReduceBool", "Lean.ofReduceBool", "Lean.reduceBool"})
#: Commands that start a declaration or a scope: a proof that contains one would end the
#: theorem early and smuggle in a second command.
DECLARATIONS = frozenset({
    "theorem", "lemma", "def", "example", "instance", "abbrev", "structure", "class",
    "inductive", "coinductive", "namespace", "section", "end", "universe", "variable",
    "mutual", "deriving", "export",
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

_IDENT = re.compile(r"#?[^\W\d][\w'!?]*(?:\.[^\W\d][\w'!?]*)*")
_NATIVE_CONFIG = re.compile(r"\+native\b|\bnative\s*:=\s*true\b")
_SET_OPTION = re.compile(r"\bset_option\s+([^\s]+)")


def strip_comments_and_strings(text: str) -> str:
    """``text`` with comments removed and string/char literals and «quoted» names blanked.

    Lean block comments nest (``/- /- -/ -/``); line comments run to the end of the line.
    Literals are replaced by ``""`` (names by ``x``) so the token scan never looks inside them.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/-", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/-", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("-/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            if depth:
                raise UnsafeInput("unterminated comment '/-'")
            out.append(" ")
        elif text[i] == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                raise UnsafeInput("unterminated string literal")
            i += 1
            out.append('""')
        elif text[i] == "«":
            end = text.find("»", i)
            if end < 0:
                raise UnsafeInput("unterminated «name»")
            i = end + 1
            out.append("x")
        elif text[i] == "'" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_'.!?")):
            match = re.match(r"'(?:\\.|[^'\\])'", text[i:])
            if match:
                i += match.end()
                out.append("c")
            else:
                out.append("'")
                i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def tokens(code: str) -> list[str]:
    """Identifier-like tokens (``#eval`` and dotted names included) of comment-free code."""
    return _IDENT.findall(code)


def _check_tokens(code: str, what: str, allow_native: bool, banned: frozenset[str]) -> None:
    for token in tokens(code):
        if token.startswith("#"):
            raise UnsafeInput(f"{what} contains the command {token!r}")
        if token in ESCAPES or token in banned:
            raise UnsafeInput(f"{what} contains the forbidden construct {token!r}")
        if token in NATIVE and not allow_native:
            raise UnsafeInput(
                f"{what} uses {token!r} (native evaluation; allow it with allow_native_decide)"
            )
    if not allow_native and (match := _NATIVE_CONFIG.search(code)):
        raise UnsafeInput(f"{what} uses native evaluation ({match.group(0)!r})")
    for option in _SET_OPTION.findall(code):
        if not ALLOWED_OPTIONS.match(option):
            raise UnsafeInput(f"{what} sets the option {option!r}, which is not allowed")


def check_header(header: str) -> None:
    """A header is imports, ``open``, allowed ``set_option``s, ``universe`` and scopes."""
    code = strip_comments_and_strings(header)
    seen_other = False
    for line in code.splitlines():
        if not line.strip() or line[0].isspace():
            continue  # blank, or the continuation of an ``open`` list
        first = tokens(line)[:1]
        command = first[0] if first else line.split()[0]
        if command not in HEADER_COMMANDS:
            raise UnsafeInput(
                f"header command {command!r} is not allowed (headers hold only "
                f"{', '.join(sorted(HEADER_COMMANDS))}); put definitions in a Lean project"
            )
        if command == "import" and seen_other:
            raise UnsafeInput("header: 'import' must come before every other command")
        seen_other = seen_other or command != "import"
        rest = line.split(None, 1)[1] if command == "import" and len(line.split()) > 1 else ""
        if command != "import":
            _check_tokens(line, "header", allow_native=False, banned=PLACEHOLDERS)
        elif not re.fullmatch(r"(?:\s*[\w.]+)+\s*", rest):
            raise UnsafeInput(f"header: malformed import {line.strip()!r}")


def check_statement(statement: str) -> str:
    """Exactly one ``theorem``/``lemma`` declaration ending in ``:= by``; returns its name."""
    code = strip_comments_and_strings(statement).strip()
    _check_tokens(code, "statement", allow_native=False, banned=PLACEHOLDERS)
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
    return words[1]


def _check_code(text: str, what: str, limit: int, allow_native: bool) -> str:
    if not text.strip():
        raise UnsafeInput(f"empty {what}")
    if len(text) > limit:
        raise UnsafeInput(f"{what} longer than {limit} characters")
    _check_tokens(strip_comments_and_strings(text), what, allow_native, PLACEHOLDERS | DECLARATIONS)
    return text


def check_tactic(tactic: str, allow_native: bool = False) -> str:
    """One tactic (it may span lines) proposed by a model; returns it without trailing blanks."""
    return _check_code(tactic.rstrip(), "tactic", MAX_TACTIC_CHARS, allow_native)


def check_proof(proof: str, allow_native: bool = False) -> str:
    """A whole tactic proof (the text after ``:= by``); returns it with trailing blanks cut."""
    return _check_code(proof.rstrip(), "proof", MAX_PROOF_CHARS, allow_native)
