"""Benchmark: what a coqlib theorem's context costs to load, cold and warm, and to check.

A library theorem is proved after its file's text up to it, replayed (``search.env.coq_library``).
Three costs, on theorems spread over the split:

- **cold**: a fresh process loads the context from the file's first sentence;
- **warm**: a process that holds an earlier theorem's context of the same file goes on from
  there (the pool keeps each library process's loaded prefix; ``search.env.coq``), the cache
  a search service relies on;
- **check**: the whole-file ``coqc`` check of the file's own proof, which compiles the context
  again (no cache: the judge reads nothing it did not compile itself).

Results go to ``benchmarks/results/coqlib-context.{json,md}``.

    .venv/bin/python benchmarks/coqlib_context.py --theorems 40
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import datetime as dt
import json
import statistics
import time
from collections import defaultdict
from typing import Any

from search.benchmarks import load_coqlib
from search.config import ProverLimits
from search.env.coq import CoqEnvironment
from search.env.coq_check import coq_version
from search.env.coq_library import LibrarySource
from search.machine import describe, machine
from search.types import Theorem

RESULTS = Path(__file__).resolve().parent / "results" / "coqlib-context"


def pairs_by_file(theorems: list[Theorem], count: int) -> list[tuple[Theorem, Theorem]]:
    """``count`` pairs of consecutive theorems of one file (its last two in the split), from
    files spread over the split: the later one is opened warm after the earlier."""
    by_file: dict[str, list[Theorem]] = defaultdict(list)
    for theorem in theorems:
        assert theorem.library is not None
        by_file[theorem.library.module].append(theorem)
    files = [m for m, ts in by_file.items() if len(ts) >= 2]
    step = max(1, len(files) // count)
    return [(by_file[m][-2], by_file[m][-1]) for m in files[::step][:count]]


async def open_time(env: CoqEnvironment, theorem: Theorem) -> float:
    started = time.monotonic()
    async with env.session(theorem, 10.0):
        pass
    return time.monotonic() - started


async def measure(pairs: list[tuple[Theorem, Theorem]]) -> list[dict[str, Any]]:
    rows = []
    for earlier, later in pairs:
        assert later.library is not None
        env = CoqEnvironment(ProverLimits(pool_size=1))
        try:
            cold_earlier = await open_time(env, earlier)
            warm_later = await open_time(env, later)
            cold_env = CoqEnvironment(ProverLimits(pool_size=1))
            try:
                cold_later = await open_time(cold_env, later)
            finally:
                await cold_env.close()
            source = LibrarySource.read(later.library.module)
            proof = source.proof_at(later.library.position)
            started = time.monotonic()
            verdict = await env.verify(later, "\n".join(proof or ["idtac."]))
            check_s = time.monotonic() - started
        finally:
            await env.close()
        rows.append(
            {
                "theorem": later.name,
                "context_sentences": later.library.position,
                "cold_s": round(cold_later, 3),
                "warm_s": round(warm_later, 3),
                "cold_earlier_s": round(cold_earlier, 3),
                "check_s": round(check_s, 3),
                "own_proof_accepted": verdict.ok,
            }
        )
        print(rows[-1], flush=True)
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rows), 3)

    return {
        "pairs": len(rows),
        "median_context_sentences": statistics.median(r["context_sentences"] for r in rows),
        "median_cold_s": median("cold_s"),
        "median_warm_s": median("warm_s"),
        "median_check_s": median("check_s"),
        "warm_speedup_median": round(
            statistics.median(r["cold_s"] / max(r["warm_s"], 1e-3) for r in rows), 2
        ),
        "own_proofs_accepted": sum(r["own_proof_accepted"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--theorems", type=int, default=40, help="file pairs to measure")
    args = parser.parse_args()
    pairs = pairs_by_file(load_coqlib(args.split), args.theorems)
    rows = asyncio.run(measure(pairs))
    facts = machine()
    result = {
        "benchmark": "coqlib-context",
        "split": args.split,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "coq": coq_version(),
        "machine": facts,
        "summary": summary(rows),
        "rows": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    s = result["summary"]
    lines = [
        f"# coqlib: loading and checking a theorem's context ({args.split} split)",
        "",
        f"- {result['date']}, {describe(facts)}, Coq {result['coq']}",
        f"- {s['pairs']} files, the later of two theorems of each (median context "
        f"{s['median_context_sentences']} sentences)",
        f"- open a session cold (context from the file's start): median {s['median_cold_s']} s",
        f"- open it warm (after an earlier theorem of the file, same process): median "
        f"{s['median_warm_s']} s; cold / warm, median of ratios: {s['warm_speedup_median']}x",
        f"- whole-file coqc check of the file's own proof (compiles the context again): "
        f"median {s['median_check_s']} s; accepted {s['own_proofs_accepted']} of {s['pairs']}",
        "",
        "| theorem | context sentences | cold s | warm s | check s | own proof accepted |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['theorem']} | {r['context_sentences']} | {r['cold_s']} | {r['warm_s']} | "
            f"{r['check_s']} | {r['own_proof_accepted']} |"
            for r in rows
        ),
    ]
    RESULTS.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS.with_suffix('.md')}")


if __name__ == "__main__":
    main()
