"""Fine-tune a policy with CE, DCO, DCO_step or trajectory DCO, on transformers' ``Trainer``.

What the trainer adds to ``Trainer`` is ``compute_loss``: the loss from ``prover.losses``, and
for the DCO losses the confidence filter. Each step draws a pool of ``pool_factor`` times the
batch, drops the examples whose weight F is below ``threshold`` and trains on the first
``batch_size`` that remain, so batches stay full of examples that still teach. Where F comes
from for the filter is ``filter``:

* ``fresh``: a no-grad pass over the pool, with the current weights (exact, but the pass
  costs about as much as the training step's forward: DCO_step ran at 2.2x a CE step);
* ``stale`` (default): the confidence each example had the last time it was trained on,
  forgotten after as many steps as training on every example once takes, so that an example
  the model has since forgotten is trained again; no extra pass;
* ``none``: no filter; the batch is trained as drawn.

Trajectory DCO weighs whole proofs, whose confidence changes with every step's: its filter
always makes the fresh pass.

In every mode the loss's own weight F is computed from the training step's forward pass, so
the gradient of each trained row is the exact DCO gradient at the current weights; the filter
only decides which rows are worth a step.

Everything else is ``Trainer``'s: bf16 on GPU, gradient accumulation, several GPUs under
``accelerate launch``/``torchrun``, checkpoints saved as safetensors with the tokenizer
(``vllm serve DIR`` and the transformers policy load them), one progress bar (the latest loss
on it), and a JSONL log (``train_log.jsonl``) of loss, mean weight, mean probability of the
target and dropped share, as numbers, mirrored to TensorBoard (``OUT/tensorboard``) with
``tensorboard=True``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import ProgressCallback
from transformers.trainer_pt_utils import LengthGroupedSampler

from prover.data import IGNORE, Encoded, Example, collate, encode
from prover.losses import (
    DEFAULT_WEIGHT_THRESHOLD,
    ce_loss,
    dco_step_loss,
    dco_trajectory_loss,
    dco_weight,
    keep_informative,
    sequence_logprobs,
)
from prover.tiny_model import BUILT_NAME

LOG_NAME = "train_log.jsonl"
#: TensorBoard event files go here, under the output directory.
TENSORBOARD_DIR = "tensorboard"
#: Written next to the weights: which templates and loss made this checkpoint.
RECIPE_NAME = "dcoprover_train.json"


class LossKind(StrEnum):
    CE = "ce"
    DCO = "dco"
    DCO_STEP = "dco-step"
    DCO_TRAJECTORY = "dco-trajectory"


class FilterKind(StrEnum):
    FRESH = "fresh"
    STALE = "stale"
    NONE = "none"


#: Learning rates that train: a model built here from random weights needs about 1e-3 (1e-4
#: barely moved one); a pretrained checkpoint is fine-tuned at about 1e-5. A model trained
#: here that trains on (expert iteration's rounds) continues at 1e-4: restarting at 1e-3 undid
#: part of the first run (1.15M parameters, 600 more steps on the same pairs: validation loss
#: 2.839 -> 2.876 at 1e-3, -> 2.831 at 1e-4; docs/training.md).
LEARNING_RATE_FROM_SCRATCH = 1e-3
LEARNING_RATE_CONTINUED = 1e-4
LEARNING_RATE_PRETRAINED = 1e-5


class TrainConfig(BaseModel):
    """One training run. ``n`` is DCO's N (the default N_eff of DCO_step)."""

    loss: LossKind = LossKind.DCO_STEP
    n: float = Field(default=8.0, ge=1.0, le=1e6)
    threshold: float = Field(default=DEFAULT_WEIGHT_THRESHOLD, ge=0.0, lt=1.0)
    pool_factor: int = Field(default=2, ge=1, le=16, description="pool drawn per batch (DCO)")
    filter: FilterKind = Field(default=FilterKind.STALE, description="where F comes from (DCO)")
    reduction: str = Field(default="mean", pattern="^(sum|mean)$")
    batch_size: int = Field(default=8, ge=1)
    grad_accum: int = Field(default=1, ge=1)
    learning_rate: float | None = Field(
        default=None, gt=0, description="None: chosen by the base model (learning_rate_for)"
    )
    steps: int = Field(default=1000, ge=1)
    warmup_ratio: float = Field(default=0.03, ge=0, le=1)
    max_length: int = Field(default=1024, ge=8)
    seed: int = 0
    save_steps: int = Field(default=500, ge=1)
    tactic_template: str = "tactic-state-v1"
    proof_template: str = "proof-deepseek-v1"
    tensorboard: bool = Field(default=False, description="also log to OUT/tensorboard")
    group_by_length: bool = Field(
        default=True,
        description="draw batches of similar length (padding costs most of a CPU step "
        "otherwise: goals run from 20 to 2,000 tokens)",
    )


