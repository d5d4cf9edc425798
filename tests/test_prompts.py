"""Prompt templates and candidate clean-up: the text contract between training and serving."""

from __future__ import annotations

import pytest

from prover.prompts import (
    PROOF_TEMPLATES,
    TACTIC_TEMPLATES,
    RejectedCandidate,
    clean_proof,
    clean_tactic,
    proof_template,
    tactic_template,
)
from search.types import ProverKind, Theorem

STATE = "n : nat\n============================\n n + 0 = n"


def test_tactic_templates_are_named_and_versioned():
    assert set(TACTIC_TEMPLATES) == {"tactic-state-v1", "tactic-reprover-v1", "tactic-chat-v1"}
    state = tactic_template("tactic-state-v1")
    assert state.prompt(STATE) == STATE + ":::"
    assert state.prompt("{braces} stay") == "{braces} stay:::"
    chat = tactic_template("tactic-chat-v1")
    assert chat.prompt(STATE).endswith("<|im_start|>assistant\n") and STATE in chat.prompt(STATE)
    assert chat.target("lia.") == "lia.<|im_end|>" and chat.stop == ("<|im_end|>",)
    with pytest.raises(
        ValueError, match="unknown tactic template 'nope'; available: tactic-state-v1"
    ):
        tactic_template("nope")


def test_proof_template_continues_after_the_statement():
    template = proof_template("proof-deepseek-v1")
    assert set(PROOF_TEMPLATES) == {"proof-deepseek-v1"}
    lean = Theorem(
        name="t",
        header="import Mathlib",
        statement="theorem t : 1 + 1 = 2 := by",
        prover=ProverKind.LEAN,
    )
    prompt = template.prompt_for(lean)
    assert prompt.startswith("Complete the following Lean 4 code:\n\n```lean4\nimport Mathlib\n")
    assert prompt.endswith("theorem t : 1 + 1 = 2 := by\n")
    assert template.target("norm_num", ProverKind.LEAN) == "norm_num\n```"
    coq = Theorem(name="t", header="Require Import Arith.", statement="Theorem t : 1 + 1 = 2.")
    assert template.prompt_for(coq).endswith("Theorem t : 1 + 1 = 2.\nProof.\n")
    assert template.stop(ProverKind.COQ) == ("Qed.", "```")
    # What the model is trained to write is what clean_proof gives back.
    written = template.target("simpl. reflexivity.", ProverKind.COQ)
    assert clean_proof(written, ProverKind.COQ, 1000) == "simpl. reflexivity."


def test_clean_tactic_keeps_one_tactic_and_rejects_empty_or_oversized():
    assert clean_tactic("  intros n.\n\nsimpl.", 100) == "intros n."
    assert clean_tactic("constructor\n  · simp\n  · ring", 100) == "constructor\n  · simp\n  · ring"
    with pytest.raises(RejectedCandidate, match="empty tactic"):
        clean_tactic(" \n\t ", 100)
    with pytest.raises(RejectedCandidate, match="tactic of 11 characters \\(limit 10\\)"):
        clean_tactic("reflexivity", 10)
    with pytest.raises(RejectedCandidate, match="empty proof"):
        clean_proof("Qed.", ProverKind.COQ, 100)
