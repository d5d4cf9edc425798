"""Benchmark: how fast does the judge check proofs, against a bare ``coqc`` loop?

The proofs are the ones the MiniF2F-Coq search found (the best-first rows of the search
benchmark's results, ``benchmarks/results/search-{test,valid}.json``). Two ways of checking
each, at 1 and 2 in flight:

* **judge**: ``search.checking.check_many`` with the Coq environment, as ``prover check`` and
  ``POST /v1/checks`` run it: the static checks, then ``coqc`` on the file with the trailer
  (the open-proof guard, ``Print Assumptions``, ``Locate`` of each allowed axiom);
* **bare coqc**: ``coqc`` on the plain file a user would write (preamble, header, statement,
  ``Proof.`` the script ``Qed.``), nothing read back;
* **bare + Print Assumptions**: the same file and ``Print Assumptions`` of the theorem, which
  is where the judge's time goes (Coq loads the bodies of every library lemma the proof uses).

The ratio judge/bare is what soundness costs. This is a measurement, not a test; it writes
its figures to ``--out`` (JSON) and ``.md`` beside it::

    python -m benchmarks.check_throughput --data /work/shared/data/minif2f-coq.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

from benchmarks.search import markdown_table
from search.benchmarks import load_minif2f
from search.checking import CheckVerdict, ProofCheck, check_many
from search.config import ProverLimits
from search.env.coq import CoqEnvironment
from search.env.coq_check import DEFAULT_PREAMBLE, coq_version
from search.machine import machine
from search.types import ProverKind, Theorem

RESULTS = Path(__file__).resolve().parent / "results"


def found_proofs(search_results: list[Path], data: Path) -> list[tuple[Theorem, str]]:
    """(theorem, proof) for every theorem the best-first search proved in those results."""
    theorems = {t.name: t for t in load_minif2f(ProverKind.COQ, data)}
    pairs = []
    for path in search_results:
        run = json.loads(path.read_text())
        (best_first,) = [m for m in run["methods"] if m["method"] == "best-first"]
        pairs += [(theorems[r["name"]], r["proof"]) for r in best_first["rows"] if r["proof"]]
    return pairs


def bare_source(theorem: Theorem, proof: str, assumptions: bool = False) -> str:
    parts = [theorem.header.rstrip(), theorem.statement.strip(), "Proof.", proof, "Qed."]
    if assumptions:
        parts.append(f"Print Assumptions {theorem.name}.")
    return "\n".join([*DEFAULT_PREAMBLE, *parts])


async def bare_coqc(
    pairs: list[tuple[Theorem, str]], in_flight: int, assumptions: bool = False
) -> tuple[float, int]:
    """Seconds to compile every plain file with ``in_flight`` coqc at once, and how many
    compiled."""
    slots = asyncio.Semaphore(in_flight)

    async def one(index: int, tmp: Path) -> bool:
        path = tmp / f"Proof{index}.v"
        path.write_text(bare_source(*pairs[index], assumptions))
        async with slots:
            proc = await asyncio.create_subprocess_exec(
                "coqc", "-q", path.name, cwd=tmp,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            return await proc.wait() == 0

    with tempfile.TemporaryDirectory(prefix="bench-coqc-") as tmp:
        started = time.monotonic()
        ok = await asyncio.gather(*(one(i, Path(tmp)) for i in range(len(pairs))))
        return time.monotonic() - started, sum(ok)


async def judge(pairs: list[tuple[Theorem, str]], in_flight: int) -> tuple[float, int]:
    """Seconds to judge every proof with ``in_flight`` checks at once, and how many passed."""
    env = CoqEnvironment(ProverLimits(pool_size=in_flight))
    checks = [
        ProofCheck(header=t.header, statement=t.statement, proof=proof, name=t.name)
        for t, proof in pairs
    ]
    try:
        started = time.monotonic()
        results = await check_many(lambda _: env, checks, in_flight)
        return time.monotonic() - started, sum(r.verdict is CheckVerdict.VALID for r in results)
    finally:
        await env.close()


async def measure(pairs: list[tuple[Theorem, str]], levels: list[int]) -> list[dict]:
    rows = []
    for in_flight in levels:
        bare_s, compiled = await bare_coqc(pairs, in_flight)
        printing_s, _ = await bare_coqc(pairs, in_flight, assumptions=True)
        judge_s, valid = await judge(pairs, in_flight)
        rows.append({
            "in_flight": in_flight, "proofs": len(pairs),
            "bare_s": round(bare_s, 2), "bare_compiled": compiled,
            "bare_per_s": round(len(pairs) / bare_s, 2),
            "bare_assumptions_per_s": round(len(pairs) / printing_s, 2),
            "judge_s": round(judge_s, 2), "judge_valid": valid,
            "judge_per_s": round(len(pairs) / judge_s, 2),
            "judge_over_bare": round(bare_s / judge_s, 3),
        })  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def report(meta: dict, rows: list[dict]) -> str:
    header = ["in flight", "proofs", "bare coqc: checks/s", "bare + Print Assumptions: /s",
              "judge: checks/s", "judge ÷ bare", "judge valid", "bare compiled"]  # fmt: skip
    table = [
        [str(r["in_flight"]), str(r["proofs"]), f"{r['bare_per_s']:.2f}",
         f"{r['bare_assumptions_per_s']:.2f}", f"{r['judge_per_s']:.2f}",
         f"{r['judge_over_bare']:.2f}×", str(r["judge_valid"]), str(r["bare_compiled"])]
        for r in rows
    ]  # fmt: skip
    m = meta["machine"]
    return (
        "# Checker throughput: the judge against a bare coqc loop\n\n"
        f"{meta['date']}, Coq {meta['coq']}, {m['cores']} cores ({m['cpu']}), load at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}.\n"
        f"Proofs: the best-first proofs in {', '.join(meta['sources'])} (MiniF2F-Coq; no "
        "tuning of the judge read them).\n\n" + markdown_table(header, table) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="MiniF2F-Coq JSONL")
    parser.add_argument(
        "--results",
        type=Path,
        nargs="+",
        default=[RESULTS / "search-test.json", RESULTS / "search-valid.json"],
    )
    parser.add_argument("--in-flight", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--limit", type=int, default=None, help="only the first K proofs")
    parser.add_argument("--out", type=Path, default=RESULTS / "check-throughput.json")
    args = parser.parse_args()  # fmt: skip
    pairs = found_proofs(args.results, args.data)[: args.limit]
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "coq": coq_version(),
        "machine": machine(),
        "sources": [path.name for path in args.results],
    }
    rows = asyncio.run(measure(pairs, args.in_flight))
    args.out.write_text(json.dumps({**meta, "rows": rows}, indent=1) + "\n")
    text = report(meta, rows)
    args.out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
