"""``prover doctor``: what is installed, and which backends can run here.

Every check looks at the real installation (executables on PATH, the Lean project's files, the
Python packages) and says what to do when something is missing; nothing is started.
"""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from search.config import LeanConfig
from search.env.lean_versions import lean_pins


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _version(argv: list[str], cwd: Path | None = None) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=cwd)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if done.returncode == 0 and lines else None


def coq_checks() -> list[Check]:
    coqtop, coqc = shutil.which("coqtop"), shutil.which("coqc")
    version = _version(["coqtop", "-v"]) if coqtop else None
    advice = "coqtop/coqc not on PATH: apt-get install coq libcoq-stdlib"
    checks = [Check("coq", bool(coqtop and coqc and version), version or advice)]
    if coqc:
        where = _version(["coqc", "-where"])
        for library, package in (("Coquelicot", "libcoq-coquelicot"), ("Hammer", "libcoq-hammer")):
            found = bool(where) and any((Path(where) / "user-contrib").glob(f"{library}*"))
            detail = "installed" if found else f"apt-get install {package}"
            checks.append(Check(f"coq: {library}", found, detail))
    csdp = shutil.which("csdp")
    # Optional: without it the model-free policy simply does not offer ``psatz``.
    checks.append(
        Check("coq: csdp (psatz)", bool(csdp), csdp or "optional: apt-get install coinor-csdp")
    )
    return checks


def lean_checks(config: LeanConfig) -> list[Check]:
    """elan/lake/lean, the REPL command, and the Lean project (toolchain pin, built Mathlib)."""
    pins = lean_pins()
    checks = []
    setup = "run scripts/setup_lean.sh (installs elan and the pinned toolchain)"
    for tool in ("elan", "lake", "lean"):
        path = shutil.which(tool)
        version = _version([tool, "--version"], config.project_dir) if path else None
        checks.append(Check(tool, bool(version), version or f"{tool} not on PATH: {setup}"))
    program = shlex.split(config.repl_command)[0]
    repl_ok = shutil.which(program) is not None
    found = "found" if repl_ok else f"{program!r} not on PATH"
    checks.append(Check("lean: REPL command", repl_ok, f"{config.repl_command!r}: {found}"))
    project = config.project_dir or Path.cwd()
    toolchain_file = project / "lean-toolchain"
    if not toolchain_file.is_file():
        advice = "give --lean-project (scripts/setup_lean.sh prints it)"
        checks.append(Check("lean: project", False, f"{project} has no lean-toolchain; {advice}"))
        return checks
    toolchain = toolchain_file.read_text().strip()
    same = toolchain == pins["LEAN_TOOLCHAIN"]
    pinned = "" if same else f" (dcoprover is pinned to {pins['LEAN_TOOLCHAIN']})"
    checks.append(Check("lean: project toolchain", same, f"{project}: {toolchain}{pinned}"))
    built = any((project / ".lake" / "packages").glob("mathlib/.lake/build/lib*"))
    advice = f"run 'lake exe cache get && lake build' in {project}"
    checks.append(Check("lean: Mathlib built", built, "yes" if built else advice))
    return checks


def python_checks() -> list[Check]:
    checks = []
    for module, extra in (("lean_dojo", "leandojo"), ("vllm", "vllm"), ("torch", "gpu"),
                          ("transformers", "gpu")):  # fmt: skip
        found = importlib.util.find_spec(module) is not None
        detail = "importable" if found else f"pip install 'dcoprover[{extra}]'"
        checks.append(Check(f"python: {module}", found, detail))
    return checks


def backends(checks: list[Check]) -> dict[str, bool]:
    """Which ``--prover`` backends can run, from the checks."""
    ok = {c.name: c.ok for c in checks}
    lean_ready = all(ok.get(n, False) for n in ("lake", "lean", "lean: REPL command"))
    return {
        "coq": ok.get("coq", False),
        "lean (REPL)": lean_ready and ok.get("lean: Mathlib built", False),
        "lean (LeanDojo)": lean_ready and ok.get("python: lean_dojo", False),
    }


def run_checks(config: LeanConfig) -> list[Check]:
    return [*coq_checks(), *lean_checks(config), *python_checks()]
