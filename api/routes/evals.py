"""``/v1/evals``: a benchmark split as one run of per-theorem jobs, its progress and rows."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse

from api.auth import require_key
from api.deps import QueueDep, benchmark_theorems, not_found, require_worker
from api.schemas import EvalAccepted, EvalRequest, EvalView
from api.sse import KEEPALIVE, KEEPALIVE_MS, event, sse_response
from search.config import SearchConfig, Strategy
from search.queue_evals import EvalRuns, mean_pass_at_k

router = APIRouter(prefix="/v1/evals", tags=["evals"])
log = logging.getLogger(__name__)

#: How often an eval's event stream reads the run's counters.
EVAL_POLL_S = 0.5


@router.post("", status_code=status.HTTP_202_ACCEPTED, dependencies=[Depends(require_key)])
async def create_eval(body: EvalRequest, request: Request, queue: QueueDep) -> EvalAccepted:
    """Queue one job per theorem of the split (optionally only ``names``, or the first
    ``limit``); 422 names any theorem the split lacks."""
    # As `prover eval`: without the statements this Coq cannot state, so that a run's
    # figures are the CLI's (they were 4 "error" rows in the first 24 of valid).
    theorems = await benchmark_theorems(
        request, body.prover, body.benchmark, body.split, include_unsupported=False
    )
    if body.names is not None:
        missing = set(body.names) - {t.name for t in theorems}
        if missing:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"not in the {body.split} split: {', '.join(sorted(missing))}",
            )
        theorems = [t for t in theorems if t.name in set(body.names)]
    theorems = theorems[: body.limit]
    if not theorems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "no theorems selected")
    await require_worker(request, body.prover)
    meta = {"prover": body.prover.value, "benchmark": body.benchmark, "split": body.split}
    eval_id = await EvalRuns(queue).create(theorems, body.config(), meta)
    return EvalAccepted(
        id=eval_id,
        jobs=len(theorems),
        url=f"/v1/evals/{eval_id}",
        results=f"/v1/evals/{eval_id}/results.jsonl",
    )


async def eval_view(
    runs: EvalRuns, eval_id: str, record: dict[str, str] | None = None, pass_at_k: bool = True
) -> EvalView | None:
    """The run's progress and counters, or None when there is no such run. ``pass_at_k``
    False leaves the estimate out: it reads every row of the run."""
    record = record or await runs.record(eval_id)
    if record is None:
        return None
    config = SearchConfig.model_validate_json(record["config"])
    counts = eval_counts(record)
    done, by_status = counts["done"], counts["by_status"]
    estimate = None
    if pass_at_k and config.strategy is Strategy.PASS_AT_N and not config.early_stop and done:
        estimate = mean_pass_at_k([row async for row in runs.rows(eval_id)])
    solved = by_status.get("proved", 0)
    return EvalView(
        id=eval_id,
        prover=record["prover"],
        benchmark=record["benchmark"],
        split=record["split"],
        config=config,
        total=counts["total"],
        done=done,
        solved=solved,
        solved_rate=solved / done if done else None,
        by_status=by_status,
        pass_at_k=estimate,
        created_at=float(record["created_at"]),
    )


@router.get("")
async def list_evals(
    queue: QueueDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[EvalView]:
    """The most recent runs, newest first, each with its progress (read in one round trip;
    ``pass_at_k`` is left out, as it reads every row: ``GET /v1/evals/{id}`` has it)."""
    runs = EvalRuns(queue)
    records = await runs.records(await runs.newest(limit))
    views = []
    for eval_id, record in records.items():
        try:
            view = await eval_view(runs, eval_id, record, pass_at_k=False)
        except (KeyError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            # One damaged record (written by hand, or by another version) must not take the
            # whole list, and the dashboard's front page, down with it.
            log.warning("evaluation %s left out of the list: its record is unreadable: %s",
                        eval_id, exc)  # fmt: skip
            continue
        if view is not None:
            views.append(view)
    return views


@router.get("/events")
async def all_eval_events(
    request: Request, queue: QueueDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> StreamingResponse:
    """Server-sent events for a list of runs in one stream (a browser holds about six
    connections per server, so a page cannot open one stream per run): ``progress`` with the
    run's ``id`` and counters whenever those of one of the newest ``limit`` runs change, a
    new run included. Runs already finished when the stream opens send nothing. The stream
    ends, after a final ``done`` event, once every one of those runs has finished (at once
    when there is none running)."""
    runs = EvalRuns(queue)

    async def stream() -> AsyncIterator[str]:
        last: dict[str, dict] = {}
        first = True
        idle_s = 0.0
        while not await request.is_disconnected():
            sent = False
            records = await runs.records(await runs.newest(limit))
            for eval_id, record in records.items():
                counts = eval_counts(record)
                if last.get(eval_id) == counts:
                    continue
                finished_before = first and counts["done"] >= counts["total"]
                last[eval_id] = counts
                if not finished_before:
                    sent = True
                    yield event("progress", {"id": eval_id, **counts})
            first = False
            if all(c["done"] >= c["total"] for c in last.values()):
                yield event("done", {"runs": len(records)})
                return
            idle_s = 0.0 if sent else idle_s + EVAL_POLL_S
            if idle_s >= KEEPALIVE_MS / 1000:
                idle_s = 0.0
                yield KEEPALIVE
            await asyncio.sleep(EVAL_POLL_S)

    return sse_response(request, stream())


@router.get("/{eval_id}")
async def get_eval(eval_id: str, queue: QueueDep) -> EvalView:
    view = await eval_view(EvalRuns(queue), eval_id)
    if view is None:
        raise not_found("evaluation", eval_id)
    return view


@router.get("/{eval_id}/events")
async def eval_events(eval_id: str, request: Request, queue: QueueDep) -> StreamingResponse:
    """Server-sent events: ``progress`` (total, done and the counts by status) whenever they
    change, then ``done`` once every job has finished, after which the stream ends. The run's
    counters are read every ``EVAL_POLL_S``: they live in one hash that the queue's result
    script increments, so a poll is one small read whatever the number of jobs."""
    runs = EvalRuns(queue)
    if await runs.record(eval_id) is None:
        raise not_found("evaluation", eval_id)

    async def stream() -> AsyncIterator[str]:
        last: dict | None = None
        idle_s = 0.0
        while not await request.is_disconnected():
            record = await runs.record(eval_id)
            if record is None:  # deleted while watched
                return
            counts = eval_counts(record)
            if counts != last:
                last, idle_s = counts, 0.0
                finished = counts["done"] >= counts["total"]
                yield event("done" if finished else "progress", counts)
                if finished:
                    return
            elif idle_s >= KEEPALIVE_MS / 1000:
                idle_s = 0.0
                yield KEEPALIVE
            await asyncio.sleep(EVAL_POLL_S)
            idle_s += EVAL_POLL_S

    return sse_response(request, stream())


def eval_counts(record: dict[str, str]) -> dict:
    by_status = {
        k.removeprefix("status:"): int(v) for k, v in record.items() if k.startswith("status:")
    }
    return {"total": int(record["total"]), "done": int(record["done"]), "by_status": by_status}


@router.get("/{eval_id}/results.jsonl")
async def eval_results(eval_id: str, queue: QueueDep) -> StreamingResponse:
    """The finished rows so far as JSON lines, in benchmark order."""
    runs = EvalRuns(queue)
    if await runs.record(eval_id) is None:
        raise not_found("evaluation", eval_id)

    async def lines() -> AsyncIterator[str]:
        async for row in runs.rows(eval_id):
            yield json.dumps(row) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")
