"""Benchmark: do learned policies prove held-out theorems, and which training proves most?

Best-first search with each policy, at the same wall budget and the same policy-call budget
(``--max-expansions``) per theorem, on held-out sets: a fixed sample of the coqlib test split
(spread evenly over the library, the same theorems for every method) and K MiniF2F-Coq test
theorems spread evenly over that split (its files are sorted by competition, so the first K
would all be AIME and AMC problems). Methods:

* the model-free policy (the frozen baseline);
* each model given with ``--models NAME=DIR`` (CE, DCO_step at each N_eff, expert-iteration
  rounds, ...), in this process with the transformers backend;
* ``--ensemble A,B``: those models as one ``EnsemblePolicy`` with the budget split equally;
* ``--hybrid NAME``: that model merged with the automation, at each ``--hybrid-weights``.

Every proof passed the search's whole-file ``coqc`` check and is checked again here in a
fresh environment. Each row carries the checkpoint's path and hash, its training recipe
(which data it read) and the coqlib manifest's hash; the report says which splits any training
read. This is a measurement, not a test.

The whole run at the issue's sizes (300 + 241 theorems, ten methods) takes hours on two
cores, so each method's finished run is appended to ``OUT.runs.jsonl`` as it ends. With
``--resume`` a run whose key matches (set, theorems, method, policy, every model file's hash,
the code under ``prover/`` and ``search/`` and ``benchmarks/search.py``, search and sampling
settings, concurrency, versions, the machine's CPU) is read back instead of searched again: a
killed run loses at most the method in progress, and a run can be finished later, even by
another session that retrained the same checkpoints at the same paths and got the same
weights (the hashes say whether it did; not every machine does). A run with ``error`` rows is
never read back. One process per OUT: two would interleave their records. Run it from the
repository root::

    python benchmarks/learned_policy.py --models ce=models/ce,dco4=models/dco4 \\
        --ensemble dco4,dco16 --hybrid ce --sample 100 --minif2f 50 --budget 10
"""

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path (see benchmarks/search.py).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import datetime as dt
import hashlib
import importlib.util
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict
from importlib import resources
from typing import Any

from rich.console import Console

from prover.compose import make_environment, make_policy
from search.benchmarks import load_benchmark, spread
from search.config import ProverLimits, SearchConfig
from search.env.coq_check import coq_version
from search.machine import machine
from search.result import SearchStatus
from search.runner import run_many, versions
from search.types import ProverKind, Theorem

_HERE = Path(__file__).resolve().parent
_ROOT = _HERE.parent


