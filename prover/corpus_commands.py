"""``prover trace`` and ``prover corpus-splits``: the Coq corpus and the ``coqlib`` benchmark's
manifest, built from the installed libraries (offline)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prover.coq_trace import FileTrace, cached_trace, trace_library
from prover.corpus import Corpus, write_corpus, write_manifest
from search.config import ProverLimits, default_workers
from search.env.coq_library import LibraryError, library_modules, logical_path
from search.machine import describe, machine

#: Where the benchmark manifest ships (``.jsonl.gz`` and ``.json``).
PACKAGED_MANIFEST = Path(__file__).resolve().parent.parent / "search" / "data" / "coqlib"


def _modules(libraries: tuple[str, ...], modules: tuple[str, ...], files: tuple[Path, ...]):
    chosen: list[str] = []
    for library in libraries:
        chosen += library_modules(library)
    chosen += list(modules)
    chosen += [logical_path(path) for path in files]
    return list(dict.fromkeys(chosen))


@click.command()
@click.option("--prover", type=click.Choice(["coq", "lean"]), default="coq", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Corpus folder: files/ (one trace per file, to resume from), pairs.jsonl, "
    "theorems.jsonl, yield.json/.md, and the train-only pairs-*-train.jsonl.",
)
@click.option(
    "--library",
    "libraries",
    multiple=True,
    help="A whole installed library: Coq (the standard library) or a user-contrib name such as "
    "Coquelicot (repeatable). Default: Coq and Coquelicot.",
)
@click.option(
    "--module",
    "modules",
    multiple=True,
    help="One library module by its logical path, e.g. Coquelicot.Rcomplements (repeatable).",
)
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="One installed library file by its path (repeatable).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Trace only the first N files (in sorted order).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=default_workers(),
    show_default=True,
    help="Files traced at once, one coqtop each.",
)
def trace(prover, out, libraries, modules, files, limit, workers) -> None:
    """Trace installed Coq libraries' proofs into (state, tactic) pairs (offline data).

    Resumable: files already traced in OUT/files are read back, not traced again.
    """
    if prover == "lean":
        raise click.ClickException(
            "tracing Lean is LeanDojo's job: trace a repository with LeanDojo and pass its "
            "Benchmark 4 JSON to `prover train --data`"
        )
    from search.env.coq import CoqEnvironment

    try:
        if not (libraries or modules or files):
            libraries = ("Coq", "Coquelicot")
        chosen = _modules(libraries, modules, files)[:limit]
    except LibraryError as exc:
        raise click.ClickException(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    resumed = sum(cached_trace(out, m) is not None for m in chosen)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[theorems]} theorems, {task.fields[steps]} steps"),
        TimeElapsedColumn(),
    )

    async def run() -> list[FileTrace]:
        env = CoqEnvironment(ProverLimits(pool_size=workers))
        with Progress(*columns, transient=False) as progress:
            task = progress.add_task("files", total=len(chosen), theorems=0, steps=0)
            totals = {"theorems": 0, "steps": 0}

            def done(trace: FileTrace) -> None:
                totals["theorems"] += len(trace.theorems)
                totals["steps"] += sum(len(t.steps) for t in trace.theorems)
                progress.update(task, advance=1, **totals)

            try:
                return await trace_library(env, chosen, out, workers, done)
            finally:
                await env.close()

    try:
        traces = asyncio.run(run())
    except (FileNotFoundError, LibraryError) as exc:
        raise click.ClickException(str(exc)) from None
    report = write_corpus(Corpus(traces), out, describe(machine()))
    click.echo(
        f"traced {report['replayed']} of {report['candidates']} lemmas "
        f"({100 * report['yield']:.1f}%) in {report['files']} files ({resumed} resumed): "
        f"{report['steps']} (state, tactic) pairs in {out / 'pairs.jsonl'}; "
        f"skipped by reason in {out / 'yield.md'}"
    )


@click.command(name="corpus-splits")
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    required=True,
    help="A folder `prover trace` wrote.",
)
@click.option(
    "--manifest",
    type=click.Path(path_type=Path, dir_okay=False),
    default=PACKAGED_MANIFEST,
    show_default=True,
    help="Where the benchmark manifest goes (MANIFEST.jsonl.gz and MANIFEST.json).",
)
def corpus_splits(corpus_dir, manifest) -> None:
    """Write the coqlib benchmark's manifest: its theorems and their random and novel splits
    (deterministic: the same corpus gives the same manifest)."""
    traces = []
    for path in sorted((corpus_dir / "files").glob("*.json")):
        try:
            traces.append(FileTrace.from_json(json.loads(path.read_text())))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            reason = f"{path}: not a trace `prover trace` wrote ({exc})"
            raise click.ClickException(reason) from None
    if not traces:
        raise click.ClickException(f"{corpus_dir}/files holds no traces: run `prover trace`")
    try:
        corpus = Corpus(traces)
    except (LibraryError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    summary = write_manifest(corpus, manifest)
    click.echo(
        f"{summary['theorems']} benchmark theorems; random {summary['splits']['random']}, "
        f"novel {summary['splits']['novel']}; manifest {manifest.with_suffix('.jsonl.gz')}"
    )
