"""The real Redis, API and worker fixtures (defined in ``support.service_fixtures``)."""

from support.service_fixtures import api, rdb, redis_server, redis_url, workers

__all__ = ["api", "rdb", "redis_server", "redis_url", "workers"]
