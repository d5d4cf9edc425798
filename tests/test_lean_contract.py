"""Contract tests: the real Lean REPL client against the REPL's own recorded traffic.

A fake REPL process built from ``shared/fixtures/lean-repl`` answers only conversations that
match a recording request by request, so each test shows both that the client sends the same
JSON as the recorded sessions and that it reads every recorded reply into the right outcome.
"""

from __future__ import annotations

import pytest

from search.config import LeanConfig, ProverLimits
from search.env.lean import (
    LeanEnvironment,
    _Worker,
    after_statement,
    check_whole_proof,
    proof_command,
)
from search.env.lean_protocol import (
    CommandReply,
    ProtocolMessage,
    TacticProgress,
    TacticReply,
    command_problems,
    parse_axioms,
    parse_reply,
    tactic_outcome,
)
from search.env.lean_repl import LeanRepl
from search.types import Failed, Goals, Proved, ProverCrash, Theorem

from support.lean_fixtures import RECORDINGS, fake_repl_command

pytestmark = pytest.mark.skipif(not RECORDINGS, reason="Lean REPL recordings not found (set DCOPROVER_SHARED)")

# What each recorded tactic reply means for a search (reviewed by hand against the replies):
# "openK": K goals remain; "proved"; "failed"; "stale": the state id is unknown (a fault).
TACTIC_OUTCOMES = {
    ("Mathlib/test/20240209", 1): "failed",  # error + synthetic sorry: not a proof
    ("Mathlib/test/H20231115", 2): "open2",
    ("Mathlib/test/exact", 2): "proved",
    ("Mathlib/test/exact", 4): "failed",
    ("Mathlib/test/induction", 2): "open2",
    ("Mathlib/test/induction", 3): "open1",
    ("Mathlib/test/induction", 4): "failed",  # cases closed with sorry
    ("Mathlib/test/pickle_2", 1): "open1",
    ("Mathlib/test/placeholder_synthesis", 3): "open1",
    ("Mathlib/test/placeholder_synthesis", 4): "failed",  # metavariables left
    ("all_tactics-20250622", 1): "proved",
    ("app_type_mismatch", 2): "open2",
    ("app_type_mismatch", 3): "open1",
    ("app_type_mismatch", 4): "failed",
    ("app_type_mismatch2", 2): "open2",
    ("app_type_mismatch2", 3): "open1",
    ("app_type_mismatch2", 4): "failed",  # goals [] but the kernel rejected it
    ("app_type_mismatch2", 5): "failed",  # opened a sorry
    ("app_type_mismatch2", 6): "failed",
    ("assumption_proof", 1): "proved",
    ("by_cases", 1): "open2",
    ("by_cases", 2): "open1",
    ("by_cases", 3): "failed",
    ("have_by_sorry", 2): "failed",
    ("invalid_tactic", 1): "failed",  # the upstream trap: goals [] after an error
    ("name_generator", 1): "failed",
    **{("name_generator", i): "failed" for i in range(2, 9)},
    ("pickle_proof_state_1", 4): "open1",
    ("pickle_proof_state_1", 7): "proved",
    ("pickle_proof_state_2", 1): "proved",
    ("pickle_proof_state_env", 4): "open1",
    ("pickle_proof_state_env", 7): "proved",
    ("proof_branching", 1): "open2",
    ("proof_branching", 2): "open1",
    ("proof_branching", 3): "open1",
    ("proof_branching", 4): "proved",
    ("proof_branching2", 1): "open1",
    ("proof_branching2", 2): "open1",
    ("proof_branching2", 3): "open1",
    ("proof_branching2", 4): "open2",
    ("proof_branching2", 5): "open1",
    ("proof_branching2", 6): "proved",
    ("proof_step", 1): "open1",
    ("proof_step", 2): "open1",
    ("proof_step", 3): "proved",
    ("readme", 1): "open1",
    ("readme", 2): "proved",
    ("root_goals", 1): "proved",
    ("root_goals", 2): "proved",
    ("self_proof_apply_check", 2): "failed",  # kernel type check failed
    **{("self_proof_check", i): "failed" for i in (2, 4, 6, 8)},
    ("self_proof_exact_check", 2): "failed",
    ("tactic_mode_sorry", 1): "failed",
    ("unknown_proof_state", 1): "stale",
    ("unknown_tactic", 1): "failed",
}


