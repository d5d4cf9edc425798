"""The soundness policy for untrusted Lean text, against a hostile corpus."""

import pytest

from search.env.lean_syntax import (
    check_header,
    check_proof,
    check_statement,
    check_tactic,
    header_namespace,
    strip_comments_and_strings,
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
        "have h' : x = 'a'.toNat := rfl",
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


def test_strings_and_quoted_names_cannot_hide_or_fake_constructs():
    assert "#eval" not in strip_comments_and_strings('simp [show "#eval" = "#eval" from rfl]')
    assert check_tactic('exact «sorry».foo') == 'exact «sorry».foo'
    with pytest.raises(UnsafeInput, match="unterminated"):
        check_tactic("simp /- never closed")
    with pytest.raises(UnsafeInput, match="unterminated"):
        check_tactic('exact "abc')


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
    }
    for header, named in bad.items():
        with pytest.raises(UnsafeInput, match=named):
            check_header(header)


def test_theorem_names_must_be_plain_ascii_identifiers():
    for statement in ("theorem «foo bar» : True := by", "theorem foo℘ : True := by",
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
    assert check_proof('simp [(")")]') == 'simp [(")")]'  # strings do not count


def test_header_namespace_gives_the_full_name():
    assert header_namespace("import Mathlib\nnamespace Foo\nsection\nend\nnamespace Bar\n") == "Foo.Bar"
    assert header_namespace("import Mathlib\nnamespace Foo\nend Foo\n") == ""


def test_every_minif2f_lean_statement_and_header_passes(minif2f_lean_rows):
    for row in minif2f_lean_rows:
        check_header(row["header"])
        assert check_statement(row["formal_statement"]) == row["name"]
