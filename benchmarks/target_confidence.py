"""Benchmark: how confident trained models are in the training tactic, against what DCO caps.

DCO_step weights each example's cross-entropy by ``F(N_eff, p)`` and its filter skips an
example once ``F`` falls below the threshold: both act only where the model gives the tactic a
probability ``p`` near or above ``1/N_eff``. Whether CE and DCO_step can differ after a given
training is therefore read off the distribution of ``p``, not off its mean alone. For each
model this reports, on a fixed sample of the corpus's random-split train pairs (what the
recipe's trainings read) and of its valid pairs (what no training read): the validation loss,
the mean and deciles of ``p``, and for each N the share of pairs with ``p > 1/N``, the mean
``F(N, p)`` and the share the filter would skip; and the last ``mean_target_prob`` and
``dropped_fraction`` the training logged. This is a measurement, not a test. Run it from the
repository root::

    python -m benchmarks.target_confidence --models ce=models/ce,dco4=models/dco4 \\
        --corpus corpus --out benchmarks/results/target-confidence.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from benchmarks.learned_policy import bench, checkpoint, parse_models
from benchmarks.results_files import write_results
from prover.losses import dco_weight
from prover.pair_scores import score_pairs
from search.machine import describe, machine

RESULTS = Path(__file__).resolve().parent / "results"


def confidence(logprobs: Sequence[float], ns: Sequence[float], threshold: float) -> dict:
    """What DCO sees in these log p: quantiles of p, and per N the share past 1/N, the mean
    weight F(N, p) and the share the filter skips (F below ``threshold``)."""
    probs = sorted(math.exp(lp) for lp in logprobs)
    if not probs:
        return {"pairs": 0}
    seq = torch.tensor(list(logprobs), dtype=torch.float64)
    # "inclusive": deciles within the sample's range (the default extrapolates past 0 and 1).
    deciles = statistics.quantiles(probs, n=10, method="inclusive") if len(probs) > 1 else probs * 9
    per_n = {}
    for n in ns:
        weights = dco_weight(seq, n)
        per_n[f"{n:g}"] = {
            "share_above_1_over_n": sum(p > 1 / n for p in probs) / len(probs),
            "mean_weight": float(weights.mean()),
            "share_skipped": float((weights < threshold).double().mean()),
        }
    return {
        "pairs": len(probs),
        "mean_p": statistics.fmean(probs),
        "median_p": statistics.median(probs),
        "p10": deciles[0],
        "p90": deciles[-1],
        "by_n": per_n,
    }


def sample_pairs(source: Path, out: Path, count: int, split: str | None = None) -> Path:
    """``count`` pairs spread evenly over ``source`` (of the random split ``split`` only, if
    given), into ``out``: the files are in library order, so their first pairs would all be
    arithmetic. The test split's pairs (coqlib test theorems) are never kept."""
    with source.open() as rows:
        lines = [
            line for line in rows
            if split is None or json.loads(line).get("random") == split
        ]  # fmt: skip
    step = max(len(lines) / count, 1.0)
    picked = sorted({int(i * step) for i in range(min(count, len(lines)))})
    out.write_text("".join(lines[i] for i in picked))
    return out


def last_logged(model_dir: Path) -> dict[str, float | None]:
    """The last ``mean_target_prob`` and ``dropped_fraction`` of the model's train_log.jsonl."""
    found: dict[str, float | None] = {"mean_target_prob": None, "dropped_fraction": None}
    log = model_dir / "train_log.jsonl"
    if log.is_file():
        for line in log.read_text().splitlines():
            row = json.loads(line)
            for key in found:
                if isinstance(row.get(key), int | float):
                    found[key] = row[key]
    return found


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _confidence_cells(name: str, row: dict[str, Any], ns: list[float], width: int) -> list[str]:
    """One model's row of the confidence table (blank where it scored no pairs)."""
    if not row["pairs"]:
        return [name, "no pairs"] + [""] * (width - 2)
    by_n = row["by_n"]
    cells = [name, f"{row['nats_per_token']:.3f}", f"{row['mean_p']:.3f}",
             f"{row['median_p']:.2g}", f"{row['p10']:.2g}", f"{row['p90']:.3f}"]  # fmt: skip
    cells += [f"{by_n[f'{n:g}']['share_above_1_over_n']:.1%}" for n in ns]
    cells += [f"{by_n[f'{n:g}']['mean_weight']:.3f}" for n in ns]
    cells += [f"{by_n[f'{n:g}']['share_skipped']:.1%}" for n in ns]
    return cells


