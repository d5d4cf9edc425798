"""The HTTP edge: API keys on mutating routes, size limits, clear 4xx reasons, health."""

from __future__ import annotations

import httpx
import pytest

from support.service_helpers import EASY, finished, wait_job, wait_registered

pytestmark = pytest.mark.coq


def anonymous(api: httpx.Client) -> httpx.Client:
    return httpx.Client(base_url=api.base_url, timeout=30)


def test_mutating_routes_need_a_valid_key_reads_do_not(api):
    with anonymous(api) as client:
        missing = client.post("/v1/proofs", json=EASY)
        assert missing.status_code == 401 and "missing API key" in missing.json()["detail"]
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = client.post("/v1/proofs", json=EASY, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API key"
        basic = client.post("/v1/proofs", json=EASY, headers={"Authorization": "Basic eDp5"})
        assert basic.status_code == 401
        assert client.delete("/v1/proofs/x").status_code == 401
        assert client.post("/v1/evals", json={"split": "test"}).status_code == 401
        assert client.get("/v1/proofs/unknown").status_code == 404  # reads are open
        assert client.get("/healthz").json()["status"] == "ok"
        schema = client.get("/openapi.json").json()
        assert {"/v1/proofs", "/v1/proofs/{job_id}/events", "/v1/evals"} <= set(schema["paths"])


def test_oversized_bodies_are_refused_before_parsing(api):
    big = {**EASY, "header": "(* " + "x" * 300_000 + " *)"}
    response = api.post("/v1/proofs", json=big)
    assert response.status_code == 413 and "the limit is 262144" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit still holds
        for _ in range(40):
            yield b"x" * 10_000

    streamed = api.post(
        "/v1/proofs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (
            {**EASY, "statement": "Theorem t : True. Axiom a : False."},
            422,
            "exactly one declaration",
        ),
        ({**EASY, "header": 'Load "/etc/passwd".'}, 422, "forbidden"),
        ({**EASY, "statement": ""}, 422, "give 'statement'"),
        ({**EASY, "budget": {"wall_timeout_s": -1}}, 422, "greater than 0"),
        ({**EASY, "prover": "isabelle"}, 422, "'coq' or 'lean'"),
        ({**EASY, "unknown": 1}, 422, "Extra inputs are not permitted"),
        ({**EASY, "strategy": "pass-at-n", "budget": {"strategy": "best-first"}}, 422, "disagrees"),
        ({"prover": "lean", "statement": "theorem t : 1 + 1 = 2 := by"}, 503, "no live worker"),
    ],
)
def test_bad_requests_get_a_clear_reason(api, body, status, reason):
    response = api.post("/v1/proofs", json=body)
    assert response.status_code == status, response.text
    assert reason in response.text


def test_an_unknown_benchmark_theorem_is_named_in_the_reason(api, minif2f_coq):
    response = api.post("/v1/proofs", json={"benchmark": "minif2f", "name": "no_such_theorem"})
    assert response.status_code == 422 and "no theorem named 'no_such_theorem'" in response.text


def test_malformed_json_and_unknown_ids(api):
    response = api.post(
        "/v1/proofs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "JSON" in response.text
    for path in ("/v1/proofs/nope", "/v1/proofs/nope/events", "/v1/evals/nope"):
        missing = api.get(path)
        assert missing.status_code == 404 and "no " in missing.json()["detail"]


def test_a_statement_coq_rejects_is_an_error_result_not_a_hang(api, workers, rdb):
    workers("w1")
    wait_registered(rdb, "w1")
    body = {**EASY, "statement": "Theorem t : no_such_constant = 1."}
    job_id = api.post("/v1/proofs", json=body).json()["id"]
    job = wait_job(api, job_id, 60, finished)
    assert job["status"] == "error" and "no_such_constant" in job["message"]
