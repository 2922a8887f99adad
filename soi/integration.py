"""Record training dynamics inside a ``transformers.Trainer`` run.

:class:`DynamicsTrainer` is a ``Trainer`` that records, for every training example at
every epoch, the softmax probability of its gold label and its argmax prediction, and
returns them as :class:`soi.dynamics.Dynamics` (``trainer.dynamics``). Use
:class:`DynamicsTrainerMixin` to add the same recording to another ``Trainer``
subclass. Two capture modes exist, as in :mod:`soi.training`:

``train_pass``
    Logits come from the training forward pass of each batch, before the optimizer
    step. Callbacks never see the forward outputs, so the mixin overrides
    ``compute_loss``, which requests the outputs from the parent and reads
    ``outputs["logits"]``.
    With gradient accumulation every micro-batch is recorded. With
    ``dataloader_drop_last=True`` the examples of the dropped final batch have no record
    in that epoch: ``gold_prob`` is NaN and ``predicted`` is
    :data:`soi.dynamics.MISSING_PREDICTION`.
``epoch_end``
    After the last optimizer step of each epoch, :class:`DynamicsCallback` runs an
    eval-mode, no-grad pass over the whole training set in its stored order, so every
    example is scored by the same weights and none is dropped.

Logits are cast to float32 before the softmax, whatever precision the Trainer uses.
After each epoch the number of records of every example is checked (the ``visits``
count): exactly one, or zero only for examples that ``drop_last`` removed or that an
epoch stopped early (``max_steps``) never reached.

**How example ids survive.** ``Trainer`` removes the dataset columns that the model's
``forward`` does not accept, so the string ``example_id`` column never reaches a batch.
Before the training data loader is built, the mixin reads the ids, gold labels and tag
columns (``source``, ``task``, ``language``) from the training set. The Trainer then
gets a copy in which an integer column, :data:`ROW_COLUMN`, replaces the id column
and contains each example's position in the training set. The mixin adds
:data:`ROW_COLUMN` to the columns that the Trainer keeps, so it survives
``remove_unused_columns=True`` and reaches the data collator. The collator must pass
it on as a batch entry, as ``DataCollatorWithPadding`` and ``default_data_collator``
do with integer columns. The mixin removes the entry from every batch before the
model's forward pass. The user's ``train_dataset`` is left unchanged.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

import datasets
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from transformers import Trainer, TrainerCallback

from soi.data import TAG_COLUMNS
from soi.dynamics import MISSING_PREDICTION, Dynamics
from soi.reproducibility import collect_versions

__all__ = [
    "CAPTURE_MODES",
    "ROW_COLUMN",
    "DynamicsCallback",
    "DynamicsTrainer",
    "DynamicsTrainerMixin",
]

logger = logging.getLogger(__name__)

#: Capture modes of the Trainer integration; see the module docstring.
CAPTURE_MODES = ("train_pass", "epoch_end")

#: Integer column and batch entry that carries each example's position in the
#: training set from the dataset through the collator to the recorder.
ROW_COLUMN = "soi_row"

#: Label columns looked up, in this order, when ``label_column`` is None: the names
#: that the Trainer's default collators accept.
LABEL_COLUMN_CANDIDATES = ("labels", "label", "label_ids")

# Number of offending example ids that an error message shows.
_IDS_IN_MESSAGE = 5


class DynamicsTrainerMixin:
    """Add per-example training dynamics to a ``transformers.Trainer`` subclass.

    Put the mixin before the Trainer class, as in
    ``class MyTrainer(DynamicsTrainerMixin, Trainer)``. The module docstring explains
    the capture modes and how the example ids are carried through the batches.

    Parameters
    ----------
    *args
        Positional arguments of the Trainer class.
    capture : str
        ``"train_pass"`` or ``"epoch_end"``; see the module docstring.
    example_id_column : str or None
        Column of ``train_dataset`` with a unique id per example. None uses the
        positions 0..N-1 as ids, which only identify examples while the training set
        keeps its order.
    label_column : str or None
        Column with the gold label ids, which must be non-negative integers. None takes
        the first of ``LABEL_COLUMN_CANDIDATES`` that the training set has.
    record_logits : bool
        Also keep every example's logits at every epoch (N x E x labels floats).
    metadata : dict or None
        Extra JSON-serialisable entries for the run record, ``dynamics.metadata``.
    **kwargs
        Keyword arguments of the Trainer class.

    Raises
    ------
    ValueError
        If ``capture`` is not one of ``CAPTURE_MODES``.

    Notes
    -----
    The training set must be a ``datasets.Dataset``; the checks of its columns run when
    ``train()`` builds the training data loader. Recording runs in a single process;
    ``train()`` raises NotImplementedError when ``args.world_size`` is above 1.
    """

    def __init__(
        self,
        *args: Any,
        capture: str = "train_pass",
        example_id_column: str | None = "example_id",
        label_column: str | None = None,
        record_logits: bool = False,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if capture not in CAPTURE_MODES:
            raise ValueError(
                f"capture {capture!r} is not one of {CAPTURE_MODES}; use 'train_pass' to record "
                "the training forward pass or 'epoch_end' for a separate pass after each epoch"
            )
        super().__init__(*args, **kwargs)
        self.capture = capture
        self.example_id_column = example_id_column
        self.label_column = label_column
        self.record_logits = record_logits
        self.dynamics_metadata = dict(metadata or {})
        self._examples: _TrainingExamples | None = None
        self._recorder: _EpochRecorder | None = None
        self.add_callback(DynamicsCallback(self))

    # -- Results ----------------------------------------------------------------------

    @property
    def dynamics(self) -> Dynamics:
        """Dynamics recorded by the last ``train()`` call, one column per epoch begun.

        Raises
        ------
        RuntimeError
            If ``train()`` has not started yet.
        """
        if self._recorder is None or self._examples is None:
            raise RuntimeError("no dynamics recorded yet; call trainer.train() first")
        return self._recorder.to_dynamics(self._examples, self._run_record())

    @property
    def visits(self) -> np.ndarray:
        """(N, E) int32 matrix: how often each example was recorded in each epoch."""
        if self._recorder is None:
            raise RuntimeError("no dynamics recorded yet; call trainer.train() first")
        return self._recorder.visits[:, : self._recorder.num_epochs_begun].cpu().numpy()

    def _run_record(self) -> dict[str, Any]:
        config = getattr(self.model, "config", None)
        return {
            "integration": "transformers.Trainer",
            "capture": self.capture,
            "training_arguments": json.loads(self.args.to_json_string()),
            "seed": self.args.seed,
            "precision": _precision(self.args),
            "device": str(self.args.device),
            "model": getattr(config, "_name_or_path", None) or type(self.model).__name__,
            "label_names": self._examples.label_names or _config_label_names(config),
            "num_train_examples": self._examples.num_examples,
            "global_step": self.state.global_step,
            "versions": collect_versions(),
            **self.dynamics_metadata,
        }

    # -- Data: carry the row position through column removal and collation ------------

    def get_train_dataloader(self) -> DataLoader:
        """Build the training data loader over a copy of the training set with row positions.

        Returns
        -------
        torch.utils.data.DataLoader
            The Trainer's loader over the training set with :data:`ROW_COLUMN` added
            and the id column removed; ``self.train_dataset`` is left as it was.

        Raises
        ------
        TypeError
            If the training set is not a ``datasets.Dataset``.
        ValueError
            If an id or label column is missing or invalid; see the class docstring.
        NotImplementedError
            If the run uses several processes.
        """
        if self.args.world_size > 1:
            # NOTE: several processes would need each process's rows and logits gathered
            # (accelerator.gather_for_metrics) in compute_loss and in the epoch-end pass,
            # with the padding duplicates of the distributed sampler removed.
            raise NotImplementedError(
                f"soi.integration records dynamics in a single process, but this run has "
                f"world_size={self.args.world_size}; run it in one process"
            )
        self._examples = _TrainingExamples.from_dataset(
            self.train_dataset, self.example_id_column, self.label_column
        )
        original = self.train_dataset
        self.train_dataset = self._examples.dataset
        try:
            return super().get_train_dataloader()
        finally:
            self.train_dataset = original

    def _set_signature_columns_if_needed(self) -> None:
        # NOTE: this private Trainer hook (transformers 4.x to 5.25) decides which columns
        # the Trainer keeps; compute_loss raises if a later version stops calling it.
        super()._set_signature_columns_if_needed()
        if ROW_COLUMN not in self._signature_columns:
            self._signature_columns.append(ROW_COLUMN)

    # -- Capture ----------------------------------------------------------------------

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: Mapping[str, Any],
        return_outputs: bool = False,
        **kwargs: Any,
    ):
        """Compute the loss and, in a ``train_pass`` training step, record the batch.

        Parameters
        ----------
        model : torch.nn.Module
            Model that the Trainer passes in.
        inputs : mapping
            Batch from the data collator; its :data:`ROW_COLUMN` entry is removed before
            the forward pass.
        return_outputs : bool
            Return ``(loss, outputs)`` instead of the loss, as ``Trainer.compute_loss``.
        **kwargs
            Passed on to the parent, such as ``num_items_in_batch``.

        Returns
        -------
        torch.Tensor or tuple
            What the parent's ``compute_loss`` returns for ``return_outputs``.

        Raises
        ------
        RuntimeError
            If a training batch lacks :data:`ROW_COLUMN` in ``train_pass`` mode.
        """
        inputs = dict(inputs)
        rows = inputs.pop(ROW_COLUMN, None)
        if self.capture != "train_pass" or not model.training:
            return super().compute_loss(model, inputs, return_outputs=return_outputs, **kwargs)
        if rows is None:
            raise RuntimeError(
                f"the training batch has no {ROW_COLUMN!r} entry, so its examples cannot be "
                f"recorded; the data collator dropped it, or this transformers version no "
                f"longer keeps it. Use a collator that passes every integer column on, such "
                f"as DataCollatorWithPadding"
            )
        labels = inputs.get("labels")

        # Forward pass through the parent, which also returns the outputs.
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, **kwargs)

        # Capture before the optimizer step changes the weights.
        self._recorder.record(rows, _logits_of(outputs), labels)
        return (loss, outputs) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        """Run the parent's prediction step without the :data:`ROW_COLUMN` entry."""
        inputs = {key: value for key, value in inputs.items() if key != ROW_COLUMN}
        return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys)

    def _capture_loader(self) -> DataLoader:
        """Build a sequential loader over the whole training set that drops no batch."""
        dataset = self._examples.dataset
        # NOTE: _remove_unused_columns is private Trainer API; it applies the Trainer's
        # own column rule, which keeps ROW_COLUMN through the hook above.
        dataset = self._remove_unused_columns(dataset, description="soi epoch-end capture")
        return DataLoader(
            dataset,
            batch_size=self.args.eval_batch_size,
            shuffle=False,
            drop_last=False,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            # Pinned memory only speeds up copies to a GPU.
            pin_memory=self.args.dataloader_pin_memory and self.args.device.type == "cuda",
        )

    def _record_epoch_end_pass(self) -> None:
        """Score every training example in eval mode with the current weights."""
        model = self.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for batch in self._capture_loader():
                    rows = batch.pop(ROW_COLUMN)
                    labels = batch.get("labels")
                    model_inputs = {
                        key: _to_device(value, self.args.device)
                        for key, value in batch.items()
                        if key not in self.label_names
                    }
                    with self.compute_loss_context_manager():
                        outputs = model(**model_inputs)
                    self._recorder.record(rows, _logits_of(outputs), labels)
        finally:
            model.train(was_training)

    # -- Epoch boundaries, called by DynamicsCallback ---------------------------------

    def _begin_training(self, num_epochs: int) -> None:
        if self._examples is None:
            raise RuntimeError(
                "the training data loader was not built by DynamicsTrainerMixin."
                "get_train_dataloader; call super().get_train_dataloader() in overrides"
            )
        self._recorder = _EpochRecorder(
            self._examples.gold, num_epochs, self.args.device, self.record_logits
        )
        logger.info(
            "Recording dynamics of %d examples for up to %d epochs, capture=%s",
            self._examples.num_examples,
            num_epochs,
            self.capture,
        )

    def _finish_epoch(self, epoch_index: int, num_batches: int | None) -> None:
        """Check the epoch's visits count; ``num_batches`` is the loader length if known."""
        recorder = self._recorder
        recorder.check_labels()
        visits = recorder.visits[:, epoch_index].cpu().numpy()
        ids = self._examples.example_ids
        epoch = epoch_index + 1

        repeated = visits > 1
        if repeated.any():
            raise RuntimeError(
                f"epoch {epoch}: {int(repeated.sum())} examples were recorded more than once, "
                f"such as {ids[repeated][:_IDS_IN_MESSAGE].tolist()}. Use a sampler that yields "
                "every training example once per epoch"
            )

        missing = visits == 0
        num_missing = int(missing.sum())
        expected = self._expected_missing(recorder.batches_in_epoch, num_batches)
        if expected is None:
            logger.warning(
                "Epoch %d stopped after %d of %s batches; %d examples have no record in it",
                epoch, recorder.batches_in_epoch, num_batches, num_missing,
            )
        elif num_missing != expected:
            raise RuntimeError(
                f"epoch {epoch}: {num_missing} examples have no record, expected {expected}, "
                f"such as {ids[missing][:_IDS_IN_MESSAGE].tolist()}. Use a sampler that yields "
                "every training example once per epoch"
            )
        elif num_missing:
            logger.info(
                "Epoch %d: %d examples of the dropped last batch have no record",
                epoch, num_missing,
            )

    def _expected_missing(self, batches_seen: int, num_batches: int | None) -> int | None:
        """Return how many examples must lack a record, or None for an epoch cut short."""
        if self.capture == "epoch_end":
            return 0
        if num_batches is not None and batches_seen < num_batches:
            return None
        if self.args.dataloader_drop_last:
            return self._examples.num_examples % self.args.train_batch_size
        return 0


