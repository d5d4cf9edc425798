"""Static checks on untrusted Coq text: every hostile input is rejected with a clear reason."""

from __future__ import annotations

import json

import pytest

from search.env.coq_syntax import (
    check_header,
    check_statement,
    parse_proof,
    parse_tactic,
    split_sentences,
    statement_identifiers,
    strip_comments,
)
from search.types import UnsafeInput


def test_split_sentences_handles_qualified_names_decimals_and_bullets():
    text = "intros x y. - rewrite Nat.add_comm. + exact (f 1.5). { auto. } all: lia."
    assert split_sentences(text) == [
        "intros x y.", "-", "rewrite Nat.add_comm.", "+", "exact (f 1.5).",
        "{", "auto.", "}", "all: lia.",
    ]  # fmt: skip


def test_comments_nest_and_unterminated_comment_is_an_error():
    assert strip_comments("a (* b (* c *) d *) e").split() == ["a", "e"]
    with pytest.raises(UnsafeInput, match="unterminated comment"):
        strip_comments("lia (* oops")


@pytest.mark.parametrize("tactic", ["lia", "intros x y", "split; lia.", "destruct H as [H1 H2]",
                                    "all: lia", "2: lra", "(intros; lia)",
                                    "Z.div_mod_to_equations; lia", "Nat.le_elim"])  # fmt: skip
def test_plain_tactics_are_accepted_as_one_sentence(tactic):
    sentence = parse_tactic(tactic)
    assert sentence.endswith(".")
    assert len(split_sentences(sentence)) == 1


HOSTILE_TACTICS = {
    "admit": "admit",
    "give_up": "give_up",
    "Admitted.": "Admitted",
    "lia. Qed.": "sentences",
    "lia. Axiom cheat : False.": "sentences",
    "Axiom cheat : False": "Axiom",
    "Require Import Foo": "Require",
    'Load "/etc/passwd"': "string",
    'idtac "x"': "string",
    'Declare ML Module "evil"': "string",
    "Drop": "Drop",
    "Show Existentials": "vernacular",
    "Check nat": "vernacular",
    'Redirect "out" Print t': "string",
    "Unset Guard Checking": "Unset",
    "Abort": "Abort",
    "exact I (* hidden *). Qed. Theorem t : True": "sentences",
    "lia.\nAdmitted": "sentences",
    "ＡＤＭＩＴ": "non-ASCII",
    "аdmit": "non-ASCII",  # Cyrillic a
    "lia\x00": "control",
    "": "empty",
    "   ": "empty",
    "-": "sentences",
    "x" * 5000: "longer",
    "Print Assumptions t": "Print",
    "Timeout 100000 lia": "Timeout",
    "BackTo 1": "BackTo",
    # Only a qualified *tactic* name opens a tactic sentence: a vernacular keyword before it
    # or a space inside it is still vernacular.
    "Search Z.add": "vernacular",
    "Z .add": "vernacular",
    "Z.": "vernacular",
}


@pytest.mark.parametrize(("tactic", "reason"), list(HOSTILE_TACTICS.items()))
def test_hostile_tactics_are_rejected_with_a_reason(tactic, reason):
    with pytest.raises(UnsafeInput) as info:
        checked = parse_tactic(tactic)
        # A bullet is one sentence but no tactic; callers reject it separately.
        if checked in "-+*{}":
            raise UnsafeInput("bullet: sentences")
    assert reason.lower() in str(info.value).lower()


def test_tactics_may_name_the_statements_own_unicode_identifiers_and_nothing_else():
    statement = "Theorem t (f : R -> R) (h₀ : forall x, f x = 2 * x) (h₁ : True) : f 1 = 2."
    allowed = statement_identifiers(statement)
    assert allowed == {"h₀", "h₁"}
    assert parse_tactic("rewrite !h₀ in *", allowed) == "rewrite !h₀ in *."
    assert parse_proof("rewrite h₀. destruct h₁. lra.", allowed)[0] == "rewrite h₀."
    for text in ("rewrite !h₀ in *", "rewrite h₂", "аdmit", "exact h₀'"):
        with pytest.raises(UnsafeInput, match="non-ASCII"):
            parse_tactic(text, allowed if text != "rewrite !h₀ in *" else frozenset())


def test_whole_proof_strips_proof_qed_wrapper_and_comments():
    assert parse_proof("Proof.\n  intros. (* why *)\n  - lia.\nQed.") == ["intros.", "-", "lia."]


@pytest.mark.parametrize("proof", ["intros. admit.", "lia. Qed. Theorem x : False.", "Admitted.",
                                   "intros. Abort.", "exact I. Defined. Axiom a : False."])  # fmt: skip
def test_hostile_whole_proofs_are_rejected(proof):
    with pytest.raises(UnsafeInput):
        parse_proof(proof)


