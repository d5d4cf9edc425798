"""The composition root: build the proof environment and the policy that configuration names.

The one place that knows every implementation: the CLI, the workers' command and the
benchmarks build here what the search layer (``search/``) is then given.
"""

from __future__ import annotations

from prover.automation import AutomationPolicy
from prover.backends import make_model_policy
from search.config import LeanBackend, LeanConfig, ProverLimits
from search.env.base import ProofEnvironment
from search.env.coq import CoqEnvironment
from search.env.coq_check import DEFAULT_PREAMBLE, HAMMER_PREAMBLE
from search.env.coq_library import LIBRARY_HAMMER
from search.env.lean import LeanEnvironment
from search.env.leandojo import LeanDojoEnvironment
from search.policy import Policy
from search.types import ProverKind

POLICIES = ("automation", "openai", "transformers")


def make_environment(
    prover: ProverKind,
    limits: ProverLimits | None = None,
    hammer: bool = False,
    lean: LeanConfig | None = None,
) -> ProofEnvironment:
    """The proof environment for ``prover``; ``hammer`` also loads CoqHammer (its tactics on
    MiniF2F; all of it, ``hammer`` included, after a library theorem's context) and
    ``lean`` says which Lean installation to drive. Raises ``FileNotFoundError`` (with install
    advice) when the prover is not installed."""
    if ProverKind(prover) is ProverKind.COQ:
        preamble = (*DEFAULT_PREAMBLE, HAMMER_PREAMBLE) if hammer else DEFAULT_PREAMBLE
        extras = LIBRARY_HAMMER if hammer else ()
        return CoqEnvironment(limits, preamble=preamble, library_extras=extras)
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
