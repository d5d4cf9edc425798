"""Benchmark: does DCO(N) beat cross-entropy at pass@N, and where does it not?

Same model, data, optimiser and steps for every method; only the loss differs (``ce_loss`` or
``dco_loss`` with the confidence filter, from ``prover.losses``). Two synthetic tasks:

* ``mul``: ``a*b mod M``, with half of the training labels replaced by random numbers. The
  mapping is not learnable by a model this small in this many steps, so the policy cannot
  reach certainty: the regime the method is for. CE keeps sharpening on the training labels
  (memorising noise) and grows confident and wrong on new problems; DCO stops sharpening an
  example once N samples already cover it.
* ``add``: ``a+b``, the same noise. Learnable: the right answer can be driven to p ~ 1, which
  is what CE does; DCO caps confidence near 1/N by design, so it can only lose at small k.

The answer is a single sequence (digits, least significant first, then EOS), so pass@k is
exact on each held-out problem: ``1 - (1 - p)^k`` with ``p`` the teacher-forced probability
of the right answer; no sampling. Curves for k = 1..256 at several training lengths go to a
PNG; all figures to JSON and Markdown. It asserts nothing. Run from the repository root::

    python -m benchmarks.dco_vs_ce                 # CPU scale (about 10-15 minutes on 2 cores)
    python -m benchmarks.dco_vs_ce --steps 3000 --batch-size 256 --train-pairs 20000 \\
        --hidden-size 256 --layers 4               # the issue's scale, on a GPU
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from prover.losses import ce_loss, dco_loss, dco_weight, keep_informative, sequence_logprobs
from prover.train import token_logprobs

DIGITS = 10
TIMES, PLUS, EQUALS, EOS, PAD, BOS = range(DIGITS, DIGITS + 6)
VOCAB = DIGITS + 6
KS = list(range(1, 257))
REPORTED_KS = (1, 4, 16, 64, 256)


def digits(value: int, width: int) -> list[int]:
    """Least significant digit first, padded to ``width`` (carries then flow left to right)."""
    return [(value // 10**i) % 10 for i in range(width)]


@dataclass
class Task:
    name: str
    operand_max: int
    modulus: int

    @property
    def width(self) -> int:
        return len(str(self.modulus - 1))

    def answer(self, a: int, b: int) -> int:
        return (a * b if self.name == "mul" else a + b) % self.modulus

    def encode(self, a: int, b: int, answer: int) -> tuple[list[int], list[int]]:
        op = TIMES if self.name == "mul" else PLUS
        prompt = [BOS, *digits(a, 3), op, *digits(b, 3), EQUALS]
        return prompt, [*digits(answer, self.width), EOS]


TASKS = {"mul": Task("mul", 1000, 2000), "add": Task("add", 1000, 2000)}


def make_split(
    task: Task,
    count: int,
    noise: float,
    generator: torch.Generator,
    exclude: set[tuple[int, int]] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, set, torch.Tensor]:
    """(input_ids, labels, pairs used, corrupted): ``noise`` of the labels are uniform random
    answers; ``corrupted`` marks the rows whose label is not the true answer."""
    seen: set[tuple[int, int]] = set()
    rows, labels, corrupted = [], [], []
    while len(rows) < count:
        a, b = torch.randint(0, task.operand_max, (2,), generator=generator).tolist()
        if (a, b) in seen or (exclude and (a, b) in exclude):
            continue
        seen.add((a, b))
        answer = task.answer(a, b)
        if torch.rand((), generator=generator) < noise:
            answer = int(torch.randint(0, task.modulus, (), generator=generator))
        corrupted.append(answer != task.answer(a, b))
        prompt, target = task.encode(a, b, answer)
        rows.append(prompt + target)
        labels.append([-100] * len(prompt) + target)
    return torch.tensor(rows), torch.tensor(labels), seen, torch.tensor(corrupted)


def build_model(args: argparse.Namespace, seed: int):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=VOCAB,
        hidden_size=args.hidden_size,
        intermediate_size=4 * args.hidden_size,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.heads,
        max_position_embeddings=32,
        bos_token_id=BOS,
        eos_token_id=EOS,
        pad_token_id=PAD,
        tie_word_embeddings=True,
    )
    return Qwen2ForCausalLM(config)


def batch_of(ids: torch.Tensor, labels: torch.Tensor) -> dict:
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}


@torch.no_grad()
def label_probabilities(model, ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Teacher-forced probability of each row's label (float64)."""
    model.eval()
    logp = []
    for start in range(0, len(ids), 512):
        lp, mask = token_logprobs(
            model, batch_of(ids[start : start + 512], labels[start : start + 512])
        )
        logp.append(sequence_logprobs(lp.double(), mask.double()))
    model.train()
    return torch.exp(torch.cat(logp))


