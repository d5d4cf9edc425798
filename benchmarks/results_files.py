"""A benchmark's results, written the one way the docs quote them: ``OUT.json`` with every
figure, ``OUT.md`` for people, and the same Markdown printed."""

from __future__ import annotations

import json
from pathlib import Path


def write_results(out: Path, report: dict, markdown: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown)
    print(markdown)
