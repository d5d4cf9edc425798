"""The FastAPI application: routers per resource, the queue on ``app.state``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.limits import BodySizeLimit
from api.routes import checks, evals, health, proofs
from api.routes.ui import mount_ui
from api.settings import Settings
from api.sse import StreamSlots
from search.queue import JobQueue, connect


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each open event stream holds a connection while it waits for events.
        redis = connect(settings.redis_url, max_connections=settings.redis_connections)
        app.state.queue = JobQueue(redis, settings.queue)
        app.state.benchmarks = {}
        app.state.benchmark_failures = {}
        app.state.workers_seen = {}
        app.state.event_streams = StreamSlots(settings.max_event_streams)
        try:
            yield
        finally:
            await redis.aclose()

    app = FastAPI(
        title="dcoprover",
        summary="Proof search as a service: submit a theorem, get a machine-checked proof.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by api.routes.ui from vendored files, not from a CDN
        redoc_url=None,  # ReDoc has no vendored copy: /docs and /openapi.json are enough
    )
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def redis_down(request: Request, exc: Exception) -> JSONResponse:
        # Retries already rode out a short outage; past that, say so instead of a bare 500.
        return JSONResponse({"detail": f"the job store (Redis) is unavailable: {exc}"}, 503)

    for router in (proofs.router, checks.router, evals.router, health.router):
        app.include_router(router)
    mount_ui(app)
    return app
