"""Benchmark: does DCO(N) beat cross-entropy at pass@N, and where does it not?

Same model, data, optimiser and steps for every method; only the loss differs (``ce_loss`` or
``dco_loss`` with the confidence filter, from ``prover.losses``). Three synthetic tasks:

* ``mulmod`` (default): ``a*b mod 1000`` with clean labels. The last digit is a 100-entry
  table of the operands' last digits, which the model learns; the two digits above it are
  only partly learnable from 2,000 pairs by a model this small. So the best a policy can do
  on a new problem is to spread its probability over the candidates it cannot tell apart, as
  a prover policy does over lemma names: the regime the method is for. CE keeps sharpening on
  the training answers (memorising them) and grows confident and wrong on new problems; DCO
  stops sharpening an example once N samples already cover it.
* ``add`` (default): ``a+b`` with half of the training labels random. Learnable: the right
  answer can be driven to p ~ 1, which is what CE does; DCO caps confidence near 1/N by
  design, so it can only lose.
* ``mul``: ``a*b mod 2000`` with half of the training labels random, the issue's first setup.
  At CPU scale its outcome depends on the seed (see the README): DCO memorises the random
  labels too, because an example it does not fit keeps a weight near 1.

The answer is a single sequence (digits, least significant first, then EOS), so pass@k is
exact on each held-out problem: ``1 - (1 - p)^k`` with ``p`` the teacher-forced probability
of the right answer; no sampling. Curves for k = 1..256 at several training lengths go to a
PNG; all figures to JSON and Markdown. It asserts nothing. Run from the repository root::

    python -m benchmarks.dco_vs_ce --seed 0 --threads 1    # CPU scale, as in the README
    python -m benchmarks.dco_vs_ce --tasks mulmod mul add --steps 3000 --batch-size 256 \\
        --train-pairs 20000 --hidden-size 256 --layers 4   # the issue's scale, on a GPU
    python -m benchmarks.dco_vs_ce --summarise benchmarks/results/dco-vs-ce*.json
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


@dataclass(frozen=True)
class Task:
    """One synthetic task (named by its key in ``TASKS``): the operation, its modulus, and the
    defaults it is run with."""

    operation: str  # "mul" or "add"
    operand_max: int
    modulus: int
    noise: float  # fraction of training labels replaced by random answers
    train_pairs: int
    dco_ns: tuple[int, ...]  # the N values run by default
    learnable: bool  # whether the model can learn the rule (drives --train-pairs)

    @property
    def width(self) -> int:
        return len(str(self.modulus - 1))

    def answer(self, a: int, b: int) -> int:
        return (a * b if self.operation == "mul" else a + b) % self.modulus

    def encode(self, a: int, b: int, answer: int) -> tuple[list[int], list[int]]:
        op = TIMES if self.operation == "mul" else PLUS
        prompt = [BOS, *digits(a, 3), op, *digits(b, 3), EQUALS]
        return prompt, [*digits(answer, self.width), EOS]


TASKS = {
    "mulmod": Task("mul", 1000, 1000, 0.0, 2000, (16, 64, 256), learnable=False),
    "add": Task("add", 1000, 2000, 0.5, 8000, (64,), learnable=True),
    "mul": Task("mul", 1000, 2000, 0.5, 2000, (16, 64, 256), learnable=False),
}


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
        if len(index) == 0:  # a clean-label run has no noise rows
            continue
        out[name] = float(label_probabilities(model, train_ids[index], train_labels[index]).mean())
    return out


def evaluate(model, ids: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Exact pass@k on held-out problems: mean of 1 - (1 - p)^k, p teacher-forced."""
    p = label_probabilities(model, ids, labels)
    ks = torch.tensor(KS, dtype=torch.float64)
    # -expm1 keeps full relative precision where k * p is tiny (1 - exp would round it away)
    curve = -torch.expm1(ks[:, None] * torch.log1p(-p.clamp(max=1 - 1e-15))[None, :])
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
    # fractions of the run; with fewer steps than fractions, neighbours share a step
    checkpoints = {max(1, round(args.steps * f)) for f in args.eval_at}
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


