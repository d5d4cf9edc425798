"""``/v1/proofs``: submit one theorem, read its job, follow its events, cancel it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status

from api.auth import require_key
from api.deps import QueueDep, benchmark_theorems, not_found, require_worker
from api.schemas import CancelAccepted, JobAccepted, JobView, ProofRequest
from api.sse import KEEPALIVE, KEEPALIVE_MS, event, sse_response
from search.benchmarks import BenchmarkError, find_theorem
from search.env import coq_syntax, lean_syntax
from search.queue_jobs import TERMINAL, JobSpec, JobStatus, parse_spec
from search.result import SearchResult
from search.types import ProverKind, Theorem, UnsafeInput

router = APIRouter(prefix="/v1/proofs", tags=["proofs"])

#: Event ids are Redis stream ids: milliseconds-sequence.
EVENT_ID = re.compile(r"\d{1,20}-\d{1,20}")


async def theorem_of(request: Request, body: ProofRequest) -> Theorem:
    """The theorem a request names, checked like the CLI checks it; 422 with the reason."""
    try:
        if body.benchmark is not None:
            assert body.name is not None  # the request model enforces it
            theorems = await benchmark_theorems(request, body.prover, body.benchmark)
            return find_theorem(theorems, body.name)
        assert body.statement is not None
        syntax = coq_syntax if body.prover is ProverKind.COQ else lean_syntax
        syntax.check_header(body.header)
        name = syntax.check_statement(body.statement) or "theorem"
        return Theorem(name=name, header=body.header, statement=body.statement, prover=body.prover)
    except (BenchmarkError, UnsafeInput, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.post("", status_code=status.HTTP_202_ACCEPTED, dependencies=[Depends(require_key)])
async def submit(
    body: ProofRequest,
    request: Request,
    response: Response,
    queue: QueueDep,
) -> JobAccepted:
    """Queue a search; the job id comes back at once (202), the result via GET or events."""
    theorem = await theorem_of(request, body)
    await require_worker(request, body.prover)
    job_id = await queue.submit(JobSpec(theorem=theorem, config=body.config()))
    response.headers["Location"] = f"/v1/proofs/{job_id}"
    return JobAccepted(
        id=job_id,
        status=JobStatus.QUEUED,
        url=f"/v1/proofs/{job_id}",
        events=f"/v1/proofs/{job_id}/events",
    )


def job_view(job_id: str, record: dict[str, str], result_json: str | None) -> JobView:
    spec = JobSpec.model_validate_json(record["spec"])
    result = SearchResult.model_validate_json(result_json) if result_json else None
    return JobView(
        id=job_id,
        status=JobStatus(record["status"]),
        prover=spec.theorem.prover,
        theorem=spec.theorem.name,
        config=spec.config,
        proof=result.proof if result else None,
        message=record.get("message", ""),
        result=result,
        attempts=int(record.get("attempts", 0)),
        worker=record.get("worker"),
        created_at=float(record["created_at"]),
        started_at=float(record["started_at"]) if "started_at" in record else None,
        finished_at=float(record["finished_at"]) if "finished_at" in record else None,
        versions=json.loads(record.get("versions") or "{}"),
        eval_id=record.get("eval"),
    )


@router.get("/{job_id}")
async def get_job(job_id: str, queue: QueueDep) -> JobView:
    record = await queue.job(job_id)
    if record is None or not isinstance(parse_spec(record["spec"]), JobSpec):
        raise not_found("job", job_id)  # a check job is read at /v1/checks
    return job_view(job_id, record, await queue.result(job_id))


@router.delete("/{job_id}", dependencies=[Depends(require_key)])
async def cancel_job(job_id: str, queue: QueueDep) -> CancelAccepted:
    """Cancel: a queued job at once; a running one within about a second (its worker checks
    every ``poll_s``). 409 when the job already has another result."""
    after = await queue.cancel(job_id)
    if after is None:
        raise not_found("job", job_id)
    if after in TERMINAL and after != JobStatus.CANCELLED:
        raise HTTPException(status.HTTP_409_CONFLICT, f"job already finished: {after}")
    return CancelAccepted(
        id=job_id, status=JobStatus(after), cancel_requested=after != JobStatus.CANCELLED
    )


@router.get("/{job_id}/events")
async def job_events(
    job_id: str,
    request: Request,
    queue: QueueDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    """Server-sent events: ``queued``, ``started``, ``progress`` (expansions, best depth,
    elapsed), ``cancel_requested``, ``released`` and the final ``result``, after which the
    stream ends. Event ids are the queue's, so a reconnecting client resumes with
    ``Last-Event-ID``; one that already has a finished job's result gets 204 (no more)."""
    record = await queue.job(job_id)
    if record is None:
        raise not_found("job", job_id)
    if last_event_id is not None and not EVENT_ID.fullmatch(last_event_id):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"Last-Event-ID {last_event_id[:40]!r} is not an event id of this stream",
        )
    if last_event_id is not None and record["status"] in TERMINAL:
        last = await queue.last_event(job_id)
        if last is not None and last[0] == last_event_id:
            # The client has the result: 204 is how SSE says "do not reconnect". A cursor
            # past the end is the stream's to answer (below), as for a job finishing later.
            return Response(status_code=status.HTTP_204_NO_CONTENT)

    async def stream() -> AsyncIterator[str]:
        after = last_event_id or "0"
        while not await request.is_disconnected():
            batch = await queue.events(job_id, after, block_ms=KEEPALIVE_MS)
            if not batch:
                # A finished job gets no more events: a cursor at or past its end (a stale or
                # made-up Last-Event-ID) gets the result again and the stream ends, instead of
                # keep-alives forever.
                if (record := await queue.job(job_id)) and record["status"] in TERMINAL:
                    last = await queue.last_event(job_id)
                    if last is not None and last[1] == "result" and last[0] != after:
                        yield event(last[1], last[2], last[0])
                    return
                yield KEEPALIVE
                continue
            for event_id, kind, data in batch:
                after = event_id
                yield event(kind, data, event_id)
                if kind == "result":
                    return

    return sse_response(request, stream())
