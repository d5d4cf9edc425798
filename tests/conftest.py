"""Shared fixtures: real Coq processes, the shared MiniF2F data, and marker-based skips."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

from search.config import ProverLimits
from search.env.coq import CoqEnvironment

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DCOPROVER_SHARED", REPO.parent / "shared"))
MINIF2F_COQ = SHARED / "data" / "minif2f-coq.jsonl"
MINIF2F_LEAN = SHARED / "data" / "minif2f-lean4.jsonl"
LEAN_REPL_FIXTURES = SHARED / "fixtures" / "lean-repl"

HAVE_COQ = shutil.which("coqtop") is not None and shutil.which("coqc") is not None


def _have_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    skip_coq = pytest.mark.skip(
        reason="coqtop/coqc not on PATH: apt-get install coq libcoq-stdlib libcoq-coquelicot"
    )
    skip_lean = pytest.mark.skip(reason="lake/lean not on PATH (Lean 4 toolchain not installed)")
    skip_vllm = pytest.mark.skip(reason="vLLM is not installed (it needs a GPU machine)")
    skip_gpu = pytest.mark.skip(reason="no CUDA device here")
    for item in items:
        if "coq" in item.keywords and not HAVE_COQ:
            item.add_marker(skip_coq)
        if "lean" in item.keywords and shutil.which("lake") is None:
            item.add_marker(skip_lean)
        if "vllm" in item.keywords and importlib.util.find_spec("vllm") is None:
            item.add_marker(skip_vllm)
        if "gpu" in item.keywords and not _have_cuda():
            item.add_marker(skip_gpu)


@pytest.fixture
async def coq_env():
    """A real pool of two coqtop processes, closed after the test."""
    env = CoqEnvironment(ProverLimits(pool_size=2))
    yield env
    await env.close()


@pytest.fixture(scope="session")
def minif2f_coq() -> Path:
    if not MINIF2F_COQ.exists():
        pytest.skip(f"shared MiniF2F-Coq data not found at {MINIF2F_COQ} (set DCOPROVER_SHARED)")
    return MINIF2F_COQ


@pytest.fixture(scope="session")
def minif2f_lean() -> Path:
    if not MINIF2F_LEAN.exists():
        pytest.skip(f"shared MiniF2F-Lean data not found at {MINIF2F_LEAN} (set DCOPROVER_SHARED)")
    return MINIF2F_LEAN


@pytest.fixture(scope="session")
def minif2f_lean_rows(minif2f_lean) -> list[dict]:
    return [json.loads(line) for line in minif2f_lean.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def lean_repl_fixtures() -> Path:
    if not LEAN_REPL_FIXTURES.is_dir():
        pytest.skip(f"Lean REPL recordings not found at {LEAN_REPL_FIXTURES} (set DCOPROVER_SHARED)")
    return LEAN_REPL_FIXTURES
