"""The whole-file coqc check: the judge every reported proof must pass."""

from __future__ import annotations

import pytest

from search.env.coq_check import axiom_allowed, check_with_coqc, parse_assumptions
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
    assert "ClassicalDedekindReals.sig_forall_dec" in verdict.axioms
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
    assert parse_assumptions("MK\nAxioms:\nax : Closed under the global context_x", "MK") == ("ax",)
    sections = parse_assumptions("MK\nSection Variables:\nH : False\nAxioms:\nfoo\n  : nat", "MK")
    assert sections == ("Section Variables: H", "foo")
    assert parse_assumptions("MK\nsomething else", "MK") is None


def test_allow_list_matches_printed_suffixes_on_dot_boundaries():
    assert axiom_allowed("ClassicalDedekindReals.sig_forall_dec")
    assert axiom_allowed("classic") and axiom_allowed("Coq.Logic.Classical_Prop.classic")
    assert not axiom_allowed("assic") and not axiom_allowed("cheat")


def test_assumptions_are_read_only_after_the_marker():
    forged = "Axioms:\nnothing\nMARK\nAxioms:\ncheat : False\n"
    assert parse_assumptions(forged, "MARK") == ("cheat",)
    assert parse_assumptions("MARK\nClosed under the global context\n", "MARK") == ()
    assert parse_assumptions("Closed under the global context", "MARK") is None
