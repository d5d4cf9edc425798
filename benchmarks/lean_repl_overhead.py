"""Benchmark: how much time does the Lean REPL driver itself add to a proof step?

Lean is not installed here, so the REPL is the recorded-traffic stand-in from the tests
(``tests/support/fake_lean_repl.py --stateless``), which answers a request with the REPL's own
recorded reply. Three measurements of the same step (``apply And.intro`` on the root of the
recorded ``proof_branching`` search), in one run:

* **raw round trip** (baseline): write the request's bytes, read up to the blank line. This is
  the stand-in's and the pipe's cost and nothing of ours;
* **session step**: ``LeanSession.apply`` end to end: the tactic policy check, JSON encoding,
  the wall-clock guard, reply parsing and classification, the state tree, the metrics;
* **in-process**: the same work of ours with no process at all (check, encode, decode, parse,
  classify), on the recorded reply text.

Our overhead per step = session step - raw round trip (medians); the in-process figure is a
lower bound on it. A measurement, not a test: it asserts nothing. Run from the repository root::

    python benchmarks/lean_repl_overhead.py --steps 3000
"""

import sys
from pathlib import Path

if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # keep this folder from shadowing the packages it measures

import argparse
import asyncio
import datetime as dt
import json
import platform
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from search.config import LeanConfig, ProverLimits
from search.env.lean import LeanEnvironment
from search.env.lean_protocol import parse_reply, tactic_outcome
from search.env.lean_repl import LeanRepl
from search.env.lean_syntax import check_tactic
from search.latency import LatencyMeter
from search.runner import versions
from search.types import Theorem

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from support.lean_fixtures import RECORDINGS, fake_repl_command  # noqa: E402

THEOREM = Theorem(
    name="complex_and",
    statement="theorem complex_and (p q r : Prop) (h1 : p ∧ q) (h2 : q → r) : p ∧ r := by",
    prover="lean",
)
TACTIC = "apply And.intro"
REQUEST = {"tactic": TACTIC, "proofState": 0}


def summary(seconds: list[float]) -> dict[str, float]:
    figures = LatencyMeter(keep=None, seconds=seconds).summary()
    return {
        f"{name}_us": figures[f"{name}_s"] * 1e6  # type: ignore[operator]
        for name in ("p50", "p95", "mean")
    }


async def raw_round_trips(steps: int) -> list[float]:
    """The baseline: bytes out, bytes back, through the same stand-in process."""
    repl = LeanRepl(fake_repl_command("--stateless").split(), memory_bytes=2 << 30)
    await repl.start()
    proc = repl._proc  # the raw pipes: the point is to bypass every layer of ours
    assert proc is not None and proc.stdin is not None and proc.stdout is not None
    payload = json.dumps(REQUEST).encode() + b"\n\n"
    times = []
    try:
        for _ in range(steps):
            started = time.perf_counter()
            proc.stdin.write(payload)
            await proc.stdin.drain()
            await proc.stdout.readuntil(b"\n\n")
            times.append(time.perf_counter() - started)
    finally:
        await repl.close()
    return times


async def session_steps(steps: int) -> list[float]:
    env = LeanEnvironment(
        ProverLimits(pool_size=1), LeanConfig(repl_command=fake_repl_command("--stateless"))
    )
    times = []
    try:
        async with env.session(THEOREM, tactic_timeout_s=10) as session:
            assert session.root is not None
            for _ in range(steps):
                started = time.perf_counter()
                await session.apply(session.root, TACTIC)
                times.append(time.perf_counter() - started)
    finally:
        await env.close()
    return times


def in_process_steps(steps: int) -> list[float]:
    (recording,) = [r for r in RECORDINGS if r.name == "proof_branching"]
    reply_text = recording.raw_replies[1]
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        text = check_tactic(TACTIC)
        json.dumps({"tactic": text, "proofState": 0}, ensure_ascii=False).encode()
        tactic_outcome(parse_reply(json.loads(reply_text)))
        times.append(time.perf_counter() - started)
    return times


def render(meta: dict[str, Any], rows: dict[str, dict[str, float]]) -> str:
    overhead = meta["overhead_p50_us"]
    lines = [
        "# Lean REPL driver overhead per step",
        "",
        f"{meta['steps']} steps each, {meta['date']}, {meta['machine']}, Python {meta['python']}.",
        "",
        "| measurement | p50 (µs) | p95 (µs) | mean (µs) |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {r['p50_us']:.0f} | {r['p95_us']:.0f} | {r['mean_us']:.0f} |"
            for name, r in rows.items()
        ),
        "",
        f"Our overhead per step (session step - raw round trip, p50): **{overhead:.0f} µs** "
        f"(target < 1000 µs); session step / raw round trip = {meta['ratio_p50']:.2f}×.",
    ]
    return "\n".join(lines) + "\n"


async def main(args: argparse.Namespace) -> None:
    console = Console()
    rows = {
        "raw round trip (baseline)": summary(await raw_round_trips(args.steps)),
        "session step (ours, end to end)": summary(await session_steps(args.steps)),
        "in-process (ours, no I/O)": summary(in_process_steps(args.steps)),
    }
    raw, ours = rows["raw round trip (baseline)"], rows["session step (ours, end to end)"]
    meta = {
        "steps": args.steps,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "python": platform.python_version(),
        "versions": versions(),
        "overhead_p50_us": ours["p50_us"] - raw["p50_us"],
        "ratio_p50": ours["p50_us"] / raw["p50_us"],
    }
    table = Table("measurement", "p50 µs", "p95 µs", "mean µs", title="Lean REPL driver")
    for name, row in rows.items():
        table.add_row(name, f"{row['p50_us']:.0f}", f"{row['p95_us']:.0f}", f"{row['mean_us']:.0f}")
    console.print(table)
    console.print(f"overhead per step (p50): {meta['overhead_p50_us']:.0f} µs")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    out.with_suffix(".md").write_text(render(meta, rows))
    console.print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument(
        "--out", default=str(REPO / "benchmarks" / "results" / "lean-repl-overhead.json")
    )
    asyncio.run(main(parser.parse_args()))
