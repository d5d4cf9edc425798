"""Hostile inputs: what a user's statement or a model's proof may try, with the construct the
rejection must name (or None where the prover itself must refuse it).

Every proof here targets a *false* statement, so a single "proved" anywhere is a soundness bug.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Attack:
    """One attack on the judge: a header, a statement and a proof that together try to get a
    false statement (or a proof on a non-standard axiom) accepted, and the fragment of the
    reason the refusal must give. ``judge``: where the whole-proof check's reason differs
    from the search's (the search meets some inputs in coqtop first)."""

    what: str
    header: str
    statement: str
    proof: str
    refusal: str
    judge: str | None = None

    @property
    def judge_refusal(self) -> str:
        return self.judge or self.refusal


FALSE = "Theorem t : 1 + 1 = 3."
ARITH = "Require Import Arith."
NOT_ALLOWED = "header command not allowed"

COQ_ATTACKS = [
    # The three classes, as found on main.
    Attack("name: a combining mark makes Coq read another name", "Definition t := 0.",
           "Theorem t\u1dc0x : 1 + 1 = 3.", "exact I.", "must be an ASCII identifier"),
    Attack("name: U+00A0 is an identifier character to Coq", "Definition t := 0.",
           "Theorem t\u00a0x : 1 + 1 = 3.", "exact I.", "non-ASCII blank"),
    Attack("name: U+00A0 in a header", "Definition a\u00a0b := 0.", FALSE, "exact I.", "non-ASCII blank"),
    Attack("axiom: Declare Instance", "Declare Instance i : False.", FALSE, "exact I.", "'Declare Instance"),
    Attack("axiom: Declare Module of a module type with fields", "Declare Module M : Nat.", FALSE,
           "exact I.", "'Declare Module"),
    Attack("axiom: a module named like the standard one",
           "Module Classical_Prop. Axiom classic : 1 + 1 = 3. End Classical_Prop.", FALSE,
           "exact Classical_Prop.classic.", "forbidden command 'Axiom'"),
    Attack("axiom: a user axiom called classic", "Axiom classic : 1 + 1 = 3.", FALSE, "exact classic.",
           "forbidden command 'Axiom'"),
    Attack("open proof: nested proofs allowed", "Set Nested Proofs Allowed.\nLemma o : True.", FALSE,
           "exact I.", "'Set Nested Proofs Allowed.'"),
    Attack("open proof: a definition without its body", "Definition x : let a := 1 in False.", FALSE,
           "exact I.", "header leaves a proof open", judge="Nested proofs are discouraged"),
    Attack("open proof: a Lemma in the header", "Lemma o : False.", FALSE, "exact I.", "'Lemma o"),
    Attack("open proof: an Instance without body", "Instance i : Inhabited False.", FALSE, "exact I.", "'Instance"),
    Attack("open proof: a Fixpoint without body", "Fixpoint f (n : nat) : False.", FALSE, "exact I.", NOT_ALLOWED),
    Attack("open proof: Program obligations", "Program Definition x : False := _.", FALSE, "exact I.", "'Program"),
    Attack("open proof: a Section", "Section S.", FALSE, "exact I.", "'Section S.'"),
    # Instances, hints and registrations with inconsistent definitions.
    Attack("Existing Instance", "Existing Instance foo.", FALSE, "exact I.", "'Existing Instance"),
    Attack("Hint Extern", "Hint Extern 1 => exact I : core.", FALSE, "auto.", "'Hint Extern"),
    Attack("Primitive", "Primitive int := #int63_type.", FALSE, "exact I.", "'Primitive"),
    Attack("Register", "Register bool as core.bool.type.", FALSE, "exact I.", "'Register"),
    Attack("Canonical", "Canonical Structure foo.", FALSE, "exact I.", "'Canonical"),
    Attack("Coercion", "Coercion f : nat >-> bool.", FALSE, "exact I.", "'Coercion"),
    Attack("Class", "Class Bad := b : False.", FALSE, "exact I.", "'Class"),
    Attack("Ltac in a header", "Ltac cheat := exact I.", FALSE, "cheat.", "'Ltac cheat"),
    Attack("Ltac2", "From Ltac2 Require Import Ltac2.", FALSE, "exact I.", "'Ltac2'"),
    Attack("ltac: in a definition", "Definition x : nat := ltac:(exact 0).", FALSE, "exact I.", "'ltac'"),
    # Kernel checks switched off, by command or attribute.
    Attack("universe polymorphism", "Set Universe Polymorphism.", FALSE, "exact I.", "'Set Universe'"),
    Attack("Polymorphic definition", "Polymorphic Definition u := Type.", FALSE, "exact I.", "'Polymorphic"),
    Attack("attribute on Unset", "#[local] Unset Guard Checking.", FALSE, "exact I.", "'Unset Guard Checking'"),
    Attack("Local Unset", "Local Unset Positivity Checking.", FALSE, "exact I.", "'Unset Positivity Checking'"),
    Attack("bypass_check attribute", "#[bypass_check(guard)] Fixpoint f (n : nat) : False := f n.",
           FALSE, "exact (f 0).", "attributes (#[...])"),
    Attack("Context", "Context (H : 1 + 1 = 3).", FALSE, "exact H.", "forbidden command 'Context'"),
    Attack("Variable in a section", "Section S. Variable H : 1 + 1 = 3.", FALSE, "exact H.", "'Variable'"),
    # What the allowed shapes let through, the kernel refuses.
    Attack("an inductive type in a header", "Inductive bad := c : (bad -> False) -> bad.", FALSE, "exact I.",
           "'Inductive bad"),
    Attack("a Fixpoint in a header that is not a known one", "Fixpoint loop (n : nat) : False := loop n.",
           FALSE, "exact (loop 0).", "'Fixpoint loop"),
    Attack("a notation spelling the trailer's name", "Notation \"'Checked.t'\" := I.", FALSE, "exact I.",
           "has type \"True\"", judge="already defines the theorem's name"),
    # Statements.
    Attack("statement with its own body", ARITH, "Theorem t : 1 + 1 = 3 := I.", "exact I.",
           "statement rejected by Coq", judge="Syntax error"),
    Attack("attribute on the statement", ARITH, "#[local] Theorem t : 1 + 1 = 3.", "exact I.",
           "statement must start with"),
    Attack("qualified statement name", ARITH, "Theorem t.u : 1 + 1 = 3.", "exact I.", "must be an ASCII identifier"),
    # Proofs the kernel must still refuse.
    Attack("exact_no_check (VM on ill-typed terms, rocq#16891)", ARITH, FALSE, "exact_no_check (eq_refl 2).",
           "uses 'exact_no_check'"),
    Attack("vm_cast_no_check", ARITH, FALSE, "vm_cast_no_check (eq_refl 2).", "uses 'vm_cast_no_check'"),
    Attack("abstract with a no-check proof", ARITH, FALSE, "abstract (exact_no_check (eq_refl 3)) using t.",
           "forbidden construct 'abstract'"),
    Attack("Fail in a proof", ARITH, FALSE, "Fail idtac.", "not a tactic"),
    Attack("Grab Existential Variables", ARITH, FALSE, "Grab Existential Variables.", "'Variables'"),
    # Found by the red team: Coq 8.16's kernel accepts these ill-founded (co)fixpoints.
    Attack("kernel: guard-checker bug rocq#20455", "", "Theorem t : False.",
           "refine ((fix issue (n : nat) {struct n} : match n with 0 => False | S _ => True end -> False"
           " := match n as n0 return (match n0 with 0 => False | S _ => True end -> False) with"
           " | 0 => fun h => h | S subn => fun h => let f (b : bool) (e : b = true) (x : nat)"
           " (Hx : match x with 0 => False | S m => match m with 0 => False | S _ => True end end) :="
           " let arg := (match (if b then x else subn) with 0 => subn | S subsubn => subsubn end) in"
           " issue arg _ in f true eq_refl 5 I end) 1 I). subst b. destruct x; cbn in Hx."
           " - exfalso; exact Hx. - exact Hx.", "uses 'fix'"),
    Attack("kernel: cofix guard bug rocq#22386 (header part)",
           "CoInductive Stream : Type := next : Stream -> Stream.", FALSE, "exact I.", "'CoInductive Stream"),
    Attack("kernel: cofix guard bug rocq#22386 (proof part)", ARITH, FALSE,
           "exfalso. exact (let actual := nat in cofix recur : actual := S recur).", "'cofix'"),
    Attack("kernel: a fixpoint in a definition's body", "Definition f := fix g (n : nat) : nat := 0.",
           FALSE, "exact I.", "'fix'"),
    # Found by the audit of Coq's critical-bug list for 8.16.1 (docs/soundness.md).
    Attack("kernel: rocq#20413 through a header Fixpoint",
           "Fixpoint F(sz c:nat)(f:nat->nat):nat := match sz with | S sz0 => F sz0 (S c) (fun sz' => F sz' 0 f)"
           " | O => S (f c) end.", FALSE, "exfalso.", "'Fixpoint F"),
    Attack("kernel: rocq#21053 with propositional extensionality",
           "From Coq Require Import PropExtensionality.\nInductive True2 : Prop := I2 : (False -> True2) -> True2.\n"
           "Fixpoint f (e : (False -> True2) = True2) (x : True2) {struct x} : False := match x with I2 H => f e H end.",
           FALSE, "exfalso.", "'Inductive True2"),
    Attack("kernel: a fixpoint in the statement", ARITH,
           "Theorem t : let F := fix F (n : nat) : nat := 0 in 1 + 1 = 3.", "exact I.", "statement uses 'fix'"),
    Attack("kernel: cofix in the statement", ARITH, "Theorem t : let s := cofix s : nat := 0 in False.",
           "exact I.", "statement uses 'cofix'"),
    Attack("tactics in the statement", ARITH, "Theorem t : ltac:(exact (1 + 1 = 3)).", "exact I.",
           "forbidden construct 'ltac' in statement"),
    Attack("kernel: rocq#22378 SProp let-ins", "Definition sE := SProp.", FALSE, "exact I.", "uses 'SProp'"),
    Attack("kernel: SProp reached without naming it", "Definition NS : Type := (fun (X : Type) (f : X -> nat) => X) _"
           " (fun P => let _ := @eq_sind_r nat 0%nat P in 0%nat).", FALSE, "exact I.",
           "SProp is disallowed because the \"Allow StrictProp\" flag is off"),
    Attack("a notation that makes 'match' a token of its own", "Notation \"'match' x\" := x (at level 0).",
           "Theorem t : match False -> False with u (n : nat) : True.", "exact I.", "the keyword 'match'"),
    Attack("kernel: rocq#22378 through StrictProp", "From Coq Require Import StrictProp.", FALSE, "exact I.",
           "uses 'StrictProp'"),
    Attack("kernel: let-ins in a constructor type",
           "Inductive p : Type := pack (x y : nat) (g : nat := 0).", FALSE, "exact I.", "'Inductive p"),
    # Found by the second red-team round.
    Attack("kernel: rocq#22378 with the let-ins hidden in a definition",
           "Definition CT (I : Type) := forall x y : nat, let g1 := @eq_sind_r nat 0 in I.\n"
           "Inductive pwl : Type := | pack : CT pwl.", FALSE, "exact I.", "'Inductive pwl"),
    Attack("kernel: rocq#20455 through a mutual theorem, which Coq proves as a fixpoint", "",
           "Theorem t (n : nat) : (match n with 0 => False | S _ => True end) -> False with u (n : nat) : True.",
           "exact I.", "mutual theorems ('with')"),
    Attack("kernel: rocq#21685 module alias", "Module A := Nat.", FALSE, "exact I.", "'Module A := Nat.'"),
    Attack("a functor application in a header that is not a known one",
           "Require Import FSets.\nModule NS := FSetWeakList.Make(Nat_as_OT).", FALSE, "exact I.", "'Module NS"),
    Attack("a known header with one more sentence is not known",
           "Require Import Coq.Reals.Reals.\nOpen Scope R_scope.\n\n\nFixpoint sum_n (a : nat -> R) (n : nat) : R :=\n"
           "  match n with\n  | 0 => 0\n  | S p => sum_n a p + a p\n  end.\n\n\nFixpoint prod_n (a : nat -> R) (n : nat) : R :=\n"
           "  match n with\n  | 0 => 1\n  | S p => prod_n a p * a p\n  end.\nFixpoint g (n : nat) : nat := 0.",
           FALSE, "exact I.", "'Fixpoint sum_n"),
    Attack("the VM cast", ARITH, FALSE, "exact (eq_refl <: 1 + 1 = 2).", "uses '<:'"),
    Attack("native_compute", ARITH, FALSE, "native_compute.", "uses 'native_compute'"),
    Attack("primitive integers (rocq#19402)", "From Coq Require Import Uint63.", FALSE, "exact I.", "uses 'Uint63'"),
    # Found by the third red-team round: Ltac rebuilds a library fixpoint without the word fix.
    Attack("kernel: rocq#20455 by rebuilding EnvRing.Padd in Ltac", "", "Theorem t : False.",
           'pose (BIG := @EnvRing.Pinj nat BinNums.xH (EnvRing.Pc 0)).\nlet v := eval cbv delta [EnvRing.Padd] in (@EnvRing.Padd nat 0 Nat.add Nat.eqb) in let v := eval cbv beta in v in match v with context C [@EnvRing.PaddI nat Nat.add] => let w := context C [fun (Pop : EnvRing.Pol nat -> EnvRing.Pol nat -> EnvRing.Pol nat) (Q : EnvRing.Pol nat) (j : BinNums.positive) (P : EnvRing.Pol nat) => let h (b : bool) (x : EnvRing.Pol nat) := match (if b then x else Q) with EnvRing.Pc c => EnvRing.Pc c | EnvRing.Pinj _ q => EnvRing.PX (Pop P q) BinNums.xH (EnvRing.Pc 0) | EnvRing.PX _ _ q => EnvRing.Pc 0 end in h true (EnvRing.Pinj BinNums.xH BIG)] in let w := eval cbv beta in w in assert (e : w (EnvRing.Pc 0) BIG = EnvRing.PX (w (EnvRing.Pc 0) BIG) BinNums.xH (EnvRing.Pc 0)) by exact (eq_refl (w (EnvRing.Pc 0) BIG)) end.\nrevert e.\nmatch goal with |- ?a = _ -> _ => generalize a end.\nintro s.\ninduction s as [c|p s IH|s1 IH1 p s2 IH2]; intro e; inversion e; subst; auto.',
           "no copy of a definition's own (Padd)"),
    Attack("an abstracted subproof, whose term the judge would not read", ARITH, FALSE,
           "abstract lia.", "forbidden construct 'abstract'"),
    Attack("comment desync: '.(*' is not a comment to Coq",
           "Notation \"'QQ' '.(' '*'\" := 0.\nDefinition x := QQ.(* .\nModule M. Axiom bad : False. End M.\n"
           "Notation \"'ZZ' '*' ')' 'Fail' 'Check' x\" := 0 (x global, only parsing, at level 0).\n"
           "Definition w := ZZ *)", FALSE, "exfalso. exact M.bad.", "header rejected by Coq",
           judge="The reference QQ was not found"),
    Attack("a library axiom outside the allow-list", "Require Import Coq.Logic.Epsilon.",
           "Theorem t : exists n : nat, n = epsilon (inhabits 0) (fun m => m = 0).",
           "eexists. reflexivity.", "outside the allow-list: epsilon_statement"),
]  # fmt: skip

