"""Glue shared by the CLI, the workers and the benchmarks: build an environment and a policy
from configuration, run the configured strategy, and record the versions of what ran."""

from __future__ import annotations

import functools
import platform
import re
import subprocess
from importlib import metadata

from prover.automation import AutomationPolicy
from prover.backends import make_model_policy
from prover.policy import Policy
from search.best_first import best_first
from search.config import ProverLimits, SearchConfig, Strategy
from search.env.base import ProofEnvironment
from search.env.coq import CoqEnvironment
from search.env.coq_check import DEFAULT_PREAMBLE, HAMMER_PREAMBLE
from search.pass_at_n import pass_at_n
from search.result import SearchResult, SearchStatus
from search.types import ProverKind, Theorem

POLICIES = ("automation", "openai", "transformers")


def make_environment(
    prover: ProverKind, limits: ProverLimits | None = None, hammer: bool = False
) -> ProofEnvironment:
    """The proof environment for ``prover``; ``hammer`` also loads CoqHammer's tactics."""
    if ProverKind(prover) is ProverKind.COQ:
        preamble = (*DEFAULT_PREAMBLE, HAMMER_PREAMBLE) if hammer else DEFAULT_PREAMBLE
        return CoqEnvironment(limits, preamble=preamble)
    raise NotImplementedError(
        "the Lean 4 backends (Lean REPL, LeanDojo) are not available in this version; "
        "use --prover coq"
    )


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
    theorem: Theorem, env: ProofEnvironment, policy: Policy, config: SearchConfig
) -> SearchResult:
    """Run the strategy named in ``config``."""
    if config.strategy is Strategy.PASS_AT_N:
        return await pass_at_n(theorem, env, policy, config)
    return await best_first(theorem, env, policy, config)


async def run_search_safely(
    theorem: Theorem, env: ProofEnvironment, policy: Policy, config: SearchConfig
) -> SearchResult:
    """``run_search`` for batch runners: an unexpected exception becomes an error result, so
    one broken search does not end the others in flight."""
    try:
        return await run_search(theorem, env, policy, config)
    except Exception as exc:
        return SearchResult(
            theorem=theorem.name,
            prover=env.prover.value,
            strategy=config.strategy.value,
            status=SearchStatus.ERROR,
            message=f"{type(exc).__name__}: {exc}",
            config=config,
        )


@functools.cache
def coq_version() -> str | None:
    try:
        out = subprocess.run(["coqtop", "-v"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"version (\S+)", out)
    return match.group(1) if match else None


def versions(prover: ProverKind) -> dict[str, str | None]:
    """Versions of everything that decides a result, recorded with every result row."""
    found: dict[str, str | None] = {
        "dcoprover": metadata.version("dcoprover"),
        "python": platform.python_version(),
    }
    if ProverKind(prover) is ProverKind.COQ:
        found["coq"] = coq_version()
    return found
