"""The HTTP service: FastAPI app (``api.app``) in front of the Redis job queue
(``search.queue``); the workers that run the searches are ``search.worker``."""
