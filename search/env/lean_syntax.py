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
    "IO", "unsafeIO", "unsafeBaseIO", "unsafeEIO", "unsafeCast", "simproc", "dsimproc",
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

_IDENT = re.compile(r"#?[^\W\d][\w'!?]*(?:\.[^\W\d][\w'!?]*)*")
_NATIVE_CONFIG = re.compile(r"\+native\b|\bnative\s*:=")
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
    and those hold names only.
    """
    code = strip_comments_and_strings(header)
    # ``import`` lines are checked by their shape below; everything else by its tokens.
    rest = "\n".join(line for line in code.splitlines() if not line.startswith("import"))
    _check_tokens(rest, "header", allow_native=False, banned=PLACEHOLDERS)
    seen_other = False
    command = ""
    for line in code.splitlines():
        if not line.strip():
            continue
        words = line.split()
        if line[0].isspace():
            names = all(_IDENT.fullmatch(w) for w in words) and "in" not in words
            if command != "open" or not names:
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


def _check_header_command(command: str, args: list[str], line: str) -> None:
    """The shape of one header command (``open X Y``, ``set_option NAME VALUE``, ...)."""
    names_only = all(_IDENT.fullmatch(a) for a in args)
    shapes = {
        "import": len(args) == 1 and names_only,
        "open": bool(args) and names_only and "in" not in args,
        "set_option": len(args) == 2 and re.fullmatch(r"[\w.]+", args[1]) is not None,
        "universe": bool(args) and names_only,
        "namespace": len(args) == 1 and names_only,
        "section": len(args) <= 1 and names_only,
        "end": len(args) <= 1 and names_only,
        "noncomputable": args == ["section"],
    }
    if not shapes[command]:
        raise UnsafeInput(f"header: malformed {command!r} command {line.strip()[:80]!r}")


def header_namespace(header: str) -> str:
    """The namespace a statement after ``header`` is declared in ('' at the root)."""
    scopes: list[tuple[str, str]] = []
    for line in strip_comments_and_strings(header).splitlines():
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
    # The name is read from the text, so it must be one Lean and we read alike: plain ASCII.
    name = re.match(r"(?:theorem|lemma)\s+([A-Za-z_][A-Za-z0-9_'.]*)(?=[\s(:{\[⦃])", code)
    quoted = "«" in statement  # «...» names are blanked by the stripper: refuse them outright
    if quoted or name is None or name.group(1) != words[1] or words[1].startswith("_root_"):
        raise UnsafeInput(
            "the theorem's name must be a plain ASCII identifier (letters, digits, _, ', .)"
        )
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
    """A whole tactic proof (the text after ``:= by``); returns it with trailing blanks cut.

    Its parentheses must balance and never close more than they opened: the whole-proof check
    wraps the proof in ``( ... )``, so that no text of the proof can end the tactic block and
    start a command of its own.
    """
    text = _check_code(proof.rstrip(), "proof", MAX_PROOF_CHARS, allow_native)
    depth = 0
    for char in strip_comments_and_strings(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise UnsafeInput("proof closes a parenthesis it did not open")
    if depth:
        raise UnsafeInput("proof leaves a parenthesis open")
    return text
