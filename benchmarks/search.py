"""Benchmark: does best-first search beat plain automation on MiniF2F-Coq, and how close does
it run to what the cores allow?

Two questions, one run:

1. **Solved under the same wall budget.** Best-first search with the automation policy is
   compared with (a) every automation tactic tried alone after ``intros`` and (b) CoqHammer's
   reconstruction tactics (``sauto``/``hauto``/``qauto``), each given the same ``--budget``
   seconds per theorem. If best-first does not beat (a), the tree search adds nothing over
   the tactics it is built from; (b) is the strongest off-the-shelf Coq automation, the
   baseline a learned policy is measured against. Every reported proof passed ``coqc``.
   Best-first also runs with ``expansion=full`` (every tactic of a state at once), the
   ablation of the default lazy expansion.
2. **Throughput.** Best-first with a fixed expansion budget on a fixed set of theorems, at
   1, 2 and 4 concurrent searches. One ``coqtop`` runs one tactic at a time on one core, so
   prover calls/s cannot exceed ``min(c, cores) / latency``; the measured/bound ratio says how
   much is lost to everything else (Python, session loading, ``coqc`` checks, other load).

This is a measurement, not a test: it asserts nothing about time. It writes every raw number
(per-theorem rows included) to ``--out`` (JSON) and the summary tables to the same path with
``.md``. Run it from the repository root::

    python benchmarks/search.py --data /work/shared/data/minif2f-coq.jsonl --split test
"""

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file (search.py)
# would then shadow the ``search`` package it benchmarks.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from prover.automation import TUNED_ON, AutomationPolicy, coq_closers
from prover.compose import make_environment
from search.benchmarks import BENCHMARKS, COQLIB_SPLITS, SPLITS, load_benchmark, spread
from search.config import Expansion, ProverLimits, SearchConfig, Strategy, default_workers
from search.env.base import ProofEnvironment, ProofSession
from search.env.coq_check import coq_version
from search.env.coq_library import LibrarySource
from search.env.coq_syntax import parse_proof
from search.latency import LatencyMeter
from search.machine import machine
from search.policy import Candidate, LocalPolicy, Policy, normalize_priors
from search.result import SearchStatus
from search.runner import run_many, run_search_safely, versions
from search.types import ProofState, ProverKind, StepOutcome, Theorem, UnsafeInput, Verdict

BEST_FIRST = "best-first"
#: The same search and policy, trying every proposed tactic of a state at once (the ablation
#: of lazy expansion).
BEST_FIRST_FULL = "best-first, full expansion"
ONE_SHOT = "one-shot automation"
HAMMER = "CoqHammer"
LIBRARY_PROOF = "library proof"
TITLES = {"minif2f-coq": "MiniF2F-Coq", "coqlib": "coqlib"}
#: CoqHammer's reconstruction tactics (no external ATP needed), tried in this order.
HAMMER_TACTICS = ("sauto", "hauto", "qauto", "sauto lq: on", "hauto lq: on")
THROUGHPUT_CONCURRENCY = (1, 2, 4)
#: A trivial theorem opened once per pool slot before timing starts, so that starting
#: coqtop and loading the preamble (slow with CoqHammer) is not billed to the first theorems.
WARMUP = Theorem(name="dcoprover_warmup", statement="Theorem dcoprover_warmup : True.")


# -- policies ------------------------------------------------------------------------------
class ScriptPolicy(LocalPolicy):
    """A fixed list of closing tactics, each tried alone: ``intros.`` then the tactic.

    Run through pass@N, this is 'try every tactic once', the baseline best-first search has to
    beat. ``tactics`` offers the same tactics for any state, so the policy is a complete
    ``Policy`` and also runs under best-first.
    """

    def __init__(self, name: str, weights: dict[str, float]) -> None:
        self.name = name
        self.priors = normalize_priors(weights)

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]:
        ranked = sorted(self.priors.items(), key=lambda item: -item[1])
        return [Candidate(tactic, logprob) for tactic, logprob in ranked[:n]]

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]:
        return [
            Candidate(f"intros.\n{c.text}.", c.logprob)
            for c in await self.tactics(theorem, ProofState(key=0, goals=()), n)
        ]


