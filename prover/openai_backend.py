"""The OpenAI-compatible backend: ``/v1/completions`` through the ``openai`` async client.

Works against ``vllm serve`` (production, on a GPU), ``prover serve-policy --backend
transformers`` (CPU, tests) and any server with that API. The client retries connection
errors, timeouts, 429 and 5xx answers with exponential backoff (0.5 s doubling, at most 8 s,
``max_retries`` times); a semaphore caps the requests in flight so that hundreds of searches
do not open hundreds of connections. Every failure becomes a ``PolicyError`` that says what
to do about it.
"""

from __future__ import annotations

import asyncio
import re

import openai

from prover.config import OpenAIBackendConfig, SamplingConfig
from prover.model_policy import Completion
from search.policy import PolicyError, PromptTooLong

#: Ask for the sampled token's log-prob (and one alternative, which every server accepts).
_LOGPROBS = 1


class OpenAICompleter:
    """``Completer`` over HTTP."""

    def __init__(self, config: OpenAIBackendConfig) -> None:
        self.config = config
        self.client = openai.AsyncOpenAI(
            base_url=config.url,
            api_key=config.api_key,
            timeout=config.timeout_s,
            max_retries=config.max_retries,
        )
        self._in_flight = asyncio.Semaphore(config.max_concurrency)

    async def served_models(self) -> list[str]:
        """Names the server serves (``/v1/models``)."""
        try:
            page = await self.client.models.list()
        except openai.APIError as exc:
            raise self._error(exc) from None
        return [model.id for model in page.data]

    async def check(self) -> None:
        """Fail now, with the reason, if the server is down or does not serve our model."""
        served = await self.served_models()
        if self.config.model not in served:
            raise PolicyError(self._unknown_model(served))

    async def complete(
        self, prompt: str, n: int, sampling: SamplingConfig, stop: tuple[str, ...]
    ) -> list[Completion]:
        async with self._in_flight:
            try:
                response = await self.client.completions.create(
                    model=self.config.model,
                    prompt=prompt,
                    n=n,
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    max_tokens=sampling.max_tokens,
                    stop=list(stop) or None,
                    logprobs=_LOGPROBS,
                    seed=sampling.seed,
                )
            except openai.NotFoundError:
                raise PolicyError(self._unknown_model(await self._served_or_empty())) from None
            except openai.BadRequestError as exc:
                if _CONTEXT_OVERFLOW.search(_message(exc)):
                    raise PromptTooLong(_message(exc)) from None
                raise self._error(exc) from None
            except openai.APIError as exc:
                raise self._error(exc) from None
        completions = []
        for choice in sorted(response.choices, key=lambda c: c.index):
            if choice.logprobs is None or choice.logprobs.token_logprobs is None:
                raise PolicyError(
                    f"the server at {self.config.url} returned no token log-probs; "
                    "it must implement the `logprobs` parameter of /v1/completions"
                )
            logprobs = [lp for lp in choice.logprobs.token_logprobs if lp is not None]
            completions.append(Completion(choice.text, logprobs, choice.finish_reason))
        return completions

    async def _served_or_empty(self) -> list[str]:
        try:
            return await self.served_models()
        except PolicyError:
            return []

    def _unknown_model(self, served: list[str]) -> str:
        listing = ", ".join(served) if served else "none listed"
        return (
            f"model {self.config.model!r} is not served at {self.config.url} (served: "
            f"{listing}); pass --model with one of those, or the server's --served-model-name"
        )

    def _error(self, exc: openai.APIError) -> PolicyError:
        url = self.config.url
        if isinstance(exc, openai.APITimeoutError):
            return PolicyError(
                f"the policy server at {url} did not answer within {self.config.timeout_s:g} s "
                f"({self.config.max_retries} retries)"
            )
        if isinstance(exc, openai.APIConnectionError):
            return PolicyError(
                f"cannot reach the policy server at {url} ({self.config.max_retries} retries): "
                "start it with `prover serve-policy` or `vllm serve`, or pass --policy-url"
            )
        if isinstance(exc, openai.APIStatusError):
            return PolicyError(
                f"the policy server at {url} answered {exc.status_code}: {_message(exc)}"
            )
        return PolicyError(f"policy server at {url}: {exc}")

    async def close(self) -> None:
        await self.client.close()


#: How servers say a prompt does not fit: vLLM's "maximum context length is N tokens" and "is
#: longer than the maximum model length", and ``prover serve-policy``'s own two messages.
_CONTEXT_OVERFLOW = re.compile(
    r"maximum context length|longer than the maximum model length|prompt of \d+ tokens",
    re.IGNORECASE,
)


def _message(exc: openai.APIStatusError) -> str:
    """The server's own error message (OpenAI and vLLM put it in ``error.message``)."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return exc.message