def task_settings(task: Task, args: argparse.Namespace) -> tuple[int, float, tuple[int, ...]]:
    """(training pairs, noise, DCO N values) for one task: its defaults, or the command line's.
    ``--train-pairs`` sizes the tasks whose rule is not learnable, ``--add-train-pairs`` the
    learnable one (``add``)."""
    pairs = args.add_train_pairs if task.learnable else args.train_pairs
    ns = args.add_dco_n if task.learnable else args.dco_n
    return (
        task.train_pairs if pairs is None else pairs,
        task.noise if args.noise is None else args.noise,
        task.dco_ns if ns is None else tuple(ns),
    )


def best_checkpoint(run: dict, key: str) -> dict:
    return max(run["history"], key=lambda h: h[key])


@dataclass
class Headline:
    """What one task's runs say: at equal steps (the last checkpoint) the best DCO(N') by
    pass@64 against CE, and each side's best checkpoint by pass@256, since CE and DCO peak at
    different training lengths."""

    ce_run: dict
    dco_run: dict  # the best DCO(N') by pass@64 at the last checkpoint
    dco_peak_run: dict  # the DCO(N') with the best pass@256 at any checkpoint

    @classmethod
    def of(cls, runs: list[dict]) -> Headline:
        return cls(
            ce_run=runs[0],
            dco_run=max(runs[1:], key=lambda r: r["history"][-1]["pass@64"]),
            dco_peak_run=max(runs[1:], key=lambda r: best_checkpoint(r, "pass@256")["pass@256"]),
        )

    @property
    def ce(self) -> dict:
        return self.ce_run["history"][-1]

    @property
    def dco(self) -> dict:
        return self.dco_run["history"][-1]

    @property
    def ce_peak(self) -> dict:
        return best_checkpoint(self.ce_run, "pass@256")

    @property
    def dco_peak(self) -> dict:
        return best_checkpoint(self.dco_peak_run, "pass@256")

    def gain(self, key: str) -> float:
        """DCO minus CE at equal steps, in points."""
        return 100 * (self.dco[key] - self.ce[key])


def comparison(runs: list[dict]) -> list[str]:
    h = Headline.of(runs)
    ce, dco, ce_peak, dco_peak = h.ce, h.dco, h.ce_peak, h.dco_peak
    return [
        f"Equal steps ({ce['step']}): best DCO at pass@64 is {label(h.dco_run)}, "
        f"pass@64 {dco['pass@64']:.3f} vs CE {ce['pass@64']:.3f} "
        f"({h.gain('pass@64'):+.1f} points), pass@256 {dco['pass@256']:.3f} vs "
        f"{ce['pass@256']:.3f} ({h.gain('pass@256'):+.1f} points); pass@1 "
        f"{dco['pass@1']:.3f} vs {ce['pass@1']:.3f}.",
        "",
        f"Best checkpoints by pass@256: CE at step {ce_peak['step']} "
        f"(pass@64 {ce_peak['pass@64']:.3f}, pass@256 {ce_peak['pass@256']:.3f}); "
        f"{label(h.dco_peak_run)} at step {dco_peak['step']} "
        f"(pass@64 {dco_peak['pass@64']:.3f}, pass@256 {dco_peak['pass@256']:.3f}).",
    ]