def outcome_label(reply) -> str:
    try:
        outcome = tactic_outcome(reply)
    except ProverCrash:
        return "stale"
    if isinstance(outcome, Failed):
        return "failed"
    assert isinstance(outcome, TacticProgress)
    return "proved" if outcome.completed else f"open{len(outcome.goals)}"


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda r: r.name)
async def test_client_replays_every_recorded_conversation(recording):
    repl = LeanRepl(fake_repl_command("--only", recording.name).split(), memory_bytes=2 << 30)
    await repl.start()
    try:
        for index, (request, recorded) in enumerate(zip(recording.requests, recording.replies, strict=True)):
            reply = await repl.request(request, timeout=30)
            # The fake answers with the recording only if the client sent the same JSON.
            assert reply == parse_reply(recorded), f"request {index}: {request}"
            if "tactic" in request:
                assert outcome_label(reply) == TACTIC_OUTCOMES[(recording.name, index)]
            elif "cmd" in request:
                assert isinstance(reply, CommandReply | ProtocolMessage)
    finally:
        await repl.close()


def test_every_recorded_tactic_reply_is_labelled():
    tactic_replies = {
        (r.name, i) for r in RECORDINGS for i, q in enumerate(r.requests) if "tactic" in q
    }
    assert tactic_replies == set(TACTIC_OUTCOMES)


def lean_env(**limits) -> LeanEnvironment:
    return LeanEnvironment(
        ProverLimits(pool_size=1, **limits), LeanConfig(repl_command=fake_repl_command())
    )


async def test_session_branches_like_the_recorded_search():
    """proof_branching: statement with sorry, then tactics sent to older states."""
    env = lean_env()
    theorem = Theorem(
        name="complex_and",
        statement="theorem complex_and (p q r : Prop) (h1 : p ∧ q) (h2 : q → r) : p ∧ r := by",
        prover="lean",
    )
    try:
        async with env.session(theorem, tactic_timeout_s=5) as session:
            assert session.root.goals == ("p q r : Prop\nh1 : p ∧ q\nh2 : q → r\n⊢ p ∧ r",)
            split = await session.apply(session.root, "apply And.intro")
            assert isinstance(split, Goals) and len(split.state.goals) == 2
            assert split.state.goals[0].startswith("case left")
            left = await session.apply(split.state, "exact h1.left")
            right = await session.apply(left.state, "apply h2")
            done = await session.apply(right.state, "exact h1.right")
            assert isinstance(done, Proved)
            assert session.proof_of(done.state) == (
                "apply And.intro\nexact h1.left\napply h2\nexact h1.right"
            )
    finally:
        await env.close()


async def test_header_is_loaded_once_as_env_0_and_tactics_run_against_it():
    """Mathlib/test/induction: header command, statement against env 0, tactics, branching."""
    env = lean_env()
    theorem = Theorem(
        name="foo", header="import Mathlib",
        statement="theorem foo (x : Nat) : x = x := by", prover="lean",
    )  # fmt: skip
    try:
        async with env.session(theorem, tactic_timeout_s=5) as session:
            cases = await session.apply(session.root, "induction x")
            assert isinstance(cases, Goals) and len(cases.state.goals) == 2
            assert isinstance(await session.apply(cases.state, "next => rfl"), Goals)
            # Back to the root: the recorded third tactic closes the cases with sorry.
            rejected = await session.apply(
                session.root, "induction x with\n| zero => sorry\n| succ x => sorry"
            )
            assert isinstance(rejected, Failed) and "sorry" in rejected.message
    finally:
        await env.close()


async def test_failing_tactic_with_empty_goals_is_a_failure_not_a_proof():
    env = lean_env()
    theorem = Theorem(name="my_theorem", statement="theorem my_theorem (x : Nat) : x = x := by", prover="lean")
    try:
        async with env.session(theorem, tactic_timeout_s=5) as session:
            outcome = await session.apply(session.root, "exact my_fake_premise")
            assert outcome == Failed("Unknown identifier `my_fake_premise`")
    finally:
        await env.close()


async def test_whole_proof_rejected_by_lean_is_not_verified():
    """self_proof_check's first pair: a whole command whose proof fails carries the error."""
    (recording,) = [r for r in RECORDINGS if r.name == "self_proof_check"]
    problems = command_problems(parse_reply(recording.replies[0]))
    assert problems and "could not close the goal" in problems[0]
    env = lean_env()
    theorem = Theorem(name="ex", statement="theorem ex : False := by", prover="lean")
    try:
        verdict = await env.verify(theorem, "exact?")
        # The stand-in has no recording of the wrapped command: never a verified proof.
        assert not verdict.ok and verdict.checked_source == "theorem ex : False := by (exact?)"
        assert (await env.verify(theorem, "sorry")).message.startswith("rejected:")
    finally:
        await env.close()


