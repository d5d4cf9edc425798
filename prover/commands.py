"""The model commands of the ``prover`` CLI: serving a policy and building a tiny model.

Registered on the main group by ``prover.cli``. The heavy imports (torch, transformers,
FastAPI) happen inside the commands, so ``prover prove`` starts fast and works without them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
from pydantic import ValidationError

from prover.config import BatchingConfig, TransformersBackendConfig
from prover.options import model_from, model_options
from search.config import SearchConfig


def _bad(exc: ValidationError) -> click.BadParameter:
    first = exc.errors()[0]
    return click.BadParameter(f"{'.'.join(map(str, first['loc']))}: {first['msg']}")


@click.command(name="serve-policy")
@click.option(
    "--backend",
    type=click.Choice(["vllm", "transformers"]),
    default="transformers",
    show_default=True,
    help="vllm: run `vllm serve` (GPU); transformers: this package's server.",
)
@click.option("--model", required=True, help="Model directory or hub id.")
@click.option("--served-model-name", default=None, help="Name clients ask for (default: --model).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--max-model-len", type=int, default=None, help="vllm: context length.")
@click.option("--gpu-memory-utilization", type=float, default=0.9, show_default=True, help="vllm.")
@click.option("--device", default="auto", show_default=True, help="transformers: cpu, cuda, ...")
@click.option("--dtype", default="auto", show_default=True)
@click.option(
    "--max-batch-rows",
    type=int,
    default=BatchingConfig().max_batch_rows,
    show_default=True,
    help="transformers: sequences decoded together.",
)
@click.option(
    "--max-wait-ms",
    type=float,
    default=BatchingConfig().max_wait_ms,
    show_default=True,
    help="transformers: how long a request waits for a batch.",
)
@click.option(
    "--max-prompt-tokens",
    type=int,
    default=TransformersBackendConfig.model_fields["max_prompt_tokens"].default,
    show_default=True,
    help="transformers: longer prompts are rejected (400).",
)
@click.argument("vllm_args", nargs=-1, type=click.UNPROCESSED)
def serve_policy(
    backend,
    model,
    served_model_name,
    host,
    port,
    max_model_len,
    gpu_memory_utilization,
    device,
    dtype,
    max_batch_rows,
    max_wait_ms,
    max_prompt_tokens,
    vllm_args,
) -> None:
    """Serve a policy model over the OpenAI-compatible API (/v1/completions, /v1/models).

    Arguments after `--` go to `vllm serve` unchanged.
    """
    from prover.vllm_server import VllmMissing, VllmServeConfig, run_vllm

    try:
        if backend == "vllm":
            config = VllmServeConfig(
                model=model,
                served_model_name=served_model_name,
                host=host,
                port=port,
                max_model_len=max_model_len,
                dtype=dtype,
                gpu_memory_utilization=gpu_memory_utilization,
                extra_args=tuple(vllm_args),
            )
            raise SystemExit(run_vllm(config))
        engine_config = TransformersBackendConfig(
            model=model,
            device=device,
            dtype=dtype,
            max_prompt_tokens=max_prompt_tokens,
            batching=BatchingConfig(max_batch_rows=max_batch_rows, max_wait_ms=max_wait_ms),
        )
    except ValidationError as exc:
        raise _bad(exc) from None
    except VllmMissing as exc:
        raise click.ClickException(str(exc)) from None
    if vllm_args:
        raise click.BadParameter("extra arguments are for --backend vllm only")
    _serve_transformers(engine_config, served_model_name or model, host, port)


def _serve_transformers(config: TransformersBackendConfig, name: str, host: str, port: int):
    import uvicorn

    from prover.hf_backend import ModelLoadError, TransformersEngine
    from prover.serve import create_app

    try:
        engine = TransformersEngine.load(config)
    except ModelLoadError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"serving {name!r} on http://{host}:{port}/v1 ({engine.sampler.device})", err=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    uvicorn.run(create_app(engine, name), host=host, port=port, log_level="warning")


def training_options(steps: int):
    """Options shared by ``train`` and ``iterate``: the loss and the optimisation budget."""
    options = [
        click.option("--loss", type=click.Choice(["ce", "dco", "dco-step", "dco-trajectory"]),
                     default="dco-step", show_default=True),
        click.option("--n-eff", "n", type=float, default=8.0, show_default=True,
                     help="DCO's N: the samples a target should be found in (dco-step: each "
                          "step's N_eff, where a data row gives none)."),
        click.option("--filter", type=click.Choice(["stale", "fresh", "none"]),
                     default="stale", show_default=True,
                     help="DCO: where the confidence filter's weights come from (stale: each "
                          "example's last training pass; fresh: an extra pass; none: no filter)."),
        click.option("--pool-factor", type=int, default=2, show_default=True,
                     help="DCO filter: batches drawn per step, to refill dropped rows from."),
        click.option("--steps", type=int, default=steps, show_default=True,
                     help="Optimiser steps (per round, for iterate)."),
        click.option("--batch-size", type=int, default=8, show_default=True),
        click.option("--max-length", type=int, default=1024, show_default=True,
                     help="Longest example in tokens (prompt and target); longer ones are "
                          "left out and counted."),
        click.option("--lr", "learning_rate", type=float, default=None,
                     help="Learning rate [default: 1e-3 for the random weights build-model "
                          "made; 1e-4 for a model trained here from them; 1e-5 for a "
                          "pretrained checkpoint]."),
    ]  # fmt: skip

    def apply(command):
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def load_training_data(paths, config, prover: str) -> list:
    """Examples from every data file, built with the run's templates."""
    from prover.data import load_examples
    from prover.prompts import proof_template, tactic_template
    from search.types import ProverKind

    tactic, proof = tactic_template(config.tactic_template), proof_template(config.proof_template)
    return [e for path in paths for e in load_examples(path, tactic, proof, ProverKind(prover))]


