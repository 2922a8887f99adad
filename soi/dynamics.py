"""Per-example, per-epoch training dynamics and their file formats.

:class:`Dynamics` stores what one training run recorded for each example at each epoch:
the probability of the gold label, the predicted label and, optionally, the logits.
Two file formats store it.

**Parquet** (:func:`save_dynamics`, :func:`load_dynamics`) is soi's own format. The file
is in long format, with one row per (example, epoch) cell, ordered by example (in the
order of ``Dynamics.example_ids``) and then by epoch. Every cell has a row: a cell
without a record is written explicitly, with nulls in ``gold_prob``, ``predicted``,
``correct`` and ``logits``. The loader also accepts files whose missing cells have no
row at all and fills those cells as missing. Schema version 1:

=============  ==============================  ==============================================
column         Arrow type                      content
=============  ==============================  ==============================================
example_id     dictionary<int32, string>       id of the example
epoch          int32                           epoch number, counted from 1
gold           int32                           gold label id
gold_prob      float32, null if missing        softmax probability of the gold label
predicted      int32, null if missing          argmax label id
correct        bool, null if missing           ``predicted == gold``, stored for readers
                                               other than soi; the loader recomputes it
logits         fixed_size_list<float32>[C],    logits over the C labels; the column exists
               null if missing                 only when logits were recorded
<tag>          dictionary<int32, string>,      one column per tag, such as ``source``,
               or int64, float64, bool         ``task`` or ``language``, repeated on every
                                               row of the example
=============  ==============================  ==============================================

The file-level key-value metadata contains, under the key ``soi``, a JSON object with
``schema_version`` (int), ``soi_version`` (the writer's version), ``epochs`` (the list
of epoch numbers, so that epochs without any row survive), ``num_labels`` (C, or null
without logits), ``label_names`` (``metadata["label_names"]`` or null) and ``metadata``
(the run record ``Dynamics.metadata``).

**Cartography JSON Lines** (:func:`export_cartography`, :func:`import_cartography`,
:func:`read_cartography_epoch`) is the per-epoch format of allenai/cartography: a folder
with one file ``dynamics_epoch_{e}.jsonl`` per epoch, e counted from 0, each line
``{"guid": ..., "logits_epoch_{e}": [...], "gold": ...}``. soi epoch k is file k - 1.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from soi import __version__
from soi.files import atomic_file

logger = logging.getLogger(__name__)

#: Value of ``predicted`` for an (example, epoch) cell with no record.
MISSING_PREDICTION = -1

#: Version of the Parquet layout that ``save_dynamics`` writes; the loader reads this
#: version and older ones.
SCHEMA_VERSION = 1

#: Key of the soi JSON object in the Parquet file-level key-value metadata.
PARQUET_METADATA_KEY = "soi"

#: Columns that every soi Parquet file has; the loader always reads them, except
#: ``correct``, which it recomputes from ``predicted`` and ``gold``.
CORE_COLUMNS = ("example_id", "epoch", "gold", "gold_prob", "predicted", "correct")

#: Name of the optional logits column.
LOGITS_COLUMN = "logits"

# Allowed excess of a float32 probability over 1 (or below 0), because the
# normalisation of a softmax in float32 can round a little past the bound.
_PROBABILITY_TOLERANCE = 1e-6

# About 1 Mi rows per row group, pyarrow's default maximum, so that one write step
# keeps one row group in memory instead of the whole table.
_ROWS_PER_ROW_GROUP = 2**20

# Rows per batch when the loader streams the logits column, so that the loader keeps
# one batch of the file's logits next to the output array instead of all of them.
_LOGITS_READ_BATCH_ROWS = 2**16

# zstd compresses float32 columns better than pyarrow's default snappy and is read by
# pyarrow, pandas, polars, DuckDB and Spark.
_PARQUET_COMPRESSION = "zstd"

# Number of offending values that an error message shows.
_EXAMPLES_IN_MESSAGE = 5

# Lines per pandas ``to_json`` call when writing cartography files, which bounds the
# size of the JSON text held in memory at once.
_CARTOGRAPHY_WRITE_CHUNK_ROWS = 100_000

# Decimal places of the logits in cartography files: the maximum that pandas
# ``to_json`` writes, which recovers float32 logits exactly down to about 1e-7 in size.
_CARTOGRAPHY_DOUBLE_PRECISION = 15

# Example ids that are canonical decimal integers of at most 18 digits fit int64 and
# are written to cartography files as JSON integers, as cartography's own files have them.
_INTEGER_ID_PATTERN = re.compile(r"0|-?[1-9][0-9]{0,17}")

_CARTOGRAPHY_FILE_PATTERN = re.compile(r"dynamics_epoch_([0-9]+)\.jsonl")
_CARTOGRAPHY_LOGITS_KEY_PATTERN = re.compile(r"logits_epoch_([0-9]+)")


class DynamicsFileError(ValueError):
    """A file that is not a readable soi dynamics file, or a format version too new."""


@dataclass
class Dynamics:
    """Training dynamics of N examples over E recorded epochs.

    Rows follow ``example_ids``; columns follow ``epochs``. A cell with no record has
    ``gold_prob`` NaN, ``predicted`` equal to ``MISSING_PREDICTION`` and, when logits
    were recorded, NaN logits.

    Parameters
    ----------
    example_ids : np.ndarray
        Shape (N,), unique ids that identify each example across runs. Values that are
        not strings are converted with ``str``; missing values are rejected.
    epochs : np.ndarray
        Shape (E,), strictly increasing integer epoch numbers, counted from 1.
    gold : np.ndarray
        Shape (N,), non-negative integer gold label ids, stored as int64.
    gold_prob : np.ndarray
        Shape (N, E), softmax probability of the gold label, stored as float32. It lies
        in [0, 1] in cells with a record and is NaN in cells without one.
    predicted : np.ndarray
        Shape (N, E), argmax label ids stored as int64, or ``MISSING_PREDICTION``.
    logits : np.ndarray or None
        Shape (N, E, C), logits stored as float32, when they were recorded. Gold and
        predicted labels must then lie in 0..C-1. Recorded cells have no infinite
        logits; NaN marks the unused labels of a task with fewer labels.
    tags : pd.DataFrame
        N rows in the order of ``example_ids`` with per-example tags such as
        ``source``, ``task`` and ``language``; may have no columns. The index is reset.
    metadata : dict
        JSON-serialisable run record: configuration, seed, capture mode, label names,
        library versions.

    Raises
    ------
    ValueError
        If a shape, id, epoch, label or probability breaks the rules above, or a
        recorded cell has a NaN ``gold_prob`` or infinite logits.
    TypeError
        If ``tags`` is not a DataFrame or ``metadata`` is not a dict.

    Examples
    --------
    >>> dyn = Dynamics(
    ...     example_ids=["a", "b"],
    ...     epochs=[1, 2],
    ...     gold=[0, 1],
    ...     gold_prob=[[0.6, 0.9], [0.2, float("nan")]],
    ...     predicted=[[0, 0], [0, MISSING_PREDICTION]],
    ... )
    >>> dyn.correct.tolist()
    [[True, True], [False, False]]
    >>> dyn.recorded.tolist()
    [[True, True], [True, False]]
    """

    example_ids: np.ndarray
    epochs: np.ndarray
    gold: np.ndarray
    gold_prob: np.ndarray
    predicted: np.ndarray
    logits: np.ndarray | None = None
    tags: pd.DataFrame = field(default_factory=pd.DataFrame)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.example_ids = _validated_ids(self.example_ids)
        self.epochs = _integer_array("epochs", self.epochs)
        self.gold = _integer_array("gold", self.gold)
        self.gold_prob = np.asarray(self.gold_prob, dtype=np.float32)
        self.predicted = _integer_array("predicted", self.predicted)
        if self.logits is not None:
            self.logits = np.asarray(self.logits, dtype=np.float32)
        self._check_shapes()
        self._check_epochs()
        self._check_labels()
        self._check_probabilities()
        self.tags = self._validated_tags()
        if self.metadata is None:
            self.metadata = {}
        if not isinstance(self.metadata, dict):
            raise TypeError(
                f"metadata must be a dict, got {type(self.metadata).__name__}; "
                "pass the run record as a JSON-serialisable dict"
            )

    def _check_shapes(self) -> None:
        if self.epochs.ndim != 1:
            raise ValueError(
                f"epochs has shape {self.epochs.shape}, expected a 1-D array of epoch numbers"
            )
        n, e = len(self.example_ids), len(self.epochs)
        for name, array, shape in [
            ("gold", self.gold, (n,)),
            ("gold_prob", self.gold_prob, (n, e)),
            ("predicted", self.predicted, (n, e)),
        ]:
            if array.shape != shape:
                raise ValueError(
                    f"{name} has shape {array.shape}, expected {shape} for {n} examples "
                    f"and {e} epochs"
                )
        if self.logits is not None and (self.logits.ndim != 3 or self.logits.shape[:2] != (n, e)):
            raise ValueError(
                f"logits have shape {self.logits.shape}, expected ({n}, {e}, num_labels)"
            )

    def _check_epochs(self) -> None:
        if np.any(np.diff(self.epochs) <= 0):
            raise ValueError(f"epochs must be increasing, got {self.epochs.tolist()}")
        if len(self.epochs) and self.epochs[0] < 1:
            raise ValueError(
                f"epochs are counted from 1, got {self.epochs.tolist()}; "
                "number the first training epoch 1"
            )

    def _check_labels(self) -> None:
        if np.any(self.gold < 0):
            bad = self._first_ids(self.gold < 0)
            raise ValueError(
                f"gold labels must be non-negative label ids, got "
                f"{np.unique(self.gold[self.gold < 0]).tolist()} for examples {bad}"
            )
        invalid = (self.predicted < 0) & (self.predicted != MISSING_PREDICTION)
        if np.any(invalid):
            raise ValueError(
                f"predicted labels must be label ids or MISSING_PREDICTION "
                f"({MISSING_PREDICTION}), got {np.unique(self.predicted[invalid]).tolist()} "
                f"for examples {self._first_ids(invalid.any(axis=1))}"
            )
        if self.logits is None:
            return
        num_labels = self.logits.shape[2]
        for name, labels in [("gold", self.gold), ("predicted", self.predicted)]:
            outside = labels >= num_labels
            if np.any(outside):
                rows = outside if outside.ndim == 1 else outside.any(axis=1)
                raise ValueError(
                    f"{name} label {int(labels[outside].max())} is outside 0..{num_labels - 1}, "
                    f"the labels that the logits cover, for examples {self._first_ids(rows)}"
                )

    def _check_probabilities(self) -> None:
        probabilities = self.gold_prob
        with np.errstate(invalid="ignore"):
            outside = (probabilities < -_PROBABILITY_TOLERANCE) | (
                probabilities > 1 + _PROBABILITY_TOLERANCE
            )
        if np.any(outside):
            raise ValueError(
                f"gold_prob must lie in [0, 1], got {float(probabilities[outside][0])} for "
                f"examples {self._first_ids(outside.any(axis=1))}; store probabilities, "
                "not logits or log-probabilities"
            )
        stale = ~self.recorded & ~np.isnan(probabilities)
        if np.any(stale):
            raise ValueError(
                f"{int(stale.sum())} cells have predicted == MISSING_PREDICTION (no record) "
                f"but a gold_prob that is not NaN, for examples "
                f"{self._first_ids(stale.any(axis=1))}; set gold_prob to NaN where no record "
                "exists"
            )
        self._check_finite()

    def _check_finite(self) -> None:
        """Reject recorded cells whose probability is NaN or whose logits are infinite.

        Both come from non-finite logits, which a diverged run produces. NaN logits
        alone are allowed, because a multi-task run pads the logits of a task with fewer
        labels with NaN.
        """
        diverged = self.recorded & np.isnan(self.gold_prob)
        if self.logits is not None:
            diverged |= self.recorded & np.isinf(self.logits).any(axis=2)
        if not np.any(diverged):
            return
        row, column = (int(index[0]) for index in np.nonzero(diverged))
        raise ValueError(
            f"{int(diverged.sum())} recorded cells have a NaN gold_prob or infinite logits, "
            f"such as example {self.example_ids[row]!r} at epoch {int(self.epochs[column])}, "
            f"for examples {self._first_ids(diverged.any(axis=1))}. Training diverged: lower "
            "the learning rate or train in fp32. A cell without a record needs predicted "
            "== MISSING_PREDICTION"
        )

    def _validated_tags(self) -> pd.DataFrame:
        n = len(self.example_ids)
        tags = self.tags
        if tags is None:
            tags = pd.DataFrame()
        if not isinstance(tags, pd.DataFrame):
            raise TypeError(
                f"tags must be a pandas DataFrame, got {type(tags).__name__}; "
                "build it with pd.DataFrame({'task': [...]})"
            )
        if len(tags.columns) == 0:
            return pd.DataFrame(index=pd.RangeIndex(n))
        if len(tags) != n:
            raise ValueError(f"tags have {len(tags)} rows, expected {n}, one per example")
        return tags.reset_index(drop=True)

    def _first_ids(self, rows: np.ndarray) -> list[str]:
        return self.example_ids[np.flatnonzero(rows)[:_EXAMPLES_IN_MESSAGE]].tolist()

    @property
    def num_examples(self) -> int:
        """Number of examples N."""
        return len(self.example_ids)

    @property
    def num_epochs(self) -> int:
        """Number of recorded epochs E."""
        return len(self.epochs)

    @property
    def correct(self) -> np.ndarray:
        """(N, E) bool matrix: the argmax equals the gold label."""
        return self.predicted == self.gold[:, None]

    @property
    def recorded(self) -> np.ndarray:
        """(N, E) bool matrix: the cell contains a record."""
        return self.predicted != MISSING_PREDICTION

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write these dynamics to a Parquet file; see :func:`save_dynamics`.

        Examples
        --------
        >>> import tempfile
        >>> dyn = Dynamics(["a"], [1], [0], [[0.7]], [[0]])
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     Dynamics.load(dyn.save(Path(folder) / "run.parquet")).gold_prob.tolist()
        [[0.699999988079071]]
        """
        return save_dynamics(self, path)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], columns: Sequence[str] | None = None
    ) -> Dynamics:
        """Read dynamics from a Parquet file; see :func:`load_dynamics`.

        Examples
        --------
        >>> import tempfile
        >>> dyn = Dynamics(["a"], [1], [0], [[0.7]], [[0]], tags=pd.DataFrame({"task": ["nli"]}))
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     Dynamics.load(dyn.save(Path(folder) / "run.parquet"), columns=[]).tags.shape
        (1, 0)
        """
        return load_dynamics(path, columns=columns)


