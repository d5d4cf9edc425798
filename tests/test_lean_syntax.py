"""The soundness policy for untrusted Lean text, against a hostile corpus."""

import pytest

from search.env.lean_syntax import (
    check_header,
    check_proof,
    check_statement,
    check_tactic,
    header_namespace,
    lex,
)
from search.types import UnsafeInput

MINIF2F_HEADER = "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n"
STATEMENT = "theorem mathd_algebra_10 : abs ((120 : ℝ) / 100 * 30 - 130 / 100 * 20) = 10 := by"

# (text, the construct the error must name)
HOSTILE_TACTICS = [
    ("#eval IO.Process.run {cmd := \"rm\"}", "#eval"),
    ("run_tac do IO.println \"hi\"", "run_tac"),
    ("run_cmd Lean.logInfo \"x\"", "run_cmd"),
    ("exact by_elab do return default", "by_elab"),
    ("native_decide", "native_decide"),
    ("decide +native", "+native"),
    ("decide (config := { native := true })", "native :="),
    ("decide (config := { native := Bool.true })", "native :="),
    ("exact (IO.Process.run {cmd := \"sh\"})", "IO.Process.run"),
    ("exact unsafeCast 0", "unsafeCast"),
    ("rfl\nalias Evil.foo := Classical.em", "alias"),
    ("rfl\nattribute [simp] foo", "attribute"),
    ("exact Lean.ofReduceBool _ _ rfl", "Lean.ofReduceBool"),
    ("sorry", "sorry"),
    ("exact sorry", "sorry"),
    ("admit", "admit"),
    ("have h : False := sorryAx False", "sorryAx"),
    ("set_option debug.skipKernelTC true in rfl", "debug.skipKernelTC"),
    ("set_option trace.Meta.synthInstance true in simp", "trace.Meta.synthInstance"),
    ("simp\n#exit", "#exit"),
    ("rfl\ntheorem evil : False := by sorry", "theorem"),
    ("rfl\naxiom cheat : False", "axiom"),
    ("exact (unsafe (fun _ => default) ())", "unsafe"),
    ("rfl\nmacro \"trivial\" : tactic => `(tactic| sorry)", "macro"),
    ("rfl\nelab \"t\" : tactic => pure ()", "elab"),
    ("rfl\nsyntax \"foo\" : tactic", "syntax"),
    ("rfl\n@[implemented_by foo] def g := 1", "implemented_by"),
    ("rfl\ninitialize counter : IO.Ref Nat ← IO.mkRef 0", "initialize"),
    ("rfl\nimport Mathlib.Tactic", "import"),
    ("exact dbg_trace \"x\"; rfl", "dbg_trace"),
    ("rfl\nend\nnamespace X", "end"),
]


@pytest.mark.parametrize(("tactic", "named"), HOSTILE_TACTICS)
def test_hostile_tactics_are_refused_naming_the_construct(tactic, named):
    with pytest.raises(UnsafeInput, match=f"'{named}'" if not named.startswith("+") else r"\+native"):
        check_tactic(tactic)
    with pytest.raises(UnsafeInput):
        check_proof(tactic)


@pytest.mark.parametrize(
    "tactic",
    [
        "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]",
        "norm_num [Nat.factorial] at h₀ ⊢",
        "intro x hx",
        "cases' h with h h",
        "rw [show (4 : ℝ) = 2 * 2 by norm_num]",
        "simp only [Finset.sum_range_succ] -- sorry is mentioned only in a comment",
        "/- #eval in a comment /- nested -/ -/ omega",
        'exact absurd h (by decide)',
        "set_option maxRecDepth 10000 in decide",
        "have h' : x = f' x' := rfl",
        "open Real in positivity",
        "field_simp\n  ring_nf",
    ],
)
def test_ordinary_tactics_pass(tactic):
    assert check_tactic(tactic) == tactic.rstrip()


def test_native_decide_is_allowed_only_when_configured():
    assert check_tactic("native_decide", allow_native=True) == "native_decide"
    with pytest.raises(UnsafeInput, match="allow_native_decide"):
        check_tactic("native_decide")