class DynamicsTrainer(DynamicsTrainerMixin, Trainer):
    """A ``transformers.Trainer`` that records per-example training dynamics.

    It takes the Trainer's arguments plus the keyword arguments of
    :class:`DynamicsTrainerMixin`; after ``train()`` the recorded run is
    ``trainer.dynamics``.

    Examples
    --------
    In a Trainer script whose training set has an ``example_id`` column, replace
    ``Trainer`` and save the result (``examples/trainer_script.py`` runs this)::

        trainer = DynamicsTrainer(
            model=model, args=args, train_dataset=train, data_collator=collator,
            capture="epoch_end",
        )
        trainer.train()
        trainer.dynamics.save("dynamics.parquet")
    """


class DynamicsCallback(TrainerCallback):
    """Mark epoch boundaries for a :class:`DynamicsTrainerMixin` trainer.

    The mixin adds this callback itself. The callback allocates the buffers when
    training starts and selects the epoch's column when an epoch starts. When an epoch
    ends, it runs the ``epoch_end`` capture pass in that mode and checks the epoch's
    visits count.

    Parameters
    ----------
    trainer : DynamicsTrainerMixin
        The trainer whose dynamics this callback records.
    """

    def __init__(self, trainer: DynamicsTrainerMixin) -> None:
        self.trainer = trainer

    def on_train_begin(self, args, state, control, **kwargs):
        self.trainer._begin_training(int(state.num_train_epochs))

    def on_epoch_begin(self, args, state, control, **kwargs):
        # state.epoch is the number of epochs done, with a fraction when a run resumes
        # mid-epoch, so its floor is the 0-based index of the epoch that starts.
        # NOTE: resuming does not restore the records of earlier epochs; they are missing.
        self.trainer._recorder.begin_epoch(math.floor(state.epoch or 0))

    def on_epoch_end(self, args, state, control, train_dataloader=None, **kwargs):
        recorder = self.trainer._recorder
        if self.trainer.capture == "epoch_end":
            self.trainer._record_epoch_end_pass()
        num_batches = None
        if train_dataloader is not None and hasattr(train_dataloader, "__len__"):
            num_batches = len(train_dataloader)
        self.trainer._finish_epoch(recorder.epoch_index, num_batches)


