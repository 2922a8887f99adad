"""A shared encoder with one classification head per task, for multi-task fine-tuning."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import datasets
import torch
from torch import nn

logger = logging.getLogger(__name__)


@dataclass
class TaskOutput:
    """Output of :class:`MultiTaskModel`: the logits of the batch's task head."""

    logits: torch.Tensor


class MultiTaskModel(nn.Module):
    """Pretrained encoder shared by all tasks, with a dropout-and-linear head per task.

    Each head reads the encoder's first-token hidden state, as BERT-style classifiers do.
    Every batch belongs to one task, named in the ``task`` argument of :meth:`forward`.

    Parameters
    ----------
    encoder : transformers.PreTrainedModel
        A base model such as ``AutoModel.from_pretrained(...)``.
    task_labels : dict of str to list of str
        Label names of each task, in the order of its head's outputs.
    """

    def __init__(self, encoder: nn.Module, task_labels: dict[str, list[str]]):
        super().__init__()
        if not task_labels:
            raise ValueError("task_labels is empty; give at least one task with its label names")
        for task, names in task_labels.items():
            if not task or "." in task:
                raise ValueError(f"task name {task!r} must be non-empty and contain no '.'")
            if len(names) < 2:
                raise ValueError(f"task {task!r} needs at least two labels, got {list(names)}")
        self.encoder = encoder
        self.config = encoder.config
        self.task_labels = {task: list(names) for task, names in task_labels.items()}
        dropout = getattr(encoder.config, "hidden_dropout_prob", 0.1)
        std = getattr(encoder.config, "initializer_range", 0.02)
        self.heads = nn.ModuleDict()
        for task, names in self.task_labels.items():
            linear = nn.Linear(encoder.config.hidden_size, len(names))
            # The same initialisation as transformers' own classification heads.
            nn.init.normal_(linear.weight, std=std)
            nn.init.zeros_(linear.bias)
            self.heads[task] = nn.Sequential(nn.Dropout(dropout), linear)

    @property
    def tasks(self) -> list[str]:
        return list(self.task_labels)

    def forward(self, task: str, **inputs) -> TaskOutput:
        if task not in self.heads:
            raise KeyError(f"task {task!r} has no head; the model's tasks are {self.tasks}")
        hidden = self.encoder(**inputs).last_hidden_state[:, 0]
        return TaskOutput(logits=self.heads[task](hidden))


def load_multitask_model(name: str, task_labels: dict[str, list[str]], seed: int | None = None):
    """Load a pretrained encoder with one head per task, and its tokenizer.

    ``name`` is resolved as in :func:`soi.models.load_model_and_tokenizer`; ``seed`` sets the
    initial weights of the heads.
    """
    from transformers import AutoModel, AutoTokenizer

    from soi.models import model_load_message, resolve_model_path
    from soi.reproducibility import set_seed

    from transformers.utils import logging as hf_logging

    path = resolve_model_path(name)
    if seed is not None:
        set_seed(seed)
    # An encoder saved without a pooler is reported as missing weights at warning level;
    # the heads do not use the pooler.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        encoder = AutoModel.from_pretrained(path)
    except OSError as error:
        raise OSError(model_load_message(name, error)) from error
    finally:
        hf_logging.set_verbosity(verbosity)
    return MultiTaskModel(encoder, task_labels), tokenizer


def concatenate_tasks(train_sets: dict[str, datasets.Dataset]) -> tuple[datasets.Dataset, dict]:
    """Concatenate data sets of tasks with different label spaces.

    Returns the concatenated set, whose ``label`` column contains task-local label ids and
    whose ``task`` column names each example's task, and the label names of each task.
    """
    parts, task_labels = [], {}
    for task, dataset in train_sets.items():
        names = list(dataset.features["label"].names)
        tasks = set(dataset["task"])
        if tasks != {task}:
            raise ValueError(
                f"data set given for task {task!r} has task tags {sorted(tasks)}; each data "
                f"set must hold one task, named as its key"
            )
        task_labels[task] = names
        parts.append(dataset.cast_column("label", datasets.Value("int64")))
    return datasets.concatenate_datasets(parts), task_labels
