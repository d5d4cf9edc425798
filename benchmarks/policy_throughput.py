"""Benchmark: tactics/s of the transformers policy backend, batched vs one request at a time.

C concurrent "searches" each ask for one tactic at a time (``n = 1``, a ~``--prompt-tokens``
state, up to ``--new-tokens`` new tokens), as best-first searches do, until ``--requests``
tactics have been produced at that concurrency level. The same engine runs twice per level
in the same process: with request batching (``max_batch_rows = --max-batch-rows``) and one
request per decode (``max_batch_rows = 1``), so the ratio compares like with like.

It asserts nothing about time. It writes the raw figures to ``--out`` (JSON) and the table to
the same path with ``.md``. Run it from the repository root::

    python -m benchmarks.policy_throughput            # CPU: a small random model
    python -m benchmarks.policy_throughput --hidden-size 1024 --layers 40 --heads 16  # GPU, 0.38B
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from prover.config import BatchingConfig, SamplingConfig, TransformersBackendConfig
from prover.hf_backend import TransformersEngine, load_model
from prover.tiny_model import build_tiny_model

GOAL = "x y : R\nH : 0 < x\n============================\n x * y <= x ^ 2 + y ^ 2\n"


@dataclass
class Row:
    concurrency: int
    mode: str
    requests: int
    new_tokens: int
    wall_s: float
    batches: int

    @property
    def tactics_per_s(self) -> float:
        return self.requests / self.wall_s

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.wall_s


async def measure(
    engine: TransformersEngine,
    prompt_ids,
    concurrency: int,
    requests: int,
    new_tokens: int,
    mode: str,
) -> Row:
    sampling = SamplingConfig(temperature=1.0, max_tokens=new_tokens)
    remaining = requests
    produced = 0

    async def search() -> None:
        nonlocal remaining, produced
        while remaining > 0:
            remaining -= 1
            samples = await engine.sample(prompt_ids, 1, sampling)
            produced += len(samples[0].token_ids)

    before = engine.batcher.stats.batches
    started = time.perf_counter()
    await asyncio.gather(*(search() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return Row(concurrency, mode, requests, produced, wall, engine.batcher.stats.batches - before)


async def run(args: argparse.Namespace, model_dir: Path) -> list[Row]:
    model, tokenizer = load_model(str(model_dir), device=args.device)
    prompt = (GOAL * 64)[: args.prompt_tokens * 4]
    prompt_ids = tuple(tokenizer(prompt)["input_ids"][: args.prompt_tokens])
    rows: list[Row] = []
    for concurrency in args.concurrency:
        requests = max(args.requests, concurrency)
        # Modes alternate and each level keeps its median run: this machine is shared, and
        # alternation spreads the other load over both modes alike.
        runs: dict[str, list[Row]] = {"batched": [], "one at a time": []}
        for _ in range(args.repeats):
            for mode, max_rows in (("batched", args.max_batch_rows), ("one at a time", 1)):
                batching = BatchingConfig(max_batch_rows=max_rows, max_wait_ms=args.max_wait_ms)
                config = TransformersBackendConfig(model=str(model_dir), batching=batching)
                engine = TransformersEngine(model, tokenizer, config)
                await engine.sample(prompt_ids, 1, SamplingConfig(max_tokens=2))  # warm-up
                row = await measure(
                    engine, prompt_ids, concurrency, requests, args.new_tokens, mode
                )
                await engine.close()
                runs[mode].append(row)
        for mode, measured in runs.items():
            row = sorted(measured, key=lambda r: r.wall_s)[len(measured) // 2]
            rows.append(row)
            print(
                f"c={concurrency:4d} {mode:14s} {row.tactics_per_s:8.2f} tactics/s "
                f"{row.tokens_per_s:9.1f} tokens/s  {row.batches} batches  "
                f"(walls {', '.join(f'{r.wall_s:.2f}' for r in measured)} s)",
                flush=True,
            )
    return rows


def report(args: argparse.Namespace, rows: list[Row], device: str, params: int) -> str:
    by = {(r.concurrency, r.mode): r for r in rows}
    lines = [
        "# Policy throughput: transformers backend, batched vs one request at a time",
        "",
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads",
        f"- model: random-weight Llama-style, hidden {args.hidden_size}, {args.layers} layers, "
        f"{args.heads} heads, {params / 1e6:.1f} M parameters, float32 on CPU / bf16 on CUDA",
        f"- work: {args.prompt_tokens}-token prompt, up to {args.new_tokens} new tokens, n = 1, "
        f"at least {args.requests} requests per level, median of {args.repeats} runs "
        "(modes alternate); batching: at most "
        f"{args.max_batch_rows} rows, {args.max_wait_ms:g} ms wait",
        "",
        "| concurrency | batched tactics/s | one-at-a-time tactics/s | speed-up | "
        "batched new tokens/s | one-at-a-time new tokens/s | batches (batched) |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in args.concurrency:
        b, o = by[(c, "batched")], by[(c, "one at a time")]
        lines.append(
            f"| {c} | {b.tactics_per_s:.2f} | {o.tactics_per_s:.2f} | "
            f"{b.tactics_per_s / o.tactics_per_s:.2f}x | {b.tokens_per_s:.0f} | "
            f"{o.tokens_per_s:.0f} | {b.batches} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--requests", type=int, default=64, help="tactics per level (>= C)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per level; median kept")
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--max-batch-rows", type=int, default=128)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/policy-throughput.json")
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_model(
            Path(tmp) / "model",
            hidden_size=args.hidden_size,
            num_layers=args.layers,
            num_heads=args.heads,
        )
        rows = asyncio.run(run(args, model_dir))
        params = sum(p.numel() for p in load_model(str(model_dir), "cpu")[0].parameters())
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    table = report(args, rows, device if device != "auto" else "cpu", params)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    raw = [
        asdict(r) | {"tactics_per_s": r.tactics_per_s, "tokens_per_s": r.tokens_per_s} for r in rows
    ]
    args.out.write_text(
        json.dumps({"args": vars(args) | {"out": str(args.out)}, "rows": raw}, indent=2)
    )
    args.out.with_suffix(".md").write_text(table)


if __name__ == "__main__":
    main()