class _Dataset(torch.utils.data.Dataset):
    """Items are lists of examples: one example, or every step of one proof (trajectory DCO
    needs a proof's steps in the same batch to weight them by the proof's probability)."""

    def __init__(self, items: list[Encoded], by_group: bool) -> None:
        self.examples = items
        if by_group:
            groups: dict[int, list[Encoded]] = {}
            for item in items:
                groups.setdefault(item.group, []).append(item)
            self.items = list(groups.values())
        else:
            self.items = [[item] for item in items]

    def __len__(self) -> int:
        return len(self.items)

    @property
    def lengths(self) -> list[int]:
        """Tokens per item, for batching items of similar length together."""
        return [sum(len(example.input_ids) for example in item) for item in self.items]

    def __getitem__(self, index: int) -> list[Encoded]:
        return self.items[index]


def learning_rate_for(base_model: str) -> float:
    """The default learning rate: ``LEARNING_RATE_FROM_SCRATCH`` for the random weights
    ``build-model`` made, ``LEARNING_RATE_CONTINUED`` for a model trained here from them (its
    directory has a recipe), ``LEARNING_RATE_PRETRAINED`` for any other checkpoint (a
    downloaded, pretrained model)."""
    directory = Path(base_model).expanduser()
    if not (directory / BUILT_NAME).exists():
        return LEARNING_RATE_PRETRAINED
    trained = (directory / RECIPE_NAME).exists()
    return LEARNING_RATE_CONTINUED if trained else LEARNING_RATE_FROM_SCRATCH


def filtered(config: TrainConfig) -> bool:
    """Whether steps draw a pool and filter it (a DCO loss with a filter)."""
    return config.loss is not LossKind.CE and config.filter is not FilterKind.NONE


def pool_size(config: TrainConfig) -> int:
    """Dataset items drawn per step: a batch, or ``pool_factor`` batches for a DCO filter."""
    return config.batch_size * (config.pool_factor if filtered(config) else 1)


def token_logprobs(model, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-prob of each next token, mask of target tokens), both ``(batch, length - 1)``."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    targets = batch["labels"][:, 1:]
    logits = logits[:, :-1].float()
    nll = F.cross_entropy(
        logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE, reduction="none"
    )
    return -nll.view_as(targets), (targets != IGNORE).float()


