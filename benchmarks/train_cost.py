"""Benchmark: what a training step costs, by loss and filter, and by model size.

Two questions, one run, on the same (state, tactic) data (the first ``--examples`` pairs of a
train split) and the same tokenizer:

1. **DCO_step against CE.** Steps per second of CE and of DCO_step with each confidence filter
   (``fresh``: a no-grad scoring pass over the pool; ``stale``: remembered confidences, no
   extra pass; ``none``), at one model size. The goal: DCO_step at most 1.5x a CE step.
2. **Size.** CE steps per second and the validation loss after ``--steps`` steps at several
   sizes, with the steps an hour would give: how the model size of the CPU recipe is chosen.
   With ``--size-seconds S`` each size then trains again from scratch for the steps its
   measured rate gives in S seconds, so the losses compare sizes at equal wall time.

Validation loss is the mean per-token cross-entropy of the training tactic on ``--valid``
pairs (the corpus's random-split valid pairs: no training read them). This is a measurement,
not a test. Run it from the repository root::

    python benchmarks/train_cost.py --corpus corpus --sizes 128x2,256x4,384x6
"""

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path (see benchmarks/search.py).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import datetime as dt
import json
import math
import tempfile
from collections.abc import Sequence

import torch

from prover.data import load_pairs
from prover.pair_scores import score_pairs
from prover.prompts import tactic_template
from prover.tiny_model import build_tiny_model
from prover.train import LossKind, TrainConfig, train
from search.machine import machine

RESULTS = Path(__file__).resolve().parent / "results"


def valid_loss(model_dir: Path, pairs: Path, count: int, max_length: int) -> float:
    """Mean per-token CE of the tactic (and its end) on the first ``count`` encodable pairs."""
    return score_pairs(model_dir, pairs, count, max_length).nats_per_token


def time_training(config: TrainConfig, examples, base: Path, out: Path) -> dict:
    summary = train(config, examples, str(base), out)
    runtime = summary["train_runtime_s"]
    return {"steps": config.steps, "runtime_s": round(runtime, 2),
            "steps_per_s": config.steps / runtime if runtime else None,
            "final_loss": summary["train_loss"]}  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="`prover trace` output")
    parser.add_argument(
        "--tokenizer",
        type=Path,
        default=None,
        help="a model directory whose tokenizer to use (default: learnt here)",
    )
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--size", default="256x4", help="HIDDENxLAYERS of the loss comparison")
    parser.add_argument("--sizes", default="128x2,256x4,384x6", help="sizes of the sweep")
    parser.add_argument("--n-eff", type=float, default=16.0)
    parser.add_argument("--valid-pairs", type=int, default=500)
    parser.add_argument(
        "--size-seconds",
        type=float,
        default=0.0,
        help="also train each size for this wall time (its steps/s x S)",
    )
    parser.add_argument("--part", choices=["both", "losses", "sizes"], default="both")
    parser.add_argument("--out", type=Path, default=RESULTS / "train-cost.json")
    return parser.parse_args(argv)


def shape(text: str) -> tuple[int, int]:
    hidden, layers = text.lower().split("x")
    return int(hidden), int(layers)


