"""Benchmark: does the dashboard draw a 1,000-theorem evaluation and a 10,000-node search tree
without freezing the page?

The records are synthetic (no prover ran: this measures the page, not the search) but go
through the queue's own submit, take, start and finish, so the API serves them exactly as it
serves a real run. A real redis-server and ``prover api`` under uvicorn serve them to Debian's
headless Chromium. For each page it reports the time from navigation until the page is drawn,
the page's own layout and drawing times, and the longest main-thread task (the Long Tasks API:
a task over 50 ms is one the user can feel; the page "freezes" while one runs).

    .venv/bin/python -m benchmarks.dashboard_render --out benchmarks/results/dashboard-render
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.results_files import write_results
from search.config import QueueConfig, SearchConfig
from search.machine import describe, machine
from search.queue import JobQueue, connect
from search.queue_evals import EvalRuns
from search.queue_jobs import JobSpec, JobStatus
from search.result import NodeStatus, SearchResult, SearchStats, SearchStatus, TreeNode
from search.types import ProverKind, Theorem

PROVER = ProverKind.COQ.value
LONG_TASKS = """window.longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.longTasks.push(e.duration);
}).observe({ type: 'longtask', buffered: true });"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def synthetic_tree(nodes: int, rng: random.Random) -> list[TreeNode]:
    """A best-first-shaped tree: each new node hangs off a recent one (search goes deep along
    good branches), most end failed, one path ends proved."""
    tree = [TreeNode(id=0, parent=None, tactic=None, status=NodeStatus.EXPANDED, goals=["goal"])]
    for i in range(1, nodes):
        parent = tree[max(0, i - 1 - int(rng.expovariate(1 / 30)))]
        parent.status = NodeStatus.EXPANDED
        status = rng.choice([NodeStatus.FAILED] * 3 + [NodeStatus.OPEN, NodeStatus.MERGED])
        tree.append(TreeNode(
            id=i, parent=parent.id, tactic=f"tactic_{i % 97} h{i % 13}", logprob=-rng.random(),
            score=-rng.random() * (parent.depth + 1), depth=parent.depth + 1, status=status,
            goals=[f"n : nat\n====\nP {i}"] if status is NodeStatus.OPEN else [],
            message="Error: the tactic failed" if status is NodeStatus.FAILED else None,
        ))  # fmt: skip
    tree[-1].status = NodeStatus.PROVED
    return tree


def result_json(
    theorem: Theorem, rng: random.Random, tree: list[TreeNode] | None = None
) -> tuple[JobStatus, str]:
    status = rng.choice([SearchStatus.PROVED, SearchStatus.FAILED, SearchStatus.TIMEOUT])
    prover, policy, check = rng.random() * 6, rng.random() * 3, rng.random()
    stats = SearchStats(
        expansions=rng.randint(1, 200), prover_calls=rng.randint(1, 800),
        time_prover_s=prover, time_policy_s=policy, time_check_s=check,
        time_total_s=prover + policy + check + rng.random(),
    )  # fmt: skip
    config = SearchConfig(record_tree=tree is not None)
    proof = "intros.\nlia." if status is SearchStatus.PROVED else None
    result = SearchResult.of(theorem.name, PROVER, config, status, tree=tree, stats=stats,
                             proof=proof)  # fmt: skip
    return JobStatus(status.value), result.model_dump_json()


async def finish_all(
    queue: JobQueue, rng: random.Random, trees: dict[str, list[TreeNode]]
) -> None:
    """Play the worker: take every queued job and finish it with a synthetic result."""
    await queue.register(PROVER, "bench")
    while deliveries := await queue.take(PROVER, "bench", 200, 0):
        for delivery in deliveries:
            attempt, spec = await queue.start(PROVER, delivery, "bench")
            status, payload = result_json(spec.theorem, rng, trees.get(spec.theorem.name))
            await queue.finish(PROVER, delivery, attempt, status, "", payload, {"coq": "8.16.1"})


async def fill(redis_url: str, theorems: int, tree_nodes: int) -> tuple[str, str]:
    rng = random.Random(0)
    queue = JobQueue(connect(redis_url), QueueConfig())
    names = [f"{kind}_{i}" for i in range(theorems) for kind in
             [("mathd_algebra", "mathd_numbertheory", "amc12a", "imo", "aime")[i % 5]]]  # fmt: skip
    statements = [Theorem(name=n, header="", statement=f"Theorem {n} : True.") for n in names]
    eval_id = await EvalRuns(queue).create(
        statements, SearchConfig(record_tree=False),
        {"prover": PROVER, "benchmark": "minif2f", "split": "test"},
    )
    big = Theorem(name="big_tree", header="", statement="Theorem big_tree : True.")
    job_id = await queue.submit(JobSpec(theorem=big, config=SearchConfig()))
    await finish_all(queue, rng, {"big_tree": synthetic_tree(tree_nodes, rng)})
    await queue.redis.aclose()
    return eval_id, job_id


