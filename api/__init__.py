"""The HTTP service (FastAPI) and its Redis job queue: see the service issue; not built yet."""
