"""``/healthz`` and ``/metrics``: for load balancers and Prometheus; no authentication."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError

from api.deps import QueueDep
from api.metrics import render
from search.types import ProverKind

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(queue: QueueDep) -> JSONResponse:
    """200 when Redis answers, with the live workers per prover; 503 with the reason if not."""
    try:
        await queue.redis.ping()
        workers = {p.value: await queue.live_workers(p.value) for p in ProverKind}
    except (RedisError, OSError) as exc:
        return JSONResponse({"status": "unavailable", "redis": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "redis": "ok", "workers": workers})


@router.get("/metrics")
async def metrics(queue: QueueDep) -> Response:
    return Response(await render(queue), media_type=CONTENT_TYPE_LATEST)
