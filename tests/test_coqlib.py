"""Library theorems in their own files' contexts: no leakage, a sound check, clear errors."""

from __future__ import annotations

import pytest

from prover.coq_trace import trace_file
from search.env.coq_library import (
    LibraryError,
    LibrarySource,
    library_context,
    library_file,
    library_modules,
    library_theorem,
    logical_path,
)
from search.types import Failed, LibraryRef, Proved

pytestmark = pytest.mark.coq


async def traced_theorem(env, module: str, name: str):
    """A library theorem with the section variables the tracer read off its library proof."""
    traced = next(t for t in (await trace_file(env, module)).theorems if t.name == name)
    source = LibrarySource.read(module)
    statement = next(s for s in source.statements if s.position == traced.position)
    return library_theorem(source, statement, using=traced.section_variables)


def theorem_of(module: str, name: str):
    source = LibrarySource.read(module)
    statement = next(s for s in source.statements if s.name == name)
    return source, statement, library_theorem(source, statement)


async def test_a_theorem_cannot_be_proved_by_naming_itself_or_a_later_lemma(coq_env):
    source, statement, theorem = theorem_of("Coq.Bool.Bool", "orb_comm")
    later = next(s for s in source.statements if s.position > statement.position)
    async with coq_env.session(theorem, 5.0) as session:
        for cheat in ("exact orb_comm.", f"exact {later.name}.", "exact Bool.orb_comm."):
            outcome = await session.apply(session.root, cheat)
            assert isinstance(outcome, Failed) and "was not found" in outcome.message
        proved = await session.apply(session.root, "destruct b1, b2; reflexivity.")
        assert isinstance(proved, Proved)
        verdict = await session.verify(session.proof_of(proved.state))
        assert verdict.ok and verdict.axioms == ()
    for cheat in ("exact orb_comm.", f"exact {later.name}.", "exact Coq.Bool.Bool.orb_comm."):
        verdict = await coq_env.verify(theorem, cheat)
        assert not verdict.ok and "was not found" in verdict.message


async def test_an_earlier_lemma_of_the_file_counts_as_a_lemma_not_an_axiom(coq_env):
    source, statement, theorem = theorem_of("Coq.Bool.Bool", "orb_comm")
    earlier = [s.name for s in source.statements if s.position < statement.position]
    assert {"orb_true_r", "orb_false_r"} <= set(earlier)  # proved before orb_comm in Bool.v
    proof = "intros b1 b2. destruct b2. rewrite orb_true_r. reflexivity. rewrite orb_false_r. reflexivity."
    verdict = await coq_env.verify(theorem, proof)
    assert verdict.ok and verdict.axioms == (), verdict.message


async def test_theorems_in_modules_and_sections_are_checked_under_their_full_names(coq_env):
    # PeanoNat's lemmas live in Module Nat; List's in Section Facts (with Variable A).
    _, _, in_module = theorem_of("Coq.Arith.PeanoNat", "sub_0_r")
    verdict = await coq_env.verify(in_module, "destruct n; reflexivity.")
    assert verdict.ok, verdict.message
    assert "Print Assumptions Coq.Arith.PeanoNat.Nat.sub_0_r." in verdict.checked_source
    in_section = await traced_theorem(coq_env, "Coq.Logic.Berardi", "AC")
    verdict = await coq_env.verify(in_section, "intros r. exact (inv2 r).")
    assert verdict.ok, verdict.message
    assert "End Retracts.\nEnd Berardis_paradox.\n" in verdict.checked_source


async def test_a_section_hypothesis_the_library_proof_does_not_use_is_refused(coq_env):
    """Red team, round 4: a proof using the section's `Hypothesis EM` was certified, and
    closing the section made EM a premise of the certified AC (constructive in Berardi.v).
    The check opens the proof with `Proof using` the variables the library's proof uses."""
    theorem = await traced_theorem(coq_env, "Coq.Logic.Berardi", "AC")
    assert set(theorem.library.using) == {"A", "B"}  # the statement's; not EM
    cheat = "intros r; destruct (EM True) as [_|_]; exact (inv2 r)."
    verdict = await coq_env.verify(theorem, cheat)
    assert not verdict.ok and "used but not declared" in verdict.message
    untraced = library_theorem(*theorem_of("Coq.Logic.Berardi", "AC")[:2])
    verdict = await coq_env.verify(untraced, "intros r. exact (inv2 r).")
    assert not verdict.ok and "which section variables" in verdict.message


async def test_an_axiom_stays_refused_in_a_library_context(coq_env):
    _, _, theorem = theorem_of("Coq.Bool.Bool", "orb_comm")
    cheat = "intros. apply Coq.Logic.Classical_Prop.NNPP. intro. exact I."
    verdict = await coq_env.verify(theorem, cheat)
    assert not verdict.ok
    assert not (await coq_env.verify(theorem, "admit.")).ok


def test_a_changed_library_file_is_a_clear_error():
    source, statement, theorem = theorem_of("Coq.Bool.Bool", "orb_comm")
    stale = LibraryRef(module=source.logical, position=statement.position, digest="0" * 64)
    with pytest.raises(LibraryError, match="changed since the benchmark was built"):
        library_context(stale, statement.sentence)
    with pytest.raises(LibraryError, match="not at sentence"):
        library_context(theorem.library, "Lemma orb_comm : False.")


def test_library_paths_resolve_both_ways_and_init_is_left_out():
    path = library_file("Coquelicot.Rcomplements")
    assert path.name == "Rcomplements.v" and logical_path(path) == "Coquelicot.Rcomplements"
    assert logical_path(library_file("Coq.Reals.RIneq")) == "Coq.Reals.RIneq"
    modules = library_modules("Coq")
    assert "Coq.Bool.Bool" in modules and not any(m.startswith("Coq.Init.") for m in modules)
    with pytest.raises(LibraryError, match="no such installed Coq library file"):
        library_file("Coq.Nope.Nope")
    with pytest.raises(LibraryError, match="not a logical path"):
        library_file("../../etc/passwd")


async def test_hammer_is_not_loaded_after_a_file_it_loads_itself():
    from prover.compose import make_environment

    env = make_environment("coq", hammer=True)
    try:
        _, _, theorem = theorem_of("Coq.Bool.Bool", "orb_comm")
        verdict = await env.verify(theorem, "destruct b1, b2; reflexivity.")
        assert not verdict.ok and "loads Coq.Bool.Bool itself" in verdict.message
    finally:
        await env.close()
