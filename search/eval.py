"""Evaluate a policy over a benchmark split: concurrent searches, one durable JSONL row each.

Rows are appended and flushed as each search ends, so a killed run loses at most the searches
in flight, and ``evaluate`` skips the theorems already in the file (resume). Each row echoes
the search config, the policy, the versions of what ran and the statement's source, so a
number in a report can be traced to exactly what produced it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from search.config import SearchConfig
from search.env.base import ProofEnvironment
from search.policy import Policy
from search.result import SearchResult
from search.runner import run_many, run_search_safely, versions
from search.types import Theorem


def finished_names(out: Path) -> set[str]:
    """Names of the theorems already in ``out``; a torn last line (killed run) is ignored."""
    if not out.exists():
        return set()
    names = set()
    with out.open() as handle:
        for line in handle:
            try:
                names.add(json.loads(line)["name"])
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return names


def result_row(theorem: Theorem, result: SearchResult, policy: Policy, run_versions: dict) -> dict:
    row = {
        "name": theorem.name,
        "split": theorem.split,
        "source": theorem.source,
        "policy": policy.name,
        "versions": run_versions,
    }
    config = getattr(policy, "config", None)
    if config is not None:  # a model policy: its prompt templates and sampling settings
        row["policy_config"] = config.model_dump(mode="json")
    row.update(result.model_dump(mode="json", exclude={"tree", "theorem"}))
    return row


@dataclass
class Summary:
    """Counts by status over the rows of one results file."""

    path: Path
    statuses: Counter = field(default_factory=Counter)
    skipped: int = 0

    @classmethod
    def of(cls, path: Path, skipped: int = 0) -> Summary:
        summary = cls(path=path, skipped=skipped)
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    summary.statuses[json.loads(line)["status"]] += 1
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
        return summary

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def print(self, console: Console | None = None) -> None:
        console = console or Console()
        table = Table(title=f"Results in {self.path}")
        table.add_column("status")
        table.add_column("theorems", justify="right")
        table.add_column("share", justify="right")
        for status in ("proved", "failed", "timeout", "error"):
            count = self.statuses.get(status, 0)
            share = f"{100 * count / self.total:.1f}%" if self.total else "-"
            table.add_row(status, str(count), share)
        table.add_row("total", str(self.total), "")
        console.print(table)
        if self.skipped:
            console.print(f"{self.skipped} theorems were already in {self.path} (resumed).")


def proving_progress(show: bool = True) -> Progress:
    """The bar of a batch of searches: theorems done of all, how many proved, time so far.
    Its tasks need a ``proved`` field."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("proved {task.fields[proved]}"), TimeElapsedColumn(),
        disable=not show,
    )  # fmt: skip


async def evaluate(
    theorems: list[Theorem],
    env: ProofEnvironment,
    policy: Policy,
    config: SearchConfig,
    out: Path,
    concurrency: int,
    show_progress: bool = True,
) -> Summary:
    """Search every theorem not yet in ``out``; append a row for each as it finishes."""
    config = config.model_copy(update={"record_tree": False})
    done = finished_names(out)
    todo = [t for t in theorems if t.name not in done]
    run_versions = versions(env)
    out.parent.mkdir(parents=True, exist_ok=True)
    progress = proving_progress(show_progress)
    with out.open("a") as handle, progress:
        task = progress.add_task("proving", total=len(todo), proved=0)
        proved = 0

        async def one(theorem: Theorem) -> None:
            nonlocal proved
            result = await run_search_safely(theorem, env, policy, config)
            handle.write(json.dumps(result_row(theorem, result, policy, run_versions)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            proved += result.status == "proved"
            progress.update(task, advance=1, proved=proved)

        try:
            await run_many(todo, one, concurrency)
        finally:
            await env.close()
    return Summary.of(out, skipped=len(theorems) - len(todo))