class LibraryProofPolicy(LocalPolicy):
    """A library theorem's own proof, from its file: the one candidate, run like any other.
    Not a baseline to beat but a check of the benchmark itself: the share of the original
    proofs the judge accepts in the rebuilt contexts, at the same budget."""

    name = "library-proof"

    async def tactics(self, theorem: Theorem, state: ProofState, n: int) -> list[Candidate]:
        return []

    async def proofs(self, theorem: Theorem, n: int) -> list[Candidate]:
        if theorem.library is None:
            return []
        source = LibrarySource.read(theorem.library.module)
        proof = source.proof_at(theorem.library.position)
        return [Candidate("\n".join(proof), 0.0)] if proof else []


def parseable_hammer_tactics() -> tuple[list[str], list[str]]:
    """(kept, dropped): the hammer tactics whose one-shot proof our syntax checks accept.

    A proof the checks reject would fail every theorem for a reason that has nothing to do
    with CoqHammer, so it is dropped and reported instead of being run.
    """
    kept, dropped = [], []
    for tactic in HAMMER_TACTICS:
        try:
            parse_proof(f"intros.\n{tactic}.")
        except UnsafeInput:
            dropped.append(tactic)
        else:
            kept.append(tactic)
    return kept, dropped


# -- a timed environment -------------------------------------------------------------------
class _TimedSession:
    """Delegates to a real session and records the wall time of every ``apply``."""

    def __init__(self, inner: ProofSession, latency: LatencyMeter) -> None:
        self.inner = inner
        self.latency = latency

    @property
    def root(self) -> ProofState | None:
        return self.inner.root

    @property
    def opened_at(self) -> float:
        return self.inner.opened_at

    async def apply(self, state: ProofState, tactic: str) -> StepOutcome:
        with self.latency.timing():
            return await self.inner.apply(state, tactic)

    async def run_proof(self, proof: str) -> StepOutcome:
        return await self.inner.run_proof(proof)

    def proof_of(self, state: ProofState) -> str:
        return self.inner.proof_of(state)


class TimedEnvironment:
    """A ``ProofEnvironment`` that measures per-tactic latency directly.

    ``SearchStats`` only has the total prover time, which also holds session loading; the
    throughput bound needs the distribution of single tactic calls (its median).
    """

    def __init__(self, inner: ProofEnvironment) -> None:
        self.inner = inner
        self.prover = inner.prover
        self.latency = LatencyMeter(keep=None)

    @contextlib.asynccontextmanager
    async def session(self, theorem: Theorem, tactic_timeout_s: float) -> AsyncIterator[Any]:
        async with self.inner.session(theorem, tactic_timeout_s) as session:
            yield _TimedSession(session, self.latency)

    async def verify(self, theorem: Theorem, proof: str) -> Verdict:
        return await self.inner.verify(theorem, proof)

    async def close(self) -> None:
        await self.inner.close()


# -- running a method ----------------------------------------------------------------------
@dataclass
class Row:
    """One theorem under one method: what the report and the JSON are built from."""

    name: str
    status: str
    wall_s: float
    proof: str | None
    message: str
    stats: dict[str, Any]
    samples: int | None = None


@dataclass
class MethodRun:
    """All theorems under one method."""

    method: str
    config: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    wall_s: float = 0.0
    note: str = ""

    @property
    def solved(self) -> set[str]:
        return {row.name for row in self.rows if row.status == SearchStatus.PROVED}

    def count(self, status: SearchStatus) -> int:
        return sum(row.status == status for row in self.rows)