def test_strings_and_quoted_names_are_refused_and_hide_nothing_meanwhile():
    assert lex('simp [show "#eval" = "#eval" from rfl]').code == 'simp [show "" = "" from rfl]'
    for text, kind in [
        ('exact «sorry».foo', "«quoted name»"),
        ('exact Lean.«ofReduceBool»', "«quoted name»"),
        ('simp [(")")]', "string literal"),
        ('exact s!"{by sorry}"', "string literal"),
        ('exact r"\\"', "raw string literal"),
        ('exact r#"a"b"#', "raw string literal"),
    ]:
        with pytest.raises(UnsafeInput, match=kind):
            check_tactic(text)
    with pytest.raises(UnsafeInput, match="unterminated"):
        check_tactic("simp /- never closed")
    with pytest.raises(UnsafeInput, match="unterminated"):
        check_tactic('exact "abc')


def test_raw_strings_are_lexed_without_escapes_so_parity_cannot_flip():
    """r"\\" is a whole raw string in Lean (no escapes): reading \\" as an escape would hide
    everything up to the next quote, here a ')' that ends the proof and a command after it."""
    lexed = lex('exact r"\\") #eval 1 --"')
    assert "#eval" in lexed.code and lexed.literals == ("raw string literal",)
    assert lex('r#"x"y"#').code == '""' and lex("for x").code == "for x"
    assert lex("bar\"x\"").literals == ("string literal",)  # an identifier, then a string


def test_identifiers_are_read_with_the_characters_every_lean_accepts():
    """Recent Lean reads é as a letter, older Lean does not: we read the shorter tokens, so a
    banned word cannot hide inside an identifier either way."""
    with pytest.raises(UnsafeInput, match="sorry"):
        check_tactic("exact \u00e9sorry")
    with pytest.raises(UnsafeInput, match="run_tac"):
        check_tactic("x\u1d9c run_tac pure ()")
    assert check_tactic("intro x₁ hα") == "intro x₁ hα"


def test_character_literals_are_refused_since_the_token_before_decides_what_they_are():
    """Lean 4.24 reads é' as an identifier, 2'(' as a numeral and a literal, ∑'( as a notation
    token and a parenthesis: a checker that guessed wrong would count a ')' Lean does not, or
    miss one it does (found by the red team). Primes in names stay allowed."""
    for proof in ["exact (f \u00e9')'x' )", "exact absurd 2'(' )", "exact (∑'(' ) x)", "exact 'a'.toNat"]:
        with pytest.raises(UnsafeInput, match="character literal"):
            check_proof(proof)
    assert check_proof("exact (h' x'' (f₁' y))") == "exact (h' x'' (f₁' y))"


def test_empty_and_oversized_tactics_and_proofs():
    for bad in ("", "   \n  "):
        with pytest.raises(UnsafeInput, match="empty"):
            check_tactic(bad)
        with pytest.raises(UnsafeInput, match="empty"):
            check_proof(bad)
    with pytest.raises(UnsafeInput, match="longer than"):
        check_tactic("simp " * 2000)


def test_statement_must_be_one_theorem_ending_in_by():
    assert check_statement(STATEMENT) == "mathd_algebra_10"
    assert check_statement("lemma foo (n : ℕ) (h : 0 < n) : 1 ≤ n := by") == "foo"
    bad = {
        "def foo : ℕ := 3": "one 'theorem",
        "example : 1 = 1 := by": "one 'theorem",
        "theorem foo : 1 = 1 := rfl": ":= by",
        "theorem a : True := trivial\ntheorem b : 1 = 1 := by": "second command",
        "theorem foo : True := by\n  #eval 1\ntheorem b : True := by": "#eval",
        "theorem foo (h : sorry) : True := by": "sorry",
        "axiom cheat : False\ntheorem foo : False := by": "'axiom'",
        "theorem foo : False := by exact cheat\naxiom cheat : False\ntheorem bar : True := by": "axiom",
        "theorem foo : decide (1 = 1) = true := by native_decide\ntheorem b : True := by": "native_decide",
        "-- just a comment": "one 'theorem",
    }
    for statement, named in bad.items():
        with pytest.raises(UnsafeInput, match=named):
            check_statement(statement)


