"""Fine-tuning with per-example training dynamics captured in one of two modes.

``train_pass`` records each batch's logits from the training forward pass, before the
optimizer step, as dataset cartography and example-forgetting work do; it costs nothing
extra. ``epoch_end`` runs an eval-mode, no-grad pass over the whole training set after each
epoch, so every example is scored by the same weights. ``none`` records nothing; it exists
to measure what capture costs.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup

from soi.batching import SAMPLING_STRATEGIES, Collator, TaskBatchSampler, tokenize
from soi.checkpoints import load_checkpoint, restore_rng_states, rng_states, save_checkpoint
from soi.data import TAG_COLUMNS
from soi.dynamics import MISSING_PREDICTION, Dynamics
from soi.heads import MultiTaskModel
from soi.reproducibility import collect_versions, set_seed

logger = logging.getLogger(__name__)

CAPTURE_MODES = ("train_pass", "epoch_end", "none")
PRECISIONS = ("auto", "fp32", "bf16")

# CPU flags of the instructions that make bf16 matrix products fast; without them PyTorch
# emulates bf16 and autocast slows training down.
_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")

# Number of example ids that an error message shows.
_IDS_IN_MESSAGE = 5


@dataclass
class TrainingConfig:
    """Hyperparameters of one fine-tuning run.

    Parameters
    ----------
    epochs : int
        Passes over the training set; categories need at least 2. With ``max_steps`` it
        is an upper bound.
    batch_size : int
        Training examples per optimizer step.
    eval_batch_size : int
        Examples per batch in evaluation and in the ``epoch_end`` capture pass.
    learning_rate : float
        Peak AdamW learning rate, reached after warm-up.
    weight_decay : float
        AdamW weight decay, applied to all weights but biases and LayerNorm weights.
    warmup_ratio : float
        Fraction of all optimizer steps spent warming the learning rate up linearly from 0.
    max_grad_norm : float
        Gradients are clipped to this global L2 norm.
    max_length : int
        Inputs are truncated to this many tokens; batches are padded to their longest input.
    seed : int
        Seed of the data order and dropout; pass it to
        :func:`soi.models.load_model_and_tokenizer` for the weights of the new head.
    capture : str
        ``"train_pass"``, ``"epoch_end"`` or ``"none"``; see the module docstring.
    record_logits : bool
        Also keep every example's logits at every epoch (N x E x labels floats).
    precision : str
        ``"auto"`` (bf16 autocast where the CPU or GPU computes bf16 natively, else fp32),
        ``"fp32"`` or ``"bf16"``. Probabilities and metrics are fp32 in every case.
    device : str
        ``"auto"`` (CUDA when available) or a torch device string.
    sampling : str
        How batches of a multi-task model are drawn from the tasks: ``"proportional"``,
        ``"uniform"`` or ``"temperature"`` (see :class:`soi.batching.TaskBatchSampler`).
        Only ``"proportional"`` shows every example exactly once per epoch, which
        ``fine_tune`` checks at the end of the run.
    temperature : float
        Temperature of ``sampling="temperature"``.
    group_by_length : bool
        Batch training examples of similar length together, reshuffled every epoch.
    drop_last : bool
        Drop incomplete batches. Their examples are recorded as missing for that epoch.
    checkpoint_every_steps : int
        With a checkpoint folder, also save a checkpoint every this many optimizer steps
        within an epoch; 0 saves at epoch ends only.
    max_steps : int
        Stop after this many optimizer steps in all, even within an epoch; 0 sets no
        limit. The linear schedule then decays to 0 over ``min(steps per epoch * epochs,
        max_steps)`` steps. The dynamics keep only the epochs that started, and with
        ``capture="train_pass"`` the examples that an epoch cut short never reached are
        recorded as missing in it (NaN probability, prediction
        :data:`soi.dynamics.MISSING_PREDICTION`).
    progress : bool
        Show tqdm progress bars.
    """

    epochs: int = 4
    batch_size: int = 32
    eval_batch_size: int = 128
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    max_length: int = 64
    seed: int = 42
    capture: str = "train_pass"
    record_logits: bool = False
    precision: str = "auto"
    device: str = "auto"
    sampling: str = "proportional"
    temperature: float = 2.0
    group_by_length: bool = False
    drop_last: bool = False
    checkpoint_every_steps: int = 0
    max_steps: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        positive_ints = ("epochs", "batch_size", "eval_batch_size", "max_length")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.epochs < 2:
            raise ValueError(
                f"epochs={self.epochs}: training dynamics need at least 2 epochs to tell "
                f"when an example was learned or forgotten"
            )
        if not isinstance(self.checkpoint_every_steps, int) or self.checkpoint_every_steps < 0:
            raise ValueError(
                f"checkpoint_every_steps must be an integer of at least 0, got "
                f"{self.checkpoint_every_steps!r}"
            )
        if (
            not isinstance(self.max_steps, int) or isinstance(self.max_steps, bool)
            or self.max_steps < 0
        ):
            raise ValueError(
                f"max_steps must be an integer of at least 0, got {self.max_steps!r}; pass 0 "
                f"to train for all epochs or a positive number of optimizer steps"
            )
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio!r}")
        if self.capture not in CAPTURE_MODES:
            raise ValueError(f"capture {self.capture!r} is not one of {CAPTURE_MODES}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r} is not one of {PRECISIONS}")
        if self.sampling not in SAMPLING_STRATEGIES:
            raise ValueError(f"sampling {self.sampling!r} is not one of {SAMPLING_STRATEGIES}")
        if self.sampling != "proportional" and self.capture == "train_pass":
            raise ValueError(
                f"sampling={self.sampling!r} can show an example several times or not at all "
                f"in an epoch, so capture='train_pass' cannot record one value per epoch; use "
                f"capture='epoch_end' or sampling='proportional'"
            )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingConfig:
        """Build a configuration, rejecting unknown keys with the list of valid ones."""
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ValueError(f"unknown training option(s) {unknown}; valid options are {valid}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cpu_supports_bf16() -> bool:
    """Tell whether this CPU has native bf16 instructions (read from /proc/cpuinfo on Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return any(flag in flags for flag in _CPU_BF16_FLAGS)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_precision(precision: str, device: torch.device) -> str:
    """Return ``"bf16"`` or ``"fp32"`` for a configured precision on ``device``."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_supports_bf16() else "fp32"


def _autocast(device: torch.device, precision: str):
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


@dataclass
class EvalResult:
    """Accuracy on one evaluation set and the per-example predictions behind it."""

    accuracy: float
    predictions: pd.DataFrame


@dataclass
class TrainingResult:
    """Output of one fine-tuning run.

    ``visits[i, e]`` counts how often training example i was recorded in epoch e. After a
    complete single-process run it is 1 everywhere. ``history`` has one entry per epoch
    that started, with its optimizer ``steps`` and the ``examples`` of those steps.
    """

    dynamics: Dynamics
    evaluations: dict[str, EvalResult]
    history: list[dict[str, float]]
    visits: np.ndarray
    precision: str
    device: str
    train_seconds: float
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def examples_per_second(self) -> float:
        return sum(h["examples"] for h in self.history) / self.train_seconds


def _optimizer(model: torch.nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        # Biases and normalization weights are not decayed, as in BERT's recipe.
        if parameter.ndim < 2 or "LayerNorm" in name or "layer_norm" in name:
            no_decay.append(parameter)
        else:
            decay.append(parameter)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    # The fused kernel updates all parameters in one pass. For 20 tensors of 1M parameters
    # its step took 9 ms against 144 ms for the per-tensor loop (torch 2.13, 2-core x86-64).
    fused = all(p.device.type in ("cpu", "cuda") for group in groups for p in group["params"])
    return torch.optim.AdamW(groups, lr=config.learning_rate, fused=fused)


class _Recorder:
    """Preallocated (N, E) buffers on the training device, written batch by batch.

    ``logits`` has room for the largest label space; a task with fewer labels leaves the
    remaining entries NaN.
    """

    def __init__(self, num_examples: int, num_epochs: int, device, num_logits: int | None):
        shape = (num_examples, num_epochs)
        self.gold_prob = torch.full(shape, float("nan"), device=device)
        self.predicted = torch.full(shape, MISSING_PREDICTION, dtype=torch.long, device=device)
        self.visits = torch.zeros(shape, dtype=torch.int32, device=device)
        self.logits = None
        if num_logits is not None:
            self.logits = torch.full((*shape, num_logits), float("nan"), device=device)

    def record(self, epoch: int, rows, logits: torch.Tensor, labels: torch.Tensor) -> None:
        logits = logits.detach().float()
        probs = logits.softmax(dim=-1)
        self.gold_prob[rows, epoch] = probs.gather(1, labels[:, None]).squeeze(1)
        self.predicted[rows, epoch] = logits.argmax(dim=-1)
        self.visits[rows, epoch] += 1
        if self.logits is not None:
            self.logits[rows, epoch, : logits.shape[-1]] = logits

    def state(self) -> dict[str, torch.Tensor | None]:
        return {
            "gold_prob": self.gold_prob, "predicted": self.predicted, "visits": self.visits,
            "logits": self.logits,
        }

    def load_state(self, state: dict[str, torch.Tensor | None], device) -> None:
        for name, value in state.items():
            setattr(self, name, None if value is None else value.to(device))

    def merge_processes(self, accelerator) -> None:
        """Combine the records of all processes, keeping the first process's record of a cell.

        A cell that several processes recorded comes from the padding of the distributed
        sampler; a cell that none recorded stays missing.
        """
        visits = accelerator.gather(self.visits[None])
        recorded = visits > 0
        first = recorded.int().argmax(dim=0, keepdim=True)
        missing = ~recorded.any(dim=0)

        def pick(values: torch.Tensor) -> torch.Tensor:
            gathered = accelerator.gather(values[None])
            index = first.view(*first.shape, *([1] * (gathered.dim() - first.dim())))
            index = index.expand(1, *gathered.shape[1:])
            return torch.gather(gathered, 0, index)[0]

        self.gold_prob = pick(self.gold_prob).masked_fill(missing, float("nan"))
        self.predicted = pick(self.predicted).masked_fill(missing, MISSING_PREDICTION)
        if self.logits is not None:
            self.logits = pick(self.logits).masked_fill(missing[..., None], float("nan"))
        self.visits = visits.sum(dim=0).int()


def _to_device(batch: dict, device) -> dict:
    return {
        key: value.to(device, non_blocking=True) if isinstance(value, torch.Tensor) else value
        for key, value in batch.items()
    }


def _row_tasks(model, dataset: datasets.Dataset) -> list[str] | None:
    """Return the task of every row for a multi-task model, checking each has a head."""
    if not isinstance(model, MultiTaskModel):
        return None
    if "task" not in dataset.column_names:
        raise ValueError("a multi-task model needs a 'task' column naming each example's task")
    tasks = list(dataset["task"])
    unknown = sorted(set(tasks) - set(model.tasks))
    if unknown:
        raise ValueError(
            f"task {unknown[0]!r} of the data has no head; the model's tasks are {model.tasks}"
        )
    return tasks


def _check_training_set(model, train: datasets.Dataset, row_tasks: list[str] | None) -> None:
    """Reject repeated example ids and labels that the model has no output for."""
    ids = pd.Index(train["example_id"])
    if ids.has_duplicates:
        repeated = ids[ids.duplicated()].unique()[:_IDS_IN_MESSAGE].tolist()
        raise ValueError(
            f"training set repeats {int(ids.duplicated().sum())} example ids, such as "
            f"{repeated}; every example needs its own id to be followed across epochs. Load "
            f"each source once, or give the copies new ids"
        )

    labels = np.asarray(train["label"], dtype=np.int64)
    if row_tasks is None:
        sizes = np.full(len(labels), _num_logits(model))
    else:
        task_sizes = {task: len(names) for task, names in model.task_labels.items()}
        sizes = np.array([task_sizes[task] for task in row_tasks])
    outside = (labels < 0) | (labels >= sizes)
    if np.any(outside):
        row = int(np.flatnonzero(outside)[0])
        task = "" if row_tasks is None else f" of task {row_tasks[row]!r}"
        raise ValueError(
            f"label {int(labels[row])} of example {train[row]['example_id']!r}{task} is outside "
            f"0..{int(sizes[row]) - 1}, the labels that the model has outputs for "
            f"({int(outside.sum())} examples in all). Load the model with the data set's "
            f"label names, or map the labels to ids in that range"
        )


def _data_loader(model_inputs, batch_sampler, collator) -> DataLoader:
    # Each new iterator of a DataLoader draws a seed from its generator. With the global
    # generator, that draw would shift the dropout masks of everything after it, so a
    # resumed run would differ from an uninterrupted one.
    generator = torch.Generator().manual_seed(0)
    return DataLoader(
        model_inputs, batch_sampler=batch_sampler, collate_fn=collator, generator=generator
    )


def _length_sorted_loader(
    model_inputs, batch_size: int, collator, num_shards: int = 1, shard: int = 0
) -> DataLoader:
    # Batches of similar lengths waste fewer padding tokens; order does not matter here.
    lengths = np.array([len(ids) for ids in model_inputs["input_ids"]])
    groups = collator.row_tasks if collator.row_tasks is not None else ["all"] * len(lengths)
    groups = np.asarray(groups, dtype=object)
    batches = []
    for group in dict.fromkeys(groups.tolist()):
        rows = np.flatnonzero(groups == group)
        rows = rows[np.argsort(lengths[rows], kind="stable")]
        batches += [rows[i:i + batch_size].tolist() for i in range(0, len(rows), batch_size)]
    return _data_loader(model_inputs, batches[shard::num_shards], collator)


@torch.inference_mode()
def _predict(model, loader, device, precision, progress: bool, description: str):
    """Yield (rows, fp32 logits, labels) for every batch of ``loader`` in eval mode."""
    was_training = model.training
    model.eval()
    for batch in tqdm(loader, desc=description, disable=not progress, leave=False):
        rows = batch.pop("row")
        labels = batch.pop("labels")
        batch = _to_device(batch, device)
        with _autocast(device, precision):
            logits = model(**batch).logits
        yield rows, logits.float(), labels.to(device)
    model.train(was_training)


def evaluate(
    model, tokenizer, dataset: datasets.Dataset, config: TrainingConfig, name: str = "eval"
) -> EvalResult:
    """Compute accuracy and per-example predictions of ``model`` on ``dataset``."""
    device = next(model.parameters()).device
    precision = resolve_precision(config.precision, device)
    model_inputs = tokenize(dataset, tokenizer, config.max_length)
    collator = Collator(tokenizer, _row_tasks(model, dataset))
    loader = _length_sorted_loader(model_inputs, config.eval_batch_size, collator)

    predicted = np.empty(len(dataset), dtype=np.int64)
    gold_prob = np.empty(len(dataset), dtype=np.float32)
    for rows, logits, labels in _predict(model, loader, device, precision, config.progress, name):
        predicted[rows.numpy()] = logits.argmax(dim=-1).cpu().numpy()
        gold_prob[rows.numpy()] = logits.softmax(-1).gather(1, labels[:, None]).squeeze(1).cpu().numpy()

    gold = np.asarray(dataset["label"], dtype=np.int64)
    predictions = pd.DataFrame(
        {
            "example_id": dataset["example_id"],
            "gold": gold,
            "predicted": predicted,
            "gold_prob": gold_prob,
        }
    )
    for tag in TAG_COLUMNS:
        if tag in dataset.column_names:
            predictions[tag] = dataset[tag]
    accuracy = float(np.mean(predicted == gold))
    return EvalResult(accuracy=accuracy, predictions=predictions)


def _distributed_accelerator(multitask: bool, device: str):
    """Return an ``accelerate.Accelerator`` when launched on several processes, else None."""
    from accelerate import Accelerator, PartialState
    from accelerate.utils import DistributedDataParallelKwargs

    # accelerate sets up CPU processes (gloo) only when asked for the CPU explicitly.
    cpu = device == "cpu" or not torch.cuda.is_available()
    if PartialState(cpu=cpu).num_processes == 1:
        return None
    # A multi-task batch leaves the other tasks' heads without gradients.
    handler = DistributedDataParallelKwargs(find_unused_parameters=multitask)
    return Accelerator(cpu=cpu, kwargs_handlers=[handler])


def _check_resumable(state: dict, config: TrainingConfig, train, folder) -> None:
    """Reject a checkpoint made with another configuration or other training data."""
    # A checkpoint from before an option existed was made with that option's default.
    defaults = TrainingConfig().to_dict()
    saved = {k: v for k, v in (defaults | state["config"]).items() if k != "progress"}
    current = {k: v for k, v in config.to_dict().items() if k != "progress"}
    if saved != current:
        changed = sorted(k for k in current if saved.get(k) != current[k])
        raise ValueError(
            f"the checkpoint in {folder} was made with other settings ({changed}); resume with "
            f"the same configuration or use another checkpoint folder"
        )
    if state["example_ids"] != list(train["example_id"]):
        raise ValueError(
            f"the checkpoint in {folder} was made with other training examples; resume with "
            f"the same data or use another checkpoint folder"
        )


def _num_logits(model) -> int:
    if isinstance(model, MultiTaskModel):
        return max(len(names) for names in model.task_labels.values())
    return model.config.num_labels


def _check_visits(
    visits: np.ndarray, config: TrainingConfig, distributed: bool, cut_short: bool = False
) -> None:
    """Check that every (example, epoch) cell was recorded as the sampler promises.

    ``cut_short`` is True when ``max_steps`` stopped the last epoch of ``visits`` before its
    last batch. With ``train_pass`` capture, that epoch may then leave examples unvisited.
    """
    if config.capture == "none":
        return
    if config.capture == "epoch_end" or not config.drop_last:
        # Padding of the distributed sampler may record a cell twice; the merge keeps one.
        wrong = visits < 1 if distributed else visits != 1
    else:
        wrong = visits > 1 if not distributed else np.zeros_like(visits, dtype=bool)
    if cut_short and config.capture == "train_pass" and visits.shape[1]:
        last = visits[:, -1]
        wrong[:, -1] = last > 1 if not distributed else np.zeros_like(last, dtype=bool)
    if wrong.any():
        raise RuntimeError(
            f"{int(wrong.sum())} (example, epoch) cells were recorded an unexpected number "
            f"of times; this is a bug in soi"
        )


def _check_diverged(
    loss_sum: torch.Tensor, recorder: _Recorder, epoch: int, config, accelerator
) -> None:
    """Stop a run whose loss or recorded probabilities stopped being finite in ``epoch``.

    Checking once per epoch costs one synchronisation instead of one per step. The
    checkpoint of the previous epoch is kept, because this runs before the epoch's own.
    With several processes the counts are summed over them, so that all stop together.
    """
    # Cells left unvisited by drop_last or by max_steps keep their NaN on purpose.
    visited = recorder.visits[:, epoch] > 0
    counts = torch.stack(
        [
            (~torch.isfinite(loss_sum)).sum(),
            (torch.isnan(recorder.gold_prob[:, epoch]) & visited).sum(),
        ]
    )
    if accelerator is not None:
        counts = accelerator.reduce(counts, reduction="sum")
    bad_losses, nan_cells = (int(count) for count in counts.tolist())
    if bad_losses == 0 and nan_cells == 0:
        return
    raise ValueError(
        f"training diverged in epoch {epoch + 1}: the loss is {float(loss_sum)} and "
        f"{nan_cells} recorded examples have NaN probabilities, because the logits became "
        f"NaN or infinite. Lower learning_rate (now {config.learning_rate}), use "
        f"precision='fp32' (now {config.precision!r}), or check the model's weights for "
        f"NaN values"
    )


def _label_names(model, dataset: datasets.Dataset) -> list[str] | dict[str, list[str]] | None:
    if isinstance(model, MultiTaskModel):
        return model.task_labels
    feature = dataset.features["label"]
    return list(feature.names) if hasattr(feature, "names") else None


def fine_tune(
    model,
    tokenizer,
    train: datasets.Dataset,
    config: TrainingConfig,
    eval_sets: dict[str, datasets.Dataset] | None = None,
    metadata: dict[str, Any] | None = None,
    checkpoint_dir: str | Path | None = None,
) -> TrainingResult:
    """Fine-tune ``model`` on ``train`` and record its training dynamics.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A sequence-classification model whose outputs follow the ``label`` ids of ``train``.
    tokenizer : transformers.PreTrainedTokenizerBase
    train : datasets.Dataset
        Columns ``example_id``, ``text`` (and ``text_pair`` for pairs) and ``label``; tag
        columns ``source``, ``task`` and ``language`` are kept with the dynamics.
    config : TrainingConfig
    eval_sets : dict of str to datasets.Dataset, optional
        Sets evaluated once after training, such as in-distribution test and OOD sets.
    metadata : dict, optional
        Extra entries for the run record stored with the dynamics.
    checkpoint_dir : str or Path, optional
        Folder for checkpoints, saved at every epoch end (and every
        ``config.checkpoint_every_steps`` steps). When it already contains a checkpoint of the
        same configuration and data, training resumes from it: the interrupted epoch's data
        order is replayed, so on a CPU the dynamics equal those of an uninterrupted run.

    Returns
    -------
    TrainingResult
    """
    missing = [c for c in ("example_id", "text", "label") if c not in train.column_names]
    if missing:
        raise ValueError(
            f"training set lacks column {missing[0]!r}; it has {train.column_names}. Load it "
            f"with soi.data.load_source or add the column"
        )
    if len(train) == 0:
        raise ValueError("training set is empty; check the data set's filters and sizes")

    set_seed(config.seed)
    multitask = isinstance(model, MultiTaskModel)
    accelerator = _distributed_accelerator(multitask, config.device)
    device = accelerator.device if accelerator else resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    model.to(device)
    is_main = accelerator is None or accelerator.is_main_process
    num_shards = accelerator.num_processes if accelerator else 1
    shard = accelerator.process_index if accelerator else 0
    logger.info(
        "Fine-tuning on %d examples for %d epochs on %s in %s, capture=%s",
        len(train), config.epochs, device, precision, config.capture,
    )

    row_tasks = _row_tasks(model, train)
    _check_training_set(model, train, row_tasks)
    collator = Collator(tokenizer, row_tasks)
    model_inputs = tokenize(train, tokenizer, config.max_length)
    sampler = TaskBatchSampler(
        row_tasks if row_tasks is not None else ["all"] * len(train),
        batch_size=config.batch_size,
        strategy=config.sampling,
        temperature=config.temperature,
        lengths=[len(ids) for ids in model_inputs["input_ids"]],
        group_by_length=config.group_by_length,
        seed=config.seed,
        drop_last=config.drop_last,
        num_replicas=num_shards,
        rank=shard,
    )
    loader = _data_loader(model_inputs, sampler, collator)
    optimizer = _optimizer(model, config)
    if accelerator is not None:
        model, optimizer = accelerator.prepare(model, optimizer)
    steps_per_epoch = len(loader)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps:
        total_steps = min(total_steps, config.max_steps)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, math.ceil(config.warmup_ratio * total_steps), total_steps
    )
    recorder = _Recorder(
        len(train), config.epochs, device, _num_logits(model) if config.record_logits else None
    )

    history: list[dict[str, float]] = []
    first_epoch, first_step, resumed_loss = 0, 0, 0.0
    if checkpoint_dir is not None:
        if accelerator is not None:
            # NOTE: each process keeps its own records until the end of the run, so a
            # checkpoint would need the records of every process. That is not written yet.
            raise ValueError(
                "checkpoint_dir is not supported with several processes yet; run without it"
            )
        state = load_checkpoint(checkpoint_dir)
        if state is not None:
            _check_resumable(state, config, train, checkpoint_dir)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            recorder.load_state(state["recorder"], device)
            history = list(state["history"])
            first_epoch, first_step, resumed_loss = state["epoch"], state["step"], state["loss_sum"]
            restore_rng_states(state["rng"])
            logger.info("Resuming at epoch %d, step %d", first_epoch + 1, first_step)

    def checkpoint(epoch: int, step: int, loss_sum: float) -> None:
        save_checkpoint(
            checkpoint_dir,
            {
                "epoch": epoch, "step": step, "loss_sum": loss_sum,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "recorder": recorder.state(),
                "history": history, "rng": rng_states(), "config": config.to_dict(),
                "example_ids": list(train["example_id"]),
            },
        )

    def out_of_steps() -> bool:
        return config.max_steps > 0 and global_step >= config.max_steps

    # Optimizer steps taken so far, counting those of a resumed checkpoint.
    global_step = sum(h.get("steps", steps_per_epoch) for h in history) + first_step
    start = time.perf_counter()
    for epoch in range(first_epoch, config.epochs):
        if out_of_steps():
            break
        model.train()
        sampler.set_epoch(epoch)
        epoch_start = time.perf_counter()
        resuming = epoch == first_epoch and first_step > 0
        loss_sum = torch.full((), resumed_loss if resuming else 0.0, device=device)
        epoch_steps, epoch_examples = 0, 0
        bar = tqdm(
            loader, desc=f"Epoch {epoch + 1}/{config.epochs}",
            disable=not (config.progress and is_main),
        )
        for step, batch in enumerate(bar):
            # A resumed epoch replays its order and skips the steps already taken.
            if resuming and step < first_step:
                epoch_steps += 1
                epoch_examples += len(batch["row"])
                continue
            rows = batch.pop("row").to(device)
            labels = batch.pop("labels").to(device)
            batch = _to_device(batch, device)

            # Forward pass; logits go to fp32 before the softmax, whatever the precision.
            with _autocast(device, precision):
                logits = model(**batch).logits
            logits = logits.float()
            loss = F.cross_entropy(logits, labels)

            # Capture from this forward pass, before the optimizer step changes the weights.
            if config.capture == "train_pass":
                recorder.record(epoch, rows, logits, labels)

            # Backward pass, clipping and the optimizer step.
            if accelerator is not None:
                accelerator.backward(loss)
                accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            else:
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

            loss_sum += loss.detach() * len(rows)
            global_step += 1
            epoch_steps += 1
            epoch_examples += len(rows)
            if config.progress and step % 10 == 0:
                bar.set_postfix(loss=f"{loss.item():.4f}")
            every = config.checkpoint_every_steps
            if checkpoint_dir is not None and every and (step + 1) % every == 0:
                if step + 1 < len(loader):
                    checkpoint(epoch, step + 1, float(loss_sum))
            if out_of_steps():
                break
        bar.close()
        train_seconds = time.perf_counter() - epoch_start
        if epoch_steps < steps_per_epoch:
            logger.info(
                "Stopping in epoch %d after %d of its %d steps: max_steps=%d reached",
                epoch + 1, epoch_steps, steps_per_epoch, config.max_steps,
            )

        # Capture in eval mode over the whole training set with the epoch's final weights.
        if config.capture == "epoch_end":
            capture_loader = _length_sorted_loader(
                model_inputs, config.eval_batch_size, collator, num_shards, shard
            )
            # The unwrapped model runs no collective operations, so processes with
            # different numbers of capture batches cannot wait on each other.
            scorer = accelerator.unwrap_model(model) if accelerator else model
            batches = _predict(
                scorer, capture_loader, device, precision, config.progress and is_main,
                "Recording dynamics",
            )
            for rows, logits, labels in batches:
                recorder.record(epoch, rows.to(device), logits, labels)

        _check_diverged(loss_sum, recorder, epoch, config, accelerator)
        history.append(
            {
                "epoch": epoch + 1,
                "steps": epoch_steps,
                "examples": epoch_examples,
                "loss": float(loss_sum) / max(epoch_examples, 1),
                "train_seconds": train_seconds,
                "seconds": time.perf_counter() - epoch_start,
                "examples_per_second": epoch_examples / train_seconds,
            }
        )
        logger.info("Epoch %d: %s", epoch + 1, history[-1])
        if checkpoint_dir is not None:
            checkpoint(epoch + 1, 0, 0.0)
    total_seconds = time.perf_counter() - start

    if accelerator is not None:
        recorder.merge_processes(accelerator)
        model = accelerator.unwrap_model(model)
    # Epochs that max_steps never started are left out of the dynamics.
    num_epochs = len(history)
    cut_short = num_epochs > 0 and history[-1].get("steps", steps_per_epoch) < steps_per_epoch
    visits = recorder.visits[:, :num_epochs].cpu().numpy()
    _check_visits(visits, config, distributed=accelerator is not None, cut_short=cut_short)

    run_record = {
        "training_config": config.to_dict(),
        "precision": precision,
        "device": str(device),
        "num_processes": num_shards,
        "optimizer_steps": global_step,
        "label_names": _label_names(model, train),
        "versions": collect_versions(),
        **(metadata or {}),
    }
    tag_columns = [tag for tag in TAG_COLUMNS if tag in train.column_names]
    dynamics = Dynamics(
        example_ids=np.asarray(train["example_id"], dtype=object),
        epochs=np.arange(1, num_epochs + 1),
        gold=np.asarray(train["label"]),
        gold_prob=recorder.gold_prob[:, :num_epochs].cpu().numpy(),
        predicted=recorder.predicted[:, :num_epochs].cpu().numpy(),
        logits=None if recorder.logits is None else recorder.logits[:, :num_epochs].cpu().numpy(),
        tags=train.select_columns(tag_columns).to_pandas() if tag_columns else pd.DataFrame(),
        metadata=run_record,
    )

    evaluations = {
        name: evaluate(model, tokenizer, dataset, config, name=name)
        for name, dataset in (eval_sets or {}).items()
    }
    return TrainingResult(
        dynamics=dynamics,
        evaluations=evaluations,
        history=history,
        visits=visits,
        precision=precision,
        device=str(device),
        train_seconds=sum(h["train_seconds"] for h in history),
        metadata=run_record,
    )
