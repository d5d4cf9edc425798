"""Expert iteration with the verifier: search, keep verified proofs, retrain, repeat.

Training on proofs the prover has checked scales with test-time compute better than cloning
traces (``docs/method.md``, second paper). Each round runs best-first search with the current
policy over a problem set, takes the (state, tactic) steps on the path of every proof that
passed the whole-file check, adds them to the data, and fine-tunes the next policy from the
base model on all data so far (seed data included), which keeps an early round's mistakes from
compounding. A round that adds nothing keeps the current policy. Each round's solve rate goes
to ``rounds.jsonl``; the data to ``verified_steps.jsonl``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from prover.backends import make_model_policy
from prover.config import PolicyConfig
from prover.data import Example, load_pairs
from prover.prompts import tactic_template
from prover.train import TrainConfig, train
from search.config import SearchConfig
from search.env.base import ProofEnvironment
from search.result import NodeStatus, SearchResult, SearchStatus
from search.runner import run_many, run_search_safely
from search.types import Theorem

DATA_NAME = "verified_steps.jsonl"
ROUNDS_NAME = "rounds.jsonl"


class RoundReport(BaseModel):
    round: int
    model: str
    theorems: int
    proved: int
    new_steps: int
    total_steps: int

    @property
    def solve_rate(self) -> float:
        return self.proved / self.theorems if self.theorems else 0.0


def verified_steps(result: SearchResult) -> list[dict[str, str]]:
    """(state, tactic) pairs on the path to the proof of a verified result, root first.

    The state is the goals as the policy saw them (``ProofState.text``: goals joined by a
    blank line), so training prompts match serving prompts exactly.
    """
    if result.status is not SearchStatus.PROVED or not result.proof or not result.tree:
        return []
    nodes = {node.id: node for node in result.tree}
    proved = next((n for n in result.tree if n.status is NodeStatus.PROVED), None)
    path = []
    while proved is not None and proved.parent is not None:
        parent = nodes[proved.parent]
        path.append(
            {
                "state": "\n\n".join(parent.goals),
                "tactic": proved.tactic or "",
                "theorem": result.theorem,
            }
        )
        proved = parent
    return path[::-1]


async def search_all(
    theorems: Sequence[Theorem],
    env: ProofEnvironment,
    policy,
    config: SearchConfig,
    concurrency: int,
) -> list[SearchResult]:
    """Best-first search on every theorem, ``concurrency`` at a time, trees kept."""
    config = config.model_copy(update={"record_tree": True})
    return await run_many(
        theorems, lambda theorem: run_search_safely(theorem, env, policy, config), concurrency
    )


async def iterate(
    theorems: Sequence[Theorem],
    env: ProofEnvironment,
    base_model: str,
    out: Path,
    rounds: int,
    train_config: TrainConfig,
    search_config: SearchConfig,
    concurrency: int = 2,
    seed_data: Sequence[Example] = (),
) -> list[RoundReport]:
    """Run ``rounds`` rounds of search -> verified steps -> retraining; one report per round."""
    out.mkdir(parents=True, exist_ok=True)
    data_path = out / DATA_NAME
    template = tactic_template(train_config.tactic_template)
    known = {line for line in data_path.read_text().splitlines()} if data_path.exists() else set()
    model, reports, trained_on = base_model, [], 0
    policy_config = PolicyConfig(tactic_template=train_config.tactic_template)
    for number in range(1, rounds + 1):
        policy = make_model_policy("transformers", model, config=policy_config)
        try:
            results = await search_all(theorems, env, policy, search_config, concurrency)
        finally:
            await policy.close()
        new = 0
        with data_path.open("a", encoding="utf-8") as data:
            for result in results:
                for step in verified_steps(result):
                    line = json.dumps(step, ensure_ascii=False)
                    if line not in known:
                        known.add(line)
                        data.write(line + "\n")
                        new += 1
        proved = sum(r.status is SearchStatus.PROVED for r in results)
        examples = [*seed_data, *(load_pairs(data_path, template) if known else [])]
        next_model = model
        if len(examples) > trained_on:
            next_model = str(out / f"round-{number}")
            train(train_config, examples, base_model, Path(next_model))
            trained_on = len(examples)
        report = RoundReport(
            round=number,
            model=model,
            theorems=len(theorems),
            proved=proved,
            new_steps=new,
            total_steps=len(known),
        )
        with (out / ROUNDS_NAME).open("a", encoding="utf-8") as log:
            log.write(json.dumps(report.model_dump() | {"solve_rate": report.solve_rate}) + "\n")
        reports.append(report)
        model = next_model
    return reports
