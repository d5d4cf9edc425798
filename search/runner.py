"""Glue shared by the CLI, the workers and the benchmarks: build an environment and a policy
from configuration, run the configured strategy, and record the versions of what ran."""

from __future__ import annotations

import functools
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

from prover.automation import AutomationPolicy
from prover.policy import Policy
from search.best_first import ProgressHook, best_first
from search.config import LeanConfig, ProverLimits, SearchConfig, Strategy
from search.env.base import ProofEnvironment
from search.env.coq import CoqEnvironment
from search.env.coq_check import DEFAULT_PREAMBLE, HAMMER_PREAMBLE
from search.env.lean import LeanEnvironment
from search.pass_at_n import pass_at_n
from search.result import SearchResult, SearchStatus
from search.types import ProverKind, Theorem

POLICIES = ("automation",)


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
    return LeanEnvironment(limits, lean)


def make_policy(name: str, prover: ProverKind) -> Policy:
    """The policy called ``name`` (``automation``: the model-free baseline)."""
    if name == "automation":
        return AutomationPolicy(prover)
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
) -> SearchResult:
    """``run_search`` for batch runners: an unexpected exception becomes an error result, so
    one broken search does not end the others in flight."""
    try:
        return await run_search(theorem, env, policy, config, on_progress)
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


def lean_toolchain(project_dir: Path | None) -> str | None:
    """The Lean toolchain the project pins (its ``lean-toolchain`` file), else ``lean``'s."""
    pinned = (project_dir or Path.cwd()) / "lean-toolchain"
    if pinned.is_file():
        return pinned.read_text().strip()
    try:
        out = subprocess.run(["lean", "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def versions(prover: ProverKind, lean: LeanConfig | None = None) -> dict[str, str | None]:
    """Versions of everything that decides a result, recorded with every result row."""
    found: dict[str, str | None] = {
        "dcoprover": metadata.version("dcoprover"),
        "python": platform.python_version(),
    }
    if ProverKind(prover) is ProverKind.COQ:
        found["coq"] = coq_version()
    else:
        found["lean"] = lean_toolchain(lean.project_dir if lean else None)
        found["lean_repl_command"] = (lean or LeanConfig()).repl_command
    return found
