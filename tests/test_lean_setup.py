"""The Lean setup for users, checked without running it: shellcheck, one place for every
version pin, and a worker image that copies only files that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from search.benchmarks import MINIF2F_SOURCES
from search.env.lean import lean_toolchain, mathlib_revision
from search.env.lean_versions import PINS_FILE, lean_pins
from search.types import ProverKind

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed (apt-get install shellcheck)")
def test_setup_scripts_pass_shellcheck():
    scripts = [*sorted((REPO / "scripts").glob("*.sh")), REPO / ".ci" / "run"]
    done = subprocess.run(["shellcheck", "-x", *map(str, scripts)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_lean_pin_lives_in_the_pins_file_only():
    pins = lean_pins()
    assert set(pins) >= {"LEAN_TOOLCHAIN", "REPL_REPO", "REPL_REV", "MINIF2F_REPO", "MINIF2F_REV"}
    assert pins["LEAN_TOOLCHAIN"].endswith(pins["REPL_REV"])  # the REPL is tagged per Lean release
    values = [pins["LEAN_TOOLCHAIN"], pins["MINIF2F_REV"], pins["REPL_REV"]]
    places = [*(REPO / "scripts").iterdir(), *(REPO / "docker").iterdir(), REPO / "docker-compose.yml",
              *(REPO / "search").rglob("*.py"), *(REPO / "prover").rglob("*.py")]
    for path in places:
        if path.is_file() and path != PINS_FILE:
            text = path.read_text()
            for value in values:
                assert value not in text, f"{path} repeats the pin {value}; read it from {PINS_FILE.name}"
    source = MINIF2F_SOURCES[ProverKind.LEAN]
    assert pins["MINIF2F_REPO"].endswith(source.repository) and source.commit == pins["MINIF2F_REV"]


def test_setup_script_reads_the_pins_and_builds_what_the_backend_runs():
    script = (REPO / "scripts" / "setup_lean.sh").read_text()
    assert "search/env/lean_versions.env" in script
    for variable in ("LEAN_TOOLCHAIN", "REPL_REPO", "REPL_REV", "MINIF2F_REPO", "MINIF2F_REV"):
        assert f"${variable}" in script or f'"${variable}"' in script
    assert "lake exe cache get" in script and "lake build" in script
    assert subprocess.run(["bash", "-n", str(REPO / "scripts" / "setup_lean.sh")]).returncode == 0


def test_worker_image_copies_existing_files_and_runs_the_setup_script():
    dockerfile = (REPO / "docker" / "worker.Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+)", dockerfile, re.M):
        assert (REPO / source).exists(), f"COPY {source}: no such file"
    assert "scripts/setup_lean.sh" in dockerfile and 'ENTRYPOINT ["prover"]' in dockerfile


def test_lean_versions_are_read_from_the_project(tmp_path):
    (tmp_path / "lean-toolchain").write_text("leanprover/lean4:v4.24.0\n")
    (tmp_path / "lake-manifest.json").write_text(
        '{"version": "1.1.0", "packages": [{"name": "batteries", "rev": "aaa"}, {"name": "mathlib", "rev": "0123abc"}]}'
    )
    assert lean_toolchain(tmp_path) == "leanprover/lean4:v4.24.0"
    assert mathlib_revision(tmp_path) == "0123abc"
    assert mathlib_revision(tmp_path / "missing") is None
