"""An OpenAI-compatible policy server for the transformers backend (FastAPI).

It implements the subset of the API the policy client uses, with vLLM's response schema:
``GET /v1/models`` and non-streaming ``POST /v1/completions`` (``prompt`` as a string or a list,
``n``, ``temperature``, ``top_p``, ``max_tokens``, ``stop``, ``logprobs``, ``seed``, and vLLM's
``return_tokens_as_token_ids``). Errors use OpenAI's ``{"error": {...}}`` body with vLLM's
status codes: 404 for an unknown model, 400 for a bad or oversized request. Concurrent requests
are batched by the engine, so this server keeps a GPU as busy as the in-process policy does.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from prover.config import SamplingConfig
from prover.generation import PromptTooLong, Sample
from prover.hf_backend import TransformersEngine

#: One line per completion request (prompts, samples, tokens, milliseconds): the request log
#: of ``prover serve-policy``, at INFO.
log = logging.getLogger("dcoprover.serve")


class CompletionRequest(BaseModel):
    """The ``/v1/completions`` body; unknown fields are ignored, as vLLM does."""

    model_config = ConfigDict(extra="ignore")

    model: str
    prompt: str | list[str]
    n: int = Field(default=1, ge=1, le=1024)
    temperature: float = Field(default=1.0, ge=0.0, le=10.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=16, ge=1, le=32_768)
    stop: str | list[str] | None = None
    logprobs: int | None = Field(default=None, ge=0, le=20)
    seed: int | None = None
    stream: bool = False
    echo: bool = False
    return_tokens_as_token_ids: bool = False


class Logprobs(BaseModel):
    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]]
    text_offset: list[int]


class Choice(BaseModel):
    index: int
    text: str
    logprobs: Logprobs | None
    finish_reason: Literal["stop", "length"]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class CompletionResponse(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param = status, message, kind, param


def _error_response(status: int, message: str, kind: str, param: str | None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": status}}
    return JSONResponse(status_code=status, content=body)


def create_app(engine: TransformersEngine, served_model_name: str) -> FastAPI:
    """The app serving ``engine`` under the name ``served_model_name``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await engine.close()

    app = FastAPI(title="dcoprover policy server", lifespan=lifespan)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc.status, exc.message, exc.kind, exc.param)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"] if part != "body")
        return _error_response(400, f"{where}: {first['msg']}", "BadRequestError", where)

    @app.get("/v1/models")
    async def models() -> dict:
        card = {
            "id": served_model_name,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "dcoprover",
            "root": engine.config.model,
            "max_model_len": engine.max_model_len,
        }
        return {"object": "list", "data": [card]}

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest) -> CompletionResponse:
        if body.model != served_model_name:
            raise ApiError(
                404, f"The model `{body.model}` does not exist.", "NotFoundError", "model"
            )
        if body.stream or body.echo:
            unsupported = "stream" if body.stream else "echo"
            raise ApiError(
                400,
                f"{unsupported}=true is not supported by this server",
                "BadRequestError",
                unsupported,
            )
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        if not prompts:
            raise ApiError(400, "prompt: at least one prompt is required", "BadRequestError")
        stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
        sampling = SamplingConfig(
            temperature=body.temperature,
            top_p=body.top_p,
            max_tokens=body.max_tokens,
            seed=body.seed,
        )
        encoded = [engine.encode(prompt) for prompt in prompts]
        started = time.monotonic()
        try:
            per_prompt = await asyncio.gather(
                *(engine.sample(ids, body.n, sampling, stop, body.logprobs or 0) for ids in encoded)
            )
        except PromptTooLong as exc:
            log.info("completion refused: %s", exc)
            raise ApiError(400, str(exc), "BadRequestError", "prompt") from None
        choices = []
        for prompt, samples in zip(prompts, per_prompt, strict=True):
            for sample in samples:
                logprobs = None
                if body.logprobs is not None:
                    logprobs = _logprobs(
                        engine, sample, len(prompt), body.return_tokens_as_token_ids
                    )
                choices.append(
                    Choice(
                        index=len(choices),
                        text=sample.text,
                        logprobs=logprobs,
                        finish_reason=sample.finish_reason,
                    )
                )
        prompt_tokens = sum(len(ids) for ids in encoded)
        completion_tokens = sum(len(s.token_ids) for samples in per_prompt for s in samples)
        log.info(
            "completion: %d prompt(s) x n=%d, %d prompt tokens, %d completion tokens, %.0f ms",
            len(prompts), body.n, prompt_tokens, completion_tokens,
            1000 * (time.monotonic() - started),
        )  # fmt: skip
        return CompletionResponse(
            id=f"cmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=served_model_name,
            choices=choices,
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
        )

    return app


def _logprobs(engine: TransformersEngine, sample: Sample, offset: int, as_ids: bool) -> Logprobs:
    """OpenAI's legacy ``logprobs`` object; ``text_offset`` counts from the prompt's start."""

    def name(token_id: int) -> str:
        return f"token_id:{token_id}" if as_ids else engine.token_text(token_id)

    tokens = [name(t) for t in sample.token_ids]
    offsets = []
    for token_id in sample.token_ids:
        offsets.append(offset)
        offset += len(engine.token_text(token_id))
    top = [{name(t): lp for t, lp in step.items()} for step in sample.top_logprobs]
    return Logprobs(
        tokens=tokens,
        token_logprobs=sample.token_logprobs,
        top_logprobs=top or [{} for _ in tokens],
        text_offset=offsets,
    )