def main(args: argparse.Namespace) -> None:
    from transformers import AutoTokenizer

    from prover.corpus_text import corpus_texts
    from prover.tokenizer import train_tokenizer

    train_pairs = args.corpus / "pairs-random-train.jsonl"
    valid_pairs = args.corpus / "pairs-random-valid.jsonl"
    if not valid_pairs.exists():
        with (args.corpus / "pairs.jsonl").open() as every, valid_pairs.open("w") as sink:
            sink.writelines(line for line in every if json.loads(line)["random"] == "valid")
    if args.tokenizer:
        tokenizer = AutoTokenizer.from_pretrained(str(args.tokenizer))
    else:
        tokenizer = train_tokenizer(corpus_texts([train_pairs], 200_000), 4096)
    examples = load_pairs(train_pairs, tactic_template("tactic-state-v1"))[: args.examples]
    base = {"batch_size": args.batch_size, "steps": args.steps, "max_length": args.max_length,
            "warmup_ratio": 0.0, "save_steps": 10**6, "n": args.n_eff}  # fmt: skip
    report: dict = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "machine": machine(), "torch_threads": torch.get_num_threads(),
                    "settings": {**vars(args), "corpus": str(args.corpus), "out": str(args.out),
                                 "tokenizer": str(args.tokenizer)},
                    "losses": [], "sizes": []}  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)

        def model(hidden: int, layers: int) -> Path:
            heads = max(2, hidden // 64)
            return build_tiny_model(
                work / f"m{hidden}x{layers}", hidden_size=hidden, num_layers=layers,
                num_heads=heads, tokenizer=tokenizer,
            )  # fmt: skip

        hidden, layers = shape(args.size)
        chosen = model(hidden, layers)
        variants = [("CE", {"loss": LossKind.CE})] + [
            (f"DCO_step, filter {f}", {"loss": LossKind.DCO_STEP, "filter": f})
            for f in ("fresh", "stale", "none")
        ]
        if args.part == "sizes":
            variants = []
        for name, extra in variants:
            row = time_training(TrainConfig(**base, **extra), examples, chosen, work / name)
            report["losses"].append({"variant": name, **row})
            print(name, row, flush=True)
        ce_rate = report["losses"][0]["steps_per_s"] if report["losses"] else None
        for row in report["losses"]:
            row["cost_vs_ce"] = ce_rate / row["steps_per_s"] if row["steps_per_s"] else None
        for text in args.sizes.split(",") if args.part != "losses" else []:
            hidden, layers = shape(text)
            directory = model(hidden, layers)
            params = json.loads((directory / "dcoprover_model.json").read_text())["parameters"]
            row = time_training(TrainConfig(**base, loss=LossKind.CE), examples, directory,
                                work / f"ce-{text}")  # fmt: skip
            row["valid_loss"] = valid_loss(work / f"ce-{text}", valid_pairs, args.valid_pairs,
                                           args.max_length)  # fmt: skip
            row |= {
                "size": text,
                "parameters": params,
                "steps_per_hour": 3600 * row["steps_per_s"] if row["steps_per_s"] else None,
            }
            if args.size_seconds and row["steps_per_s"]:
                steps = max(1, round(args.size_seconds * row["steps_per_s"]))
                timed = time_training(TrainConfig(**base | {"steps": steps}, loss=LossKind.CE),
                                      examples, directory, work / f"ce-{text}-timed")  # fmt: skip
                timed["valid_loss"] = valid_loss(work / f"ce-{text}-timed", valid_pairs,
                                                 args.valid_pairs, args.max_length)  # fmt: skip
                row["equal_time"] = timed
            report["sizes"].append(row)
            print(text, row, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    write_markdown(args.out.with_suffix(".md"), report)


def write_markdown(path: Path, report: dict) -> None:
    m, s = report["machine"], report["settings"]
    lines = [
        "# Training cost: DCO_step against CE, and model size",
        "",
        f"- date: {report['date']}; machine: {m['cores']} cores, {m['cpu']}; torch threads "
        f"{report['torch_threads']}",
        f"- data: the first {s['examples']} pairs of {s['corpus']}/pairs-random-train.jsonl "
        f"(train split), batch {s['batch_size']}, max length {s['max_length']}, {s['steps']} "
        f"steps per run; validation: {s['valid_pairs']} random-split valid pairs",
        "",
        f"## Cost per step at {s['size']} (N_eff {s['n_eff']:g})",
        "",
        "| variant | steps/s | cost vs CE | final loss |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['variant']} | {r['steps_per_s']:.2f} | {r['cost_vs_ce']:.2f}x | "
              f"{r['final_loss']:.3f} |" for r in report["losses"]]  # fmt: skip
    if not report["losses"]:
        lines.append("| not run (`--part sizes`) | | | |")
    lines += ["", "## Size (CE)", "", "| size | parameters | steps/s | steps per hour | "
              f"valid loss after {s['steps']} steps |", "|---|---|---|---|---|"]  # fmt: skip
    lines += [
        f"| {r['size']} | {r['parameters']:,} | {r['steps_per_s']:.2f} | "
        f"{r['steps_per_hour']:,.0f} | {r['valid_loss']:.3f} |"
        for r in report["sizes"]
    ]
    timed = [r for r in report["sizes"] if "equal_time" in r]
    if timed:
        lines += [
            "",
            f"## Size at equal wall time (CE; steps = {s['size_seconds']:g} s x the rate of "
            "the short run above, so the wall each took is in the table)",
            "",
            "| size | parameters | steps | wall s | valid loss |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {r['size']} | {r['parameters']:,} | {r['equal_time']['steps']} | "
                  f"{r['equal_time']['runtime_s']:.0f} | {r['equal_time']['valid_loss']:.3f} |"
                  for r in timed]  # fmt: skip
    lines.append("")
    lines.append(
        f"(perplexity = exp(valid loss); e.g. {math.exp(report['sizes'][0]['valid_loss']):.1f} "
        f"for {report['sizes'][0]['size']})"
        if report["sizes"]
        else ""
    )
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(parse_args())