@contextlib.contextmanager
def fresh_workdir() -> Iterator[None]:
    """Run the block in a new empty working directory, and return to the old one after.

    ``lia``/``nia``/``nra`` cache their certificates in ``.lia.cache`` (etc.) in coqtop's
    working directory, which coqtop inherits from us. Sharing it would let each method (and
    each throughput level) replay the certificates the previous one paid for, and would
    rewrite the repository's files. Methods run one after another, so changing the process's
    directory is safe here.
    """
    previous = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="dcoprover-bench-") as workdir:
        os.chdir(workdir)
        try:
            yield
        finally:
            os.chdir(previous)


async def warm_up(env: ProofEnvironment, slots: int, tactic_timeout_s: float) -> None:
    """Start ``slots`` prover processes now (all sessions open at once need distinct ones)."""

    async def hold() -> None:
        async with env.session(WARMUP, tactic_timeout_s):
            await asyncio.sleep(0)

    await asyncio.gather(*(hold() for _ in range(slots)))


async def run_method(
    method: str,
    theorems: Sequence[Theorem],
    env: ProofEnvironment,
    policy: Policy,
    config: SearchConfig,
    concurrency: int,
    console: Console,
    note: str = "",
) -> MethodRun:
    """Search every theorem with ``concurrency`` searches at a time; always closes ``env``.

    The prover processes start (and the clock runs) in a fresh working directory, see
    ``fresh_workdir``.

    A search that raises (it should not) becomes an ``error`` row, so one broken theorem does
    not lose an hour-long run.
    """
    run = MethodRun(method=method, config=config.model_dump(mode="json"), note=note)
    progress = Progress(
        TextColumn(f"[bold]{method}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("proved {task.fields[proved]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )

    async def one(theorem: Theorem) -> None:
        started = time.monotonic()
        result = await run_search_safely(theorem, env, policy, config)
        wall = time.monotonic() - started
        row = Row(
            name=theorem.name,
            status=result.status.value,
            wall_s=round(wall, 3),
            proof=result.proof,
            message=result.message,
            stats=result.stats.model_dump(mode="json"),
            samples=result.samples,
        )
        run.rows.append(row)
        proved = len(run.solved)
        progress.update(task, advance=1, proved=proved)
        if not console.is_terminal:
            console.print(
                f"{method}: {len(run.rows)}/{len(theorems)} {theorem.name} {row.status} "
                f"{row.wall_s:.1f}s (proved {proved})",
                highlight=False,
            )

    with fresh_workdir():
        try:
            await warm_up(env, concurrency, config.tactic_timeout_s)
            with progress:
                task = progress.add_task(method, total=len(theorems), proved=0)
                started = time.monotonic()
                await run_many(theorems, one, concurrency)
                run.wall_s = round(time.monotonic() - started, 3)
        finally:
            await env.close()
    order = {theorem.name: index for index, theorem in enumerate(theorems)}
    run.rows.sort(key=lambda row: order[row.name])
    return run


#: The methods ``--methods`` may name, in the order they run. Best-first always runs first:
#: every ratio and "solved by X, not by best-first" list is measured against it.
METHOD_KEYS = {"best-first": BEST_FIRST, "full": BEST_FIRST_FULL, "one-shot": ONE_SHOT,
               "hammer": HAMMER, "library-proof": LIBRARY_PROOF}  # fmt: skip
METHODS = tuple(METHOD_KEYS.values())


async def compare(
    theorems: Sequence[Theorem],
    budget: float,
    concurrency: int,
    console: Console,
    tactic_timeout_s: float = SearchConfig().tactic_timeout_s,
    methods: Sequence[str] = METHODS,
) -> list[MethodRun]:
    """The chosen ``methods`` (best-first first) one after another, each with its own
    environment and the same budget."""
    limits = ProverLimits(pool_size=concurrency)
    base = SearchConfig(wall_timeout_s=budget, tactic_timeout_s=tactic_timeout_s, record_tree=False)
    closers = coq_closers()

    def one_try_each(count: int) -> SearchConfig:
        """pass@N over a fixed list: each script tried once, stop at the first proof."""
        return base.model_copy(update={"strategy": Strategy.PASS_AT_N, "n": count})

    async def best_first_run(method: str, config: SearchConfig) -> MethodRun:
        env = make_environment(ProverKind.COQ, limits)
        policy = AutomationPolicy(ProverKind.COQ)
        return await run_method(method, theorems, env, policy, config, concurrency, console)

    async def one_shot_run() -> MethodRun:
        env = make_environment(ProverKind.COQ, limits)
        policy = ScriptPolicy("one-shot-automation", closers)
        config = one_try_each(len(closers))
        return await run_method(ONE_SHOT, theorems, env, policy, config, concurrency, console)

    def whole_budget(count: int) -> SearchConfig:
        """pass@N over ``count`` scripts, each with the theorem's whole budget as its limit."""
        return one_try_each(count).model_copy(update={"tactic_timeout_s": budget})

    async def hammer_run() -> MethodRun:
        env = make_environment(ProverKind.COQ, limits, hammer=True)
        if theorems and theorems[0].library is not None:
            # Library theorems get CoqHammer whole: ``hammer`` (its external provers, then
            # reconstruction) with the theorem's whole budget as its time limit.
            kept = ["hammer"]
            note = "CoqHammer's hammer (eprover, z3, cvc4), one call per theorem"
            config = whole_budget(1)
        else:
            kept, dropped = parseable_hammer_tactics()
            note = f"dropped (rejected by parse_proof): {', '.join(dropped)}" if dropped else ""
            if dropped:
                console.print(f"[yellow]CoqHammer: {note}")
            config = one_try_each(len(kept))
        policy = ScriptPolicy("coqhammer", dict.fromkeys(kept, 1.0))
        return await run_method(HAMMER, theorems, env, policy, config, concurrency, console, note)

    async def library_proof_run() -> MethodRun:
        env = make_environment(ProverKind.COQ, limits)
        policy = LibraryProofPolicy()
        return await run_method(
            LIBRARY_PROOF, theorems, env, policy, whole_budget(1), concurrency, console
        )

    runners = {
        LIBRARY_PROOF: library_proof_run,
        BEST_FIRST: lambda: best_first_run(BEST_FIRST, base),
        BEST_FIRST_FULL: lambda: best_first_run(
            BEST_FIRST_FULL, base.model_copy(update={"expansion": Expansion.FULL})
        ),
        ONE_SHOT: one_shot_run,
        HAMMER: hammer_run,
    }
    return [await runners[method]() for method in chosen_methods(methods)]


def chosen_methods(methods: Sequence[str]) -> list[str]:
    """``methods`` in run order, best-first included (it is the reference of every ratio)."""
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {list(METHODS)}")
    return [method for method in METHODS if method == BEST_FIRST or method in methods]


# -- throughput ----------------------------------------------------------------------------
@dataclass
class ThroughputRun:
    """Best-first on the fixed theorem set at one concurrency level."""

    concurrency: int
    wall_s: float
    expansions: int
    prover_calls: int
    proved: int
    latency_median_s: float
    latency_mean_s: float
    latency_p90_s: float
    #: The slowest single theorem: with few theorems it, not throughput, can set the wall.
    longest_s: float
    #: Filled in once the c=1 run gives the reference latency.
    bound_calls_per_s: float = 0.0
    bound_calls_per_s_mean: float = 0.0

    @property
    def calls_per_s(self) -> float:
        return self.prover_calls / self.wall_s if self.wall_s else 0.0

    @property
    def expansions_per_s(self) -> float:
        return self.expansions / self.wall_s if self.wall_s else 0.0

    @property
    def tactics_per_expansion(self) -> float:
        return self.prover_calls / self.expansions if self.expansions else 0.0

    @property
    def bound_expansions_per_s(self) -> float:
        per = self.tactics_per_expansion
        return self.bound_calls_per_s / per if per else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "calls_per_s": self.calls_per_s,
            "expansions_per_s": self.expansions_per_s,
            "tactics_per_expansion": self.tactics_per_expansion,
            "bound_expansions_per_s": self.bound_expansions_per_s,
            "calls_ratio_to_bound": _ratio(self.calls_per_s, self.bound_calls_per_s),
            "expansions_ratio_to_bound": _ratio(self.expansions_per_s, self.bound_expansions_per_s),
        }


def pick_throughput_set(
    theorems: Sequence[Theorem], best_first: MethodRun, size: int
) -> list[Theorem]:
    """The first ``size`` theorems on which best-first ran out of wall budget, topped up with
    the other unproved ones, then the proved ones.

    Most unproved theorems end in well under a second ('search space exhausted'); a set of
    those measures session loading, and its wall time is set by its one slow theorem whatever
    the concurrency. Theorems that timed out still had search to do, which is the work whose
    rate matters.
    """
    status = {row.name: row.status for row in best_first.rows}
    rank = {SearchStatus.TIMEOUT: 0, SearchStatus.FAILED: 1, SearchStatus.ERROR: 3}
    # sorted() is stable: within a rank the split's order is kept, so the set is fixed.
    ordered = sorted(theorems, key=lambda t: rank.get(SearchStatus(status[t.name]), 2))
    return [t for t in ordered if status[t.name] != SearchStatus.ERROR][:size]


async def measure_throughput(
    theorems: Sequence[Theorem],
    concurrency: int,
    expansions: int,
    wall_timeout_s: float,
    console: Console,
) -> ThroughputRun:
    """One best-first pass over ``theorems`` with ``concurrency`` searches and pool slots."""
    env = TimedEnvironment(make_environment(ProverKind.COQ, ProverLimits(pool_size=concurrency)))
    config = SearchConfig(
        strategy=Strategy.BEST_FIRST,
        max_expansions=expansions,
        wall_timeout_s=wall_timeout_s,
        record_tree=False,
    )
    run = await run_method(
        f"throughput c={concurrency}",
        theorems,
        env,
        AutomationPolicy(ProverKind.COQ),
        config,
        concurrency,
        console,
    )
    latency = env.latency.summary()
    return ThroughputRun(
        concurrency=concurrency,
        wall_s=run.wall_s,
        expansions=sum(row.stats["expansions"] for row in run.rows),
        prover_calls=sum(row.stats["prover_calls"] for row in run.rows),
        proved=len(run.solved),
        latency_median_s=latency["p50_s"] or math.nan,
        latency_mean_s=latency["mean_s"] or math.nan,
        latency_p90_s=latency["p90_s"] or math.nan,
        longest_s=max((row.wall_s for row in run.rows), default=0.0),
    )


async def throughput(
    theorems: Sequence[Theorem],
    expansions: int,
    wall_timeout_s: float,
    cores: int,
    console: Console,
) -> list[ThroughputRun]:
    """Measure at each concurrency level and attach the bound from the c=1 latency.

    The bound uses the latency of an *uncontended* call (c=1): with c searches on ``cores``
    cores, at most ``min(c, cores)`` tactics run at once. With the median it is the bound
    asked for; with the mean (Little's law, tighter when a few tactics hit their time limit)
    it is what perfect overlap would reach.
    """
    runs = []
    for concurrency in THROUGHPUT_CONCURRENCY:
        runs.append(
            await measure_throughput(theorems, concurrency, expansions, wall_timeout_s, console)
        )
    reference = runs[0]
    for run in runs:
        parallel = min(run.concurrency, cores)
        run.bound_calls_per_s = parallel / reference.latency_median_s
        run.bound_calls_per_s_mean = parallel / reference.latency_mean_s
    return runs


# -- reporting -----------------------------------------------------------------------------
def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def method_table(runs: Sequence[MethodRun], total: int) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the solved-counts table (shared by the console and Markdown)."""
    best = len(runs[0].solved)
    header = [
        "method",
        "solved",
        "of N",
        "share",
        "best-first / method",
        "timeout",
        "error",
        "mean wall s",
        "max wall s",
        "run wall s",
    ]
    rows = []
    for run in runs:
        walls = [row.wall_s for row in run.rows] or [0.0]
        solved = len(run.solved)
        rows.append(
            [
                run.method,
                str(solved),
                str(total),
                f"{100 * solved / total:.1f}%" if total else "-",
                _fmt_ratio(_ratio(best, solved)),
                str(run.count(SearchStatus.TIMEOUT)),
                str(run.count(SearchStatus.ERROR)),
                f"{statistics.fmean(walls):.2f}",
                f"{max(walls):.2f}",
                f"{run.wall_s:.0f}",
            ]
        )
    return header, rows


def throughput_table(runs: Sequence[ThroughputRun]) -> tuple[list[str], list[list[str]]]:
    header = [
        "c",
        "wall s",
        "longest s",
        "expansions",
        "calls",
        "tactics/exp",
        "median lat ms",
        "exp/s",
        "exp/s bound",
        "exp ratio",
        "calls/s",
        "calls/s bound",
        "calls ratio",
        "calls/s bound (mean lat)",
    ]
    rows = [
        [
            str(r.concurrency),
            f"{r.wall_s:.1f}",
            f"{r.longest_s:.1f}",
            str(r.expansions),
            str(r.prover_calls),
            f"{r.tactics_per_expansion:.1f}",
            f"{1000 * r.latency_median_s:.1f}",
            f"{r.expansions_per_s:.2f}",
            f"{r.bound_expansions_per_s:.2f}",
            _fmt_ratio(_ratio(r.expansions_per_s, r.bound_expansions_per_s)),
            f"{r.calls_per_s:.1f}",
            f"{r.bound_calls_per_s:.1f}",
            _fmt_ratio(_ratio(r.calls_per_s, r.bound_calls_per_s)),
            f"{r.bound_calls_per_s_mean:.1f}",
        ]
        for r in runs
    ]
    return header, rows


def rich_table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for index, name in enumerate(header):
        table.add_column(name, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def exclusive(runs: Sequence[MethodRun]) -> dict[str, list[str]]:
    """For each other method, the theorems it solved that best-first did not."""
    best = runs[0].solved
    return {
        run.method: [row.name for row in run.rows if row.name in run.solved - best]
        for run in runs[1:]
    }


def write_report(
    out: Path,
    meta: dict[str, Any],
    runs: Sequence[MethodRun],
    total: int,
    throughput_runs: Sequence[ThroughputRun] | None,
    throughput_names: Sequence[str],
) -> None:
    """Write the JSON (every number) and the Markdown summary next to it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    best = len(runs[0].solved)
    payload = {
        **meta,
        "tuning_read": list(TUNED_ON),
        "theorems": total,
        "methods": [
            {
                **asdict(run),
                "solved": len(run.solved),
                "share": _ratio(len(run.solved), total),
                "best_first_ratio": _ratio(best, len(run.solved)),
            }
            for run in runs
        ],
        "solved_by_method_not_by_best_first": exclusive(runs),
        "throughput": None
        if throughput_runs is None
        else {
            "theorems": list(throughput_names),
            "runs": [run.as_dict() for run in throughput_runs],
        },
    }
    out.write_text(json.dumps(payload, indent=1) + "\n")

    m = meta["machine"]
    lines = [
        f"# Search benchmark: {TITLES[meta['benchmark']]} {meta['split']}",
        "",
        f"- date: {meta['date']}",
        f"- machine: {m['cores']} cores, {m['cpu']} ({m['platform']}); "
        f"load average at start {', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}",
        f"- Coq {meta['coq']}, dcoprover {meta['versions'].get('dcoprover')}, "
        f"Python {meta['versions'].get('python')}",
        f"- budget: {meta['budget_s']:g} s wall per theorem and method; "
        f"{meta['concurrency']} concurrent searches; tactic time limit "
        f"{runs[0].config['tactic_timeout_s']:g} s",
        f"- theorems: {total}"
        + (f" (first {meta['limit']} only)" if meta["limit"] else "")
        + (f" (a sample of {meta['sample']}, evenly spread)" if meta.get("sample") else ""),
        f"- tuning read: the model-free policy's steps were designed from {' and '.join(TUNED_ON)} "
        "failures; "
        + (
            "neither split is held out for it"
            if meta["benchmark"] == "minif2f-coq"
            else "no coqlib split was read by any tuning: this split is held out"
        ),
        "",
        "## Solved",
        "",
        markdown_table(*method_table(runs, total)),
        "",
    ]
    for method, names in exclusive(runs).items():
        lines.append(
            f"- solved by {method}, not by best-first ({len(names)}): "
            + (", ".join(names) or "none")
        )
    lines += [f"- {run.method}: {run.note}" for run in runs if run.note]
    if throughput_runs:
        expansions = meta["throughput_expansions"]
        lines += [
            "",
            "## Throughput",
            "",
            f"Best-first, at most {expansions} expansions and "
            f"{meta['throughput_timeout_s']:g} s per theorem (a search also ends when its "
            f"space is exhausted), on {len(throughput_names)} theorems: "
            f"{', '.join(throughput_names)}. Bound: prover calls/s <= min(c, cores) / median "
            "tactic latency at c=1; expansions/s bound = that / tactics per expansion. The "
            "last column uses the mean latency instead (Little's law): with a few tactics "
            "running to their time limit the mean, not the median, sets the pace. When "
            "'longest s' is close to 'wall s', the slowest theorem, not throughput, set the "
            "wall time.",
            "",
            markdown_table(*throughput_table(throughput_runs)),
        ]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def print_summary(console: Console, runs: Sequence[MethodRun], total: int, budget: float) -> None:
    console.print(rich_table(f"Solved in {budget:g} s per theorem", *method_table(runs, total)))
    for method, names in exclusive(runs).items():
        console.print(
            f"solved by {method}, not by best-first ({len(names)}): {', '.join(names) or 'none'}"
        )


# -- main ----------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="MiniF2F-Coq JSONL or checkout, or a coqlib manifest (default: the data shipped "
        "with dcoprover)",
    )
    parser.add_argument(
        "--benchmark",
        choices=BENCHMARKS,
        default="minif2f",
        help="minif2f (MiniF2F-Coq) or coqlib (library theorems in their files' contexts)",
    )
    parser.add_argument("--split", choices=sorted({*SPLITS, *COQLIB_SPLITS}), default="test")
    parser.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help="wall seconds per theorem, the same for every method",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first K theorems")
    parser.add_argument(
        "--sample",
        type=int,
        default=None,
        help="K theorems spread evenly over the split (every len/K-th, in manifest order), "
        "so that a shorter run still covers every part of the library",
    )
    parser.add_argument(
        "--tactic-timeout",
        type=float,
        default=SearchConfig().tactic_timeout_s,
        help="time limit of one tactic, seconds, the same for every method",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=default_workers(),
        help="concurrent searches (and prover processes) per method",
    )
    parser.add_argument(
        "--methods",
        default=",".join(METHOD_KEYS),
        help="comma-separated subset of " + ", ".join(METHOD_KEYS) + " (best-first always "
        "runs: it is the reference); e.g. a long-budget run may skip the full-expansion ablation",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--throughput-theorems", type=int, default=8)
    parser.add_argument("--throughput-expansions", type=int, default=40)
    parser.add_argument(
        "--throughput-timeout",
        type=float,
        default=300.0,
        help="wall seconds per theorem in the throughput runs (generous)",
    )
    parser.add_argument(
        "--out",
        type=str,
        default=None,
        help="JSON path ({split} is filled in); the .md goes next to it "
        "(default: benchmarks/results/search-{split}.json, with -firstK "
        "added under --limit so a quick run never replaces a full one)",
    )
    args = parser.parse_args(argv)
    if args.benchmark == "minif2f" and args.split not in SPLITS:
        parser.error(f"minif2f has the splits {', '.join(SPLITS)}")
    keys = [key.strip() for key in args.methods.split(",") if key.strip()]
    unknown = [key for key in keys if key not in METHOD_KEYS]
    if unknown:
        choices = ", ".join(METHOD_KEYS)
        parser.error(f"--methods: unknown {', '.join(unknown)}; choose from {choices}")
    args.methods = [METHOD_KEYS[key] for key in keys]
    return args


def output_path(args: argparse.Namespace) -> Path:
    if args.out:
        return Path(args.out.format(split=args.split))
    suffix = f"-first{args.limit}" if args.limit else ""
    suffix += f"-sample{args.sample}" if args.sample else ""
    stem = "search" if args.benchmark == "minif2f" else "coqlib"
    return Path(__file__).resolve().parent / "results" / f"{stem}-{args.split}{suffix}.json"


async def main(args: argparse.Namespace, console: Console) -> Path:
    theorems = load_benchmark(args.benchmark, ProverKind.COQ, args.data, args.split)
    if args.limit:
        theorems = theorems[: args.limit]
    theorems = spread(theorems, args.sample)
    out = output_path(args).resolve()  # before any method changes the working directory
    cores = os.cpu_count() or 1
    meta: dict[str, Any] = {
        "benchmark": "minif2f-coq" if args.benchmark == "minif2f" else "coqlib",
        "split": args.split,
        "data": str(args.data) if args.data else None,
        "limit": args.limit,
        "sample": args.sample,
        "budget_s": args.budget,
        "concurrency": args.concurrency,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "coq": coq_version(),
        "versions": versions(),
        "machine": machine(),
        "throughput_expansions": args.throughput_expansions,
        "throughput_timeout_s": args.throughput_timeout,
    }
    console.print(
        f"{TITLES[meta['benchmark']]} {args.split}: {len(theorems)} theorems, "
        f"{args.budget:g} s each, "
        f"{args.concurrency} at a time; {cores} cores ({meta['machine']['cpu']}), "
        f"Coq {meta['coq']}",
        highlight=False,
    )
    runs = await compare(
        theorems,
        args.budget,
        args.concurrency,
        console,
        tactic_timeout_s=args.tactic_timeout,
        methods=args.methods,
    )
    print_summary(console, runs, len(theorems), args.budget)
    write_report(out, meta, runs, len(theorems), None, [])
    if args.skip_throughput:
        return out
    chosen = pick_throughput_set(theorems, runs[0], args.throughput_theorems)
    names = [t.name for t in chosen]
    console.print(f"throughput set ({len(chosen)}): {', '.join(names)}", highlight=False)
    measured = await throughput(
        chosen, args.throughput_expansions, args.throughput_timeout, cores, console
    )
    console.print(
        rich_table(
            f"Throughput: best-first, {args.throughput_expansions} expansions, {cores} cores",
            *throughput_table(measured),
        )
    )
    write_report(out, meta, runs, len(theorems), measured, names)
    return out


def run(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # Under nohup the log is not a terminal; rich would then wrap the wide tables at 80.
    console = Console(width=None if sys.stdout.isatty() else 200)
    out = asyncio.run(main(args, console))
    console.print(f"wrote {out} and {out.with_suffix('.md')}", highlight=False)


if __name__ == "__main__":
    run()
