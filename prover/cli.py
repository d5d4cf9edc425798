"""The ``prover`` command line: prove one theorem, or evaluate a benchmark split.

Both commands run in-process with no queue (the embedded default): the same search code the
workers run, against a local prover pool.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from prover.check_command import check_command
from prover.commands import register_model_commands
from prover.compose import make_environment, policy_for
from prover.config import PolicyChoice, SamplingConfig
from prover.corpus_commands import corpus_splits, trace
from prover.doctor import backends, run_checks
from prover.options import given_options, model_from, model_options
from prover.service_cli import api_command, hash_key_command, worker_command
from search.benchmarks import (
    BENCHMARKS,
    COQLIB_SPLITS,
    SPLITS,
    BenchmarkError,
    find_theorem,
    load_benchmark,
)
from search.config import LeanConfig, ProverLimits, SearchConfig
from search.env import coq_syntax, lean_syntax
from search.eval import Summary, evaluate, finished_names
from search.policy import PolicyError
from search.queue_client import QueueUnavailable, evaluate_through_queue, prove_through_queue
from search.report import ReportError, write_report
from search.result import SearchResult
from search.runner import run_search
from search.types import ProverKind, Theorem, UnsafeInput

DATA_HELP = (
    "minif2f: a JSONL file or repository checkout, or github[@COMMIT] to download one; "
    "coqlib: a manifest (.jsonl.gz) `prover corpus-splits` wrote "
    "(default: the statements shipped with dcoprover)."
)


def search_options(command):
    """Options shared by ``prove`` and ``eval``: the fields of ``SearchConfig``,
    ``ProverLimits`` and ``LeanConfig`` (generated from the models, see ``prover.options``),
    and the choice of prover and policy."""
    options = [
        click.option("--prover", type=click.Choice([p.value for p in ProverKind]),
                     default="coq", show_default=True, help="Proof assistant to search against."),
        model_options(PolicyChoice, only_changed=True),
        model_options(SamplingConfig, only_changed=True),
        click.option("--hammer", is_flag=True,
                     help="Coq: also load CoqHammer's tactics (sauto, hauto)."),
        model_options(SearchConfig),
        model_options(ProverLimits, only_changed=True),
        model_options(LeanConfig),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def build_config(options: dict[str, Any]) -> tuple[SearchConfig, ProverLimits, LeanConfig]:
    return (
        model_from(SearchConfig, options),
        model_from(ProverLimits, options),
        model_from(LeanConfig, options),
    )


REDIS_HELP = "Run through the service's queue at this Redis URL (default: in-process)."


def queued_only(options: dict[str, Any]) -> None:
    """With --redis the workers choose policy and prover pool; refuse options that would be
    silently ignored."""
    ignored = [flag for flag in given_options(PolicyChoice, options)
               if flag != "--policy" or options["policy"] != "automation"]  # fmt: skip
    ignored += given_options(ProverLimits, options)
    ignored += given_options(SamplingConfig, options)
    if ignored:
        fail(f"with --redis the workers' own options decide; drop {', '.join(ignored)}")


def fail(message: str) -> None:
    """Exit non-zero with a one-line reason (bad input, missing prover)."""
    raise click.ClickException(message)


def print_result(result: SearchResult, as_json: bool) -> None:
    if as_json:
        click.echo(result.model_dump_json(exclude={"tree"} if result.tree is None else None))
        return
    click.echo(f"{result.theorem}: {result.status.value} ({result.message})")
    if result.proof and result.prover == ProverKind.LEAN.value:
        click.echo(result.checked_source or result.proof)
    elif result.proof:
        click.echo("Proof.\n" + result.proof + "\nQed.")
    s = result.stats
    click.echo(
        f"expansions {s.expansions}, prover calls {s.prover_calls}, max depth {s.max_depth}, "
        f"time {s.time_total_s:.2f}s (prover {s.time_prover_s:.2f}s, policy "
        f"{s.time_policy_s:.2f}s, check {s.time_check_s:.2f}s"
        + (f", waiting for a prover {s.time_waiting_s:.2f}s" if s.time_waiting_s >= 0.01 else "")
        + ")"
    )


def policy_from(options: dict[str, Any], prover: ProverKind):
    """The policy the options name; a missing or unloadable model exits with the reason."""
    try:
        choice = model_from(PolicyChoice, options)
        return policy_for(choice, prover, model_from(SamplingConfig, options))
    except (ValueError, RuntimeError) as exc:
        fail(str(exc))


async def policy_ready(policy) -> None:
    """Exit with the reason now, not once per theorem, if a model server is down or does not
    serve the model (the model-free policy has nothing to check)."""
    try:
        await policy.check()
    except PolicyError as exc:
        fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """dcoprover: proof search against Coq (and Lean 4) with a policy model.

    Run the main job with `prover eval --prover coq --benchmark minif2f --split test`; every
    command below explains itself with --help.
    """


@main.command()
@search_options
@click.option("--header", default=None, help="Imports/definitions the statement needs.")
@click.option(
    "--statement",
    default=None,
    help="The theorem: Coq 'Theorem t : 1 + 1 = 2.', Lean 'theorem t : 1 + 1 = 2 := by'.",
)
@click.option("--name", default=None, help="With --benchmark: the theorem to prove.")
@click.option("--benchmark", type=click.Choice(BENCHMARKS), default=None,
              help="Take the theorem from a benchmark instead of --statement.")  # fmt: skip
@click.option("--data", type=click.Path(path_type=Path), default=None, help=DATA_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the SearchResult as one JSON object.")
@click.option("--redis", "redis_url", default=None, envvar="DCOPROVER_REDIS", help=REDIS_HELP)
def prove(header, statement, name, benchmark, data, as_json, redis_url, **options) -> None:
    """Search for a proof of one theorem and print the verified proof.

    Exit code 0 when the search ran (proved, failed or timed out); non-zero with a reason on
    bad input, including a statement or header that Coq itself rejects.
    """
    config, limits, lean = build_config(options)
    prover = ProverKind(options["prover"])
    try:
        if benchmark:
            if statement or not name:
                fail("with --benchmark give --name (and no --statement)")
            theorems = load_benchmark(benchmark, prover, data, include_unsupported=True)
            theorem = find_theorem(theorems, name)
        else:
            if not statement:
                fail("give --statement (and --header), or --benchmark with --name")
            syntax = coq_syntax if prover is ProverKind.COQ else lean_syntax
            syntax.check_header(header or "")
            name = syntax.check_statement(statement)
            theorem = Theorem(name=name or "theorem", header=header or "", statement=statement,
                              prover=prover)  # fmt: skip
    except (BenchmarkError, UnsafeInput, ValidationError) as exc:
        fail(str(exc).splitlines()[0])
    if redis_url:
        queued_only(options)
        try:
            result = asyncio.run(prove_through_queue(redis_url, theorem, config))
        except QueueUnavailable as exc:
            fail(str(exc))
    else:
        result = asyncio.run(_prove_one(theorem, config, limits, lean, options))
    print_result(result, as_json)
    if result.status == "error":
        fail(result.message)


async def _prove_one(theorem, config, limits, lean, options) -> SearchResult:
    try:
        env = make_environment(theorem.prover, limits, hammer=options["hammer"], lean=lean)
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    policy = policy_from(options, theorem.prover)
    try:
        await policy_ready(policy)
        return await run_search(theorem, env, policy, config)
    finally:
        await policy.close()
        await env.close()


@main.command(name="eval")
@search_options
@click.option("--benchmark", type=click.Choice(BENCHMARKS), default="minif2f", show_default=True)
@click.option("--data", type=click.Path(path_type=Path), default=None, help=DATA_HELP)
@click.option(
    "--split",
    type=click.Choice(sorted({*SPLITS, *COQLIB_SPLITS})),
    default="test",
    show_default=True,
    help="minif2f: test, valid; coqlib: train, valid, test (random) and novel-*.",
)
@click.option(
    "--limit",
    type=int,
    default=None,
    envvar="DCOPROVER_EVAL_LIMIT",
    help="Only the first K theorems of the split (also DCOPROVER_EVAL_LIMIT).",
)
@click.option("--names", default=None, help="Comma-separated theorem names to run.")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="JSONL results; theorems already in it are skipped (resume).")  # fmt: skip
@click.option(
    "--concurrency", type=int, default=None, help="Searches in flight (default: prover processes)."
)
@click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="Skip theorems already in --out (--no-resume: refuse it).",
)
@click.option("--redis", "redis_url", default=None, envvar="DCOPROVER_REDIS",
              help=REDIS_HELP)  # fmt: skip
def eval_command(
    benchmark, data, split, limit, names, out, concurrency, resume, redis_url, **options
) -> None:
    """Prove every theorem of a benchmark split; write one JSONL row per theorem.

    Resumes: theorems already present in --out are skipped. Prints a summary table at the end.
    """
    if not resume and out.exists():
        fail(f"{out} exists; remove it, or pass --resume to skip the theorems it holds")
    config, limits, lean = build_config(options)
    prover = ProverKind(options["prover"])
    try:
        if benchmark == "minif2f" and split not in SPLITS:
            fail(f"minif2f has the splits {', '.join(SPLITS)}")
        theorems = load_benchmark(benchmark, prover, data, split)
    except BenchmarkError as exc:
        fail(str(exc))
    if names:
        wanted = {n.strip() for n in names.split(",") if n.strip()}
        missing = wanted - {t.name for t in theorems}
        if missing:
            fail(f"not in the {split} split: {', '.join(sorted(missing))}")
        theorems = [t for t in theorems if t.name in wanted]
    if limit is not None:
        if limit < 1:
            fail("--limit must be at least 1")
        theorems = theorems[:limit]
    if redis_url:
        queued_only(options)
        done = finished_names(out)
        todo = [t for t in theorems if t.name not in done]
        try:
            asyncio.run(evaluate_through_queue(redis_url, todo, config, out))
        except QueueUnavailable as exc:
            fail(str(exc))
        Summary.of(out, skipped=len(theorems) - len(todo)).print()
        sys.exit(0)
    try:
        env = make_environment(prover, limits, hammer=options["hammer"], lean=lean)
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    policy = policy_from(options, prover)

    async def checked_evaluate():
        try:
            await policy_ready(policy)
            in_flight = concurrency or env.limits.pool_size
            return await evaluate(theorems, env, policy, config, out, in_flight)
        finally:
            await policy.close()
            await env.close()

    summary = asyncio.run(checked_evaluate())
    summary.print()
    sys.exit(0)


@main.command()
@click.argument("results", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for report.html, report.md and the plots (default: RESULTS-report).",
)
def report(results, out) -> None:
    """Write the evaluation report (HTML, Markdown, PNG plots) for a `prover eval` results file."""
    out = out or results.with_name(results.stem + "-report")
    try:
        written = write_report(results, out)
    except ReportError as exc:
        fail(str(exc))
    for name, path in written.items():
        click.echo(f"{name}: {path}")


@main.command()
@model_options(LeanConfig, skip=("backend", "allow_native_decide"))
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
def doctor(as_json, **lean) -> None:
    """Report what is installed and which prover backends can run here."""
    config = model_from(LeanConfig, lean)
    checks = run_checks(config)
    usable = backends(checks)
    if as_json:
        click.echo(json.dumps({"checks": [vars(c) for c in checks], "backends": usable}))
        return
    table = Table("check", "ok", "detail", title="dcoprover doctor")
    for check in checks:
        ok = "[green]yes[/]" if check.ok else "[red]no[/]"
        table.add_row(escape(check.name), ok, escape(check.detail))
    console = Console()
    console.print(table)
    console.print("usable backends: " + (", ".join(b for b, ok in usable.items() if ok) or "none"))


main.add_command(check_command)
main.add_command(api_command)
main.add_command(worker_command)
main.add_command(hash_key_command)
register_model_commands(main)
main.add_command(trace)
main.add_command(corpus_splits)

if __name__ == "__main__":
    main()
