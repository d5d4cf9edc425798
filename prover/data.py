"""Training data: the formats users already have, turned into (prompt, target) examples.

* LeanDojo Benchmark 4 (``*.json``: a list of theorems, each with ``traced_tactics`` of
  ``state_before``/``tactic``/``state_after``) -> one (state, tactic) example per step;
* (state, tactic) JSONL (``state``, ``tactic``, optional ``theorem`` and ``n_eff``), what
  ``prover iterate`` writes from verified proofs;
* whole-proof JSONL (``header``, ``formal_statement``, ``proof``, optional ``prover``).

Prompts and targets come from ``prover.prompts``, the templates serving uses. Tokenised, an
example is ``prompt ids + target ids + EOS``; the labels mask the prompt (-100), so the loss
covers the target and its end only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from prover.prompts import ProofTemplate, TacticTemplate
from search.types import ProverKind

IGNORE = -100
log = logging.getLogger(__name__)


class DataError(ValueError):
    """A data file is missing, malformed, or holds an unusable example; says where."""


@dataclass(frozen=True)
class Example:
    """One supervised completion. ``group`` names the proof it belongs to (trajectory DCO);
    ``n_eff`` overrides the run's N for this example (DCO_step)."""

    prompt: str
    target: str
    group: str = ""
    n_eff: float | None = None


def _check_text(value: object, what: str, where: str, max_chars: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}: {what} is missing or empty")
    if len(value) > max_chars:
        raise DataError(f"{where}: {what} of {len(value)} characters (limit {max_chars})")
    return value


def jsonl_rows(path: Path) -> Iterator[tuple[str, dict]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{where}: expected a JSON object")
            yield where, row


def load_leandojo(path: Path, template: TacticTemplate, max_chars: int = 20_000) -> list[Example]:
    """(state_before, tactic) examples from a LeanDojo Benchmark 4 JSON file."""
    try:
        theorems = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not JSON ({exc.msg})") from None
    if not isinstance(theorems, list):
        raise DataError(f"{path}: expected a list of theorems (LeanDojo Benchmark 4 layout)")
    examples = []
    for index, theorem in enumerate(theorems):
        if not isinstance(theorem, dict) or not isinstance(theorem.get("traced_tactics"), list):
            raise DataError(f"{path}: theorem {index} has no traced_tactics list")
        group = f"{theorem.get('file_path', '')}:{theorem.get('full_name', index)}"
        for step, traced in enumerate(theorem["traced_tactics"]):
            where = f"{path}: theorem {index} step {step}"
            state = _check_text(traced.get("state_before"), "state_before", where, max_chars)
            tactic = _check_text(traced.get("tactic"), "tactic", where, max_chars)
            examples.append(Example(template.prompt(state), template.target(tactic), group))
    return examples


def load_pairs(path: Path, template: TacticTemplate, max_chars: int = 20_000) -> list[Example]:
    """(state, tactic) examples from JSONL."""
    examples, oversized = [], 0
    for where, row in jsonl_rows(path):
        state = _check_text(row.get("state"), "state", where, len(str(row.get("state"))))
        tactic = _check_text(row.get("tactic"), "tactic", where, max_chars)
        if len(state) > max_chars:
            # A long state is data, not damage (a traced goal with hundreds of hypotheses):
            # it is left out as ``encode`` leaves out examples over ``--max-length``.
            oversized += 1
            continue
        n_eff = row.get("n_eff")
        if n_eff is not None and (not isinstance(n_eff, int | float) or n_eff < 1):
            raise DataError(f"{where}: n_eff must be a number >= 1")
        examples.append(
            Example(
                template.prompt(state), template.target(tactic), str(row.get("theorem", "")), n_eff
            )
        )
    if oversized:
        log.warning("%s: left out %d states of over %d characters", path, oversized, max_chars)
    return examples


def load_proofs(
    path: Path, template: ProofTemplate, prover: ProverKind, max_chars: int = 100_000
) -> list[Example]:
    """(statement, whole proof) examples from JSONL; a row's ``prover`` overrides ``prover``."""
    examples = []
    for where, row in jsonl_rows(path):
        statement = _check_text(row.get("formal_statement"), "formal_statement", where, max_chars)
        proof = _check_text(row.get("proof"), "proof", where, max_chars)
        kind = ProverKind(row.get("prover", prover))
        prompt = template.prompt(str(row.get("header", "")), statement, kind)
        examples.append(Example(prompt, template.target(proof, kind), str(row.get("name", ""))))
    return examples


def load_examples(
    path: Path, tactic: TacticTemplate, proof: ProofTemplate, prover: ProverKind
) -> list[Example]:
    """Examples from ``path``, its format told by its name and first row."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.suffix == ".json":
        return load_leandojo(path, tactic)
    first = next(jsonl_rows(path), (str(path), {}))[1]
    if "formal_statement" in first:
        return load_proofs(path, proof, prover)
    if "state" in first:
        return load_pairs(path, tactic)
    raise DataError(
        f"{path}: unknown format; expected LeanDojo JSON (*.json), (state, tactic) JSONL or "
        "(header, formal_statement, proof) JSONL"
    )


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]
    group: int
    n_eff: float | None
    #: Position in the encoded list: the trainer remembers each example's confidence by it.
    index: int = 0


def target_ids(tokenizer, targets: Sequence[str]) -> list[list[int]]:
    """The token ids a model is trained to emit for each target: its tokens, then EOS. The
    hybrid policy scores tactics through the same function, so a score is the probability
    training shaped."""
    if not targets:
        return []
    encoded = tokenizer(list(targets), add_special_tokens=False)["input_ids"]
    return [[*ids, tokenizer.eos_token_id] for ids in encoded]


def encode(tokenizer, examples: Sequence[Example], max_length: int) -> tuple[list[Encoded], int]:
    """Tokenised examples, and how many were skipped for being longer than ``max_length``
    (a truncated target would teach a wrong completion, so long examples are left out)."""
    groups: dict[str, int] = {}
    encoded, skipped = [], 0
    # One batched call each: the fast tokenizer encodes a list in parallel, in Rust.
    prompts = tokenizer([e.prompt for e in examples])["input_ids"] if examples else []
    targets = target_ids(tokenizer, [e.target for e in examples])
    for example, prompt, target in zip(examples, prompts, targets, strict=True):
        if len(prompt) + len(target) > max_length:
            skipped += 1
            continue
        group = groups.setdefault(example.group or f"#{len(groups)}", len(groups))
        encoded.append(
            Encoded(
                prompt + target, [IGNORE] * len(prompt) + target, group, example.n_eff, len(encoded)
            )
        )
    return encoded, skipped


def collate(batch: Sequence[Encoded], pad_id: int, default_n: float) -> dict:
    """Right-padded tensors for the trainer: ids, attention mask, labels, N_eff, group, and
    each example's index."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        length = len(example.input_ids)
        input_ids[row, :length] = torch.tensor(example.input_ids)
        labels[row, :length] = torch.tensor(example.labels)
        attention[row, :length] = 1
    n_eff = [default_n if e.n_eff is None else e.n_eff for e in batch]
    return {
        "input_ids": input_ids,
        "attention_mask": attention,
        "labels": labels,
        "n_eff": torch.tensor(n_eff, dtype=torch.float64),
        "group": torch.tensor([e.group for e in batch], dtype=torch.long),
        "index": torch.tensor([e.index for e in batch], dtype=torch.long),
    }
