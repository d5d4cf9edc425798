"""The whole-file coqc check: the judge every reported proof must pass."""

from __future__ import annotations

import pytest

from search.env.coq_check import (
    ALLOWED_AXIOMS,
    DEFAULT_PREAMBLE,
    check_with_coqc,
    judge_source,
    parse_assumptions,
    render_context,
    render_source,
    resolve_axioms,
    shortest_name,
)
from search.types import Theorem

pytestmark = pytest.mark.coq

REALS = Theorem(
    name="le_of_eq",
    header="Require Import Reals.\nOpen Scope R_scope.\n",
    statement="Theorem le_of_eq : forall x y : R, x = y -> x <= y.",
)
NAT = Theorem(name="two", header="Require Import Arith.", statement="Theorem two : 1 + 1 = 2.")


async def test_correct_proof_is_accepted_with_only_standard_axioms():
    verdict = await check_with_coqc(REALS, "intros. lra.")
    assert verdict.ok, verdict.message
    assert verdict.axioms == (
        "Coq.Reals.ClassicalDedekindReals.sig_forall_dec",
        "Coq.Logic.FunctionalExtensionality.functional_extensionality_dep",
    )
    assert "Theorem le_of_eq : forall x y : R, x = y -> x <= y.\nProof.\nintros.\nlra.\nQed." in (
        verdict.checked_source
    )
    closed = await check_with_coqc(NAT, "reflexivity.")
    assert closed.ok and closed.axioms == ()


async def test_wrong_proof_is_rejected_with_coqs_message():
    verdict = await check_with_coqc(NAT, "intros. lra.")
    assert not verdict.ok and "coqc rejected" in verdict.message


@pytest.mark.parametrize(
    "proof",
    [
        "admit.",
        "Admitted.",
        "reflexivity. Qed. Theorem two' : 1 = 1. reflexivity.",
        "Abort.",
        "idtac. Axiom cheat : False. exact I.",
        'idtac "Closed under the global context".',
    ],
)
async def test_smuggled_commands_are_rejected_before_coqc(proof):
    verdict = await check_with_coqc(NAT, proof)
    assert not verdict.ok and "rejected before checking" in verdict.message


@pytest.mark.parametrize(
    "header",
    [
        "Axiom cheat : False.",
        "Module Classical_Prop. Axiom classic : False. End Classical_Prop.",
        "Section S. Hypothesis cheat : False.",
        "Parameter cheat : False.",
    ],
)
async def test_headers_cannot_declare_axioms(header):
    cheating = Theorem(name="false_thing", header=header, statement="Theorem false_thing : 1 = 2.")
    verdict = await check_with_coqc(cheating, "destruct cheat.")
    assert not verdict.ok and "forbidden command" in verdict.message


async def test_library_axioms_outside_the_allow_list_are_rejected():
    # Coq.Logic.Epsilon's axiom is not on the list (Hilbert's epsilon is stronger than MiniF2F needs).
    theorem = Theorem(
        name="j",
        header="Require Import Epsilon.",
        statement="Theorem j : exists n : nat, n = epsilon (inhabits 0) (fun m => m = 0).",
    )
    verdict = await check_with_coqc(theorem, "eexists. reflexivity.")
    assert not verdict.ok and "outside the allow-list: epsilon_statement" in verdict.message
    classical = Theorem(
        name="c",
        header="Require Import Classical.",
        statement="Theorem c : forall P : Prop, P \\/ ~ P.",
    )
    assert (await check_with_coqc(classical, "intros P. apply classic.")).ok


async def test_changed_statement_cannot_pass_because_the_file_is_built_from_ours():
    # A proof of a *different* (true) statement does not prove ours.
    verdict = await check_with_coqc(
        Theorem(name="bad", statement="Theorem bad : 1 + 1 = 3."), "reflexivity."
    )
    assert not verdict.ok


async def test_incomplete_proof_is_rejected():
    conj = Theorem(name="c", statement="Theorem c : True /\\ True.")
    assert not (await check_with_coqc(conj, "split. exact I.")).ok