@click.command(name="build-model")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option(
    "--corpus",
    "corpus_paths",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    help="(state, tactic) JSONL the tokenizer learns from (a train split; repeatable). "
    "Default: a few built-in strings (a tiny test model).",
)
@click.option("--vocab-size", type=int, default=None, help="[default: 4096 with --corpus; 400]")
@click.option("--max-texts", type=int, default=200_000, show_default=True,
              help="Rows of the corpus the tokenizer reads (the first ones).")  # fmt: skip
@click.option(
    "--architecture", type=click.Choice(["llama", "qwen2"]), default="llama", show_default=True
)
@click.option("--hidden-size", type=int, default=64, show_default=True)
@click.option("--intermediate-size", type=int, default=None, help="[default: 2 x hidden size]")
@click.option("--layers", type=int, default=2, show_default=True)
@click.option("--heads", type=int, default=4, show_default=True)
@click.option("--max-positions", type=int, default=2048, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def build_model(out_dir, corpus_paths, vocab_size, max_texts, **shape) -> None:
    """Build a random-weight model and its tokenizer in OUT_DIR (nothing downloaded); with
    --corpus the tokenizer is learnt from that data. `train` then trains it from scratch."""
    from prover.corpus_text import CorpusTextError, corpus_texts
    from prover.tiny_model import build_tiny_model, build_tokenizer
    from prover.tokenizer import train_tokenizer

    try:
        if corpus_paths:
            texts = corpus_texts(corpus_paths, max_texts)
            tokenizer = train_tokenizer(texts, vocab_size or 4096)
        else:
            tokenizer = build_tokenizer(vocab_size or 400)
        recipe = {"tokenizer_corpus": [str(p) for p in corpus_paths], "tokenizer_texts":
                  len(texts) if corpus_paths else 0}  # fmt: skip
        path = build_tiny_model(
            out_dir,
            architecture=shape["architecture"],
            hidden_size=shape["hidden_size"],
            intermediate_size=shape["intermediate_size"],
            num_layers=shape["layers"],
            num_heads=shape["heads"],
            max_positions=shape["max_positions"],
            seed=shape["seed"],
            tokenizer=tokenizer,
            recipe=recipe,
        )
    except CorpusTextError as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    click.echo(str(path))


@click.command()
@click.option(
    "--data",
    "data_paths",
    type=click.Path(path_type=Path),
    multiple=True,
    required=True,
    help="LeanDojo JSON, (state, tactic) JSONL or proof JSONL; repeatable.",
)
@training_options(steps=1000)
@click.option("--base-model", required=True, help="Model directory (or hub id) to fine-tune.")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--grad-accum", type=int, default=1, show_default=True)
@click.option(
    "--threshold",
    type=float,
    default=0.1,
    show_default=True,
    help="DCO: drop examples whose weight F is below this.",
)
@click.option(
    "--reduction",
    type=click.Choice(["sum", "mean"]),
    default="mean",
    show_default=True,
    help="Tokens of one example: summed, or averaged.",
)
@click.option(
    "--prover",
    type=click.Choice(["coq", "lean"]),
    default="coq",
    show_default=True,
    help="Language of proof JSONL rows that do not say.",
)
@click.option("--tactic-template", default="tactic-state-v1", show_default=True)
@click.option("--proof-template", default="proof-deepseek-v1", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--tensorboard", is_flag=True, help="Also log the curves to OUT/tensorboard (TensorBoard)."
)
def train(data_paths, base_model, out, prover, **options) -> None:
    """Fine-tune a policy with CE or DCO; the result loads in `serve-policy` and `vllm serve`."""
    from prover.data import DataError
    from prover.train import TrainConfig
    from prover.train import train as run_training

    try:
        config = TrainConfig(**options)
        examples = load_training_data(data_paths, config, prover)
        sources = [str(path.resolve()) for path in data_paths]
        summary = run_training(config, examples, base_model, out, sources)
    except ValidationError as exc:
        raise _bad(exc) from None
    except (DataError, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"trained on {summary['examples']} examples ({summary['skipped']} too long), "
        f"final loss {summary['train_loss']:.4f}; model in {out}"
    )


@click.command()
@click.option("--base-model", required=True, help="The round-1 policy (a model directory).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Rounds, verified steps and each round's model go here.",
)
@click.option("--rounds", type=int, default=3, show_default=True)
@click.option("--prover", type=click.Choice(["coq"]), default="coq", show_default=True)
@click.option(
    "--set",
    "sets",
    multiple=True,
    default=("minif2f:valid",),
    show_default=True,
    help="BENCHMARK:SPLIT[:K], the theorems searched each round (K: that many, spread evenly); "
    "repeatable, e.g. --set coqlib:train:200 --set minif2f:valid. Never a held-out split.",
)
@click.option(
    "--seed-data",
    type=click.Path(path_type=Path),
    multiple=True,
    help="(state, tactic) data trained on from round 1 (LeanDojo JSON or JSONL).",
)
@click.option(
    "--verified-share",
    type=float,
    default=0.0,
    show_default=True,
    help="Repeat the verified steps until they are about this share of a round's data "
    "(0: once each, however large the seed data; at most 0.9).",
)
@training_options(steps=200)
@model_options(SearchConfig, skip=("strategy", "n", "early_stop"))
@click.option("--concurrency", type=int, default=2, show_default=True)
def iterate(
    base_model,
    out,
    rounds,
    prover,
    sets,
    seed_data,
    verified_share,
    concurrency,
    **options,
) -> None:
    """Expert iteration: search with the policy, keep verified proofs, retrain, repeat."""
    import asyncio

    from prover.compose import make_environment
    from prover.data import DataError
    from prover.iterate import check_verified_share
    from prover.iterate import iterate as run_rounds
    from prover.train import TrainConfig
    from search.benchmarks import BenchmarkError, theorem_sets
    from search.types import ProverKind

    search_fields = set(SearchConfig.model_fields)
    train_options = {k: v for k, v in options.items() if k not in search_fields}
    search = model_from(SearchConfig, options)
    try:
        config = TrainConfig(**train_options)
        theorems = theorem_sets(sets, ProverKind(prover))
        seed = load_training_data(seed_data, config, prover)
        check_verified_share(verified_share)
    except ValidationError as exc:
        raise _bad(exc) from None
    except (BenchmarkError, DataError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None

    async def rounds_with_env():
        env = make_environment(ProverKind(prover))
        try:
            return await run_rounds(
                theorems, env, base_model, out, rounds, config, search, concurrency, seed,
                seed_files=[str(Path(path).resolve()) for path in seed_data], searched=sets,
                verified_share=verified_share,
            )  # fmt: skip
        finally:
            await env.close()

    try:
        reports = asyncio.run(rounds_with_env())
    except (FileNotFoundError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    for report in reports:
        click.echo(
            f"round {report.round}: solved {report.proved}/{report.theorems} "
            f"({report.solve_rate:.1%}), +{report.new_steps} verified steps "
            f"({report.total_steps} in all), policy {report.model}; by split: "
            + ", ".join(
                f"{s or '-'} {c['proved']}/{c['theorems']}" for s, c in report.by_split.items()
            )
        )


def register_model_commands(group: click.Group) -> None:
    for command in (serve_policy, build_model, train, iterate):
        group.add_command(command)
    # The name the tests and older docs use; the same command.
    group.add_command(build_model, name="tiny-model")
