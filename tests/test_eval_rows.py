"""Each eval row says what produced it: for a model policy, its templates and sampling too."""

from __future__ import annotations

from prover.automation import AutomationPolicy
from prover.backends import make_model_policy
from search.eval import result_row
from search.result import SearchResult, SearchStatus
from search.types import ProverKind, Theorem

THEOREM = Theorem(name="t", statement="Theorem t : 1 + 1 = 2.", source="repo@abc123:t.v")
RESULT = SearchResult(theorem="t", prover="coq", strategy="best-first", status=SearchStatus.FAILED)


def test_model_policy_rows_carry_templates_and_sampling():
    policy = make_model_policy("openai", "policy-7b", "http://127.0.0.1:9/v1")
    row = result_row(THEOREM, RESULT, policy, {"coq": "8.16.1"})
    assert row["policy"] == "openai:policy-7b" and row["source"] == "repo@abc123:t.v"
    assert row["policy_config"]["tactic_template"] == "tactic-state-v1"
    assert "temperature" in row["policy_config"]["sampling"]


def test_model_free_rows_have_no_policy_config():
    row = result_row(THEOREM, RESULT, AutomationPolicy(ProverKind.COQ), {})
    assert row["policy"] == "automation-coq" and "policy_config" not in row