def memorisation(model, train_ids, train_labels, corrupted, rows: int = 500) -> dict[str, float]:
    """Mean probability the model gives the *training* label, on rows whose label is the true
    answer and on rows whose label is random noise: the second rising means the model is
    memorising noise, which is what costs held-out pass@k late in training."""
    out = {}
    for name, rows_mask in (("train_p_true_label", ~corrupted), ("train_p_noise_label", corrupted)):
        index = rows_mask.nonzero().flatten()[:rows]
        out[name] = float(label_probabilities(model, train_ids[index], train_labels[index]).mean())
    return out


def evaluate(model, ids: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Exact pass@k on held-out problems: mean of 1 - (1 - p)^k, p teacher-forced."""
    p = label_probabilities(model, ids, labels)
    ks = torch.tensor(KS, dtype=torch.float64)
    curve = 1 - torch.exp(ks[:, None] * torch.log1p(-p.clamp(max=1 - 1e-15))[None, :])
    return {f"pass@{k}": float(v) for k, v in zip(KS, curve.mean(dim=1).tolist(), strict=True)} | {
        "mean_p": float(p.mean()),
        "median_p": float(p.median()),
    }


def train_one(args, method: str, n: int, train_data, held_out, seed: int) -> dict:
    """Train from scratch with one loss; evaluate at each checkpoint step."""
    model = build_model(args, seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed + 1)
    ids, labels, corrupted = train_data
    pool = args.batch_size * (1 if method == "ce" else args.pool_factor)
    checkpoints = {round(args.steps * f) for f in args.eval_at}
    history, dropped, seen = [], 0, 0
    started = time.perf_counter()
    for step in range(1, args.steps + 1):
        index = torch.randint(0, len(ids), (pool,), generator=generator)
        batch = batch_of(ids[index], labels[index])
        if method != "ce":
            with torch.no_grad():
                lp, mask = token_logprobs(model, batch)
                weights = dco_weight(sequence_logprobs(lp, mask), n)
                keep = keep_informative(weights, args.batch_size, args.threshold)
            dropped += int((weights < args.threshold).sum())
            seen += pool
            batch = {key: value[keep] for key, value in batch.items()}
        if len(batch["input_ids"]):
            lp, mask = token_logprobs(model, batch)
            loss = ce_loss(lp, mask) if method == "ce" else dco_loss(lp, mask, n)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if step in checkpoints:
            row = {"step": step, "wall_s": time.perf_counter() - started}
            row |= evaluate(model, *held_out)
            row |= memorisation(model, ids, labels, corrupted)
            row["dropped_fraction"] = dropped / seen if seen else 0.0
            history.append(row)
            print(
                f"  {method}{'' if method == 'ce' else f'({n})'} step {step}: "
                f"pass@1 {row['pass@1']:.3f} pass@64 {row['pass@64']:.3f} "
                f"pass@256 {row['pass@256']:.3f} ({row['wall_s']:.0f} s)",
                flush=True,
            )
    return {"method": method, "n": n, "history": history}


def label(run: dict) -> str:
    return "CE" if run["method"] == "ce" else f"DCO({run['n']})"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(results)
    fig, axes = plt.subplots(2, len(tasks), figsize=(6 * len(tasks), 9), squeeze=False)
    for column, task in enumerate(tasks):
        runs = results[task]
        ax = axes[0][column]
        for index, run in enumerate(runs):
            final = run["history"][-1]
            ax.plot(KS, [final[f"pass@{k}"] for k in KS], color=f"C{index}", label=label(run))
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k")
        ax.set_ylabel("pass@k (held-out, exact)")
        ax.set_title(f"{task}: after {runs[0]['history'][-1]['step']} steps")
        ax.legend()
        ax = axes[1][column]
        for index, run in enumerate(runs):
            steps = [h["step"] for h in run["history"]]
            color = f"C{index}"
            for k, style in ((256, "-"), (64, "--")):
                ax.plot(
                    steps,
                    [h[f"pass@{k}"] for h in run["history"]],
                    linestyle=style,
                    marker="o",
                    color=color,
                    label=f"{label(run)} pass@{k}",
                )
        ax.set_xlabel("training steps")
        ax.set_ylabel("pass@k")
        ax.set_title(f"{task}: pass@256 (solid) and pass@64 (dashed) vs training steps")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(args, results: dict, wall_s: float) -> str:
    lines = [
        "# DCO vs CE: exact pass@k on held-out problems",
        "",
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}; "
        f"{os.cpu_count()} cores ({platform.machine()}), torch {torch.__version__}, "
        f"{'CUDA' if torch.cuda.is_available() else 'CPU'}; whole run {wall_s / 60:.1f} min",
        f"- model: Qwen2-style, random init, hidden {args.hidden_size}, {args.layers} layers, "
        f"{args.heads} heads; AdamW lr {args.lr}, batch {args.batch_size}, {args.steps} steps",
        f"- data: {args.train_pairs} training pairs for mul, {args.add_train_pairs} for add, "
        f"{args.noise:.0%} random labels; "
        f"{args.held_out} held-out problems with their true answers",
        f"- DCO: confidence filter at F < {args.threshold} over a pool of "
        f"{args.pool_factor} x batch; CE trains on every drawn example",
        "",
    ]
    for task, runs in results.items():
        lines += [
            f"## {task}",
            "",
            "| method | step | "
            + " | ".join(f"pass@{k}" for k in REPORTED_KS)
            + " | dropped | p(train label), true | p(train label), noise |",
            "|---" * (len(REPORTED_KS) + 5) + "|",
        ]
        for run in runs:
            for h in run["history"]:
                cells = " | ".join(f"{h[f'pass@{k}']:.3f}" for k in REPORTED_KS)
                memorised = " | ".join(
                    f"{h[key]:.3f}" if key in h else "n/a"
                    for key in ("train_p_true_label", "train_p_noise_label")
                )
                lines.append(
                    f"| {label(run)} | {h['step']} | {cells} | {h['dropped_fraction']:.0%} "
                    f"| {memorised} |"
                )
        ce = runs[0]["history"][-1]
        best = max(runs[1:], key=lambda r: r["history"][-1]["pass@64"])
        final = best["history"][-1]
        lines += [
            "",
            f"Best DCO at pass@64 after {ce['step']} steps: {label(best)}, "
            f"pass@64 {final['pass@64']:.3f} vs CE {ce['pass@64']:.3f} "
            f"({100 * (final['pass@64'] - ce['pass@64']):+.1f} points), pass@256 "
            f"{final['pass@256']:.3f} vs {ce['pass@256']:.3f} "
            f"({100 * (final['pass@256'] - ce['pass@256']):+.1f} points); pass@1 "
            f"{final['pass@1']:.3f} vs {ce['pass@1']:.3f}.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["mul", "add"], choices=list(TASKS))
    parser.add_argument("--dco-n", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument(
        "--add-dco-n", type=int, nargs="+", default=[64], help="N values run on the learnable task"
    )
    parser.add_argument("--train-pairs", type=int, default=2000, help="mul training pairs")
    parser.add_argument(
        "--add-train-pairs",
        type=int,
        default=8000,
        help="add training pairs (enough to learn the rule)",
    )
    parser.add_argument("--held-out", type=int, default=500)
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--eval-at", type=float, nargs="+", default=[0.2, 0.4, 0.6, 0.8, 1.0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--pool-factor", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--hidden-size", type=int, default=96)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/dco-vs-ce.json"))
    parser.add_argument(
        "--plot-only",
        type=Path,
        default=None,
        help="redraw the PNG from a results JSON of an earlier run",
    )
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads(args.plot_only.read_text())["results"], args.plot_only.with_suffix(".png"))
        return
    started = time.perf_counter()
    results = {}
    for task_name in args.tasks:
        task = TASKS[task_name]
        generator = torch.Generator().manual_seed(args.seed)
        pairs = args.train_pairs if task_name == "mul" else args.add_train_pairs
        train_ids, train_labels, seen, corrupted = make_split(task, pairs, args.noise, generator)
        train_data = (train_ids, train_labels, corrupted)
        held_out = make_split(task, args.held_out, 0.0, generator, exclude=seen)[:2]
        print(f"{task_name}: {pairs} training pairs, {args.held_out} held out", flush=True)
        ns = args.dco_n if task_name == "mul" else args.add_dco_n
        runs = [train_one(args, "ce", 1, train_data, held_out, args.seed)]
        runs += [train_one(args, "dco", n, train_data, held_out, args.seed) for n in ns]
        results[task_name] = runs
    wall = time.perf_counter() - started
    table = report(args, results, wall)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"args": vars(args) | {"out": str(args.out)}, "results": results}, indent=1)
    )
    args.out.with_suffix(".md").write_text(table)
    plot(results, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