def _validated_ids(example_ids: Any) -> np.ndarray:
    ids = np.asarray(example_ids, dtype=object)
    if ids.ndim != 1:
        raise ValueError(f"example_ids has shape {ids.shape}, expected a 1-D array of ids")
    missing = pd.isna(ids)
    if np.any(missing):
        raise ValueError(
            f"example_ids has {int(missing.sum())} missing values, at positions "
            f"{np.flatnonzero(missing)[:_EXAMPLES_IN_MESSAGE].tolist()}; give every example an id"
        )
    ids = np.array([value if isinstance(value, str) else str(value) for value in ids], dtype=object)
    index = pd.Index(ids)
    if index.has_duplicates:
        duplicated = index[index.duplicated()].unique()[:_EXAMPLES_IN_MESSAGE].tolist()
        raise ValueError(
            f"example ids must be unique, found {int(index.duplicated().sum())} duplicates "
            f"such as {duplicated}; give every example its own id"
        )
    return ids


def _integer_array(name: str, values: Any) -> np.ndarray:
    """Convert ``values`` to int64, rejecting fractions, NaN and non-numbers."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "O" or array.size == 0:
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} must hold integers, got values such as {array.flat[0]!r}"
            ) from exc
    if array.dtype.kind != "f":
        raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")
    fractional = ~np.isfinite(array) | (array != np.round(array))
    if np.any(fractional):
        raise ValueError(
            f"{name} must hold integers, got {array[fractional][:_EXAMPLES_IN_MESSAGE].tolist()}"
        )
    return array.astype(np.int64)


# ---------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------------------


def save_dynamics(dyn: Dynamics, path: str | os.PathLike[str]) -> Path:
    """Write dynamics to a Parquet file in soi's long format.

    The file is written to a temporary file in the same folder and then moved onto
    ``path``, which it replaces. If writing fails, the temporary file is removed and an
    existing file at ``path`` is left as it was. The module docstring lists the schema.

    Parameters
    ----------
    dyn : Dynamics
        Dynamics to write. ``dyn.metadata`` must be JSON-serialisable; NumPy scalars and
        arrays in it are written as JSON numbers and lists.
    path : str or os.PathLike
        Output file; its folder must exist.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist.
    TypeError
        If a tag column contains values other than strings, integers, floats or booleans,
        or the metadata is not JSON-serialisable.
    ValueError
        If a tag column is named like a core column.

    Examples
    --------
    >>> import tempfile
    >>> dyn = Dynamics(
    ...     example_ids=["a", "b"], epochs=[1, 2], gold=[0, 1],
    ...     gold_prob=[[0.6, 0.9], [0.2, 0.7]], predicted=[[0, 0], [0, 1]],
    ...     tags=pd.DataFrame({"task": ["nli", "qa"]}), metadata={"seed": 13},
    ... )
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     loaded = load_dynamics(save_dynamics(dyn, Path(folder) / "run.parquet"))
    >>> loaded.example_ids.tolist(), loaded.tags["task"].tolist(), loaded.metadata
    (['a', 'b'], ['nli', 'qa'], {'seed': 13})
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {path}: folder {path.parent} does not exist; create it first"
        )
    tag_types = {name: _tag_arrow_type(name, dyn.tags[name]) for name in dyn.tags.columns}
    schema = _parquet_schema(dyn, tag_types)
    examples_per_group = max(1, _ROWS_PER_ROW_GROUP // max(1, dyn.num_epochs))

    with atomic_file(path) as file:
        with pq.ParquetWriter(file, schema, compression=_PARQUET_COMPRESSION) as writer:
            for start in range(0, dyn.num_examples, examples_per_group):
                stop = min(start + examples_per_group, dyn.num_examples)
                writer.write_table(_parquet_rows(dyn, start, stop, schema, tag_types))
    logger.info(
        "Saved dynamics of %d examples and %d epochs to %s",
        dyn.num_examples,
        dyn.num_epochs,
        path,
    )
    return path


def _parquet_schema(dyn: Dynamics, tag_types: dict[str, pa.DataType]) -> pa.Schema:
    fields = [
        pa.field("example_id", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("epoch", pa.int32(), nullable=False),
        pa.field("gold", pa.int32(), nullable=False),
        pa.field("gold_prob", pa.float32()),
        pa.field("predicted", pa.int32()),
        pa.field("correct", pa.bool_()),
    ]
    num_labels = None
    if dyn.logits is not None:
        num_labels = dyn.logits.shape[2]
        fields.append(pa.field(LOGITS_COLUMN, pa.list_(pa.float32(), num_labels)))
    fields.extend(pa.field(name, arrow_type) for name, arrow_type in tag_types.items())
    header = {
        "schema_version": SCHEMA_VERSION,
        "soi_version": __version__,
        "epochs": dyn.epochs.tolist(),
        "num_labels": num_labels,
        "label_names": dyn.metadata.get("label_names"),
        "metadata": dyn.metadata,
    }
    encoded = json.dumps(header, default=_json_default).encode("utf-8")
    return pa.schema(fields, metadata={PARQUET_METADATA_KEY: encoded})


def _json_default(value: Any) -> Any:
    """Convert NumPy values for ``json.dumps``; reject anything else."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(
        f"metadata value {value!r} of type {type(value).__name__} is not JSON-serialisable; "
        "convert it to str, int, float, bool, list or dict before saving"
    )


def _tag_arrow_type(name: Any, values: pd.Series) -> pa.DataType:
    if not isinstance(name, str):
        raise TypeError(f"tag column names must be strings, got {name!r}; rename the column")
    if name in CORE_COLUMNS or name == LOGITS_COLUMN:
        raise ValueError(
            f"tag column {name!r} has the name of a core column; rename it, for example to "
            f"{name + '_tag'!r}"
        )
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return pa.dictionary(pa.int32(), pa.string())
    if kind == "boolean":
        return pa.bool_()
    if kind == "integer":
        return pa.int64()
    if kind in ("floating", "mixed-integer-float", "integer-na"):
        return pa.float64()
    raise TypeError(
        f"tag column {name!r} contains {kind} values (dtype {values.dtype}), but tags must "
        f"be strings, integers, floats or booleans. Convert it, for example with "
        f"tags[{name!r}].astype(str)"
    )


def _parquet_rows(
    dyn: Dynamics, start: int, stop: int, schema: pa.Schema, tag_types: dict[str, pa.DataType]
) -> pa.Table:
    """Build the long-format rows of examples ``start:stop``."""
    count, num_epochs = stop - start, dyn.num_epochs
    recorded = dyn.recorded[start:stop].ravel()
    missing = ~recorded
    example_index = np.repeat(np.arange(count, dtype=np.int32), num_epochs)
    columns: dict[str, pa.Array] = {
        "example_id": pa.DictionaryArray.from_arrays(
            example_index, pa.array(dyn.example_ids[start:stop].tolist(), type=pa.string())
        ),
        "epoch": pa.array(np.tile(dyn.epochs.astype(np.int32), count)),
        "gold": pa.array(np.repeat(dyn.gold[start:stop].astype(np.int32), num_epochs)),
        "gold_prob": pa.array(dyn.gold_prob[start:stop].ravel(), mask=missing),
        "predicted": pa.array(dyn.predicted[start:stop].ravel().astype(np.int32), mask=missing),
        "correct": pa.array(dyn.correct[start:stop].ravel(), mask=missing),
    }
    if dyn.logits is not None:
        columns[LOGITS_COLUMN] = _fixed_size_lists(dyn.logits[start:stop], recorded)
    for name, arrow_type in tag_types.items():
        columns[name] = _tag_rows(dyn.tags[name].iloc[start:stop], arrow_type, num_epochs)
    return pa.table(columns, schema=schema)


def _fixed_size_lists(logits: np.ndarray, recorded: np.ndarray) -> pa.Array:
    """Build a fixed_size_list<float32> array of one row per cell, null where missing."""
    num_labels = logits.shape[2]
    values = pa.array(np.ascontiguousarray(logits, dtype=np.float32).reshape(-1))
    # The data buffer of a bool array is a bitmap with 1 for True, which is exactly a
    # validity bitmap. Building from buffers avoids the `mask` argument of
    # FixedSizeListArray.from_arrays, which older pyarrow releases lack.
    validity = pa.array(recorded).buffers()[1] if not recorded.all() else None
    return pa.Array.from_buffers(
        pa.list_(pa.float32(), num_labels),
        len(recorded),
        [validity],
        null_count=int((~recorded).sum()),
        children=[values],
    )


def _tag_rows(values: pd.Series, arrow_type: pa.DataType, num_epochs: int) -> pa.Array:
    if pa.types.is_dictionary(arrow_type):
        codes, uniques = pd.factorize(values.astype(object))
        indices = np.repeat(codes.astype(np.int32), num_epochs)
        return pa.DictionaryArray.from_arrays(
            pa.array(indices, mask=indices < 0),
            pa.array([str(value) for value in uniques], type=pa.string()),
        )
    repeated = values.repeat(num_epochs).reset_index(drop=True)
    return pa.array(repeated, type=arrow_type, from_pandas=True)


def load_dynamics(
    path: str | os.PathLike[str], columns: Sequence[str] | None = None
) -> Dynamics:
    """Read dynamics from a Parquet file written by :func:`save_dynamics`.

    The loader reads only the core columns and the optional columns named in
    ``columns``. It reads the scalar columns one at a time and streams the logits in
    batches into a float32 array. Besides the output and a few per-row index arrays,
    it keeps one column or one batch of logits in memory at a time.

    Parameters
    ----------
    path : str or os.PathLike
        Parquet file to read.
    columns : sequence of str or None
        Optional columns to read: ``"logits"`` and tag names. None reads all of them,
        and an empty list reads none. Core column names are allowed and ignored,
        because the core columns are always read.

    Returns
    -------
    Dynamics
        Examples in the order of their first row in the file, epochs ascending. Cells
        without a row or with nulls are missing. The metadata is the stored run record.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DynamicsFileError
        If the file is not Parquet, is truncated or damaged, lacks the soi metadata or a
        core column, was written with a newer schema version, or holds contradictory
        rows.
    ValueError
        If ``columns`` names a column that the file does not have.

    Examples
    --------
    >>> import tempfile
    >>> dyn = Dynamics(
    ...     example_ids=["a"], epochs=[1, 2], gold=[1], gold_prob=[[0.2, 0.8]],
    ...     predicted=[[0, 1]], logits=[[[0.5, -0.9], [-0.7, 0.7]]],
    ... )
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_dynamics(dyn, Path(folder) / "run.parquet")
    ...     with_logits = load_dynamics(path)
    ...     without_logits = load_dynamics(path, columns=[])
    >>> with_logits.logits.shape, without_logits.logits is None
    ((1, 2, 2), True)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dynamics file {path} does not exist")
    with _read_errors_named(path):
        parquet_file = pq.ParquetFile(path)
    header = _read_header(parquet_file, path)
    available = parquet_file.schema_arrow.names
    absent = [name for name in CORE_COLUMNS if name not in available and name != "correct"]
    if absent:
        raise DynamicsFileError(
            f"{path} lacks the core columns {absent}; it has {available}. Write the file "
            "with save_dynamics"
        )
    optional = [name for name in available if name not in CORE_COLUMNS]
    selected = _selected_columns(columns, optional, path)
    tag_names = [name for name in selected if name != LOGITS_COLUMN]

    def read_column(name: str) -> pa.ChunkedArray:
        # One column at a time, so that only one of them is in memory at once.
        with _read_errors_named(path):
            return parquet_file.read(columns=[name]).column(0)

    example_ids, example_codes = _example_codes(read_column("example_id"), path)
    epochs = np.asarray(header["epochs"], dtype=np.int64)
    cells = _cell_positions(example_ids, example_codes, epochs, read_column("epoch"), path)
    gold = _per_example_gold(example_ids, example_codes, read_column("gold"), path)

    num_examples, num_epochs = len(example_ids), len(epochs)
    gold_prob = np.full(num_examples * num_epochs, np.nan, dtype=np.float32)
    gold_prob[cells] = read_column("gold_prob").to_numpy().astype(np.float32, copy=False)
    predicted = np.full(num_examples * num_epochs, MISSING_PREDICTION, dtype=np.int64)
    predicted[cells] = pc.fill_null(read_column("predicted"), MISSING_PREDICTION).to_numpy()
    first_rows = _first_rows(example_codes, num_examples)
    del example_codes
    tags = pd.DataFrame(
        {name: _per_example_tag(read_column(name), first_rows) for name in tag_names},
        index=pd.RangeIndex(num_examples),
    )

    logits = None
    if LOGITS_COLUMN in selected:
        logits = _read_logits(parquet_file, cells, num_examples, num_epochs, path)
    metadata = header.get("metadata") or {}
    if header.get("label_names") is not None and "label_names" not in metadata:
        metadata["label_names"] = header["label_names"]

    try:
        dyn = Dynamics(
            example_ids=example_ids,
            epochs=epochs,
            gold=gold,
            gold_prob=gold_prob.reshape(num_examples, num_epochs),
            predicted=predicted.reshape(num_examples, num_epochs),
            logits=logits,
            tags=tags,
            metadata=metadata,
        )
    except ValueError as error:
        raise DynamicsFileError(f"{path} contains invalid dynamics: {error}") from error
    logger.info(
        "Loaded dynamics of %d examples and %d epochs from %s", num_examples, num_epochs, path
    )
    return dyn


@contextlib.contextmanager
def _read_errors_named(path: Path) -> Iterator[None]:
    """Turn pyarrow's read errors into a DynamicsFileError that names ``path``."""
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
        raise DynamicsFileError(
            f"cannot read {path} as Parquet ({exc}); the file may be truncated by an "
            "interrupted write or copy, or not be a Parquet file. Write it again with "
            "save_dynamics"
        ) from exc


def _read_header(parquet_file: pq.ParquetFile, path: Path) -> dict[str, Any]:
    key_values = parquet_file.metadata.metadata or {}
    raw = key_values.get(PARQUET_METADATA_KEY.encode())
    if raw is None:
        raise DynamicsFileError(
            f"{path} is a Parquet file but not a soi dynamics file: its key-value metadata "
            f"has no {PARQUET_METADATA_KEY!r} key. Write dynamics with save_dynamics"
        )
    try:
        header = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DynamicsFileError(
            f"the {PARQUET_METADATA_KEY!r} metadata of {path} is not valid JSON ({exc}); "
            "write the file again with save_dynamics"
        ) from exc
    version = header.get("schema_version") if isinstance(header, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DynamicsFileError(
            f"the {PARQUET_METADATA_KEY!r} metadata of {path} has no valid schema_version "
            f"(got {version!r}); write the file again with save_dynamics"
        )
    if version > SCHEMA_VERSION:
        raise DynamicsFileError(
            f"{path} has dynamics schema version {version} (written by soi "
            f"{header.get('soi_version', 'unknown')}), but soi {__version__} reads schema "
            f"versions up to {SCHEMA_VERSION}; upgrade soi to load it"
        )
    if not isinstance(header.get("epochs"), list):
        raise DynamicsFileError(
            f"the {PARQUET_METADATA_KEY!r} metadata of {path} lacks the list of epochs; "
            "write the file again with save_dynamics"
        )
    return header


def _selected_columns(
    columns: Sequence[str] | None, optional: list[str], path: Path
) -> list[str]:
    if columns is None:
        return optional
    if isinstance(columns, str):
        raise TypeError(
            f"columns must be a list of column names, got the string {columns!r}; "
            f"write [{columns!r}]"
        )
    unknown = [name for name in columns if name not in optional and name not in CORE_COLUMNS]
    if unknown:
        raise ValueError(
            f"{path} has no columns {unknown}; its optional columns are {optional}"
        )
    return [name for name in optional if name in columns]


def _example_codes(column: pa.ChunkedArray, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Number the examples: return their ids in order of first row and each row's number."""
    if column.null_count:
        raise DynamicsFileError(f"{path} has {column.null_count} rows without an example_id")
    if not pa.types.is_dictionary(column.type):
        codes, uniques = pd.factorize(column.to_numpy())
        return np.asarray(uniques, dtype=object), codes

    # The dictionary indices already number the examples, which needs far less memory
    # than hashing every row. Unused dictionary entries are dropped and the examples
    # are put in order of their first row, which is already the case for files that
    # save_dynamics writes.
    combined = pa.table({"id": column}).unify_dictionaries().column("id").combine_chunks()
    example_ids = combined.dictionary.to_numpy(zero_copy_only=False).astype(object)
    codes = combined.indices.to_numpy(zero_copy_only=False)
    del combined
    used = np.bincount(codes, minlength=len(example_ids)) > 0
    if not used.all():
        renumbered = np.full(len(example_ids), -1, dtype=np.int64)
        renumbered[used] = np.arange(int(used.sum()))
        codes, example_ids = renumbered[codes], example_ids[used]
    first_rows = _first_rows(codes, len(example_ids))
    if np.any(np.diff(first_rows) < 0):
        order = np.argsort(first_rows, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        codes, example_ids = rank[codes], example_ids[order]
    return example_ids, codes


def _cell_positions(
    example_ids: np.ndarray,
    example_codes: np.ndarray,
    epochs: np.ndarray,
    epoch_column: pa.ChunkedArray,
    path: Path,
) -> np.ndarray:
    """Compute each row's flat index into an (N, E) matrix and check for duplicate cells."""
    if epoch_column.null_count:
        raise DynamicsFileError(f"{path} has {epoch_column.null_count} rows without an epoch")
    row_epochs = epoch_column.to_numpy()
    # One comparison pass per epoch uses less memory than a searchsorted over all rows,
    # and runs take few epochs.
    epoch_index = np.full(len(row_epochs), -1, dtype=np.int32)
    for index, epoch in enumerate(epochs):
        epoch_index[row_epochs == epoch] = index
    unknown = epoch_index < 0

    if np.any(unknown):
        raise DynamicsFileError(
            f"{path} has rows for epochs {np.unique(row_epochs[unknown]).tolist()}, which are "
            f"not in its list of epochs {epochs.tolist()}"
        )
    del unknown

    cells = example_codes.astype(np.int64) * len(epochs)
    cells += epoch_index
    del epoch_index

    filled = np.zeros(len(example_ids) * len(epochs), dtype=bool)
    filled[cells] = True
    if int(filled.sum()) < len(cells):
        counts = np.bincount(cells, minlength=len(filled))
        first = int(np.flatnonzero(counts > 1)[0])
        raise DynamicsFileError(
            f"{path} has {int((counts > 1).sum())} (example, epoch) cells with more than one "
            f"row, such as example {example_ids[first // len(epochs)]!r} at epoch "
            f"{int(epochs[first % len(epochs)])}; each cell must have at most one row"
        )
    return cells


def _per_example_gold(
    example_ids: np.ndarray, example_codes: np.ndarray, column: pa.ChunkedArray, path: Path
) -> np.ndarray:
    if column.null_count:
        raise DynamicsFileError(f"{path} has {column.null_count} rows without a gold label")
    row_gold = column.to_numpy()
    gold = np.zeros(len(example_ids), dtype=row_gold.dtype)
    gold[example_codes] = row_gold
    conflicting = gold[example_codes] != row_gold
    if np.any(conflicting):
        row = int(np.flatnonzero(conflicting)[0])
        code = example_codes[row]
        raise DynamicsFileError(
            f"{path} gives example {example_ids[code]!r} the gold labels {int(row_gold[row])} "
            f"and {int(gold[code])}; an example must have one gold label"
        )
    return gold.astype(np.int64)


def _first_rows(example_codes: np.ndarray, num_examples: int) -> np.ndarray:
    """Return the index of each example's first row."""
    first_rows = np.zeros(num_examples, dtype=np.int64)
    # Assigning in reverse row order leaves each example's first row as the final value.
    first_rows[example_codes[::-1]] = np.arange(len(example_codes))[::-1]
    return first_rows


def _per_example_tag(column: pa.ChunkedArray, first_rows: np.ndarray) -> pd.Series:
    """Take each example's tag value from its first row, decoding dictionaries to strings."""
    if pa.types.is_dictionary(column.type):
        column = pa.table({"tag": column}).unify_dictionaries().column(0)
        first_values = column.take(first_rows)
        return first_values.cast(column.type.value_type).to_pandas()
    return column.take(first_rows).to_pandas()


def _read_logits(
    parquet_file: pq.ParquetFile, cells: np.ndarray, num_examples: int, num_epochs: int, path: Path
) -> np.ndarray:
    arrow_type = parquet_file.schema_arrow.field(LOGITS_COLUMN).type
    if not pa.types.is_fixed_size_list(arrow_type):
        raise DynamicsFileError(
            f"the logits column of {path} has type {arrow_type}, expected a fixed-size list "
            "of float32; write the file again with save_dynamics"
        )
    num_labels = arrow_type.list_size
    logits = np.full((num_examples * num_epochs, num_labels), np.nan, dtype=np.float32)
    offset = 0
    with _read_errors_named(path):
        batches = parquet_file.iter_batches(
            batch_size=_LOGITS_READ_BATCH_ROWS, columns=[LOGITS_COLUMN]
        )
        for batch in batches:
            array = batch.column(0)
            values = array.values.slice(array.offset * num_labels, len(array) * num_labels)
            block = values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
            block = block.reshape(len(array), num_labels).copy()
            block[array.is_null().to_numpy(zero_copy_only=False)] = np.nan
            logits[cells[offset : offset + len(array)]] = block
            offset += len(array)
    return logits.reshape(num_examples, num_epochs, num_labels)


# ---------------------------------------------------------------------------------------
# Cartography JSON Lines
# ---------------------------------------------------------------------------------------


def cartography_file_name(epoch_index: int) -> str:
    """Return the cartography file name of epoch ``epoch_index``, counted from 0.

    Examples
    --------
    >>> cartography_file_name(0)
    'dynamics_epoch_0.jsonl'
    """
    return f"dynamics_epoch_{epoch_index}.jsonl"


def export_cartography(dyn: Dynamics, folder: str | os.PathLike[str]) -> list[Path]:
    """Write dynamics as allenai/cartography's per-epoch JSON Lines files.

    soi epoch k becomes ``dynamics_epoch_{k-1}.jsonl``, with one line per example:
    ``{"guid": id, "logits_epoch_{k-1}": [...], "gold": label}``. When every id is a
    canonical decimal integer of at most 18 digits, the ids are written as JSON
    integers, as in cartography's own files. Otherwise every id is a JSON string. Logits are
    written with 15 decimal places, so float32 logits come back exactly unless they are
    smaller than about 1e-7 in size.

    The folder is created if needed. Every file is first written under a temporary name
    and moved into place only after all files were written. If writing fails, the
    temporary files are removed and existing files keep their content. Cartography's
    reader counts every file in its ``training_dynamics`` folder as one epoch, so give
    the export a folder of its own.

    Parameters
    ----------
    dyn : Dynamics
        Dynamics with logits, a record in every cell and epochs 1..E.
    folder : str or os.PathLike
        Output folder.

    Returns
    -------
    list of Path
        The written files, in epoch order.

    Raises
    ------
    ValueError
        If ``dyn`` has no logits, cells without a record, or epochs other than 1..E.
    FileExistsError
        If the folder holds epoch files beyond the E that this call writes, which a
        reader would mix into this run.

    Examples
    --------
    >>> import tempfile
    >>> dyn = Dynamics(
    ...     example_ids=["7", "8"], epochs=[1], gold=[0, 1],
    ...     gold_prob=[[0.5], [0.5]], predicted=[[0], [0]], logits=[[[1.0, 1.0]], [[2.0, 2.0]]],
    ... )
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [path] = export_cartography(dyn, folder)
    ...     print(path.name)
    ...     print(path.read_text())
    dynamics_epoch_0.jsonl
    {"guid":7,"logits_epoch_0":[1.0,1.0],"gold":0}
    {"guid":8,"logits_epoch_0":[2.0,2.0],"gold":1}
    <BLANKLINE>
    """
    folder = Path(folder)
    if dyn.logits is None:
        raise ValueError(
            "cartography files store logits, but these dynamics have none; record logits "
            "during training (record_logits=True)"
        )
    if not dyn.recorded.all():
        missing_rows = ~dyn.recorded.all(axis=1)
        raise ValueError(
            f"{int((~dyn.recorded).sum())} cells have no record, for examples "
            f"{dyn.example_ids[missing_rows][:_EXAMPLES_IN_MESSAGE].tolist()}; cartography "
            "files need logits for every example at every epoch, so drop those examples "
            "or epochs first"
        )
    expected_epochs = np.arange(1, dyn.num_epochs + 1)
    if not np.array_equal(dyn.epochs, expected_epochs):
        raise ValueError(
            f"cartography numbers epoch files 0..E-1 without gaps, so soi epochs must be "
            f"1..{dyn.num_epochs}, got {dyn.epochs.tolist()}; select a run's first epochs"
        )
    folder.mkdir(parents=True, exist_ok=True)
    stale = sorted(
        path
        for path in folder.iterdir()
        if (match := _CARTOGRAPHY_FILE_PATTERN.fullmatch(path.name))
        and int(match.group(1)) >= dyn.num_epochs
    )
    if stale:
        raise FileExistsError(
            f"{folder} already contains epoch files beyond the {dyn.num_epochs} epochs being "
            f"written, such as {stale[0].name}; remove them or export into an empty folder"
        )

    guids = _cartography_guids(dyn.example_ids)
    paths = [folder / cartography_file_name(index) for index in range(dyn.num_epochs)]
    # Each file is moved into place when the stack closes, after all were written.
    # NOTE: if moving one file fails, files moved before it keep the new content.
    with contextlib.ExitStack() as stack:
        for index, path in enumerate(paths):
            file = stack.enter_context(atomic_file(path))
            _write_cartography_epoch(file, index, guids, dyn.logits[:, index], dyn.gold)
    logger.info(
        "Exported dynamics of %d examples and %d epochs to %s",
        dyn.num_examples,
        dyn.num_epochs,
        folder,
    )
    return paths


def _cartography_guids(example_ids: np.ndarray) -> np.ndarray:
    ids = pd.Series(example_ids, dtype=object)
    if len(ids) and ids.str.fullmatch(_INTEGER_ID_PATTERN).all():
        return ids.astype(np.int64).to_numpy()
    return example_ids


def _write_cartography_epoch(
    file: IO[bytes], index: int, guids: np.ndarray, logits: np.ndarray, gold: np.ndarray
) -> None:
    for start in range(0, len(guids), _CARTOGRAPHY_WRITE_CHUNK_ROWS):
        stop = start + _CARTOGRAPHY_WRITE_CHUNK_ROWS
        frame = pd.DataFrame(
            {
                "guid": guids[start:stop],
                f"logits_epoch_{index}": list(logits[start:stop].astype(np.float64)),
                "gold": gold[start:stop],
            }
        )
        text = frame.to_json(
            orient="records", lines=True, double_precision=_CARTOGRAPHY_DOUBLE_PRECISION
        )
        file.write(text.rstrip("\n").encode("utf-8") + b"\n")


@dataclass
class _CartographyEpoch:
    epoch_index: int
    guids: np.ndarray
    gold: np.ndarray
    logits: np.ndarray


def read_cartography_epoch(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read one cartography ``dynamics_epoch_{e}.jsonl`` file.

    Parameters
    ----------
    path : str or os.PathLike
        JSON Lines file with ``guid``, ``gold`` and one ``logits_epoch_{e}`` key per line.

    Returns
    -------
    pd.DataFrame
        One row per line with columns ``guid`` (str), ``gold`` (int64) and ``logits``
        (a float32 array per row). ``attrs["epoch_index"]`` is e, counted from 0.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a line is not valid JSON, lacks a key, mixes epochs, has a logits list of a
        different length, or the file name's epoch differs from the logits key's.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "dynamics_epoch_0.jsonl"
    ...     _ = path.write_text('{"guid": 12, "logits_epoch_0": [0.1, 2.0], "gold": 1}\\n')
    ...     frame = read_cartography_epoch(path)
    >>> frame["guid"].tolist(), frame["gold"].tolist(), frame.attrs["epoch_index"]
    (['12'], [1], 0)
    """
    epoch = _read_cartography_arrays(Path(path))
    frame = pd.DataFrame(
        {
            "guid": pd.Series(epoch.guids, dtype=object),
            "gold": epoch.gold,
            "logits": list(epoch.logits.astype(np.float32)),
        }
    )
    frame.attrs["epoch_index"] = epoch.epoch_index
    return frame


def _read_cartography_arrays(path: Path) -> _CartographyEpoch:
    if not path.is_file():
        raise FileNotFoundError(f"cartography file {path} does not exist")
    epoch = _read_cartography_fast(path)
    if epoch is None:
        epoch = _read_cartography_checked(path)
    match = _CARTOGRAPHY_FILE_PATTERN.fullmatch(path.name)
    if match and int(match.group(1)) != epoch.epoch_index:
        raise ValueError(
            f"{path} contains logits_epoch_{epoch.epoch_index}, but its file name gives epoch "
            f"{int(match.group(1))}; rename the file or check that it was not mixed up"
        )
    return epoch


def _read_cartography_fast(path: Path) -> _CartographyEpoch | None:
    """Parse a well-formed file with pyarrow; return None for anything unusual.

    The line-by-line reader then parses the file again and reports the exact problem,
    so this function only has to recognise the normal case.
    """
    try:
        table = pa_json.read_json(str(path))
    except pa.ArrowInvalid:
        return None
    logits_keys = [
        name for name in table.column_names if _CARTOGRAPHY_LOGITS_KEY_PATTERN.fullmatch(name)
    ]
    if len(logits_keys) != 1 or not {"guid", "gold"} <= set(table.column_names):
        return None
    guid, gold, logits = table.column("guid"), table.column("gold"), table.column(logits_keys[0])
    guid_ok = pa.types.is_int64(guid.type) or pa.types.is_string(guid.type)
    logits_ok = pa.types.is_list(logits.type) and (
        pa.types.is_floating(logits.type.value_type) or pa.types.is_integer(logits.type.value_type)
    )
    if not (guid_ok and pa.types.is_int64(gold.type) and logits_ok):
        return None
    if guid.null_count or gold.null_count or logits.null_count:
        return None
    lengths = pc.list_value_length(logits).to_numpy()
    if len(lengths) == 0 or lengths[0] == 0 or np.any(lengths != lengths[0]):
        return None
    values = pc.list_flatten(logits)
    if values.null_count:
        return None
    return _CartographyEpoch(
        epoch_index=int(_CARTOGRAPHY_LOGITS_KEY_PATTERN.fullmatch(logits_keys[0]).group(1)),
        guids=guid.cast(pa.string()).to_numpy().astype(object),
        gold=gold.to_numpy().astype(np.int64),
        logits=values.to_numpy().astype(np.float64).reshape(len(lengths), int(lengths[0])),
    )


def _read_cartography_checked(path: Path) -> _CartographyEpoch:
    """Parse a file line by line, raising an error that names the bad line."""
    epoch_index: int | None = None
    guids: list[str] = []
    gold: list[int] = []
    logits: list[list[float]] = []
    with open(path, encoding="utf-8") as file:
        for line_number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {line_number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where} is not valid JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise ValueError(f"{where} is not a JSON object")
            keys = [key for key in record if _CARTOGRAPHY_LOGITS_KEY_PATTERN.fullmatch(key)]
            if len(keys) != 1:
                raise ValueError(
                    f"{where} has logits keys {keys}, expected exactly one logits_epoch_<e>"
                )
            line_epoch = int(_CARTOGRAPHY_LOGITS_KEY_PATTERN.fullmatch(keys[0]).group(1))
            if epoch_index is not None and line_epoch != epoch_index:
                raise ValueError(
                    f"{where} has {keys[0]}, but earlier lines have logits_epoch_{epoch_index}; "
                    "a file holds one epoch"
                )
            epoch_index = line_epoch
            guids.append(_checked_guid(record, where))
            gold.append(_checked_gold(record, where))
            logits.append(_checked_logits(record[keys[0]], keys[0], where, logits))
    if epoch_index is None:
        raise ValueError(f"{path} has no records; a cartography file has one line per example")
    return _CartographyEpoch(
        epoch_index=epoch_index,
        guids=np.array(guids, dtype=object),
        gold=np.array(gold, dtype=np.int64),
        logits=np.array(logits, dtype=np.float64),
    )


def _checked_guid(record: dict[str, Any], where: str) -> str:
    guid = record.get("guid")
    if isinstance(guid, str) or (isinstance(guid, int) and not isinstance(guid, bool)):
        return str(guid)
    raise ValueError(f"{where} has guid {guid!r}, expected a string or an integer")


def _checked_gold(record: dict[str, Any], where: str) -> int:
    gold = record.get("gold")
    if isinstance(gold, int) and not isinstance(gold, bool):
        return gold
    raise ValueError(f"{where} has gold {gold!r}, expected an integer label id")


def _checked_logits(
    values: Any, key: str, where: str, previous: list[list[float]]
) -> list[float]:
    numeric = isinstance(values, list) and all(
        value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
        for value in values
    )
    if not numeric or not values:
        raise ValueError(f"{where} has {key} = {values!r}, expected a non-empty list of numbers")
    if previous and len(values) != len(previous[0]):
        raise ValueError(
            f"{where} has {len(values)} logits, but earlier lines have {len(previous[0])}; "
            "every line needs one logit per label"
        )
    return [np.nan if value is None else float(value) for value in values]


def import_cartography(folder: str | os.PathLike[str]) -> Dynamics:
    """Read a folder of cartography ``dynamics_epoch_{e}.jsonl`` files as Dynamics.

    File e becomes soi epoch e + 1. Examples follow the line order of epoch file 0.
    ``gold_prob`` is the softmax probability of the gold label, computed in float64
    and stored as float32, and ``predicted`` is the argmax of the logits (the first
    label on ties). Guids become string ids.

    Parameters
    ----------
    folder : str or os.PathLike
        Folder with the files; other files in it are ignored.

    Returns
    -------
    Dynamics
        Dynamics with logits, no tags and metadata naming the source folder.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist, holds no epoch file, or an epoch file between 0
        and the largest epoch number is missing.
    ValueError
        If the files disagree on their guids, gold labels or number of labels, a file
        repeats a guid, a gold label is outside the logits' labels, logits are NaN or
        infinite, or a file is malformed (see :func:`read_cartography_epoch`).

    Examples
    --------
    >>> import tempfile
    >>> lines = ['{"guid": 1, "logits_epoch_%d": [0.0, 0.0], "gold": 1}\\n' % e for e in (0, 1)]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for e, line in enumerate(lines):
    ...         _ = (Path(folder) / cartography_file_name(e)).write_text(line)
    ...     dyn = import_cartography(folder)
    >>> dyn.epochs.tolist(), dyn.gold_prob.tolist(), dyn.predicted.tolist()
    ([1, 2], [[0.5, 0.5]], [[0, 0]])
    """
    folder = Path(folder)
    paths = _cartography_paths(folder)
    first = _read_cartography_arrays(paths[0])
    index = pd.Index(first.guids)
    _check_unique_guids(index, paths[0])
    num_examples, num_labels = first.logits.shape
    _check_gold_range(first, paths[0])

    logits = np.empty((num_examples, len(paths), num_labels), dtype=np.float32)
    gold_prob = np.empty((num_examples, len(paths)), dtype=np.float32)
    predicted = np.empty((num_examples, len(paths)), dtype=np.int64)
    for epoch_index, path in enumerate(paths):
        epoch = first if epoch_index == 0 else _read_cartography_arrays(path)
        if epoch.logits.shape[1] != num_labels:
            raise ValueError(
                f"{path} has {epoch.logits.shape[1]} logits per line, but {paths[0].name} has "
                f"{num_labels}; the files must come from one training run"
            )
        _check_unique_guids(pd.Index(epoch.guids), path)
        order = _aligned_rows(index, epoch.guids, path, paths[0])
        epoch_gold = epoch.gold[order]
        conflicting = epoch_gold != first.gold
        if np.any(conflicting):
            row = int(np.flatnonzero(conflicting)[0])
            raise ValueError(
                f"{path} gives guid {first.guids[row]!r} gold label {int(epoch_gold[row])}, but "
                f"{paths[0].name} gives {int(first.gold[row])}; the files must come from one "
                "training run"
            )
        epoch_logits = epoch.logits[order]
        logits[:, epoch_index] = epoch_logits
        gold_prob[:, epoch_index] = _gold_probability(epoch_logits, first.gold)
        _check_finite_logits(gold_prob[:, epoch_index], epoch_logits, first.guids, path)
        predicted[:, epoch_index] = np.argmax(epoch_logits, axis=1)

    logger.info(
        "Imported cartography dynamics of %d examples and %d epochs from %s",
        num_examples,
        len(paths),
        folder,
    )
    return Dynamics(
        example_ids=first.guids,
        epochs=np.arange(1, len(paths) + 1),
        gold=first.gold,
        gold_prob=gold_prob,
        predicted=predicted,
        logits=logits,
        metadata={"source_format": "cartography", "source_folder": str(folder)},
    )


def _cartography_paths(folder: Path) -> list[Path]:
    """List the epoch files of ``folder`` in epoch order and check that none is missing."""
    if not folder.is_dir():
        raise FileNotFoundError(f"cartography folder {folder} does not exist")
    by_epoch: dict[int, Path] = {}
    for path in folder.iterdir():
        match = _CARTOGRAPHY_FILE_PATTERN.fullmatch(path.name)
        if match is None:
            continue
        epoch_index = int(match.group(1))
        if epoch_index in by_epoch:
            raise ValueError(
                f"{folder} has two files for epoch {epoch_index}: {by_epoch[epoch_index].name} "
                f"and {path.name}; keep one"
            )
        by_epoch[epoch_index] = path
    if not by_epoch:
        raise FileNotFoundError(
            f"{folder} contains no cartography files named dynamics_epoch_<e>.jsonl"
        )
    last = max(by_epoch)
    missing = [index for index in range(last + 1) if index not in by_epoch]
    if missing:
        raise FileNotFoundError(
            f"{folder / cartography_file_name(missing[0])} is missing: epoch files must be "
            f"numbered 0..{last} without gaps, but epochs {missing} have no file"
        )
    return [by_epoch[index] for index in range(last + 1)]


def _check_unique_guids(index: pd.Index, path: Path) -> None:
    if index.has_duplicates:
        duplicated = index[index.duplicated()].unique()[:_EXAMPLES_IN_MESSAGE].tolist()
        raise ValueError(
            f"{path} repeats {int(index.duplicated().sum())} guids, such as {duplicated}; "
            "each example must appear once per epoch"
        )


def _check_gold_range(epoch: _CartographyEpoch, path: Path) -> None:
    num_labels = epoch.logits.shape[1]
    outside = (epoch.gold < 0) | (epoch.gold >= num_labels)
    if np.any(outside):
        row = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"{path} gives guid {epoch.guids[row]!r} gold label {int(epoch.gold[row])}, which is "
            f"outside 0..{num_labels - 1}, the labels that its logits cover"
        )


def _aligned_rows(
    reference: pd.Index, guids: np.ndarray, path: Path, reference_path: Path
) -> np.ndarray:
    """Find the rows of ``guids`` in the order of ``reference``, which must be the same set."""
    order = pd.Index(guids).get_indexer(reference)
    extra = pd.Index(guids).difference(reference)
    if np.any(order < 0) or len(extra):
        absent = reference[order < 0]
        raise ValueError(
            f"{path.name} and {reference_path.name} in {path.parent} differ in "
            f"{len(absent) + len(extra)} guids: {len(absent)} only in {reference_path.name}, "
            f"such as {absent[:_EXAMPLES_IN_MESSAGE].tolist()}, and {len(extra)} only in "
            f"{path.name}, such as {extra[:_EXAMPLES_IN_MESSAGE].tolist()}. All epoch files "
            "must come from one training run over the same examples"
        )
    return order


def _check_finite_logits(
    gold_prob: np.ndarray, logits: np.ndarray, guids: np.ndarray, path: Path
) -> None:
    """Reject an epoch file whose logits give a NaN probability or contain infinities."""
    diverged = np.isnan(gold_prob) | np.isinf(logits).any(axis=1)
    if np.any(diverged):
        row = int(np.flatnonzero(diverged)[0])
        raise ValueError(
            f"{path} gives guid {guids[row]!r} the logits {logits[row].tolist()}, which are "
            f"NaN (null) or infinite, in {int(diverged.sum())} lines. The training run "
            "diverged; rerun it with a lower learning rate, or remove those examples from "
            "every epoch file"
        )


def _gold_probability(logits: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Compute the float64 softmax probability of each row's gold label."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials[np.arange(len(gold)), gold] / exponentials.sum(axis=1)
