"""``prover check``: judge a file of proofs with the checker the search uses, no search.

Input: JSON lines ``{"prover", "header", "statement", "proof", "name"?}``; output: one verdict
per input line, in order (``valid``, ``invalid`` with the reason, or ``error``), with the
axioms by full name, the prover's messages and the time taken. A line that is not a valid
request gets an ``invalid`` verdict naming the line, and the others are still judged.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import click
from pydantic import ValidationError

from prover.compose import make_environment
from prover.options import model_from, model_options
from search.benchmarks import BenchmarkError, load_benchmark
from search.checking import CheckResult, CheckVerdict, ProofCheck, check_many, summary
from search.config import LeanConfig, ProverLimits
from search.env.base import ProofEnvironment
from search.types import ProverKind

#: A line longer than this is refused unread (three texts of 100,000 characters fit).
MAX_LINE_CHARS = 400_000


def read_checks(stream: IO[str], default: ProverKind) -> list[ProofCheck | CheckResult]:
    """Each non-blank line as a request, or as the ``invalid`` verdict that says why not."""
    items: list[ProofCheck | CheckResult] = []
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            if len(line) > MAX_LINE_CHARS:
                raise ValueError(f"longer than {MAX_LINE_CHARS} characters")
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("not a JSON object")
            items.append(ProofCheck.model_validate({"prover": default.value, **row}))
        except (ValueError, ValidationError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, ValidationError):
                first = exc.errors()[0]
                where = ".".join(map(str, first["loc"]))
                reason = f"{where}: {first['msg']}" if where else first["msg"]
            items.append(
                CheckResult(
                    prover=default,
                    verdict=CheckVerdict.INVALID,
                    reason=f"line {number}: {reason}",
                    time_s=0.0,
                )
            )
    return items


def pin_to_benchmark(
    items: list[ProofCheck | CheckResult], data: dict[ProverKind, Path | None]
) -> list[ProofCheck | CheckResult]:
    """Give checks that name a benchmark theorem its header and statement (loaded once per
    prover); one the benchmark lacks gets its ``invalid`` verdict."""
    loaded: dict[tuple[str, ProverKind], list] = {}
    pinned: list[ProofCheck | CheckResult] = []
    for item in items:
        if isinstance(item, CheckResult) or item.benchmark is None:
            pinned.append(item)
            continue
        key = (item.benchmark, item.prover)
        if key not in loaded:
            try:
                loaded[key] = load_benchmark(item.benchmark, item.prover, data.get(item.prover)
                                             if item.benchmark == "minif2f" else None,
                                             include_unsupported=True)  # fmt: skip
            except BenchmarkError as exc:
                raise click.ClickException(str(exc)) from None
        try:
            pinned.append(item.pinned(loaded[key]))
        except KeyError:
            pinned.append(CheckResult(
                name=item.name, prover=item.prover, verdict=CheckVerdict.INVALID,
                reason=f"no theorem named {item.name!r} in {item.benchmark}", time_s=0.0,
            ))  # fmt: skip
    return pinned


class Environments:
    """One environment per prover, made when a proof for it first comes."""

    def __init__(self, limits: ProverLimits, lean: LeanConfig) -> None:
        self.limits, self.lean = limits, lean
        self.made: dict[ProverKind, ProofEnvironment] = {}

    def __call__(self, prover: ProverKind) -> ProofEnvironment:
        if prover not in self.made:
            self.made[prover] = make_environment(prover, self.limits, lean=self.lean)
        return self.made[prover]

    async def close(self) -> None:
        for env in self.made.values():
            await env.close()


async def judge(
    items: list[ProofCheck | CheckResult],
    environments: Callable[[ProverKind], ProofEnvironment],
    concurrency: int,
) -> list[CheckResult]:
    """Verdicts for ``items`` in order (lines refused at reading keep their verdict)."""
    checks = [item for item in items if isinstance(item, ProofCheck)]
    verdicts = iter(await check_many(environments, checks, concurrency))
    return [item if isinstance(item, CheckResult) else next(verdicts) for item in items]


@click.command(name="check")
@click.argument("proofs", type=click.File("r"), default="-")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the verdicts (JSON lines) here instead of standard output.")
@click.option("--prover", type=click.Choice([p.value for p in ProverKind]), default="coq",
              show_default=True, help="For lines that do not name their prover.")
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="MiniF2F-Coq JSONL or checkout, for lines that name a benchmark theorem "
                   "(default: the statements shipped with dcoprover).")
@click.option("--lean-data", type=click.Path(path_type=Path), default=None,
              help="The same for Lean (MiniF2F-Lean4 JSONL or checkout).")
@model_options(ProverLimits, only_changed=True)
@model_options(LeanConfig, skip=("backend",))
def check_command(proofs, out, prover, data, lean_data, **config) -> None:
    """Judge proofs given as JSON lines (PROOFS, or standard input) without searching.

    Each line is {"prover": "coq"|"lean", "header": ..., "statement": ..., "proof": ...,
    "name": ...}, or {"benchmark": "minif2f", "name": ..., "proof": ...} to check against the
    benchmark's own statement. Each output line is the verdict for the same input line: valid,
    invalid (with the reason) or error (the prover timed out, crashed or is missing), the
    axioms by full name, the prover's messages and the time. Exit code 0 when every proof is
    valid, 1 when any is not. --workers checks run at once.
    """
    limits = model_from(ProverLimits, config)
    lean = model_from(LeanConfig, config)
    items = pin_to_benchmark(
        read_checks(proofs, ProverKind(prover)),
        {ProverKind.COQ: data, ProverKind.LEAN: lean_data},
    )
    environments = Environments(limits, lean)

    async def run() -> list[CheckResult]:
        try:
            return await judge(items, environments, limits.pool_size)
        finally:
            await environments.close()

    results = asyncio.run(run())
    lines = "".join(r.model_dump_json() + "\n" for r in results)
    if out is None:
        sys.stdout.write(lines)
    else:
        out.write_text(lines)
    counts = summary(results)
    click.echo(", ".join(f"{n} {verdict}" for verdict, n in counts.items()), err=True)
    sys.exit(0 if counts[CheckVerdict.VALID.value] == len(results) else 1)
