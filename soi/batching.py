"""Tokenization, batch samplers and collation for fine-tuning and evaluation."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import datasets
import numpy as np
import torch
from torch.utils.data import Sampler
from transformers import DataCollatorWithPadding

SAMPLING_STRATEGIES = ("proportional", "uniform", "temperature")

# Length grouping sorts the examples of this many consecutive batches by length, so batches
# hold inputs of similar length while the shuffle still varies between epochs.
LENGTH_GROUP_BATCHES = 50


# Number of tokenized data sets kept in memory, so that a set evaluated by several runs is
# tokenized once per process. Beyond it, the oldest entry is dropped.
TOKENIZED_CACHE_SIZE = 16
_tokenized: OrderedDict[tuple, datasets.Dataset] = OrderedDict()


def tokenize(dataset: datasets.Dataset, tokenizer, max_length: int) -> datasets.Dataset:
    """Tokenize ``text`` (and ``text_pair`` when present), adding ``labels`` and ``row``.

    ``row`` is each example's position in ``dataset``; it survives shuffling and is where the
    capture code writes each example's record. Results are cached in memory by the data set's fingerprint,
    the tokenizer and ``max_length``.
    """
    key = (
        dataset._fingerprint, tokenizer.name_or_path, len(tokenizer),
        type(tokenizer).__name__, max_length,
    )
    if key in _tokenized:
        _tokenized.move_to_end(key)
        return _tokenized[key]
    model_inputs = _tokenize(dataset, tokenizer, max_length)
    _tokenized[key] = model_inputs
    if len(_tokenized) > TOKENIZED_CACHE_SIZE:
        _tokenized.popitem(last=False)
    return model_inputs


def _tokenize(dataset: datasets.Dataset, tokenizer, max_length: int) -> datasets.Dataset:
    pairs = "text_pair" in dataset.column_names

    def encode(batch):
        texts = batch["text"]
        second = batch["text_pair"] if pairs else [None] * len(texts)
        # Tasks of single texts and of pairs can share a multi-task training set; the two
        # kinds are tokenized apart and put back in order.
        kinds = {
            False: [i for i, pair in enumerate(second) if pair is None],
            True: [i for i, pair in enumerate(second) if pair is not None],
        }
        encoded: dict[str, list] = {}
        for has_pair, rows in kinds.items():
            if not rows:
                continue
            part = tokenizer(
                [texts[i] for i in rows],
                [second[i] for i in rows] if has_pair else None,
                truncation=True,
                max_length=max_length,
            )
            for name, values in part.items():
                column = encoded.setdefault(name, [None] * len(texts))
                for row, value in zip(rows, values):
                    column[row] = value
        missing = [name for name, column in encoded.items() if any(v is None for v in column)]
        if missing:
            raise ValueError(
                f"the tokenizer returns {missing} for pairs or for single texts only, so single "
                f"texts and pairs cannot share one training set with it"
            )
        return encoded

    model_inputs = dataset.map(
        encode, batched=True, remove_columns=dataset.column_names, desc="Tokenizing"
    )
    model_inputs = model_inputs.add_column("labels", list(dataset["label"]))
    return model_inputs.add_column("row", list(range(len(dataset))))


class Collator:
    """Pad a batch dynamically, keeping each example's row and, for multi-task, the task.

    Parameters
    ----------
    tokenizer : transformers.PreTrainedTokenizerBase
    row_tasks : sequence of str, optional
        Task of every row; when given, every batch must hold one task, passed on as
        ``batch["task"]``.
    """

    def __init__(self, tokenizer, row_tasks: Sequence[str] | None = None):
        self.pad = DataCollatorWithPadding(tokenizer)
        self.row_tasks = row_tasks

    def __call__(self, features: list[dict]) -> dict:
        rows = torch.tensor([feature.pop("row") for feature in features], dtype=torch.long)
        batch = dict(self.pad(features))
        batch["row"] = rows
        if self.row_tasks is not None:
            tasks = {self.row_tasks[row] for row in rows.tolist()}
            if len(tasks) != 1:
                raise ValueError(f"a multi-task batch mixes tasks {sorted(tasks)}")
            batch["task"] = tasks.pop()
        return batch


class TaskBatchSampler(Sampler[list[int]]):
    """Batches of row indices, each batch from one group (task), reshuffled every epoch.

    Parameters
    ----------
    groups : sequence of str
        Group (task) of every row; pass one value for all rows to batch without groups.
    batch_size : int
    strategy : str
        ``"proportional"`` takes every row exactly once per epoch, so groups appear in
        proportion to their sizes. ``"uniform"`` draws each batch's group with equal
        probability and ``"temperature"`` with probability proportional to
        ``size ** (1 / temperature)``; both take rows from an endless shuffled stream per
        group, so a row can appear several times or not at all in one epoch.
    temperature : float
        Temperature of the ``"temperature"`` strategy; 1 is proportional, larger flattens.
    lengths : sequence of int, optional
        Token counts of the rows; with ``group_by_length`` batches hold similar lengths.
    group_by_length : bool
    seed : int
        Seed of the order; epoch ``e`` uses the seed pair ``(seed, e)``, so any epoch's
        order can be replayed by :meth:`set_epoch`.
    drop_last : bool
        Drop each group's last incomplete batch, and with several processes the batches
        that would leave the processes with unequal numbers of steps.
    num_replicas, rank : int
        Number of processes and this process's index. Every process draws the same global
        order and takes every ``num_replicas``-th batch from position ``rank``. Without
        ``drop_last`` the global list is padded by repeating its first batches, so some
        examples appear on two processes, as with ``torch.utils.data.DistributedSampler``.

    Examples
    --------
    >>> sampler = TaskBatchSampler(["a", "a", "a", "b", "b"], batch_size=2, seed=0)
    >>> sorted(row for batch in sampler for row in batch)
    [0, 1, 2, 3, 4]
    >>> len(sampler)
    3
    """

    def __init__(
        self,
        groups: Sequence[str],
        batch_size: int,
        strategy: str = "proportional",
        temperature: float = 2.0,
        lengths: Sequence[int] | None = None,
        group_by_length: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
    ):
        if strategy not in SAMPLING_STRATEGIES:
            raise ValueError(f"sampling strategy {strategy!r} is not one of {SAMPLING_STRATEGIES}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        if group_by_length and lengths is None:
            raise ValueError("group_by_length needs the lengths of the rows")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is outside 0..{num_replicas - 1}")
        groups = np.asarray(groups, dtype=object)
        self.names = list(dict.fromkeys(groups.tolist()))
        self.rows = {name: np.flatnonzero(groups == name) for name in self.names}
        self.batch_size = batch_size
        self.strategy = strategy
        self.temperature = temperature
        self.lengths = None if lengths is None else np.asarray(lengths)
        self.group_by_length = group_by_length
        self.seed = seed
        self.drop_last = drop_last
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration yields."""
        self.epoch = epoch

    def _num_global_batches(self) -> int:
        rounding = math.floor if self.drop_last else math.ceil
        return sum(rounding(len(rows) / self.batch_size) for rows in self.rows.values())

    def __len__(self) -> int:
        """Return the number of batches this process yields per epoch."""
        rounding = math.floor if self.drop_last else math.ceil
        return rounding(self._num_global_batches() / self.num_replicas)

    def group_probabilities(self) -> np.ndarray:
        """Return the probability of drawing each group for a batch, in order of ``names``."""
        sizes = np.array([len(self.rows[name]) for name in self.names], dtype=np.float64)
        if self.strategy == "uniform":
            weights = np.ones_like(sizes)
        elif self.strategy == "temperature":
            weights = sizes ** (1.0 / self.temperature)
        else:
            weights = sizes
        return weights / weights.sum()

    def _batches(self, rows: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        order = rng.permutation(rows)
        if self.group_by_length:
            span = self.batch_size * LENGTH_GROUP_BATCHES
            chunks = [order[i:i + span] for i in range(0, len(order), span)]
            order = np.concatenate(
                [chunk[np.argsort(-self.lengths[chunk], kind="stable")] for chunk in chunks]
            )
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._global_batches()
        if self.num_replicas > 1:
            if self.drop_last:
                batches = batches[: len(batches) - len(batches) % self.num_replicas]
            else:
                batches = batches + batches[: -len(batches) % self.num_replicas]
            batches = batches[self.rank::self.num_replicas]
        for batch in batches:
            yield batch.tolist()

    def _global_batches(self) -> list[np.ndarray]:
        """Return the batches of all processes for the current epoch, in order."""
        rng = np.random.default_rng([self.seed, self.epoch])
        if self.strategy == "proportional":
            batches = [b for name in self.names for b in self._batches(self.rows[name], rng)]
            return [batches[index] for index in rng.permutation(len(batches))]

        streams = {name: iter(()) for name in self.names}
        probabilities = self.group_probabilities()
        drawn = []
        for _ in range(self._num_global_batches()):
            name = self.names[rng.choice(len(self.names), p=probabilities)]
            batch = next(streams[name], None)
            if batch is None:
                streams[name] = iter(self._batches(self.rows[name], rng))
                batch = next(streams[name])
            drawn.append(batch)
        return drawn