def report(args, settings: dict, results: dict, wall_s: float) -> str:
    lines = [
        "# DCO vs CE: exact pass@k on held-out problems",
        "",
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}; "
        f"{os.cpu_count()} cores ({platform.machine()}), {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, {'CUDA' if torch.cuda.is_available() else 'CPU'}; "
        f"whole run {wall_s / 60:.1f} min; seed {args.seed}",
        f"- model: Qwen2-style, random init, hidden {args.hidden_size}, {args.layers} layers, "
        f"{args.heads} heads; AdamW lr {args.lr}, batch {args.batch_size}, {args.steps} steps",
        f"- {args.held_out} held-out problems per task, with their true answers",
        f"- DCO: confidence filter at F < {args.threshold} over a pool of "
        f"{args.pool_factor} x batch; CE trains on every drawn example",
        "",
    ]
    for task, runs in results.items():
        pairs, noise, _ = settings[task]
        lines += [
            f"## {task}",
            "",
            f"{pairs} training pairs, {noise:.0%} random labels.",
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
        lines += ["", *comparison(runs), ""]
    return "\n".join(lines)


def summarise(paths: list[Path]) -> str:
    """One row per (results file, task): the best DCO(N') minus CE at equal steps, and the
    best checkpoints; what the README's seed table is made from."""
    lines = [
        "| run | task | steps | best DCO(N') | pass@64 DCO − CE | pass@256 DCO − CE "
        "| CE best pass@256 (step) | DCO best pass@256 (step) |",
        "|---" * 8 + "|",
    ]
    for path in paths:
        data = read_results(path)
        for task, runs in data["results"].items():
            h = Headline.of(runs)
            lines.append(
                f"| {path.stem} (seed {data['args'].get('seed')}) | {task} | {h.ce['step']} "
                f"| {label(h.dco_run)} | {h.gain('pass@64'):+.1f} | {h.gain('pass@256'):+.1f} "
                f"| {h.ce_peak['pass@256']:.3f} ({h.ce_peak['step']}) "
                f"| {h.dco_peak['pass@256']:.3f} ({h.dco_peak['step']}, {label(h.dco_peak_run)}) |"
            )
    return "\n".join(lines)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def read_results(path: Path) -> dict:
    """A results JSON of this benchmark, or SystemExit with the file and what is wrong."""
    try:
        data = json.loads(path.read_text())
        for runs in data["results"].values():
            if runs[0]["method"] != "ce" or len(runs) < 2 or not runs[0]["history"]:
                raise ValueError("each task needs a CE run first, then DCO runs")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise SystemExit(f"{path}: not a dco_vs_ce results file ({error})") from None
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["mulmod", "add"], choices=list(TASKS))
    parser.add_argument(
        "--dco-n", type=int, nargs="+", default=None, help="N values for the unlearnable tasks"
    )
    parser.add_argument(
        "--add-dco-n", type=int, nargs="+", default=None, help="N values for the learnable task"
    )
    parser.add_argument(
        "--train-pairs", type=int, default=None, help="training pairs of mulmod and mul (2000)"
    )
    parser.add_argument(
        "--add-train-pairs",
        type=int,
        default=None,
        help="training pairs of add (8000: enough to learn the rule)",
    )
    parser.add_argument("--held-out", type=int, default=500)
    parser.add_argument(
        "--noise", type=float, default=None, help="random-label fraction for every task"
    )
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--eval-at", type=float, nargs="+", default=[i / 10 for i in range(1, 11)])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--pool-factor", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--hidden-size", type=int, default=96)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's)"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/dco-vs-ce.json"))
    parser.add_argument(
        "--plot-only",
        type=Path,
        default=None,
        help="redraw the PNG from a results JSON of an earlier run",
    )
    parser.add_argument(
        "--summarise",
        type=Path,
        nargs="+",
        default=None,
        help="print the DCO-vs-CE table of earlier results JSONs (several seeds) and exit",
    )
    args = parser.parse_args()
    if args.summarise:
        print(summarise(args.summarise))
        return
    if args.plot_only:
        plot(read_results(args.plot_only)["results"], args.plot_only.with_suffix(".png"))
        return
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    results, settings = {}, {}
    for task_name in args.tasks:
        task = TASKS[task_name]
        pairs, noise, ns = settings[task_name] = task_settings(task, args)
        generator = torch.Generator().manual_seed(args.seed)
        train_ids, train_labels, seen, corrupted = make_split(task, pairs, noise, generator)
        train_data = (train_ids, train_labels, corrupted)
        held_out = make_split(task, args.held_out, 0.0, generator, exclude=seen)[:2]
        print(f"{task_name}: {pairs} training pairs, {args.held_out} held out", flush=True)
        runs = [train_one(args, "ce", 1, train_data, held_out, args.seed)]
        runs += [train_one(args, "dco", n, train_data, held_out, args.seed) for n in ns]
        results[task_name] = runs
    wall = time.perf_counter() - started
    table = report(args, settings, results, wall)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"args": vars(args) | {"out": str(args.out)}, "results": results}, indent=1)
    )
    args.out.with_suffix(".md").write_text(table)
    plot(results, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
