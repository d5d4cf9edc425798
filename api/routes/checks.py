"""``/v1/checks``: judge given proofs of given statements (no search), with the search's checker.

A batch is one job on the queue, run by a worker of its prover, so checks get what searches
get: the prover pools stay in the workers, a killed worker's batch is handed out again, and
the verdicts are kept. The request waits for them up to ``wait_s``.
"""

from __future__ import annotations

import asyncio
import json
import time

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from api.auth import require_key
from api.deps import QueueDep, benchmark_theorems, not_found, require_worker
from api.schemas import CheckRequest, CheckView
from search.checking import CheckBatch, ProofCheck
from search.queue import JobQueue
from search.queue_jobs import TERMINAL, CheckSpec, JobStatus, parse_spec

router = APIRouter(prefix="/v1/checks", tags=["checks"])

#: How often a waiting request looks at its job.
POLL_S = 0.1


@router.post("", dependencies=[Depends(require_key)])
async def check(
    body: CheckRequest, request: Request, response: Response, queue: QueueDep
) -> CheckView:
    """Queue the batch; 200 with every verdict when they come within ``wait_s``, else 202
    with the job's URL to poll (``Location``)."""
    prover = body.checks[0].prover
    checks = await pinned(request, body.checks)
    await require_worker(request, prover)
    job_id = await queue.submit(CheckSpec(prover=prover, checks=checks))
    response.headers["Location"] = f"/v1/checks/{job_id}"
    deadline = time.monotonic() + body.wait_s
    while True:
        view = await check_view(queue, job_id)
        if view is not None and (view.status in TERMINAL or time.monotonic() >= deadline):
            break
        await asyncio.sleep(POLL_S)
    if view.status not in TERMINAL:
        response.status_code = status.HTTP_202_ACCEPTED
    return view


async def pinned(request: Request, checks: list[ProofCheck]) -> list[ProofCheck]:
    """Checks that name a benchmark theorem get its header and statement; 422 names one the
    benchmark lacks."""
    if all(check.benchmark is None for check in checks):
        return checks
    benchmark = next(check.benchmark for check in checks if check.benchmark is not None)
    if any(check.benchmark not in (None, benchmark) for check in checks):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "one batch of checks names one benchmark"
        )
    theorems = await benchmark_theorems(request, checks[0].prover, benchmark)
    try:
        return [check.pinned(theorems) for check in checks]
    except KeyError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"no theorem named {exc} in the benchmark"
        ) from None


@router.get("/{job_id}")
async def get_check(job_id: str, queue: QueueDep) -> CheckView:
    view = await check_view(queue, job_id)
    if view is None:
        raise not_found("check job", job_id)
    return view


async def check_view(queue: JobQueue, job_id: str) -> CheckView | None:
    """The check job as clients see it; None when there is no such check job."""
    record = await queue.job(job_id)
    if record is None:
        return None
    spec = parse_spec(record["spec"])
    if not isinstance(spec, CheckSpec):
        return None
    job_status = JobStatus(record["status"])
    result = await queue.result(job_id) if job_status is JobStatus.DONE else None
    batch = CheckBatch.model_validate_json(result) if result else None
    return CheckView(
        id=job_id,
        status=job_status,
        prover=spec.prover,
        url=f"/v1/checks/{job_id}",
        results=batch.results if batch else None,
        summary=batch.summary if batch else None,
        message=record.get("message", ""),
        attempts=int(record.get("attempts", 0)),
        worker=record.get("worker"),
        created_at=float(record["created_at"]),
        finished_at=float(record["finished_at"]) if "finished_at" in record else None,
        versions=json.loads(record.get("versions") or "{}"),
    )