def test_whole_proof_is_one_parenthesised_block_that_cannot_end_the_theorem():
    statement = "theorem mathd_numbertheory_188 : Nat.gcd 180 168 = 12 := by"
    assert proof_command(statement, "norm_num") == f"{statement} (norm_num)"
    assert proof_command("theorem t : p := by", "  intro h\n  exact h\n") == (
        "theorem t : p := by\n  (intro h\n   exact h)"
    )
    # A trailing line comment must not swallow the closing parenthesis.
    assert proof_command("theorem t : p := by", "simp -- done") == (
        "theorem t : p := by (simp -- done\n  )"
    )
    # So must a line comment that ends the statement swallow neither the proof nor a sorry.
    commented = "theorem t : p := by -- the user's note"
    assert proof_command(commented, "simp") == f"{commented}\n  (simp)"
    assert after_statement(commented, "sorry") == f"{commented}\n  sorry"
    assert after_statement("theorem t : p := by\n", "sorry") == "theorem t : p := by sorry"
    # Relative indentation (a nested block) survives the re-indentation.
    assert proof_command("theorem t : p := by", "have h : q := by\n  simp\nexact h") == (
        "theorem t : p := by\n  (have h : q := by\n     simp\n   exact h)"
    )


@pytest.mark.parametrize(
    ("printed", "axioms"),
    [
        ("'mathd_algebra_10' depends on axioms: [propext, Classical.choice, Quot.sound]",
         ("propext", "Classical.choice", "Quot.sound")),
        ("'mathd_algebra_10' does not depend on any axioms", ()),
        ("'mathd_algebra_10' depends on axioms: [propext,\n Lean.ofReduceBool]",
         ("propext", "Lean.ofReduceBool")),
        ("'mathd_algebra_10' depends on axioms: [sorryAx]", ("sorryAx",)),
    ],
)  # fmt: skip
def test_print_axioms_output_is_read_exactly(printed, axioms):
    reply = parse_reply({"env": 3, "messages": [{"severity": "info", "data": printed}]})
    assert parse_axioms(reply, "mathd_algebra_10") == axioms


def info(*printed: str):
    return parse_reply({"env": 3, "messages": [{"severity": "info", "data": p} for p in printed]})


def test_print_axioms_reads_only_the_report_for_the_exact_name():
    with pytest.raises(ProverCrash, match="0 reports"):
        parse_axioms(info("'other' does not depend on any axioms"), "mathd_algebra_10")
    # An opened namespace can make the name resolve to a second constant, printed first: its
    # clean report must not stand in for the theorem's own.
    reports = info("'Evil.foo' depends on axioms: [propext]",
                   "'foo' depends on axioms: [propext, Lean.ofReduceBool]")  # fmt: skip
    assert parse_axioms(reports, "foo") == ("propext", "Lean.ofReduceBool")
    assert parse_axioms(info("'Foo.t' does not depend on any axioms"), "Foo.t") == ()
    with pytest.raises(ProverCrash):
        parse_axioms(info("'Foo.t' does not depend on any axioms"), "t")


def test_replies_of_unknown_shape_are_faults():
    for bad in ([], {"unexpected": 1}, {"env": "x"}):
        with pytest.raises(ProverCrash):
            parse_reply(bad)
    assert isinstance(parse_reply({"proofState": 1, "goals": []}), TacticReply)


class ScriptedRepl:
    """The REPL boundary answering with the given replies (in the REPL's JSON), in order."""

    def __init__(self, *replies: dict) -> None:
        self.replies = list(replies)
        self.requests: list[dict] = []

    async def request(self, payload: dict, timeout: float):
        self.requests.append(payload)
        return parse_reply(self.replies.pop(0))


UNKNOWN = {"env": 1, "messages": [{"severity": "error", "pos": {"line": 1, "column": 0},
                                    "data": "unknown constant 'Nat.add_comm'"}]}  # fmt: skip
CLEAN = {"env": 2, "messages": [{"severity": "info", "pos": {"line": 1, "column": 0},
                                  "data": "'Nat.add_comm' depends on axioms: [propext]"}]}  # fmt: skip


async def test_whole_proof_check_refuses_a_name_the_header_environment_already_has():
    """Were the checker's namespace not Lean's, the theorem would be declared under another
    name and `#print axioms` would report on an older, clean constant: Lean itself must say
    the name was unknown before the command."""
    statement = "theorem Nat.add_comm : 1 = 2 := by"
    known = ScriptedRepl({"env": 1}, CLEAN, CLEAN)
    worker = _Worker(process=known, key="import Mathlib", env=0)
    verdict = await check_whole_proof(worker, statement, "Nat.add_comm", "simp", 5.0, False)
    assert not verdict.ok and "already has a constant 'Nat.add_comm'" in verdict.message
    assert known.requests[1] == {"cmd": "#print axioms Nat.add_comm", "env": 0}
    fresh = ScriptedRepl({"env": 1}, UNKNOWN, CLEAN)
    worker = _Worker(process=fresh, key="import Mathlib", env=0)
    verdict = await check_whole_proof(worker, statement, "Nat.add_comm", "simp", 5.0, False)
    assert verdict.ok and verdict.axioms == ("propext",)
    assert fresh.requests[2] == {"cmd": "#print axioms Nat.add_comm", "env": 1}
