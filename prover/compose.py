"""The composition root: build the proof environment and the policy that configuration names.

The one place that knows every implementation: the CLI, the workers' command and the
benchmarks build here what the search layer (``search/``) is then given.
"""

from __future__ import annotations

import math

from prover.automation import AutomationPolicy
from prover.backends import make_model_policy
from prover.config import (
    PolicyBackend,
    PolicyChoice,
    PolicyConfig,
    PolicyName,
    SamplingConfig,
)
from prover.policy_mix import EnsemblePolicy, HybridPolicy
from search.config import LeanBackend, LeanConfig, ProverLimits
from search.env.base import ProofEnvironment
from search.env.coq import CoqEnvironment
from search.env.coq_check import DEFAULT_PREAMBLE, HAMMER_PREAMBLE
from search.env.coq_library import LIBRARY_HAMMER
from search.env.lean import LeanEnvironment
from search.env.leandojo import LeanDojoEnvironment
from search.policy import Policy
from search.types import ProverKind


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
    name: str,
    prover: ProverKind,
    model: str | None = None,
    policy_url: str | None = None,
    *,
    sampling: SamplingConfig | None = None,
    **choice: object,
) -> Policy:
    """The policy called ``name`` (see ``PolicyChoice``): ``automation`` (the model-free
    baseline), ``openai`` (the server at ``policy_url`` serving ``model``), ``transformers``
    (``model`` in-process), ``ensemble`` (``model`` lists the members and their shares) or
    ``hybrid`` (``model`` merged with the automation). ``sampling`` is how models sample;
    ``choice`` sets the other fields of ``PolicyChoice`` (``member_backend``,
    ``hybrid_weight``), whose defaults apply."""
    spec = PolicyChoice(policy=name, model=model, policy_url=policy_url, **choice)
    return policy_for(spec, prover, sampling)


def ensemble_members(spec: str) -> list[tuple[str, float]]:
    """``A=0.7,B=0.3`` (or ``A,B``: equal shares) as (model, share) pairs."""
    members = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        model, _, share = part.rpartition("=")
        try:
            weight = float(share)
        except ValueError:
            model = ""
        if not model:  # no '=', or an '=' inside a path with no share after it
            model, weight = part, 1.0
        if not (math.isfinite(weight) and weight > 0):
            raise ValueError(f"ensemble member {part!r}: its share must be a positive number")
        members.append((model, weight))
    if not members:
        raise ValueError("--policy ensemble needs --model A[=SHARE],B[=SHARE],...")
    return members


def policy_for(
    choice: PolicyChoice, prover: ProverKind, sampling: SamplingConfig | None = None
) -> Policy:
    """The policy ``choice`` names; a ``ValueError`` for options that do not go together."""
    config = PolicyConfig(sampling=sampling or SamplingConfig())
    name, url, backend = choice.policy, choice.policy_url, choice.member_backend.value
    if name is PolicyName.AUTOMATION:
        if choice.model is not None:
            raise ValueError(
                "--model is for a model policy; the automation policy uses none (drop "
                "--model, or pass --policy transformers, openai, ensemble or hybrid)"
            )
        return AutomationPolicy(prover)
    if name is PolicyName.ENSEMBLE:
        members = ensemble_members(choice.model or "")
        return EnsemblePolicy(
            [(make_model_policy(backend, model, url, config), share) for model, share in members]
        )
    if name is PolicyName.HYBRID:
        if choice.member_backend is not PolicyBackend.TRANSFORMERS:
            raise ValueError(
                "--policy hybrid scores the automation's tactics with the model, which needs "
                "the model in this process: --member-backend transformers"
            )
        model = make_model_policy(backend, choice.model, url, config)
        return HybridPolicy(model, AutomationPolicy(prover), choice.hybrid_weight)
    return make_model_policy(name.value, choice.model, url, config)
