"""``POST /v1/checks`` end to end: real Redis, uvicorn and a Coq worker judge given proofs."""

from __future__ import annotations

import signal

import httpx
import pytest

from support.service_helpers import stop, wait_registered, wait_until

pytestmark = pytest.mark.coq

NAT = {"header": "Require Import Arith.", "statement": "Theorem two : 1 + 1 = 2."}
BATCH = [
    {**NAT, "proof": "reflexivity.", "name": "good"},
    {"header": "Require Import Arith.", "statement": "Theorem t : 1 + 1 = 3.",
     "proof": "reflexivity.", "name": "false"},
    {**NAT, "proof": "admit.", "name": "admit"},
    {"header": "Require Import Classical.", "statement": "Theorem c : forall P, P \\/ ~P.",
     "proof": "exact classic.", "name": "classical"},
    {"header": "Declare Instance i : False.", "statement": "Theorem t : False.",
     "proof": "exact i.", "name": "declared axiom"},
]  # fmt: skip


def test_a_batch_comes_back_with_one_verdict_per_proof_in_order(api, workers, rdb):
    workers("w1")
    wait_registered(rdb, "w1")
    response = api.post("/v1/checks", json={"checks": BATCH, "wait_s": 20})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "done" and body["summary"] == {"valid": 2, "invalid": 3, "error": 0}
    verdicts = {r["name"]: r for r in body["results"]}
    assert [r["name"] for r in body["results"]] == [c["name"] for c in BATCH]
    assert verdicts["good"]["verdict"] == "valid" and verdicts["good"]["axioms"] == []
    assert verdicts["good"]["time_s"] > 0 and "Proof.\nreflexivity.\nQed." in verdicts["good"]["checked_source"]
    assert verdicts["false"]["verdict"] == "invalid" and "Unable to unify" in verdicts["false"]["reason"]
    assert "Error:" in verdicts["false"]["messages"]
    assert "forbidden construct 'admit'" in verdicts["admit"]["reason"]
    assert verdicts["classical"]["axioms"] == ["Coq.Logic.Classical_Prop.classic"]
    assert "header command not allowed" in verdicts["declared axiom"]["reason"]
    # The verdicts are kept: GET gives them again; the proofs route does not know the id.
    again = api.get(f"/v1/checks/{body['id']}").json()
    assert again["results"] == body["results"] and again["worker"] == "w1"
    assert api.get(f"/v1/proofs/{body['id']}").status_code == 404


def test_wait_zero_answers_202_and_the_job_url_gives_the_verdicts_later(api, workers, rdb):
    workers("w1")
    wait_registered(rdb, "w1")
    response = api.post("/v1/checks", json={"checks": BATCH[:1], "wait_s": 0})
    assert response.status_code == 202 and response.json()["status"] in ("queued", "running")
    url = response.headers["location"]

    def done() -> dict | None:
        view = api.get(url).json()
        return view if view["status"] == "done" else None

    view = wait_until(done, 60, "the check job")
    assert view["results"][0]["verdict"] == "valid"


def test_a_check_can_name_a_benchmark_theorem_instead_of_giving_its_statement(api, workers, rdb):
    workers("w1")
    wait_registered(rdb, "w1")
    pinned = {"benchmark": "minif2f", "name": "mathd_algebra_478", "proof": "intros. subst. lra."}
    body = api.post("/v1/checks", json={"checks": [pinned], "wait_s": 20}).json()
    assert body["results"][0]["verdict"] == "valid", body
    assert "Theorem mathd_algebra_478" in body["results"][0]["checked_source"]
    unknown = api.post("/v1/checks", json={"checks": [{**pinned, "name": "no_such"}]})
    assert unknown.status_code == 422 and "no theorem named 'no_such'" in unknown.text


def test_a_check_can_name_a_library_theorem_judged_in_its_file_context(api, workers, rdb):
    workers("w1")
    wait_registered(rdb, "w1")
    name = "Coq.Arith.PeanoNat:Nat.pred_0"
    checks = [{"benchmark": "coqlib", "name": name, "proof": proof}
              for proof in ("reflexivity.", "exact pred_0.", "exact Nat.pred_0.")]  # fmt: skip
    body = api.post("/v1/checks", json={"checks": checks, "wait_s": 20}).json()
    verdicts = [r["verdict"] for r in body["results"]]
    assert verdicts == ["valid", "invalid", "invalid"], body
    assert "Print Assumptions Coq.Arith.PeanoNat.Nat.pred_0." in body["results"][0]["checked_source"]
    assert all("was not found" in r["reason"] for r in body["results"][1:])


def test_bad_requests_are_refused_with_the_reason(api, workers, rdb):
    workers("w1")
    wait_registered(rdb, "w1")
    lean = {"prover": "lean", "statement": "theorem t : True := by", "proof": "trivial"}
    cases = {
        "mixed provers": ({"checks": [BATCH[0], lean]}, 422, "one prover"),
        "empty batch": ({"checks": []}, 422, "at least 1"),
        "too many": ({"checks": [BATCH[0]] * 101}, 422, "at most 100"),
        "unknown field": ({"checks": [{**BATCH[0], "cheat": True}]}, 422, "Extra inputs"),
        "no worker for lean": ({"checks": [lean]}, 503, "no live worker"),
        "wait too long": ({"checks": BATCH[:1], "wait_s": 21}, 422, "less than or equal to 20"),
    }
    for name, (body, code, says) in cases.items():
        response = api.post("/v1/checks", json=body)
        assert response.status_code == code and says in response.text, (name, response.text)
    anonymous = httpx.post(f"{api.base_url}/v1/checks", json={"checks": BATCH[:1]})
    assert anonymous.status_code == 401
    assert api.get("/v1/checks/nope").status_code == 404


def test_a_worker_killed_mid_batch_loses_nothing(api, workers, rdb):
    """A batch whose worker dies is handed to the next worker and judged whole, once."""
    first = workers("a", concurrency=1)
    wait_registered(rdb, "a")
    slow = {"header": "Require Import Arith.", "statement": "Theorem s : 2 + 2 = 4.",
            "proof": "do 30000000 idtac. reflexivity.", "name": "slow"}  # fmt: skip
    response = api.post("/v1/checks", json={"checks": [slow, *BATCH], "wait_s": 0})
    url = response.headers["location"]
    wait_until(lambda: api.get(url).json()["status"] == "running", 30, "the batch to start")
    stop(first, signal.SIGKILL)
    workers("b")

    def done() -> dict | None:
        view = api.get(url).json()
        return view if view["status"] == "done" else None

    view = wait_until(done, 120, "the batch on worker b")
    assert view["worker"] == "b" and view["attempts"] == 2
    assert [r["name"] for r in view["results"]] == ["slow", *(c["name"] for c in BATCH)]
    assert view["summary"]["valid"] == 3
