"""``/v1/evals``: a benchmark split as one run of per-theorem jobs, its progress and rows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import StreamingResponse

from api.auth import require_key
from api.deps import QueueDep, benchmark_theorems, not_found, require_worker
from api.schemas import EvalAccepted, EvalRequest, EvalView
from search.config import SearchConfig, Strategy
from search.queue_evals import EvalRuns, mean_pass_at_k

router = APIRouter(prefix="/v1/evals", tags=["evals"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, dependencies=[Depends(require_key)])
async def create_eval(body: EvalRequest, request: Request, queue: QueueDep) -> EvalAccepted:
    """Queue one job per theorem of the split (optionally only ``names``, or the first
    ``limit``); 422 names any theorem the split lacks."""
    theorems = await benchmark_theorems(request, body.prover, body.benchmark, body.split)
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


@router.get("/{eval_id}")
async def get_eval(eval_id: str, queue: QueueDep) -> EvalView:
    runs = EvalRuns(queue)
    record = await runs.record(eval_id)
    if record is None:
        raise not_found("evaluation", eval_id)
    config = SearchConfig.model_validate_json(record["config"])
    done = int(record["done"])
    by_status = {
        k.removeprefix("status:"): int(v) for k, v in record.items() if k.startswith("status:")
    }
    pass_at_k = None
    if config.strategy is Strategy.PASS_AT_N and not config.early_stop and done:
        pass_at_k = mean_pass_at_k([row async for row in runs.rows(eval_id)])
    solved = by_status.get("proved", 0)
    return EvalView(
        id=eval_id,
        prover=record["prover"],
        benchmark=record["benchmark"],
        split=record["split"],
        config=config,
        total=int(record["total"]),
        done=done,
        solved=solved,
        solved_rate=solved / done if done else None,
        by_status=by_status,
        pass_at_k=pass_at_k,
        created_at=float(record["created_at"]),
    )


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