#: The recorded false statement: the stand-in REPL can open it for the search.
LF = LEAN_FALSE[1]

LEAN_ATTACKS = [
    Attack("interpolated string runs a tactic", "", LF, 'exact s!"{by sorry}"', "string literal"),
    Attack("throwError interpolates without '!'", "", LF,
           'exact (throwError "{(sorry : False)}")', "string literal"),
    Attack("raw string flips quote parity", "", LF, 'exact r"\\") #eval 1 --"', "'#eval'"),
    Attack("raw string with hashes", "", LF, 'exact r#"x"#', "raw string literal"),
    Attack("guillemets spell sorryAx", "", LF, "exact «sorryAx» _ false", "«quoted name»"),
    Attack("guillemets spell ofReduceBool", "", LF, "exact Lean.«ofReduceBool» _ _ rfl",
           "«quoted name»"),
    Attack("open with a keyword argument", "import Mathlib\nopen Real end", LF, "simp",
           "malformed 'open'"),
    Attack("open then namespace on one line", "import Mathlib\nopen X namespace Y", LF,
           "simp", "malformed 'open'"),
    Attack("universe then namespace on one line", "import Mathlib\nuniverse u namespace Y",
           LF, "simp", "malformed 'universe'"),
    Attack("macro_rules in disguise", "", LF,
           "rfl\nmacro_rules | `(tactic| rfl) => `(tactic| sorry)", "'macro_rules'"),
    Attack("elab_rules changing #print axioms", "", LF,
           "rfl\nelab_rules : command | `(#print axioms $_) => pure ()", "'elab_rules'"),
    Attack("termination_by", "", LF, "exact t\ntermination_by 0", "'termination_by'"),
    Attack("decreasing_by", "", LF, "exact t\ndecreasing_by all_goals simp",
           "'decreasing_by'"),
    Attack("csimp through an attribute", "", LF, "rfl\nattribute [csimp] foo",
           "'attribute'"),
    Attack("implemented_by in an attribute", "", LF, "exact (@[implemented_by f] g)",
           "'implemented_by'"),
    Attack("an attribute in a proof", "", LF, "exact (@[simp] foo)", "attribute ('@[')"),
    Attack("opaque", "", LF, "rfl\nopaque cheat : False", "'opaque'"),
    Attack("initialize", "", LF, "rfl\ninitialize pure ()", "'initialize'"),
    Attack("deriving", "", LF, "rfl\nderiving instance Repr for Nat", "'deriving'"),
    Attack("sorry after a Latin-1 letter", "", LF, "exact \u00e9sorry", "'sorry'"),
    Attack("run_tac after a modifier letter", "", LF, "exact x\u1d9c\nrun_tac pure ()",
           "'run_tac'"),
    Attack("meta code through open ... in", "", LF,
           "open Lean Elab Tactic in exact (evalTactic default)", "'Elab'"),
    Attack("an attribute on the statement", "", "@[simp] theorem t : False := by", "simp", "attribute ('@[')"),
    Attack("a string in the header", "import Mathlib\nset_option pp.all \"x\"", LF,
           "simp", "string literal"),
    Attack("doc comment then #eval", "", LF, "/-- doc -/ #eval 1", "'#eval'"),
    Attack("a prime after a Latin-1 letter hides a ')'", "", LF, "exact (f \u00e9')'x' )", "character literal"),
    Attack("a numeral then a character literal hides a '('", "", LF, "exact absurd 2'(' )", "character literal"),
]  # fmt: skip
