"""The FastAPI application: routers per resource, the queue on ``app.state``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import BlockingConnectionPool, Redis

from api.limits import BodySizeLimit
from api.routes import evals, health, proofs
from api.settings import Settings
from search.queue import JobQueue


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Blocking pool: past the limit a request waits for a connection (each open event
        # stream holds one while it waits for events) instead of failing with a 500.
        pool = BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_connections,
            timeout=10,
            decode_responses=True,
        )
        redis = Redis.from_pool(pool)
        app.state.queue = JobQueue(redis, prefix=settings.prefix, lease_s=settings.lease_s)
        app.state.benchmarks = {}
        app.state.workers_seen = {}
        try:
            yield
        finally:
            await redis.aclose()

    app = FastAPI(
        title="dcoprover",
        summary="Proof search as a service: submit a theorem, get a machine-checked proof.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for router in (proofs.router, evals.router, health.router):
        app.include_router(router)
    return app
