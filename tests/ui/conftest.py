"""The dashboard against the real service: Redis, the API under uvicorn and a Coq worker, in
headless Chromium (``support.browser``)."""

from support.browser import browser, page
from support.service_fixtures import api, rdb, redis_server, redis_url, workers

__all__ = ["api", "browser", "page", "rdb", "redis_server", "redis_url", "workers"]
