"""The LeanDojo backend: its outcome and fault mapping on LeanDojo's own classes, and a session
(with replay after a fault) through a Dojo stand-in that answers the REPL's recorded
``proof_branching`` search. A real Dojo needs Lean and a traced repository: see the live tests."""

from __future__ import annotations

import pytest

from search.config import LeanConfig, ProverLimits
from search.env.lean import LeanEnvironment
from search.env.leandojo import LeanDojoEnvironment, dojo_entry, map_fault, map_result
from search.types import Failed, Goals, Proved, ProverCrash, ProverTimeout, Theorem, UnsafeInput

from support.lean_fixtures import RECORDINGS, fake_repl_command

lean_dojo = pytest.importorskip("lean_dojo", reason="LeanDojo not installed (pip install 'dcoprover[leandojo]')")

SOURCE = "yangky11/miniF2F-lean4@5746b7d6c478:MiniF2F/Test/complex_and.lean"
THEOREM = Theorem(
    name="complex_and",
    statement="theorem complex_and (p q r : Prop) (h1 : p ∧ q) (h2 : q → r) : p ∧ r := by",
    prover="lean",
    source=SOURCE,
)


def test_results_map_onto_our_outcomes():
    state = lean_dojo.TacticState(pp="case left\np : Prop\n⊢ p\n\ncase right\nq : Prop\n⊢ q", id=3)
    handle, goals = map_result(state)
    assert handle is state and goals == ("case left\np : Prop\n⊢ p", "case right\nq : Prop\n⊢ q")
    assert map_result(lean_dojo.ProofFinished(tactic_state_id=4)) [1] == ()
    assert map_result(lean_dojo.LeanError(error="unknown identifier 'x'")) == Failed("unknown identifier 'x'")
    assert "sorry" in map_result(lean_dojo.ProofGivenUp()).message


def test_faults_map_onto_ours():
    assert isinstance(map_fault(lean_dojo.interaction.dojo.DojoTacticTimeoutError()), ProverTimeout)
    assert isinstance(map_fault(lean_dojo.interaction.dojo.DojoCrashError("OOM")), ProverCrash)
    assert isinstance(map_fault(lean_dojo.interaction.dojo.DojoInitError("no trace")), ProverCrash)
    assert map_fault(ValueError("x")) is None


def test_entries_come_from_benchmark_sources(minif2f_lean_rows):
    url, commit, path = dojo_entry(Theorem(name="t", statement="theorem t : True := by",
                                           prover="lean", source=minif2f_lean_rows[0]["source"]))  # fmt: skip
    assert url == "https://github.com/yangky11/miniF2F-lean4" and commit == "5746b7d6c478"
    assert path == f"MiniF2F/Test/{minif2f_lean_rows[0]['name']}.lean"
    with pytest.raises(UnsafeInput, match="traced repositories"):
        dojo_entry(Theorem(name="t", statement="theorem t : True := by", prover="lean"))


class RecordedDojo:
    """Stands in for ``lean_dojo.Dojo``: answers the REPL's recorded proof_branching search with
    LeanDojo's result classes; ``FAULT_HANG`` raises LeanDojo's own timeout error."""

    opened = 0

    def __init__(self, entry, timeout):
        (recording,) = [r for r in RECORDINGS if r.name == "proof_branching"]
        self.steps = {}
        for request, reply in zip(recording.requests[1:], recording.replies[1:], strict=True):
            self.steps[(request["proofState"], request["tactic"])] = reply
        self.root_goal = recording.replies[0]["sorries"][0]["goal"]
        assert entry == (("https://github.com/yangky11/miniF2F-lean4", "5746b7d6c478"),
                         "MiniF2F/Test/complex_and.lean", "complex_and")  # fmt: skip

    def __enter__(self):
        RecordedDojo.opened += 1
        return self, lean_dojo.TacticState(pp=self.root_goal, id=0)

    def __exit__(self, *exc):
        return None

    def run_tac(self, state, tactic):
        if "FAULT_HANG" in tactic:
            raise lean_dojo.interaction.dojo.DojoTacticTimeoutError()
        reply = self.steps.get((state.id, tactic))
        if reply is None:
            return lean_dojo.LeanError(error=f"no recording of {tactic!r}")
        if reply["proofStatus"] == "Completed":
            return lean_dojo.ProofFinished(tactic_state_id=reply["proofState"])
        return lean_dojo.TacticState(pp="\n\n".join(reply["goals"]), id=reply["proofState"])


@pytest.mark.skipif(not RECORDINGS, reason="Lean REPL recordings not found (set DCOPROVER_SHARED)")
async def test_dojo_session_recovers_from_a_timeout_by_replaying(monkeypatch):
    monkeypatch.setattr(lean_dojo, "Dojo", RecordedDojo)
    # LeanGitRepo asks GitHub's API about the repository: out of reach here, and not under test.
    monkeypatch.setattr(lean_dojo, "LeanGitRepo", lambda url, commit: (url, commit))
    monkeypatch.setattr(lean_dojo, "Theorem", lambda repo, path, name: (repo, path, name))
    RecordedDojo.opened = 0
    verifier = LeanEnvironment(ProverLimits(pool_size=1), LeanConfig(repl_command=fake_repl_command()))
    env = LeanDojoEnvironment(verifier)
    try:
        async with env.session(THEOREM, tactic_timeout_s=5) as session:
            split = await session.apply(session.root, "apply And.intro")
            with pytest.raises(ProverTimeout):
                await session.apply(split.state, "exact FAULT_HANG")
            left = await session.apply(split.state, "exact h1.left")  # new Dojo, replayed path
            assert isinstance(left, Goals) and RecordedDojo.opened == 2
            assert session.tree.replayed == 1
            right = await session.apply(left.state, "apply h2")
            done = await session.apply(right.state, "exact h1.right")
            assert isinstance(done, Proved)
            assert session.proof_of(done.state) == "apply And.intro\nexact h1.left\napply h2\nexact h1.right"
            rejected = await session.apply(session.root, "native_decide")
            assert isinstance(rejected, Failed) and rejected.message.startswith("rejected")
            # Verification goes to the REPL backend: here its stand-in has no recording of the
            # whole command, so the proof is not verified.
            assert not (await session.verify(session.proof_of(done.state))).ok
    finally:
        await env.close()