def _search_benchmark():
    """benchmarks/search.py, whose method runner and tables this benchmark shares."""
    spec = importlib.util.spec_from_file_location("search_benchmark", _HERE / "search.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _search_benchmark()
MODEL_FREE = "model-free"
RECIPE = "dcoprover_train.json"
BUILT = "dcoprover_model.json"


def file_hash(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def checkpoint(directory: Path) -> dict[str, Any]:
    """What a result row says of its model: path, weights hash, recipe, how it was built."""

    def read(name: str) -> dict | None:
        path = directory / name
        return json.loads(path.read_text()) if path.is_file() else None

    recipe = read(RECIPE)
    return {
        "path": str(directory),
        "weights_sha256": file_hash(directory / "model.safetensors"),
        "recipe": recipe,
        "built": read(BUILT),
        # The data manifest: what each file the training read holds now (a path alone would
        # not say whether it is the same corpus). Entries that are not files (the verified
        # proofs of a set) have no hash.
        "data_sha256": {
            str(data): file_hash(Path(data)) for data in ((recipe or {}).get("data") or [])
        },
    }


def manifest_hash() -> str:
    with resources.as_file(resources.files("search.data") / "coqlib.jsonl.gz") as shipped:
        return file_hash(shipped) or ""


def run_key(identity: dict[str, Any]) -> str:
    """A finished method run's key: the hash of everything that decides its result."""
    blob = json.dumps(identity, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def tree_hash(*roots: Path) -> str:
    """The files under ``roots`` (names and contents, caches left out): a changed search,
    policy, prompt or default changes it, so a run from older code is never read back."""
    digest = hashlib.sha256()
    for root in roots:
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"{path.relative_to(_ROOT)}\0".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_hash(directory: Path) -> str:
    """Every file of a model directory but its training logs: weights in any format,
    config, generation config and tokenizer."""
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.is_file() and not path.name.startswith(("train_log", "trainer_state")):
            digest.update(f"{path.name}\0{file_hash(path)}\0".encode())
    return digest.hexdigest()[:16]


def policy_weights(spec: dict[str, Any]) -> dict[str, str]:
    """The hash of each model a policy spec names (an ensemble names several)."""
    paths = [p for p in str(spec.get("model") or "").split(",") if p]
    return {path: model_hash(Path(path)) for path in paths}


def load_progress(path: Path) -> dict[str, dict[str, Any]]:
    """Finished runs by key. A torn line (a run killed while writing it) and a run with
    ``error`` rows (a crash, out of memory: maybe transient) are left out, to be searched
    again."""
    done: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return done
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
            rows = record["run"]["rows"]
            if all(row["status"] != SearchStatus.ERROR for row in rows):
                done[record["key"]] = record
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return done


def append_progress(path: Path, record: dict[str, Any]) -> None:
    """One record per line, on a line of its own even after a torn last line."""
    with path.open("a+b") as sink:
        sink.seek(0, 2)
        if sink.tell():
            sink.seek(-1, 2)
            if sink.read(1) != b"\n":
                sink.write(b"\n")
        sink.write(json.dumps(record).encode() + b"\n")
        sink.flush()
        os.fsync(sink.fileno())


def method_run(record: dict[str, Any]):
    """A ``MethodRun`` read back from the progress file, or None where the record no longer
    fits the dataclasses (written by older code)."""
    try:
        data = dict(record["run"])
        data["rows"] = [bench.Row(**row) for row in data["rows"]]
        return bench.MethodRun(**data)
    except (KeyError, TypeError):
        return None


def parse_models(spec: str) -> dict[str, Path]:
    models = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, directory = part.partition("=")
        if not sep or not name or not directory:
            raise SystemExit(f"--models: {part!r} is not NAME=DIR")
        if not (Path(directory) / "config.json").is_file():
            raise SystemExit(f"--models: {directory} is not a model directory (no config.json)")
        models[name] = Path(directory).resolve()
    return models


def methods_of(args: argparse.Namespace, models: dict[str, Path]) -> list[tuple[str, dict]]:
    """(method name, make_policy arguments), the model-free baseline first."""
    methods: list[tuple[str, dict]] = [(MODEL_FREE, {"name": "automation"})]
    methods += [(name, {"name": "transformers", "model": str(path)})
                for name, path in models.items()]  # fmt: skip
    if args.ensemble:
        members = [m.strip() for m in args.ensemble.split(",")]
        unknown = [m for m in members if m not in models]
        if unknown:
            raise SystemExit(f"--ensemble: {unknown} are not in --models")
        spec = ",".join(str(models[m]) for m in members)
        methods.append((f"ensemble({'+'.join(members)})", {"name": "ensemble", "model": spec}))
    if args.hybrid:
        if args.hybrid not in models:
            raise SystemExit(f"--hybrid: {args.hybrid} is not in --models")
        for weight in (float(w) for w in args.hybrid_weights.split(",")):
            methods.append(
                (f"hybrid({args.hybrid}, w={weight:g})",
                 {"name": "hybrid", "model": str(models[args.hybrid]), "hybrid_weight": weight})
            )  # fmt: skip
    return methods


async def recheck(runs: Sequence, theorems: Sequence[Theorem], concurrency: int) -> dict[str, int]:
    """Check every claimed proof again, in a fresh environment: method -> proofs confirmed."""
    by_name = {theorem.name: theorem for theorem in theorems}
    env = make_environment(ProverKind.COQ, ProverLimits(pool_size=concurrency))
    confirmed: dict[str, int] = {}
    try:
        for run in runs:
            proved = [row for row in run.rows if row.status == SearchStatus.PROVED]

            async def check(row):
                return (await env.verify(by_name[row.name], row.proof)).ok

            confirmed[run.method] = sum(await run_many(proved, check, concurrency))
    finally:
        await env.close()
    return confirmed


def summary_rows(runs: Sequence, total: int, confirmed: dict[str, int]) -> list[dict[str, Any]]:
    """Per method: solved, unique solves, re-checked, policy latency, expansions per second."""
    solved_by = {run.method: run.solved for run in runs}
    rows = []
    for run in runs:
        others = set().union(*(s for m, s in solved_by.items() if m != run.method))
        calls = sum(r.stats["policy_calls"] for r in run.rows)
        policy_s = sum(r.stats["time_policy_s"] for r in run.rows)
        # Time queued for a prover process depends on the concurrency, not on the method.
        search_s = sum(
            r.stats["time_total_s"] - r.stats.get("time_waiting_s", 0.0) for r in run.rows
        )
        rows.append({
            "method": run.method,
            "solved": len(run.solved),
            "of": total,
            "share": len(run.solved) / total if total else 0.0,
            "unique": len(run.solved - others),
            "rechecked": confirmed.get(run.method, 0),
            "policy_calls": calls,
            "policy_ms_per_call": 1000 * policy_s / calls if calls else None,
            "policy_share_of_time": policy_s / search_s if search_s else None,
            "expansions_per_s": sum(r.stats["expansions"] for r in run.rows) / search_s
            if search_s else None,
            "skipped_states": sum(r.stats.get("skipped_states", 0) for r in run.rows),
        })  # fmt: skip
    return rows


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test of ``wins`` against ``losses`` (ties left out): the chance
    of a split at least this uneven if either method were equally likely to win each."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(wins, losses) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_rows(runs: Sequence, baselines: Sequence[str]) -> list[dict[str, Any]]:
    """Each method against each baseline on the same theorems: the theorems only it proved
    (wins), only the baseline proved (losses), and the sign test's p."""
    solved_by = {run.method: run.solved for run in runs}
    rows = []
    for baseline in (b for b in baselines if b in solved_by):
        for method, solved in solved_by.items():
            if method == baseline:
                continue
            wins = len(solved - solved_by[baseline])
            losses = len(solved_by[baseline] - solved)
            rows.append({"method": method, "against": baseline, "wins": wins,
                         "losses": losses, "sign_test_p": sign_test(wins, losses)})  # fmt: skip
    return rows


def paired_markdown(rows: list[dict[str, Any]]) -> str:
    body = [[r["method"], r["against"], f"+{r['wins']} −{r['losses']}",
             f"{r['sign_test_p']:.3f}"] for r in rows]  # fmt: skip
    return bench.markdown_table(["method", "against", "paired", "sign test p"], body)


def markdown(rows: list[dict[str, Any]]) -> str:
    header = ["method", "solved", "of N", "share", "unique", "re-checked", "policy ms/call",
              "policy share of time", "expansions/s", "states skipped"]  # fmt: skip

    def fmt(value, pattern):
        return "-" if value is None else pattern.format(value)

    body = [[r["method"], str(r["solved"]), str(r["of"]), f"{100 * r['share']:.1f}%",
             str(r["unique"]), str(r["rechecked"]), fmt(r["policy_ms_per_call"], "{:.0f}"),
             fmt(r["policy_share_of_time"], "{:.0%}"), fmt(r["expansions_per_s"], "{:.2f}"),
             str(r["skipped_states"])] for r in rows]  # fmt: skip
    return bench.markdown_table(header, body)


def plot(path: Path, results: dict[str, list[dict[str, Any]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(results)
    methods = [row["method"] for row in results[sets[0]]]
    figure, axis = plt.subplots(figsize=(max(6, 1.2 * len(methods)), 4))
    width = 0.8 / len(sets)
    for offset, name in enumerate(sets):
        shares = [100 * row["share"] for row in results[name]]
        positions = [i + offset * width for i in range(len(methods))]
        axis.bar(positions, shares, width, label=name)
    axis.set_xticks([i + width * (len(sets) - 1) / 2 for i in range(len(methods))], methods,
                    rotation=30, ha="right")  # fmt: skip
    axis.set_ylabel("solved (%)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="", help="NAME=DIR,NAME=DIR,... (model directories)")
    parser.add_argument("--ensemble", default="", help="NAME,NAME: these models as an ensemble")
    parser.add_argument("--hybrid", default="", help="NAME: this model merged with automation")
    parser.add_argument("--hybrid-weights", default="0.5", help="model weights to ablate")
    parser.add_argument("--sample", type=int, default=300, help="coqlib test theorems (spread)")
    parser.add_argument("--coqlib-split", default="test")
    parser.add_argument("--minif2f", type=int, default=0, help="MiniF2F-Coq test theorems (spread)")
    parser.add_argument("--budget", type=float, default=10.0, help="wall s per theorem")
    parser.add_argument(
        "--max-expansions",
        type=int,
        default=64,
        help="policy calls per theorem, the same for every method",
    )
    parser.add_argument("--tactics-per-expansion", type=int, default=8)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0, help="sampling seed of the models")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--out", type=Path, default=_HERE / "results" / "learned-policy.json")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the finished method runs in OUT.runs.jsonl whose settings match; "
        "without it that file is started again",
    )
    return parser.parse_args(argv)


async def main(args: argparse.Namespace, console: Console) -> Path:
    from prover.config import SamplingConfig

    models = parse_models(args.models)
    methods = methods_of(args, models)
    sets = {
        f"coqlib {args.coqlib_split}": spread(
            load_benchmark("coqlib", ProverKind.COQ, None, args.coqlib_split), args.sample
        )
    }
    if args.minif2f:
        sets["MiniF2F-Coq test"] = spread(
            load_benchmark("minif2f", ProverKind.COQ, None, "test"), args.minif2f
        )
    config = SearchConfig(
        wall_timeout_s=args.budget,
        max_expansions=args.max_expansions,
        tactics_per_expansion=args.tactics_per_expansion,
        record_tree=False,
    )
    sampling = SamplingConfig(temperature=args.temperature, seed=args.seed)
    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    progress = out.with_suffix(".runs.jsonl")
    done = load_progress(progress) if args.resume else {}
    # Without --resume the file starts again, but only once a run has finished to replace it.
    fresh = not args.resume
    here = machine()
    common = {
        # The code a search runs; this file's part (the sets, the policy specs, the settings)
        # is in the key as data, so its reporting can change without losing finished runs.
        "code": tree_hash(_ROOT / "prover", _ROOT / "search", _HERE / "search.py"),
        "search": config.model_dump(mode="json"),
        "sampling": sampling.model_dump(mode="json"),
        "concurrency": args.concurrency,
        "manifest": manifest_hash(),
        "versions": versions(),
        "coq": coq_version(),
        "machine": {"cores": here["cores"], "cpu": here["cpu"]},
    }
    results: dict[str, list[dict[str, Any]]] = {}
    raw: dict[str, list[dict[str, Any]]] = {}
    run_dates: dict[str, dict[str, str]] = {}
    paired: dict[str, list[dict[str, Any]]] = {}
    for set_name, theorems in sets.items():
        runs = []
        run_dates[set_name] = {}
        for method, spec in methods:
            key = run_key({
                **common, "set": set_name, "theorems": [t.name for t in theorems],
                "method": method, "policy": spec, "weights": policy_weights(spec),
            })  # fmt: skip
            earlier = method_run(done[key]) if key in done else None
            if earlier is not None:
                runs.append(earlier)
                run_dates[set_name][method] = done[key]["date"]
                console.print(f"{set_name}: {method} read back from {progress.name}")
                continue
            arguments = dict(spec)
            kind = arguments.pop("name")
            policy = make_policy(kind, ProverKind.COQ, sampling=sampling, **arguments)
            env = make_environment(ProverKind.COQ, ProverLimits(pool_size=args.concurrency))
            try:
                runs.append(
                    await bench.run_method(
                        method, theorems, env, policy, config, args.concurrency, console
                    )
                )
            finally:
                await policy.close()
            date = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            run_dates[set_name][method] = date
            record = {"key": key, "set": set_name, "method": method, "date": date,
                      "run": asdict(runs[-1])}  # fmt: skip
            if fresh:
                progress.write_text("")
                fresh = False
            append_progress(progress, record)
        confirmed = await recheck(runs, theorems, args.concurrency)
        results[set_name] = summary_rows(runs, len(theorems), confirmed)
        paired[set_name] = paired_rows(runs, (MODEL_FREE, "ce"))
        raw[set_name] = [asdict(run) for run in runs]
        console.print(
            f"{set_name}: " + ", ".join(f"{r['method']} {r['solved']}" for r in results[set_name]),
            highlight=False,
        )
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": here,
        "run_dates": run_dates,
        "paired": paired,
        "coq": common["coq"],
        "versions": common["versions"],
        "budget_s": args.budget,
        "search": config.model_dump(mode="json"),
        "sampling": sampling.model_dump(mode="json"),
        "concurrency": args.concurrency,
        "coqlib_manifest_sha256": common["manifest"],
        "checkpoints": {name: checkpoint(path) for name, path in models.items()},
        "sets": {name: [t.name for t in theorems] for name, theorems in sets.items()},
    }
    out.write_text(json.dumps({**meta, "results": results, "runs": raw}, indent=1) + "\n")
    plot(out.with_suffix(".png"), results)
    write_markdown(out.with_suffix(".md"), meta, results)
    return out


def write_markdown(path: Path, meta: dict[str, Any], results: dict[str, list]) -> None:
    from prover.automation import TUNED_ON

    m = meta["machine"]
    dates = sorted(d for per_set in meta["run_dates"].values() for d in per_set.values())
    first, last = (dates[0], dates[-1]) if dates else (meta["date"], meta["date"])
    read = sorted({
        str(data) for c in meta["checkpoints"].values()
        for data in ((c["recipe"] or {}).get("data") or [])
    })  # fmt: skip
    lines = [
        "# Learned policies on held-out theorems",
        "",
        f"- date: {meta['date']}; machine: {m['cores']} cores, {m['cpu']}; Coq {meta['coq']}",
        f"- budget per theorem and method: {meta['budget_s']:g} s wall, at most "
        f"{meta['search']['max_expansions']} policy calls of "
        f"{meta['search']['tactics_per_expansion']} tactics; {meta['concurrency']} searches "
        f"at a time; sampling temperature {meta['sampling']['temperature']:g}, seed "
        f"{meta['sampling']['seed']}",
        f"- coqlib manifest sha256 {meta['coqlib_manifest_sha256']}",
        f"- method runs finished between {first} and {last} (UTC; `--resume` reads back "
        "finished runs, and each run's date is in the JSON's `run_dates`)",
        f"- training read: {', '.join(read) or 'see each checkpoint recipe'}; the model-free "
        f"policy was designed from {' and '.join(TUNED_ON)}, so its MiniF2F-Coq test figure "
        "is not a held-out one; no training read the coqlib test split or MiniF2F-Coq test, "
        "and nothing was tuned on the coqlib test split",
        "",
    ]
    for set_name, rows in results.items():
        lines += [f"## {set_name} ({len(meta['sets'][set_name])} theorems)", "", markdown(rows), ""]
        if meta["paired"].get(set_name):
            lines += [
                "Paired on the same theorems (wins: proved by the method only; losses: by the "
                "other only):",
                "",
                paired_markdown(meta["paired"][set_name]),
                "",
            ]
    lines += ["## Checkpoints", ""]
    for name, c in meta["checkpoints"].items():
        recipe = c["recipe"] or {}
        lines.append(
            f"- {name}: `{c['path']}` (weights sha256 {c['weights_sha256']}), loss "
            f"{recipe.get('loss')}, N {recipe.get('n')}, filter {recipe.get('filter')}, "
            f"{recipe.get('steps')} steps at batch {recipe.get('batch_size')}, lr "
            f"{recipe.get('learning_rate')}, {(c['built'] or {}).get('parameters')} parameters"
        )
    path.write_text("\n".join(lines) + "\n")


def run(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 200)
    out = asyncio.run(main(args, console))
    console.print(f"wrote {out}, {out.with_suffix('.md')} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    run()