def test_header_allows_imports_options_and_opens_only():
    check_header(MINIF2F_HEADER)
    check_header("import Mathlib\nimport Aesop\nopen Real\n  Nat\nnoncomputable section\nnamespace Foo\n")
    check_header("import Mathlib\nopen scoped BigOperators\nuniverse u v\nset_option autoImplicit false\n")
    bad = {
        "import Mathlib\n#eval IO.println 1": "'#eval'",
        "import Mathlib\ndef f := 1": "'def'",
        "import Mathlib\nset_option debug.skipKernelTC true": "debug.skipKernelTC",
        "open Real\nimport Mathlib": "must come before",
        "import Mathlib\naxiom cheat : False": "'axiom'",
        "import Mathlib\nmacro \"x\" : term => `(1)": "'macro'",
        "import Mathlib\nopen Real in\n#print axioms x": "#print",
        "import Mathlib\nrun_cmd pure ()": "'run_cmd'",
        "import Mathlib; #eval 1": "malformed 'import'",
        "import Mathlib\n #eval IO.println 1": "'#eval'",
        "import Mathlib\n axiom cheat : False": "'axiom'",
        "import Mathlib\nset_option\n debug.skipKernelTC true": "debug.skipKernelTC",
        "import Mathlib\nopen Nat in\ndef evil := 1": "malformed 'open'",
        "import Mathlib\nopen Real\n  Nat in": "indented line",
        "import Mathlib\nnoncomputable def f := 1": "malformed 'noncomputable'",
        # Keywords as arguments are new commands to Lean: the namespace would not be ours.
        "import Mathlib\nopen Real end": "malformed 'open'",
        "import Mathlib\nopen X namespace Y": "malformed 'open'",
        "import Mathlib\nuniverse u namespace Y": "malformed 'universe'",
        "import Mathlib\nset_option maxHeartbeats 0 namespace Y": "malformed 'set_option'",
        "import Mathlib\nnamespace Foo end": "malformed 'namespace'",
        "import Mathlib\nopen Real\n  end": "indented line",
        "import Mathlib\nopen Real hiding pi": "malformed 'open'",
        "import Mathlib\nopen «Real»": "quoted name",
        "import Mathlib\nset_option pp.all \"x\"": "string literal",
    }
    for header, named in bad.items():
        with pytest.raises(UnsafeInput, match=named):
            check_header(header)


def test_theorem_names_must_be_plain_ascii_identifiers():
    with pytest.raises(UnsafeInput, match="quoted name"):
        check_statement("theorem «foo bar» : True := by")
    for statement in ("theorem foo℘ : True := by",
                      "theorem x⁻¹ : True := by", "theorem _root_.foo : True := by"):  # fmt: skip
        with pytest.raises(UnsafeInput, match="plain ASCII"):
            check_statement(statement)
    assert check_statement("theorem amc12a_2002_p6' (n : ℕ) : n = n := by") == "amc12a_2002_p6'"


def test_proofs_cannot_close_parentheses_they_did_not_open():
    """The check wraps a proof in ( ... ): a stray ')' would end the block early."""
    with pytest.raises(UnsafeInput, match="did not open"):
        check_proof("norm_num)\nopen Evil\n(simp")
    with pytest.raises(UnsafeInput, match="open"):
        check_proof("exact (foo")
    assert check_proof("exact (by simp [show (1 : ℕ) = 1 from rfl])") == (
        "exact (by simp [show (1 : ℕ) = 1 from rfl])"
    )
    assert check_proof("simp [(h')]") == "simp [(h')]"  # a prime is not a character literal


def test_header_namespace_gives_the_full_name():
    assert header_namespace("import Mathlib\nnamespace Foo\nsection\nend\nnamespace Bar\n") == "Foo.Bar"
    assert header_namespace("import Mathlib\nnamespace Foo\nend Foo\n") == ""


def test_every_minif2f_lean_statement_and_header_passes(minif2f_lean_rows):
    for row in minif2f_lean_rows:
        check_header(row["header"])
        assert check_statement(row["formal_statement"]) == row["name"]