def _config_label_names(config: Any) -> list[str] | None:
    """Return the label names of a model configuration's ``id2label``, in id order."""
    id2label = getattr(config, "id2label", None)
    if not id2label:
        return None
    return [str(id2label[label_id]) for label_id in sorted(id2label)]


def _to_device(value: Any, device: torch.device) -> Any:
    return value.to(device) if isinstance(value, torch.Tensor) else value


def _precision(args: Any) -> str:
    """Return the mixed precision that TrainingArguments set: bf16, fp16 or fp32."""
    if args.bf16:
        return "bf16"
    if args.fp16:
        return "fp16"
    return "fp32"


def _logits_of(outputs: Any) -> torch.Tensor:
    """Return the (batch, labels) logits of a model output."""
    logits = outputs.get("logits") if isinstance(outputs, Mapping) else None
    if logits is None:
        raise TypeError(
            f"the model returned {type(outputs).__name__} without 'logits'; soi records "
            "sequence-classification models that return a ModelOutput with logits "
            "(return_dict=True)"
        )
    if logits.ndim != 2:
        raise ValueError(
            f"the model returned logits of shape {tuple(logits.shape)}, expected "
            "(batch, labels); soi records single-label sequence classification"
        )
    return logits


class _TrainingExamples:
    """Ids, gold labels and tags of the training set, and its copy with row positions."""

    def __init__(
        self,
        example_ids: np.ndarray,
        gold: np.ndarray,
        tags: pd.DataFrame,
        label_names: list[str] | None,
        dataset: datasets.Dataset,
    ) -> None:
        self.example_ids = example_ids
        self.gold = gold
        self.tags = tags
        self.label_names = label_names
        self.dataset = dataset

    @property
    def num_examples(self) -> int:
        return len(self.example_ids)

    @classmethod
    def from_dataset(
        cls, dataset: Any, example_id_column: str | None, label_column: str | None
    ) -> _TrainingExamples:
        if not isinstance(dataset, datasets.Dataset):
            raise TypeError(
                f"train_dataset is a {type(dataset).__name__}, but soi.integration needs a "
                "datasets.Dataset to read example ids and labels from; build it with "
                "datasets.Dataset.from_dict or from_pandas"
            )
        if len(dataset) == 0:
            raise ValueError("train_dataset is empty; check the data set's filters and sizes")
        if ROW_COLUMN in dataset.column_names:
            raise ValueError(
                f"train_dataset already has a column {ROW_COLUMN!r}, which soi.integration "
                "adds itself; rename or remove that column"
            )
        example_ids = _example_ids(dataset, example_id_column)
        label_column = _label_column(dataset, label_column)
        gold = _gold_labels(dataset, label_column, example_ids)
        feature = dataset.features[label_column]
        label_names = list(feature.names) if isinstance(feature, datasets.ClassLabel) else None

        tag_columns = [tag for tag in TAG_COLUMNS if tag in dataset.column_names]
        tags = dataset.select_columns(tag_columns).to_pandas() if tag_columns else pd.DataFrame()

        # Ids are strings, which no collator batches; the row position replaces them.
        with_rows = dataset
        if example_id_column is not None:
            with_rows = with_rows.remove_columns(example_id_column)
        with_rows = with_rows.add_column(ROW_COLUMN, np.arange(len(dataset), dtype=np.int64))
        return cls(example_ids, gold, tags, label_names, with_rows)