def measure(page, url: str, ready: str, metric: str) -> dict:
    page.goto("about:blank")
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(ready, timeout=120_000)
    loaded_s = time.perf_counter() - started
    page.wait_for_timeout(300)  # let any task still running after the draw finish and be seen
    long_tasks = page.evaluate("window.longTasks")
    return {
        "url": url,
        "until_drawn_s": round(loaded_s, 3),
        "page_render_ms": float(page.locator(ready).get_attribute(metric)),
        "long_tasks": len(long_tasks),
        "longest_task_ms": round(max(long_tasks, default=0.0), 1),
    }


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--theorems", type=int, default=1000)
    parser.add_argument("--tree-nodes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/dashboard-render"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None or shutil.which("redis-server") is None:
        sys.exit("needs chromium and redis-server on PATH (scripts/install.sh installs both)")
    with tempfile.TemporaryDirectory() as directory:
        redis_port, api_port = free_port(), free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        redis_server = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--dir", directory, "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        api = None
        try:
            time.sleep(0.5)
            eval_id, job_id = asyncio.run(fill(redis_url, args.theorems, args.tree_nodes))
            api = subprocess.Popen(
                [sys.executable, "-m", "prover.cli", "api", "--redis", redis_url,
                 "--port", str(api_port), "--insecure-no-auth"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            base = f"http://127.0.0.1:{api_port}"
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, headless=True, args=["--no-sandbox"]
                )
                version = browser.version
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.add_init_script(LONG_TASKS)
                pages = {
                    "evaluation": (
                        f"{base}/ui/#/evals/{eval_id}", "#time-per-theorem[data-render-ms]"
                    ),
                    "tree": (f"{base}/ui/#/jobs/{job_id}", "#tree[data-render-ms]"),
                }
                rows = {name: [measure(page, url, ready, "data-render-ms")
                               for _ in range(args.repeats)]
                        for name, (url, ready) in pages.items()}  # fmt: skip
                # Collapsing and expanding the tree's root re-lays out the whole tree.
                page.goto(pages["tree"][0])
                page.wait_for_selector(pages["tree"][1])
                visible = int(page.locator("#tree").get_attribute("data-visible-nodes"))
                toggles = page.evaluate("""() => { const t = window.dcoproverTree, out = [];
                    for (let i = 0; i < 4; i++) { const s = performance.now();
                    t.toggle(t.full.data.id); out.push(performance.now() - s); }
                    return out; }""")
                browser.close()
        finally:
            if api is not None:
                api.terminate()
            redis_server.terminate()
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": describe(machine()),
        "chromium": version,
        "theorems": args.theorems,
        "tree_nodes": args.tree_nodes,
        "pages": rows,
        "tree_visible_nodes": visible,
        "tree_toggle_ms": [round(t, 1) for t in toggles],
    }
    write_results(args.out, report, markdown(report))


def markdown(report: dict) -> str:
    lines = [
        "# Dashboard render: a large evaluation and a large search tree",
        "",
        f"- date: {report['date']}; machine: {report['machine']}; Chromium {report['chromium']} "
        "(headless, Debian's)",
        f"- synthetic records through the real queue and API: {report['theorems']} theorems in "
        f"one evaluation, one job with a {report['tree_nodes']}-node tree",
        "- `python -m benchmarks.dashboard_render`; each page loaded "
        f"{len(next(iter(report['pages'].values())))} times",
        "",
        "| page | until drawn (s) | page's own layout + draw (ms) | tasks over 50 ms "
        "| longest task (ms) |",
        "|---|---|---|---|---|",
    ]
    for name, rows in report["pages"].items():
        for row in rows:
            lines.append(f"| {name} | {row['until_drawn_s']:.2f} | {row['page_render_ms']:.0f} | "
                         f"{row['long_tasks']} | {row['longest_task_ms']:.0f} |")  # fmt: skip
    lines += ["", f"The tree page drew all {report['tree_visible_nodes']} nodes. "
              "Collapsing or expanding the tree's root (a whole re-layout and redraw), ms: "
              + ", ".join(f"{t:.0f}" for t in report["tree_toggle_ms"]), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    run()
