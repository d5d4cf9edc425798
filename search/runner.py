"""Run the configured strategy, safely for batch runners, and record the versions of what ran.
Environments and policies are built above this layer (``prover.compose``) and passed in."""

from __future__ import annotations

import asyncio
import platform
from collections.abc import Awaitable, Callable, Iterable
from importlib import metadata
from typing import TypeVar

from search.best_first import ProgressHook, best_first
from search.config import SearchConfig, Strategy
from search.env.base import ProofEnvironment
from search.pass_at_n import pass_at_n
from search.policy import Policy
from search.result import SearchResult, SearchStatus
from search.types import Theorem

T = TypeVar("T")
R = TypeVar("R")


async def run_many(
    items: Iterable[T], run: Callable[[T], Awaitable[R]], concurrency: int
) -> list[R]:
    """``run`` on every item with at most ``concurrency`` in flight, the results in the items'
    order: how every batch runs (an evaluation, an iteration round, a batch of checks, the
    benchmarks), so that bounding and ordering are written once."""
    slots = asyncio.Semaphore(max(1, concurrency))

    async def bounded(item: T) -> R:
        async with slots:
            return await run(item)

    return list(await asyncio.gather(*(bounded(item) for item in items)))


async def run_search(
    theorem: Theorem,
    env: ProofEnvironment,
    policy: Policy,
    config: SearchConfig,
    on_progress: ProgressHook | None = None,
) -> SearchResult:
    """Run the strategy named in ``config``."""
    if config.strategy is Strategy.PASS_AT_N:
        return await pass_at_n(theorem, env, policy, config, on_progress)
    return await best_first(theorem, env, policy, config, on_progress)


async def run_search_safely(
    theorem: Theorem,
    env: ProofEnvironment,
    policy: Policy,
    config: SearchConfig,
    on_progress: ProgressHook | None = None,
    reraise: tuple[type[Exception], ...] = (),
) -> SearchResult:
    """``run_search`` for batch runners: an unexpected exception becomes an error result, so
    one broken search does not end the others in flight (except the ``reraise`` kinds, which
    the caller handles: a worker waiting out a policy server that is down)."""
    try:
        return await run_search(theorem, env, policy, config, on_progress)
    except reraise:
        raise
    except Exception as exc:
        return SearchResult.of(
            theorem.name, env.prover.value, config, SearchStatus.ERROR,
            message=f"{type(exc).__name__}: {exc}",
        )  # fmt: skip


def versions(env: ProofEnvironment | None = None) -> dict[str, str | None]:
    """Versions of everything that decides a result (with ``env``'s prover installation),
    recorded with every result row."""
    return {
        "dcoprover": metadata.version("dcoprover"),
        "python": platform.python_version(),
        **(env.describe() if env is not None else {}),
    }
