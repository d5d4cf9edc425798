"""Expert iteration with the verifier: search, keep verified proofs, retrain, repeat.

Training on proofs the prover has checked scales with test-time compute better than cloning
traces (``docs/method.md``, second paper). Each round runs best-first search with the current
policy over a problem set, takes the (state, tactic) steps on the path of every proof that
passed the whole-file check, adds them to the data, and fine-tunes the next policy from the
base model on all data so far (seed data included), which keeps an early round's mistakes from
compounding. A round that adds nothing keeps the current policy. Each round's solve rate (overall
and by split) goes to ``rounds.jsonl``, each theorem's result to ``round-K-results.jsonl`` (the
rows ``prover eval`` writes), and the data to ``verified_steps.jsonl``.
"""

from __future__ import annotations

import json
import sys
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
from search.eval import proving_progress, result_row
from search.result import NodeStatus, SearchResult, SearchStatus
from search.runner import run_many, run_search_safely, versions
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
    #: Per split the theorems name (``"train"`` of coqlib, ``"valid"`` of MiniF2F):
    #: ``{"theorems": T, "proved": P}``.
    by_split: dict[str, dict[str, int]] = {}

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
    description: str = "searching",
) -> list[SearchResult]:
    """Best-first search on every theorem, ``concurrency`` at a time, trees kept; a progress
    bar on the terminal, since a round's searches take minutes."""
    config = config.model_copy(update={"record_tree": True})
    with proving_progress(show=sys.stderr.isatty()) as progress:
        task = progress.add_task(description, total=len(theorems), proved=0)
        proved = 0

        async def one(theorem: Theorem) -> SearchResult:
            nonlocal proved
            result = await run_search_safely(theorem, env, policy, config)
            proved += result.status is SearchStatus.PROVED
            progress.update(task, advance=1, proved=proved)
            return result

        return await run_many(theorems, one, concurrency)


def split_counts(
    theorems: Sequence[Theorem], results: Sequence[SearchResult]
) -> dict[str, dict[str, int]]:
    """Theorems and proofs per split, so a round's rate on each set it searched can be read."""
    counts: dict[str, dict[str, int]] = {}
    for theorem, result in zip(theorems, results, strict=True):
        entry = counts.setdefault(theorem.split or "", {"theorems": 0, "proved": 0})
        entry["theorems"] += 1
        entry["proved"] += result.status is SearchStatus.PROVED
    return counts


#: The largest ``--verified-share``: the data grows as seed / (1 - share), so a share near 1
#: would repeat a handful of steps millions of times.
MAX_VERIFIED_SHARE = 0.9


def check_verified_share(share: float) -> float:
    """``share`` if it is a usable verified share, else ``ValueError`` (NaN included), so that
    a command can refuse it before a round's search, not after."""
    if not 0.0 <= share <= MAX_VERIFIED_SHARE:
        raise ValueError(f"verified share must be in [0, {MAX_VERIFIED_SHARE:g}], not {share}")
    return share


def with_verified_share(
    seed: Sequence[Example], verified: Sequence[Example], share: float
) -> list[Example]:
    """The seed data and the verified steps, the latter repeated so that they make up about
    ``share`` of the result (at least once each; ``share`` 0: once each).

    Expert iteration's own proofs are few: 105 verified steps among 69,500 seed pairs were
    drawn about 0.14 times each in a 600-step round, so the round could not learn from them
    (docs/training.md). Repeating them gives them a fixed weight whatever the seed's size."""
    check_verified_share(share)
    repeat = 1
    if share and verified and seed:
        repeat = max(1, round(share * len(seed) / ((1.0 - share) * len(verified))))
    return [*seed, *(list(verified) * repeat)]


def write_results(path: Path, theorems, results, policy, env: ProofEnvironment) -> None:
    """One ``prover eval`` row per theorem: what each round proved, and how."""
    run_versions = versions(env)
    with path.open("w", encoding="utf-8") as sink:
        for theorem, result in zip(theorems, results, strict=True):
            sink.write(json.dumps(result_row(theorem, result, policy, run_versions)) + "\n")


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
    seed_files: Sequence[str] = (),
    searched: Sequence[str] = (),
    verified_share: float = 0.0,
) -> list[RoundReport]:
    """Run ``rounds`` rounds of search -> verified steps -> retraining; one report per round.

    ``seed_files`` (where ``seed_data`` came from) and ``searched`` (the sets, e.g.
    ``coqlib:train:200``) go into each round model's recipe, so that a benchmark can say
    which splits its training read. ``verified_share`` > 0 repeats the verified steps until
    they are about that share of a round's data (``with_verified_share``)."""
    out.mkdir(parents=True, exist_ok=True)
    data_path = out / DATA_NAME
    template = tactic_template(train_config.tactic_template)
    known = {line for line in data_path.read_text().splitlines()} if data_path.exists() else set()
    model, reports, trained = base_model, [], False
    policy_config = PolicyConfig(tactic_template=train_config.tactic_template)
    for number in range(1, rounds + 1):
        policy = make_model_policy("transformers", model, config=policy_config)
        try:
            results = await search_all(
                theorems, env, policy, search_config, concurrency, f"round {number}"
            )
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
        write_results(out / f"round-{number}-results.jsonl", theorems, results, policy, env)
        verified = load_pairs(data_path, template) if known else []
        examples = with_verified_share(seed_data, verified, verified_share)
        next_model = model
        # Retrain on new verified steps (with a share, the data's length need not grow).
        if examples and (new or not trained):
            next_model = str(out / f"round-{number}")
            read = [*seed_files, str(data_path), *(f"verified proofs of {s}" for s in searched)]
            if verified_share:
                read.append(f"verified steps repeated to a share of {verified_share:g}")
            train(train_config, examples, base_model, Path(next_model), data=read)
            trained = True
        report = RoundReport(
            round=number,
            model=model,
            theorems=len(theorems),
            proved=proved,
            new_steps=new,
            total_steps=len(known),
            by_split=split_counts(theorems, results),
        )
        with (out / ROUNDS_NAME).open("a", encoding="utf-8") as log:
            log.write(json.dumps(report.model_dump() | {"solve_rate": report.solve_rate}) + "\n")
        reports.append(report)
        model = next_model
    return reports