class DCOTrainer(Trainer):
    """``Trainer`` whose loss is one of ``prover.losses``, with the confidence filter."""

    def __init__(self, *args, train_config: TrainConfig, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Our losses are means per micro-batch: let Trainer divide by the accumulation steps.
        self.model_accepts_loss_kwargs = False
        self.train_config = train_config
        self._sums = self._empty_sums()
        # The stale filter's memory: each example's last log p, and the step it was taken at.
        # It is forgotten after as many steps as training on every example once takes.
        count = len(self.train_dataset.examples)
        self._seen_logp = torch.zeros(count, dtype=torch.float64)
        self._seen_step = torch.full((count,), -(2**62), dtype=torch.long)
        per_step = train_config.batch_size * self.args.gradient_accumulation_steps
        per_step *= max(1, self.args.world_size)
        self._pass_steps = max(1, -(-len(self.train_dataset) // per_step))

    def _get_train_sampler(self, train_dataset=None):
        """Transformers' length-grouped sampler, fed our items' lengths (it cannot read them
        from lists of examples itself); the default random sampler otherwise."""
        dataset = self.train_dataset if train_dataset is None else train_dataset
        if not self.train_config.group_by_length:
            return super()._get_train_sampler(train_dataset)
        return LengthGroupedSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps,
            lengths=dataset.lengths,
        )

    @staticmethod
    def _empty_sums() -> dict[str, float]:
        return {"weight": 0.0, "pool": 0, "kept": 0, "dropped": 0, "prob": 0.0, "rows": 0}

    def _n(self, inputs: dict):
        """DCO's N for these rows: each row's N_eff for DCO_step, the run's N otherwise."""
        config = self.train_config
        return inputs["n_eff"] if config.loss is LossKind.DCO_STEP else config.n

    def _filter_weights(self, model, inputs: dict) -> torch.Tensor:
        """F of every pool row as the filter sees it (see ``filter`` in the module doc)."""
        config = self.train_config
        n = self._n(inputs)
        if config.filter is FilterKind.STALE and config.loss is not LossKind.DCO_TRAJECTORY:
            index = inputs["index"].cpu()
            known = self.state.global_step - self._seen_step[index] < self._pass_steps
            weights = dco_weight(self._seen_logp[index], n.cpu() if torch.is_tensor(n) else n)
            return torch.where(known, weights, torch.ones_like(weights))
        with torch.no_grad():
            logprobs, mask = token_logprobs(model, inputs)
            seq = sequence_logprobs(logprobs, mask)
            if config.loss is LossKind.DCO_TRAJECTORY:
                proof = seq.new_zeros(int(inputs["group"].max()) + 1)
                seq = proof.index_add(0, inputs["group"], seq)[inputs["group"]]
            return dco_weight(seq, n)

    def _select(self, model, inputs: dict) -> dict:
        """The rows of the pool this step trains on (all of them for CE and ``none``)."""
        config = self.train_config
        if not filtered(config):
            return inputs
        weights = self._filter_weights(model, inputs)
        limit = len(weights) if config.loss is LossKind.DCO_TRAJECTORY else config.batch_size
        keep = keep_informative(weights, limit, config.threshold)
        self._sums["pool"] += len(weights)
        self._sums["dropped"] += int((weights < config.threshold).sum())
        if config.loss is LossKind.DCO_TRAJECTORY:  # a proof's weight, not one row's
            self._sums["weight"] += float(weights[keep].sum())
            self._sums["kept"] += len(keep)
        return {key: value[keep.to(value.device)] for key, value in inputs.items()}

    def _record(self, inputs: dict, seq_logp: torch.Tensor) -> None:
        """Log the trained rows' target probability and weight; remember their confidence."""
        config = self.train_config
        seq_logp = seq_logp.detach().to(torch.float64).cpu()
        self._sums["rows"] += len(seq_logp)
        self._sums["prob"] += float(seq_logp.exp().sum())
        if config.loss in (LossKind.CE, LossKind.DCO_TRAJECTORY):
            # Trajectory DCO's weights are whole proofs', logged by ``_select``; its filter
            # is always the fresh pass (module doc), so nothing is remembered.
            return
        n = self._n(inputs)
        n = n.cpu() if torch.is_tensor(n) else n
        self._sums["weight"] += float(dco_weight(seq_logp, n).sum())
        self._sums["kept"] += len(seq_logp)
        index = inputs["index"].cpu()
        self._seen_logp[index] = seq_logp
        self._seen_step[index] = self.state.global_step

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        config = self.train_config
        inputs = self._select(model, inputs)
        if inputs["input_ids"].shape[0] == 0:
            # Every example in the pool is already covered: nothing to learn from this step.
            loss = sum(p.sum() for p in model.parameters() if p.requires_grad) * 0.0
            return (loss, None) if return_outputs else loss
        logprobs, mask = token_logprobs(model, inputs)
        self._record(inputs, sequence_logprobs(logprobs, mask))
        if config.loss is LossKind.CE:
            loss = ce_loss(logprobs, mask, config.reduction)
        elif config.loss is LossKind.DCO_TRAJECTORY:
            groups = torch.unique(inputs["group"], return_inverse=True)[1]
            loss = dco_trajectory_loss(logprobs, mask, groups, config.n, config.reduction)
        else:
            loss = dco_step_loss(logprobs, mask, self._n(inputs), config.reduction)
        return (loss, None) if return_outputs else loss

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        sums = self._sums
        if "loss" in logs and sums["rows"]:
            logs["mean_target_prob"] = sums["prob"] / sums["rows"]
            if sums["kept"]:
                logs["mean_weight"] = sums["weight"] / sums["kept"]
            if sums["pool"]:
                logs["dropped_fraction"] = sums["dropped"] / sums["pool"]
            elif self.train_config.loss is not LossKind.CE:
                logs["dropped_fraction"] = 0.0
            self._sums = self._empty_sums()
        super().log(logs, *args, **kwargs)


class LossOnTheBar(ProgressCallback):
    """Transformers' progress bar, with the latest numbers on the bar itself instead of a
    Python dict of strings printed under it at every logging step."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.training_bar is None or not logs:
            return
        shown = {k: logs[k] for k in ("loss", "mean_target_prob", "dropped_fraction") if k in logs}
        self.training_bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)


class JsonlLog(TrainerCallback):
    """Appends every log record (loss, learning rate, mean weight, dropped share) to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_log(self, args, state, control, logs=None, **kwargs):
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"step": state.global_step, **(logs or {})}) + "\n")


