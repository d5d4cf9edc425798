"""Benchmark: one expansion's policy latency, shared prefill against one prefill per sample.

A best-first expansion asks the policy for ``n`` tactics of one state. Since the shared
prefill (``prover.generation.BatchSampler._prefill``) the prompt is encoded once and its
key/value cache copied to the ``n`` rows, and only the last position's logits are computed.
Before it, each of the ``n`` rows encoded the same prompt and kept the logits of every prompt
position. This benchmark runs both, in the same process on the same model and the same real
proof states, through the policy a search calls (``ModelPolicy.tactics``: template,
tokenisation, request batcher, decoding, cleaning), and reports the median latency per
expansion and the ratio. The old path is rebuilt here as a subclass overriding only the
prefill, so the decoding loop is the same code in both modes.

Seeded sampling makes both modes draw the same tactics where their logits agree to float
precision; the share of identical expansions is reported as a check that they do the same work.

It asserts nothing about time. Run it from the repository root::

    python benchmarks/expansion_latency.py --model MODEL_DIR --pairs CORPUS/pairs-random-valid.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prover.batching import RequestBatcher
from prover.config import PolicyConfig, SamplingConfig, TransformersBackendConfig
from prover.data import jsonl_rows
from prover.generation import BatchSampler
from prover.hf_backend import TransformersCompleter, TransformersEngine, load_model
from prover.model_policy import ModelPolicy
from search.types import ProofState, Theorem

MODES = ("shared prefill", "prefill per sample")


class PerSamplePrefill(BatchSampler):
    """The sampler as it was before the shared prefill: every row encodes its own copy of
    its prompt, and the logits of every prompt position are computed."""

    def _prefill(self, rows):
        width = max(len(row.request_spec.prompt_ids) for row in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            prompt = row.request_spec.prompt_ids
            input_ids[i, width - len(prompt) :] = torch.tensor(prompt)
            attention[i, width - len(prompt) :] = 1
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        output = self.model(
            input_ids=input_ids, attention_mask=attention, position_ids=positions, use_cache=True
        )
        return output.logits[:, -1, :], output.past_key_values, attention, positions


def policy_for(mode: str, model, tokenizer, model_dir: str, sampling: SamplingConfig):
    engine = TransformersEngine(model, tokenizer, TransformersBackendConfig(model=model_dir))
    if mode == "prefill per sample":
        engine.sampler = PerSamplePrefill(model, tokenizer)
        engine.batcher = RequestBatcher(engine.sampler, engine.config.batching)
    return ModelPolicy(TransformersCompleter(engine), PolicyConfig(sampling=sampling), mode)


def real_states(
    pairs: Path, count: int, seed: int, tokenizer, tokens: tuple[int, int]
) -> list[str]:
    """``count`` distinct proof states from a corpus split, drawn with a fixed seed, among
    those whose length in tokens is within ``tokens`` (a search skips too long ones)."""
    states = sorted({row["state"] for _, row in jsonl_rows(pairs)})
    random.Random(seed).shuffle(states)
    shortest, longest = tokens
    fitting = (s for s in states if shortest <= len(tokenizer(s)["input_ids"]) <= longest)
    return [state for state, _ in zip(fitting, range(count), strict=False)]


async def expand(policy: ModelPolicy, state: str, n: int) -> tuple[float, list[str]]:
    theorem = Theorem(name="bench", statement="Theorem bench : True.")
    started = time.perf_counter()
    candidates = await policy.tactics(theorem, ProofState(key=0, goals=(state,)), n)
    return time.perf_counter() - started, [c.text for c in candidates]


async def run(args: argparse.Namespace) -> dict:
    model, tokenizer = load_model(args.model, device="cpu")
    tokens = (args.min_state_tokens, args.max_state_tokens)
    states = real_states(args.pairs, args.states, args.seed, tokenizer, tokens)
    prompt_tokens = [len(tokenizer(s)["input_ids"]) for s in states]
    result: dict = {"states": len(states), "prompt_tokens_median": statistics.median(prompt_tokens)}
    for n in args.n:
        latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
        drawn: dict[str, list[list[str]]] = {mode: [] for mode in MODES}
        for repeat in range(args.repeats):
            # The modes alternate state by state, so other load on the machine falls on both.
            for index, state in enumerate(states):
                sampling = SamplingConfig(max_tokens=args.max_tokens, seed=1000 * repeat + index)
                for mode in MODES:
                    policy = policy_for(mode, model, tokenizer, args.model, sampling)
                    seconds, tactics = await expand(policy, state, n)
                    await policy.close()
                    latencies[mode].append(seconds)
                    drawn[mode].append(tactics)
        same = sum(a == b for a, b in zip(*drawn.values(), strict=True)) / len(drawn[MODES[0]])
        medians = {mode: statistics.median(values) for mode, values in latencies.items()}
        result[f"n={n}"] = {
            "median_s": medians,
            "mean_s": {mode: statistics.fmean(values) for mode, values in latencies.items()},
            "ratio": medians[MODES[0]] / medians[MODES[1]],
            "identical_expansions": same,
        }
        print(
            f"n={n}: shared {medians[MODES[0]] * 1000:.0f} ms, per sample "
            f"{medians[MODES[1]] * 1000:.0f} ms, ratio {result[f'n={n}']['ratio']:.2f}, "
            f"identical {same:.0%}",
            flush=True,
        )
    return result


def report(args: argparse.Namespace, result: dict, params: int) -> str:
    lines = [
        "# One expansion's policy latency: shared prefill against one prefill per sample",
        "",
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32 on CPU",
        f"- model: `{args.model}` ({params:,} parameters)",
        f"- states: {result['states']} distinct proof states drawn (seed {args.seed}) from "
        f"`{args.pairs}` among those of {args.min_state_tokens} to {args.max_state_tokens} "
        "tokens, median "
        f"{result['prompt_tokens_median']:g} tokens; "
        f"{args.repeats} passes; up to {args.max_tokens} new tokens per sample, temperature 1, "
        "seeded",
        "- path: `ModelPolicy.tactics` in process (template, tokenisation, request batcher, "
        "decoding, cleaning), one expansion at a time",
        "",
        "| n | shared prefill, median ms | prefill per sample, median ms | ratio | "
        "shared, mean ms | per sample, mean ms | identical expansions |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in args.n:
        row = result[f"n={n}"]
        shared, per = (row["median_s"][mode] * 1000 for mode in MODES)
        mean_shared, mean_per = (row["mean_s"][mode] * 1000 for mode in MODES)
        lines.append(
            f"| {n} | {shared:.0f} | {per:.0f} | {row['ratio']:.2f} | {mean_shared:.0f} | "
            f"{mean_per:.0f} | {row['identical_expansions']:.0%} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a checkpoint directory")
    parser.add_argument("--pairs", type=Path, required=True, help="(state, tactic) JSONL")
    parser.add_argument("--states", type=int, default=30)
    parser.add_argument("--n", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--max-tokens", type=int, default=SamplingConfig().max_tokens)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--min-state-tokens", type=int, default=0, help="shortest state drawn")
    parser.add_argument(
        "--max-state-tokens", type=int, default=512, help="longest state drawn (tokens)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/expansion-latency.json")
    )
    args = parser.parse_args()
    result = asyncio.run(run(args))
    model, _ = load_model(args.model, device="cpu")
    params = sum(p.numel() for p in model.parameters())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}}
                                   | {"params": params} | result, indent=2) + "\n")  # fmt: skip
    args.out.with_suffix(".md").write_text(report(args, result, params))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