def _example_ids(dataset: datasets.Dataset, column: str | None) -> np.ndarray:
    if column is None:
        return np.array([str(row) for row in range(len(dataset))], dtype=object)
    if column not in dataset.column_names:
        raise ValueError(
            f"train_dataset has no example id column {column!r}; its columns are "
            f"{dataset.column_names}. Add one, for example with dataset.add_column("
            f"{column!r}, [f'train:{{i}}' for i in range(len(dataset))]), or pass "
            "example_id_column=None to use the row positions"
        )
    ids = pd.Series(dataset[column], dtype=object)
    if ids.isna().any():
        rows = np.flatnonzero(ids.isna().to_numpy())[:_IDS_IN_MESSAGE].tolist()
        raise ValueError(
            f"example id column {column!r} has {int(ids.isna().sum())} missing values, at rows "
            f"{rows}; give every example an id"
        )
    ids = ids.map(str)
    if ids.duplicated().any():
        duplicated = ids[ids.duplicated()].unique()[:_IDS_IN_MESSAGE].tolist()
        raise ValueError(
            f"example id column {column!r} contains {int(ids.duplicated().sum())} duplicate "
            f"ids, such as {duplicated}; give every example its own id"
        )
    return ids.to_numpy(dtype=object)


def _label_column(dataset: datasets.Dataset, column: str | None) -> str:
    if column is not None:
        if column not in dataset.column_names:
            raise ValueError(
                f"train_dataset has no label column {column!r}; its columns are "
                f"{dataset.column_names}. Pass label_column with the name of the gold labels"
            )
        return column
    for candidate in LABEL_COLUMN_CANDIDATES:
        if candidate in dataset.column_names:
            return candidate
    raise ValueError(
        f"train_dataset has none of the label columns {list(LABEL_COLUMN_CANDIDATES)}; its "
        f"columns are {dataset.column_names}. Pass label_column with the name of the gold labels"
    )


