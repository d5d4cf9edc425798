"""Hostile inputs: what a user's statement or a model's proof may try, with the construct the
rejection must name (or None where the prover itself must refuse it).

Every proof here targets a *false* statement, so a single "proved" anywhere is a soundness bug.
"""

from __future__ import annotations

NESTED_COQ = "exact " + "(" * 1500 + "I" + ")" * 1500 + "."
NESTED_LEAN = "exact " + "(" * 1500 + "trivial" + ")" * 1500

COQ_FALSE = ("Require Import Arith.", "Theorem cheat : 1 + 1 = 3.")
#: The REPL's recordings hold this false statement (shared/fixtures/lean-repl/self_proof_check).
LEAN_FALSE = ("", "theorem ex : False := by")

# (proof or tactic, fragment the rejection names; None: the prover's own error)
COQ_PROOFS = [
    ("admit.", "admit"),
    ("Admitted.", "Admitted"),
    ("give_up.", "give_up"),
    ("Abort.", "Abort"),
    ("reflexivity. Qed. Theorem x : True.", "Qed"),
    ("lia.\nQed.\nTheorem y : False.\nAdmitted.", "Qed"),
    ("Axiom c : 1 + 1 = 3. exact c.", "Axiom"),
    ("idtac. Require Import Coq.Logic.Classical.", "Require"),
    ('Load "/etc/passwd".', "string"),
    ("Drop.", "Drop"),
    ("(* a comment *) Admitted.", "Admitted"),
    ("(* unterminated comment admit.", "unterminated"),
    ("Timeout 1 admit.", "Timeout"),
    ("Unset Guard Checking.", "Unset"),
    ("BackTo 1.", "BackTo"),
    ('idtac "Closed under the global context".', "string"),
    ("аdmit.", "non-ASCII"),  # Cyrillic а
    ("Ａdmitted.", "non-ASCII"),  # full-width A
    ("simpl... admit.", "'..'"),
    ("lia " * 1200 + ".", None),  # one long sentence: Coq's own syntax error
    ("exact I.", None),
    ("reflexivity.", None),
    (NESTED_COQ, None),
]

LEAN_PROOFS = [
    ("sorry", "sorry"),
    ("admit", "admit"),
    ("exact sorryAx _ false", "sorryAx"),
    ("norm_num\ntheorem cheat2 : False := sorry", "theorem"),
    ("rfl\naxiom c : (1 : ℕ) + 1 = 3", "axiom"),
    ("#eval IO.Process.run {cmd := \"sh\"}", "#eval"),
    ("run_tac do IO.println \"x\"", "run_tac"),
    ("run_cmd Lean.logInfo \"x\"", "run_cmd"),
    ("exact by_elab do return default", "by_elab"),
    ("set_option debug.skipKernelTC true in rfl", "debug.skipKernelTC"),
    ("native_decide", "native_decide"),
    ("decide +native", "native"),
    ("simp -- comment\n#exit", "#exit"),
    ("/- a comment -/ sorry", "sorry"),
    ("simp /- unterminated", "unterminated"),
    ("rfl\nend\nnamespace Evil", "end"),
    ("rfl\nmacro \"rfl\" : tactic => `(tactic| sorry)", "macro"),
    ("exact (unsafe default)", "unsafe"),
    ("ѕorry", None),  # Cyrillic ѕ: an unknown identifier to Lean, not a keyword
    ("omega " * 20_000, "longer than"),
    (NESTED_LEAN, None),
]

COQ_STATEMENTS = [
    ("Theorem t : True. Proof. exact I. Qed. Theorem u : False.", "one"),
    ("Axiom a : False.", "Theorem"),
    ("Theorem t : False.\nAdmitted.", "one"),
    ('Load "x".', "Theorem"),
    ("Theorem t : 1 = 1.\u0007", "control"),
]

LEAN_STATEMENTS = [
    ("theorem t : True := trivial\ntheorem u : False := by", "second command"),
    ("axiom a : False\ntheorem t : False := by", "axiom"),
    ("theorem t : False := sorry", "sorry"),
    ("def f : ℕ := 3", "theorem"),
    ("theorem t (h : sorry) : False := by", "sorry"),
    ("#eval 1\ntheorem t : False := by", "#eval"),
    ("theorem t : False := by\n  set_option debug.skipKernelTC true in", "debug.skipKernelTC"),
]