def test_statement_must_be_one_theorem_declaration():
    assert check_statement("Theorem t :\n forall n : nat, n = n.") == "t"
    assert check_statement("Lemma foo' : True.", name="foo'") == "foo'"
    for bad in ["Definition t := 1.", "Theorem t : True. Axiom a : False.",
                "Theorem t : True", "Axiom t : False.", "Theorem t : True.\nProof."]:  # fmt: skip
        with pytest.raises(UnsafeInput):
            check_statement(bad)
    with pytest.raises(UnsafeInput, match="expected 'u'"):
        check_statement("Theorem t : True.", name="u")


@pytest.mark.parametrize("header", ["Load \"x\".", "Declare ML Module \"evil\".",
                                    "Unset Guard Checking.", "Redirect \"f\" Print nat.",
                                    "Add LoadPath \"/tmp\".", "Extraction \"f.ml\" nat."])  # fmt: skip
def test_dangerous_header_commands_are_rejected(header):
    with pytest.raises(UnsafeInput, match="forbidden command"):
        check_header(header)


def test_ordinary_minif2f_headers_pass():
    check_header("Require Import Reals.\n(* comment with Load in it *)\nOpen Scope R_scope.\n"
                 "Definition f (x : R) := x * 2.\n")  # fmt: skip


def test_statements_may_use_unicode_identifiers_but_no_control_characters():
    assert check_statement("Theorem t : forall x\u2080 : nat, x\u2080 = x\u2080.") == "t"
    with pytest.raises(UnsafeInput, match="control character"):
        check_statement("Theorem t : True.\x1b[2K")


@pytest.mark.parametrize("tactic", ["idtac... Context (H : False).", "auto..", "lia..."])
def test_ellipsis_which_coq_reads_as_a_sentence_end_is_rejected(tactic):
    with pytest.raises(UnsafeInput, match=r"'\.\.'"):
        parse_tactic(tactic)


def test_strings_are_lexed_so_comment_markers_inside_them_hide_nothing():
    with pytest.raises(UnsafeInput, match="Load"):
        check_header('Definition s := "(*". Load Foo. Definition u := "*)".')
    with pytest.raises(UnsafeInput, match="exactly one declaration"):
        check_statement(
            'Theorem t : ("(*" = "") -> False. Proof. intro H; discriminate H. Qed. Lemma l : ("*)" = "") -> True.'
        )
    assert split_sentences('Notation "x . y" := (x + y) (at level 50). Check 1.') == [
        'Notation "x . y" := (x + y) (at level 50).',
        "Check 1.",
    ]
    with pytest.raises(UnsafeInput, match="unterminated string"):
        strip_comments('Definition s := "oops.')


@pytest.mark.parametrize("header", ["Axiom a : False.", "Parameter p : nat.", "Context (H : False).",
                                    "Hypothesis h : False.", "Variables x y : nat."])  # fmt: skip
def test_headers_may_not_declare_axioms(header):
    with pytest.raises(UnsafeInput, match="forbidden command"):
        check_header(header)


def test_header_sentences_must_be_terminated():
    with pytest.raises(UnsafeInput, match="not terminated"):
        check_header("Require Import Reals.\nOpen Scope R_scope")


def test_known_headers_are_exactly_minif2f_coqs_that_need_more_than_the_plain_shapes(minif2f_coq):
    """known_coq_headers.txt is derived, not curated: every MiniF2F-Coq header with a Fixpoint or
    a functor application, and nothing else (regenerate it if the benchmark's pin moves)."""
    from search.env.coq_syntax import (
        KNOWN_HEADER_SHAPES,
        TRUSTED_HEADERS,
        header_digest,
        strip_comments,
    )

    needed = set()
    for line in minif2f_coq.read_text().splitlines():
        header = json.loads(line)["header"]
        sentences = split_sentences(strip_comments(header))
        if any(s.fullmatch(" ".join(x.split())) for x in sentences for _, s in KNOWN_HEADER_SHAPES):
            needed.add(header_digest(sentences))
            check_header(header)
            # Layout and comments do not matter; one more sentence does.
            check_header("(* a note *)\n" + header.replace("\n", "\n\n"))
            with pytest.raises(UnsafeInput, match="header command not allowed"):
                check_header(header + "\nDefinition one_more := 0.")
    assert needed == TRUSTED_HEADERS and len(needed) == 20


@pytest.mark.parametrize("header", ["Fixpoint f (n : nat) : nat := 0.", "Module A := Nat.",
                                    "Require Import FSets.\nModule N := FSetWeakList.Make(Nat_as_OT)."])  # fmt: skip
def test_unknown_headers_may_not_recurse_or_alias_modules(header):
    with pytest.raises(UnsafeInput, match="header command not allowed"):
        check_header(header)