def _gold_labels(dataset: datasets.Dataset, column: str, example_ids: np.ndarray) -> np.ndarray:
    values = np.asarray(dataset[column])
    if values.ndim != 1 or values.dtype.kind not in "iub":
        raise ValueError(
            f"label column {column!r} contains {values.dtype} values of shape {values.shape}, but "
            "soi records single-label classification with one integer label id per example; "
            "map the labels to ids 0..C-1"
        )
    negative = values < 0
    if negative.any():
        negative_ids = np.unique(values[negative]).tolist()
        raise ValueError(
            f"label column {column!r} has negative label ids {negative_ids} "
            f"for examples {example_ids[negative][:_IDS_IN_MESSAGE].tolist()}; remove those "
            "examples or map their labels to ids 0..C-1"
        )
    return values.astype(np.int64)


class _EpochRecorder:
    """(N, E) buffers on the training device, filled batch by batch for one epoch at a time."""

    def __init__(
        self, gold: np.ndarray, num_epochs: int, device: torch.device, record_logits: bool
    ) -> None:
        num_examples = len(gold)
        self.gold = torch.as_tensor(gold, device=device)
        self.max_gold = int(gold.max())
        self.gold_prob = torch.full((num_examples, num_epochs), float("nan"), device=device)
        self.predicted = torch.full(
            (num_examples, num_epochs), MISSING_PREDICTION, dtype=torch.long, device=device
        )
        self.visits = torch.zeros((num_examples, num_epochs), dtype=torch.int32, device=device)
        self.logits: torch.Tensor | None = None
        self.record_logits = record_logits
        # Batches whose labels differ from the stored gold label of their rows; counted on
        # the device so that a check costs no synchronisation per batch.
        self.label_mismatches = torch.zeros((), dtype=torch.long, device=device)
        self.epoch_index = -1
        self.num_epochs_begun = 0
        self.batches_in_epoch = 0

    def begin_epoch(self, epoch_index: int) -> None:
        capacity = self.gold_prob.shape[1]
        if not 0 <= epoch_index < capacity:
            raise RuntimeError(
                f"epoch {epoch_index + 1} is outside the {capacity} epochs that the Trainer "
                "announced at the start of training; this is a bug in soi.integration"
            )
        self.epoch_index = epoch_index
        self.num_epochs_begun = max(self.num_epochs_begun, epoch_index + 1)
        self.batches_in_epoch = 0

    def record(
        self, rows: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor | None
    ) -> None:
        """Write one batch; ``labels`` from the batch, when given, are checked against gold."""
        logits = logits.detach().float()
        device = self.gold_prob.device
        rows = rows.to(device).long().view(-1)
        logits = logits.to(device)
        num_labels = logits.shape[-1]
        if self.max_gold >= num_labels:
            raise ValueError(
                f"gold label {self.max_gold} is outside 0..{num_labels - 1}, the labels that the "
                "model's logits cover; load the model with num_labels set to the number of labels"
            )
        if self.logits is None and self.record_logits:
            shape = (*self.gold_prob.shape, num_labels)
            self.logits = torch.full(shape, float("nan"), device=device)

        gold = self.gold[rows]
        if labels is not None and labels.shape == rows.shape and not labels.is_floating_point():
            self.label_mismatches += (labels.to(device).long() != gold).sum()
        probabilities = logits.softmax(dim=-1)
        column = self.epoch_index
        self.gold_prob[rows, column] = probabilities.gather(1, gold[:, None]).squeeze(1)
        self.predicted[rows, column] = logits.argmax(dim=-1)
        self.visits[rows, column] += 1
        if self.logits is not None:
            self.logits[rows, column] = logits
        self.batches_in_epoch += 1

    def check_labels(self) -> None:
        mismatches = int(self.label_mismatches)
        if mismatches:
            raise RuntimeError(
                f"{mismatches} labels in the training batches differ from the gold labels of "
                f"their rows in train_dataset, so the rows do not follow the examples. Keep the "
                f"order of the features in the data collator and the labels of train_dataset"
            )

    def to_dynamics(self, examples: _TrainingExamples, metadata: dict[str, Any]) -> Dynamics:
        columns = slice(0, self.num_epochs_begun)
        logits = None if self.logits is None else self.logits[:, columns].cpu().numpy()
        return Dynamics(
            example_ids=examples.example_ids,
            epochs=np.arange(1, self.num_epochs_begun + 1),
            gold=examples.gold,
            gold_prob=self.gold_prob[:, columns].cpu().numpy(),
            predicted=self.predicted[:, columns].cpu().numpy(),
            logits=logits,
            tags=examples.tags,
            metadata=metadata,
        )