def markdown(report: dict[str, Any]) -> str:
    ns = report["n_eff"]
    lines = [
        "# How confident the trained models are in the training tactic",
        "",
        f"- date: {report['date']}; machine: {describe(report['machine'])}",
        f"- pairs: {report['count']} spread evenly over each file, of which those that fit the "
        f"max length ({report['max_length'] or 'each model’s training max length'}) are "
        f"scored, prompted as each model was trained; filter threshold "
        f"{report['threshold']:g}",
        "",
    ]
    header = ["model", "nats/token", "mean p", "median p", "p10", "p90"]
    header += [f"p > 1/{n:g}" for n in ns] + [f"mean F({n:g})" for n in ns]
    header += [f"skipped at N={n:g}" for n in ns]
    for set_name, rows in report["sets"].items():
        body = [_confidence_cells(name, row, ns, len(header)) for name, row in rows.items()]
        lines += [f"## {set_name}: `{report['files'][set_name]}`", "",
                  bench.markdown_table(header, body), ""]  # fmt: skip
    logged_header = ["model", "loss", "N_eff", "steps", "mean_target_prob", "dropped_fraction"]
    logged = []
    for name, c in report["checkpoints"].items():
        recipe, last = c["recipe"] or {}, report["logged"][name]
        logged.append([name, str(recipe.get("loss")), str(recipe.get("n")),
                       str(recipe.get("steps")), _number(last["mean_target_prob"]),
                       _number(last["dropped_fraction"])])  # fmt: skip
    lines += ["## What training logged last", "", bench.markdown_table(logged_header, logged)]
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", required=True, help="NAME=DIR,NAME=DIR,...")
    parser.add_argument("--corpus", type=Path, required=True, help="`prover trace` output")
    parser.add_argument("--count", type=int, default=2000, help="pairs sampled per file")
    parser.add_argument(
        "--max-length", type=int, default=None, help="default: each model's training max length"
    )
    parser.add_argument("--n-eff", default="4,16,64", help="the N values to report")
    parser.add_argument("--threshold", type=float, default=0.1, help="the filter's threshold")
    parser.add_argument("--out", type=Path, default=RESULTS / "target-confidence.json")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be at least 1, not {args.count}")
    try:
        args.ns = [float(n) for n in args.n_eff.split(",")]
    except ValueError:
        parser.error(f"--n-eff must be numbers separated by commas, not {args.n_eff!r}")
    if any(not n >= 1 for n in args.ns):
        parser.error(f"--n-eff values must be at least 1 (N samples), not {args.n_eff!r}")
    for name in ("pairs-random-train.jsonl", "pairs.jsonl"):
        if not (args.corpus / name).is_file():
            parser.error(f"--corpus {args.corpus}: no {name} (give a folder `prover trace` wrote)")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    models = parse_models(args.models)
    ns = args.ns
    with tempfile.TemporaryDirectory(prefix="dcoprover-confidence-") as work:
        files = {
            "train": sample_pairs(args.corpus / "pairs-random-train.jsonl",
                                  Path(work) / "train.jsonl", args.count),
            "valid": sample_pairs(args.corpus / "pairs.jsonl", Path(work) / "valid.jsonl",
                                  args.count, split="valid"),
        }  # fmt: skip
        return measure(args, models, ns, files)


def measure(
    args: argparse.Namespace, models: dict[str, Path], ns: list[float], files: dict[str, Path]
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "count": args.count,
        "max_length": args.max_length,
        "threshold": args.threshold,
        "n_eff": ns,
        "files": {
            "train": str(args.corpus / "pairs-random-train.jsonl"),
            "valid": f"{args.corpus / 'pairs.jsonl'}, random split valid",
        },
        "checkpoints": {name: checkpoint(path) for name, path in models.items()},
        "logged": {name: last_logged(path) for name, path in models.items()},
        "sets": {},
    }
    for set_name, path in files.items():
        report["sets"][set_name] = {}
        for name, directory in models.items():
            recipe = report["checkpoints"][name]["recipe"] or {}
            scores = score_pairs(
                directory,
                path,
                args.count,  # all of the sample that fits
                args.max_length or recipe.get("max_length", 512),
                recipe.get("tactic_template", "tactic-state-v1"),
            )
            report["sets"][set_name][name] = {
                "nats_per_token": scores.nats_per_token if scores.tokens else None,
                **confidence(scores.logprobs, ns, args.threshold),
            }
    write_results(args.out, report, markdown(report))
    return report


if __name__ == "__main__":
    main()
