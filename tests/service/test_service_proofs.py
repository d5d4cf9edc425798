"""End to end through the real service: POST a theorem, a worker proves it with Coq, GET shows
the verified proof; the events stream; cancel; metrics."""

from __future__ import annotations

import json
import subprocess
import time

import httpx
import pytest

from support.service_fixtures import running_api
from support.service_helpers import (
    EASY,
    finished,
    hard,
    wait_job,
    wait_registered,
    wait_until,
)

pytestmark = pytest.mark.coq


def submit(api: httpx.Client, body: dict) -> str:
    response = api.post("/v1/proofs", json=body)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/v1/proofs/{response.json()['id']}"
    return response.json()["id"]


def test_post_then_a_worker_proves_it_and_get_shows_the_checked_proof(api, workers, rdb, tmp_path):
    workers("w1")
    wait_registered(rdb, "w1")
    job_id = submit(api, EASY)
    job = wait_job(api, job_id, 60, finished)
    assert job["status"] == "proved", job
    assert job["proof"] and job["attempts"] == 1 and job["worker"] == "w1"
    assert job["config"]["wall_timeout_s"] == 20 and job["config"]["strategy"] == "best-first"
    assert job["versions"]["coq"].startswith("8.") and job["versions"]["policy"] == "automation-coq"
    source = job["result"]["checked_source"]
    assert "Theorem t : 1 + 1 = 2." in source and job["proof"] in source
    # The proof compiles again, independently of the service (with the automation preamble).
    script = tmp_path / "recheck.v"
    script.write_text(
        f"From Coq Require Import Lia.\nTheorem t : 1 + 1 = 2.\nProof.\n{job['proof']}\nQed.\n"
    )
    recheck = subprocess.run(["coqc", script.name], cwd=tmp_path, capture_output=True, text=True)
    assert recheck.returncode == 0, recheck.stderr

    metrics = api.get("/metrics").text
    assert 'prover_jobs_finished_total{status="proved"} 1.0' in metrics
    assert "prover_search_seconds_count 1.0" in metrics
    assert 'prover_live_workers{prover="coq"} 1.0' in metrics


def read_events(api: httpx.Client, job_id: str, **headers: str) -> list[tuple[str, str, dict]]:
    """The whole event stream of a job as (event id, type, data), until it ends."""
    events, event_id, kind = [], None, None
    with api.stream("GET", f"/v1/proofs/{job_id}/events", headers=headers, timeout=60) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("id: "):
                event_id = line.removeprefix("id: ")
            elif line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((event_id, kind, json.loads(line.removeprefix("data: "))))
    return events


def test_events_stream_progress_then_the_result(api, workers, rdb):
    workers("w1")
    wait_registered(rdb, "w1")
    job_id = submit(api, hard(wall_s=3))
    events = read_events(api, job_id)
    kinds = [kind for _, kind, _ in events]
    assert kinds[0] == "queued" and kinds[1] == "started" and kinds[-1] == "result", kinds
    progress = [data for _, kind, data in events if kind == "progress"]
    assert progress and progress[-1]["expansions"] > 0 and progress[-1]["best_depth"] >= 1
    assert [p["elapsed_s"] for p in progress] == sorted(p["elapsed_s"] for p in progress)
    assert events[-1][2]["status"] == "timeout"
    # A client that reconnects with Last-Event-ID gets only what it missed.
    resumed = read_events(api, job_id, **{"Last-Event-ID": events[1][0]})
    assert resumed == events[2:]
    bad = api.get(f"/v1/proofs/{job_id}/events", headers={"Last-Event-ID": "$"})
    assert bad.status_code == 422 and "not an event id" in bad.text
    # A finished job's stream ends whatever the cursor: at its last event, with nothing more;
    # past it (made up), with the result again. Neither waits for events that cannot come.
    done = api.get(f"/v1/proofs/{job_id}/events", headers={"Last-Event-ID": events[-1][0]})
    assert done.status_code == 204  # SSE's "do not reconnect"
    assert read_events(api, job_id, **{"Last-Event-ID": "99999999999999-0"}) == [events[-1]]


def test_event_streams_past_the_limit_get_503_and_requests_still_get_answers(
    redis_url, tmp_path, workers, rdb
):
    workers("w1", concurrency=1)
    wait_registered(rdb, "w1")
    with running_api(redis_url, tmp_path, "--max-event-streams", "2") as api:
        job_id = submit(api, hard(wall_s=30))
        url = f"/v1/proofs/{job_id}/events"
        with api.stream("GET", url) as first, api.stream("GET", url) as second:
            assert first.status_code == second.status_code == 200
            refused = api.get(url)
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
            assert "event streams are open" in refused.json()["detail"]
            assert api.get("/v1/evals").status_code == 200
            assert api.get(f"/v1/proofs/{job_id}").status_code == 200
        # Both clients went away: their slots come back.
        def opens() -> bool:
            with api.stream("GET", url) as third:
                return third.status_code == 200

        wait_until(opens, 10, "a slot given back")
        api.delete(f"/v1/proofs/{job_id}")


def test_cancel_a_running_job_takes_effect_within_a_second(api, workers, rdb):
    workers("w1", concurrency=1)
    wait_registered(rdb, "w1")
    running = submit(api, hard(wall_s=60))
    queued = submit(api, hard(wall_s=60))  # the worker's only slot is taken
    wait_job(api, running, 30, lambda j: j["status"] == "running")

    response = api.delete(f"/v1/proofs/{queued}")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    asked = time.monotonic()
    response = api.delete(f"/v1/proofs/{running}")
    assert response.json() == {"id": running, "status": "running", "cancel_requested": True}
    job = wait_job(api, running, 5, finished, every=0.02)
    assert time.monotonic() - asked < 1.0
    assert job["status"] == "cancelled" and job["message"] == "cancelled by request"

    never_started = api.get(f"/v1/proofs/{queued}").json()
    assert never_started["status"] == "cancelled" and never_started["attempts"] == 0
    # Cancelling again is harmless; a finished job cannot be cancelled; unknown ids are 404.
    assert api.delete(f"/v1/proofs/{running}").status_code == 200
    proved = submit(api, EASY)
    wait_job(api, proved, 60, finished)
    conflict = api.delete(f"/v1/proofs/{proved}")
    assert conflict.status_code == 409 and "already finished: proved" in conflict.text
    assert api.delete("/v1/proofs/nope").status_code == 404