def _tensorboard_callback(out: Path) -> TrainerCallback:
    """transformers' own TensorBoard callback, writing to ``out/tensorboard`` (not ``runs/``
    under the working directory), so a run's curves sit next to its checkpoint."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:  # torch imports it lazily; it needs the tensorboard package
        raise RuntimeError(
            "--tensorboard needs the tensorboard package: pip install 'dcoprover[gpu]'"
        ) from exc
    from transformers.integrations import TensorBoardCallback

    return TensorBoardCallback(SummaryWriter(log_dir=str(out / TENSORBOARD_DIR)))


def train(
    config: TrainConfig,
    examples: list[Example],
    base_model: str,
    out: Path,
    data: Sequence[str] = (),
) -> dict[str, float]:
    """Fine-tune ``base_model`` on ``examples``; write the final model to ``out``. ``data``
    names the files the examples came from, for the recipe (which splits training read)."""
    from prover.hf_backend import load_model

    if not examples:
        raise ValueError("no training examples")
    model, tokenizer = load_model(base_model, device="cpu", dtype="float32")
    tokenizer.padding_side = "right"
    items, skipped = encode(tokenizer, examples, config.max_length)
    if not items:
        raise ValueError(f"all {len(examples)} examples are longer than --max-length")
    out.mkdir(parents=True, exist_ok=True)
    if config.learning_rate is None:
        config = config.model_copy(update={"learning_rate": learning_rate_for(base_model)})
    # The pool is counted in dataset items: examples, or proofs for trajectory DCO.
    pool = pool_size(config)
    args = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=pool,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        max_steps=config.steps,
        warmup_steps=int(config.warmup_ratio * config.steps),
        lr_scheduler_type="cosine",
        logging_steps=max(1, min(50, config.steps // 20)),
        save_steps=config.save_steps,
        save_total_limit=2,
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        report_to=[],
        remove_unused_columns=False,
        seed=config.seed,
        dataloader_drop_last=False,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    trainer = DCOTrainer(
        model=model,
        args=args,
        train_dataset=_Dataset(items, by_group=config.loss is LossKind.DCO_TRAJECTORY),
        data_collator=lambda batch: collate(
            [example for item in batch for example in item], tokenizer.pad_token_id, config.n
        ),
        callbacks=[JsonlLog(out / LOG_NAME)]
        + ([_tensorboard_callback(out)] if config.tensorboard else []),
        train_config=config,
    )
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(LossOnTheBar)
    result = trainer.train()
    tokenizer.padding_side = "left"
    trainer.model.config.use_cache = True  # what generation (ours, HF's, vLLM's) expects
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    built = Path(base_model).expanduser() / BUILT_NAME
    if built.exists():  # still a model of this project's making: keep its defaults
        (out / BUILT_NAME).write_text(built.read_text())
    recipe = config.model_dump(mode="json") | {
        "base_model": base_model,
        "data": list(data),
        "examples": len(items),
        "skipped_too_long": skipped,
    }
    (out / RECIPE_NAME).write_text(json.dumps(recipe, indent=2))
    return {
        "train_loss": result.training_loss,
        "examples": len(items),
        "skipped": skipped,
        "train_runtime_s": float(result.metrics.get("train_runtime", 0.0)),
    }