def test_assumptions_parsing_cannot_be_fooled_by_printed_text():
    assert parse_assumptions("Axioms:\nax : Closed under the global context_x") == ("ax",)
    sections = parse_assumptions("Section Variables:\nH : False\nAxioms:\nfoo\n  : nat")
    assert sections == ("Section Variables: H", "foo")
    assert parse_assumptions("something else") is None
    # Coq 8.16 lists a fixpoint whose guard was bypassed under "Axioms:" as a sentence.
    assert parse_assumptions("Axioms:\nloop is assumed to be guarded.") == (
        "loop is assumed to be guarded.",
    )


#: Recorded from coqc 8.16.1: ``Locate Term`` of a full name, first when nothing shadows it,
#: then after a module ``FunctionalExtensionality`` of the user's own was defined.
LOCATE_PLAIN = (
    "Constant Coq.Logic.FunctionalExtensionality.functional_extensionality_dep\n"
    "  (shorter name to refer to it in current context is "
    "FunctionalExtensionality.functional_extensionality_dep)"
)
LOCATE_SHADOWED = (
    "Constant Coq.Logic.FunctionalExtensionality.functional_extensionality_dep\n"
    "  (shorter name to refer to it in current context is "
    "Logic.FunctionalExtensionality.functional_extensionality_dep)"
)


def test_the_shortest_name_is_read_off_locate_for_exactly_the_full_name():
    full = "Coq.Logic.FunctionalExtensionality.functional_extensionality_dep"
    assert shortest_name(LOCATE_PLAIN, full) == "FunctionalExtensionality.functional_extensionality_dep"
    assert shortest_name(LOCATE_SHADOWED, full) == "Logic.FunctionalExtensionality.functional_extensionality_dep"
    assert shortest_name("Constant Checked.t (shorter name to refer to it in current context is t)", "Checked.t") == "t"
    assert shortest_name("No term of suffix Coq.Logic.Classical_Prop.classic", "Coq.Logic.Classical_Prop.classic") is None
    assert shortest_name(LOCATE_PLAIN, "Coq.Logic.FunctionalExtensionality.functional_extensionality") is None


def test_trailer_output_is_read_only_after_the_markers():
    allowed = frozenset({"Coq.Logic.Classical_Prop.classic"})
    trailer = (
        "MK:assumptions\nAxioms:\nClassical_Prop.classic : forall P : Prop, P \\/ ~ P\n"
        "MK:locate:Coq.Logic.Classical_Prop.classic\n"
        "Constant Coq.Logic.Classical_Prop.classic\n"
        "  (shorter name to refer to it in current context is Classical_Prop.classic)\nMK:term\n"
    )
    assert resolve_axioms(trailer, "MK", allowed) == (("Coq.Logic.Classical_Prop.classic",), ())
    forged = "MK2:assumptions\nClosed under the global context\nMK2:locate:x\nMK2:term\n"
    assert resolve_axioms(forged + trailer, "MK", allowed) == resolve_axioms(trailer, "MK", allowed)
    assert resolve_axioms(forged, "MK", allowed) is None
    cheat = trailer.replace("Axioms:\n", "Axioms:\ncheat : False\n")
    assert resolve_axioms(cheat, "MK", allowed) == (
        ("cheat", "Coq.Logic.Classical_Prop.classic"),
        ("cheat",),
    )


def _unchecked_source(header: str, statement: str, proof: str) -> tuple[str, str]:
    """The judge's file for a header the static checks would refuse (to test the layer below)."""
    marker = "dcoprover-test0123456789"
    theorem = Theorem(name="t", header=header, statement=statement)
    source = render_source(theorem, proof.split("\n"), DEFAULT_PREAMBLE, marker, header=[header])
    return source, marker


async def _judge_unchecked(header: str, statement: str, proof: str):
    source, marker = _unchecked_source(header, statement, proof)
    context = render_context(DEFAULT_PREAMBLE, [header])
    return await judge_source(source, marker, ALLOWED_AXIOMS, 60.0, 4 * 1024**3, context)


