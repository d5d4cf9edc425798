"""``prover api``, ``prover worker`` and ``prover hash-key``: the service's commands.

Kept apart from ``prover.cli`` (the in-process commands) so that the embedded default does not
depend on the service, and registered on the same ``prover`` group.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import click

from prover.config import PolicyChoice, SamplingConfig
from prover.options import model_from, model_options
from search.config import LeanConfig, ProverLimits, QueueConfig
from search.types import ProverKind

REDIS_HELP = "Redis URL, e.g. redis://localhost:6379/0."


@click.command(name="api")
@click.option("--redis", "redis_url", required=True, help=REDIS_HELP)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option(
    "--keys-file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="API key digests, one 'sha256:<hex>' a line "
    "(also PROVER_API_KEYS_FILE; PROVER_API_KEYS takes plaintext keys).",
)
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Serve mutating routes without API keys (local use only).",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="MiniF2F-Coq JSONL or checkout for jobs and evals named by benchmark "
    "(default: the statements shipped with dcoprover; 'github' downloads the pinned commit).",
)
@click.option(
    "--lean-data",
    type=click.Path(path_type=Path),
    default=None,
    help="The same for Lean (MiniF2F-Lean4 JSONL).",
)
@click.option("--max-body-bytes", type=int, default=None, help="Request size limit.")
@click.option(
    "--max-event-streams",
    type=click.IntRange(min=1),
    default=None,
    help="Event streams open at once (each holds one of the Redis pool's connections); more "
    "get 503. Default: half the pool.",
)
@model_options(QueueConfig, skip=("max_deliveries",))
def api_command(
    redis_url,
    host,
    port,
    keys_file,
    insecure_no_auth,
    data,
    lean_data,
    max_body_bytes,
    max_event_streams,
    **queue,
) -> None:
    """Serve the HTTP API (FastAPI under uvicorn) in front of the Redis queue."""
    import uvicorn

    from api.app import create_app
    from api.auth import load_key_hashes
    from api.settings import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_EVENT_STREAMS, Settings

    try:
        key_hashes = load_key_hashes(keys_file)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if not key_hashes and not insecure_no_auth:
        raise click.ClickException(
            "no API keys configured: set PROVER_API_KEYS or PROVER_API_KEYS_FILE, pass "
            "--keys-file, or --insecure-no-auth for local use"
        )
    settings = Settings(
        redis_url=redis_url,
        key_hashes=key_hashes,
        auth=not insecure_no_auth,
        max_body_bytes=max_body_bytes or DEFAULT_MAX_BODY_BYTES,
        max_event_streams=max_event_streams or DEFAULT_MAX_EVENT_STREAMS,
        data={
            prover: path
            for prover, path in ((ProverKind.COQ, data), (ProverKind.LEAN, lean_data))
            if path is not None
        },
        queue=model_from(QueueConfig, queue),
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@click.command(name="worker")
@click.option("--redis", "redis_url", required=True, help=REDIS_HELP)
@click.option(
    "--prover",
    type=click.Choice([p.value for p in ProverKind]),
    default="coq",
    show_default=True,
    help="The proof assistant this worker serves.",
)
@model_options(PolicyChoice)
@model_options(SamplingConfig, only_changed=True)
@click.option(
    "--on-policy-down",
    type=click.Choice(["wait", "fail"]),
    default="wait",
    show_default=True,
    help="Policy server unreachable: put the job back and wait for it, or fail the job.",
)
@click.option(
    "--concurrency", type=int, default=None, help="Searches in flight (default: prover processes)."
)
@click.option("--hammer", is_flag=True, help="Coq: also load CoqHammer's tactics.")
@click.option("--name", default=None, help="Consumer name (default: host-pid).")
@model_options(QueueConfig)
@model_options(ProverLimits, only_changed=True)
@model_options(LeanConfig)
@click.option(
    "--shutdown-grace",
    type=float,
    default=5.0,
    show_default=True,
    help="On SIGTERM, seconds running searches get to finish before release.",
)
def worker_command(
    redis_url,
    prover,
    on_policy_down,
    concurrency,
    hammer,
    name,
    shutdown_grace,
    **config,
) -> None:
    """Run searches from the queue until SIGTERM (then finish or release them)."""
    from pydantic import ValidationError

    from prover.compose import make_environment, policy_for

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    queue = model_from(QueueConfig, config)
    limits = model_from(ProverLimits, config)
    lean = model_from(LeanConfig, config)
    # A container's environment configures its worker (compose passes these): empty is unset.
    if config.get("policy_url") is None:
        config["policy_url"] = os.environ.get("DCOPROVER_POLICY_URL") or None
    if config.get("model") is None:
        config["model"] = os.environ.get("DCOPROVER_MODEL") or None
    try:
        choice = model_from(PolicyChoice, config)
        sampling = model_from(SamplingConfig, config)
        env = make_environment(ProverKind(prover), limits, hammer=hammer, lean=lean)
        chosen = policy_for(choice, ProverKind(prover), sampling)
    except (NotImplementedError, FileNotFoundError, ValueError, ValidationError) as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    asyncio.run(
        _serve(
            redis_url,
            env,
            chosen,
            concurrency or limits.pool_size,
            name,
            queue,
            shutdown_grace,
            on_policy_down == "wait",
        )
    )


async def _serve(
    redis_url,
    env,
    policy,
    concurrency,
    name,
    queue_config,
    shutdown_grace,
    wait_for_policy,
) -> None:
    from search.queue import JobQueue, connect
    from search.worker import Worker

    redis = connect(redis_url)
    queue = JobQueue(redis, queue_config)
    worker = Worker(
        queue,
        env,
        policy,
        concurrency,
        name=name,
        shutdown_grace_s=shutdown_grace,
        wait_for_policy=wait_for_policy,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        await redis.aclose()


@click.command(name="hash-key")
@click.argument("key")
def hash_key_command(key: str) -> None:
    """Print the key-file line for KEY (the API stores only digests)."""
    from api.auth import hash_key

    click.echo(f"sha256:{hash_key(key)}")
