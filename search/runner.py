"""Glue shared by the CLI, the workers and the benchmarks: build an environment and a policy
from configuration, run the configured strategy, and record the versions of what ran."""

from __future__ import annotations

import platform
from importlib import metadata

from prover.automation import AutomationPolicy
from prover.backends import make_model_policy
from prover.policy import Policy
from search.best_first import ProgressHook, best_first
from search.config import LeanBackend, LeanConfig, ProverLimits, SearchConfig, Strategy
from search.env.base import ProofEnvironment
from search.env.coq import CoqEnvironment
from search.env.coq_check import DEFAULT_PREAMBLE, HAMMER_PREAMBLE
from search.env.lean import LeanEnvironment
from search.env.leandojo import LeanDojoEnvironment
from search.pass_at_n import pass_at_n
from search.result import SearchResult, SearchStatus
from search.types import ProverKind, Theorem

POLICIES = ("automation", "openai", "transformers")


def make_environment(
    prover: ProverKind,
    limits: ProverLimits | None = None,
    hammer: bool = False,
    lean: LeanConfig | None = None,
) -> ProofEnvironment:
    """The proof environment for ``prover``; ``hammer`` also loads CoqHammer's tactics and
    ``lean`` says which Lean installation to drive. Raises ``FileNotFoundError`` (with install
    advice) when the prover is not installed."""
    if ProverKind(prover) is ProverKind.COQ:
        preamble = (*DEFAULT_PREAMBLE, HAMMER_PREAMBLE) if hammer else DEFAULT_PREAMBLE
        return CoqEnvironment(limits, preamble=preamble)
    repl = LeanEnvironment(limits, lean)
    if lean is not None and lean.backend is LeanBackend.LEANDOJO:
        return LeanDojoEnvironment(verifier=repl)
    return repl


def make_policy(
    name: str, prover: ProverKind, model: str | None = None, policy_url: str | None = None
) -> Policy:
    """The policy called ``name``: ``automation`` (the model-free baseline), ``openai`` (the
    server at ``policy_url`` serving ``model``) or ``transformers`` (``model`` in-process)."""
    if name == "automation":
        return AutomationPolicy(prover)
    if name in POLICIES:
        return make_model_policy(name, model, policy_url)
    raise ValueError(f"unknown policy {name!r}; available: {', '.join(POLICIES)}")


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
        return SearchResult(
            theorem=theorem.name,
            prover=env.prover.value,
            strategy=config.strategy.value,
            status=SearchStatus.ERROR,
            message=f"{type(exc).__name__}: {exc}",
            config=config,
        )


def versions(env: ProofEnvironment | None = None) -> dict[str, str | None]:
    """Versions of everything that decides a result (with ``env``'s prover installation),
    recorded with every result row."""
    return {
        "dcoprover": metadata.version("dcoprover"),
        "python": platform.python_version(),
        **(env.describe() if env is not None else {}),
    }
