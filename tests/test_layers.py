"""The packages' imports run one way: ``search`` (environments, search, queue, workers) at the
bottom, ``api`` on it, ``prover`` (policies, training, the CLI and the composition root) on
top. A package never imports one above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: Each package, and the packages it may import besides itself.
MAY_IMPORT = {"search": set(), "api": {"search"}, "prover": {"search", "api"}}


def imported_packages(path: Path) -> set[str]:
    """The top-level packages of this project that ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(MAY_IMPORT)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_no_import_runs_back_up(package):
    wrong = {
        str(path.relative_to(REPO)): sorted(imported_packages(path) - MAY_IMPORT[package] - {package})
        for path in sorted((REPO / package).rglob("*.py"))
    }
    assert not {path: up for path, up in wrong.items() if up}


def test_the_check_sees_an_import_that_runs_back_up(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from prover.compose import make_policy\n")
    assert imported_packages(module) == {"prover"}