async def test_a_module_shadowing_a_standard_axiom_is_refused_by_coqs_own_resolution():
    # Below the header rules: the user's Classical_Prop.classic prints exactly as the standard
    # one did before it was shadowed; only its Locate-resolved full name tells them apart.
    shadow = "Module Classical_Prop. Axiom classic : 1 + 1 = 3. End Classical_Prop."
    verdict = await _judge_unchecked(shadow, "Theorem t : 1 + 1 = 3.", "exact Classical_Prop.classic.")
    assert not verdict.ok
    assert "outside the allow-list: Classical_Prop.classic" in verdict.message
    real = await _judge_unchecked(
        "Require Import Classical.\n" + shadow,
        "Theorem t : forall P : Prop, P \\/ ~ P.",
        "exact Coq.Logic.Classical_Prop.classic.",
    )
    assert real.ok and real.axioms == ("Coq.Logic.Classical_Prop.classic",), real.message


async def test_a_user_axiom_named_like_a_standard_one_is_refused():
    verdict = await _judge_unchecked(
        "Axiom classic : 1 + 1 = 3.", "Theorem t : 1 + 1 = 3.", "exact classic."
    )
    assert not verdict.ok and "outside the allow-list: classic" in verdict.message


async def test_a_file_that_ends_inside_an_open_proof_is_refused():
    # coqc 8.16 exits 0 on this file without the trailer's guard: the nested proof closes, the
    # outer one stays open, and t's Qed is stored inside it.
    verdict = await _judge_unchecked(
        "Set Nested Proofs Allowed.\nLemma outer : True.", "Theorem t : 1 + 1 = 2.", "reflexivity."
    )
    assert not verdict.ok and "a proof or section is still open" in verdict.message


async def test_a_header_that_already_defines_the_name_is_refused():
    verdict = await _judge_unchecked(
        "Module M. Definition t := 0. End M. Definition t := M.t.", "Lemma t' : 1 = 1.", "reflexivity."
    )
    assert verdict.ok, verdict.message  # the statement's own t' is judged: nothing shadows it
    # Were a statement to declare a name Coq reads differently (t followed by U+1DC0 is one
    # identifier to Coq 8.16), the trailer's Checked.t would be the header's t: refused.
    source, marker = _unchecked_source("Definition t := 0.", "Theorem t : 1 + 1 = 3.", "exact I.")
    source = source.replace("Theorem t :", "Theorem t\u1dc0x :")
    context = render_context(DEFAULT_PREAMBLE, ["Definition t := 0."])
    verdict = await judge_source(source, marker, ALLOWED_AXIOMS, 60.0, 4 * 1024**3, context)
    assert not verdict.ok and "already defines the theorem's name" in verdict.message


def test_fixpoints_are_read_off_the_printed_term_with_their_whole_text():
    from search.env.coq_fixpoints import fixpoints

    printed = (
        "t = fun n : nat => @nat_ind (fun n0 : nat => @eq nat ((fix sum_f (n1 : nat) {struct n1} : nat "
        ":= match n1 return nat with | O => O | S m => Init.Nat.add m (sum_f m) end) n0) n0) (x (fix g "
        "(k : nat) : nat := k))\n     : forall n : nat, ..."
    )
    (first, second) = fixpoints(printed)
    assert first.name == "sum_f" and first.text.startswith("fix sum_f (n1 : nat)") and first.text.endswith("end")
    assert second.name == "g" and second.text == "fix g (k : nat) : nat := k"
    assert fixpoints("t = @eq_refl nat O") == []


async def test_a_proof_that_unfolds_a_definitions_fixpoint_is_accepted():
    """unfold then induction puts the header's own fixpoint (with a bound variable renamed)
    into the motive: a copy, which the judge confirms with constr_eq and accepts."""
    from search.benchmarks import find_theorem, load_minif2f
    from search.types import ProverKind

    theorem = find_theorem(load_minif2f(ProverKind.COQ), "induction_sum2kp1npqsqm1")
    verdict = await check_with_coqc(theorem, "unfold sum_f in *. intros. induction n. lia. lia.")
    assert verdict.ok, verdict.message
