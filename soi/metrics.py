"""Per-example training-dynamics metrics: dataset cartography and example forgetting.

Every function takes plain (N, E) arrays, one row per example and one column per
recorded epoch, and computes all rows at once with numpy. ``metrics_from_dynamics``
is the convenience entry point for a :class:`~soi.dynamics.Dynamics`.

The metrics follow two papers:

- confidence, variability and correctness come from dataset cartography
  (Swayamdipta et al., 2020, "Dataset Cartography: Mapping and Diagnosing Datasets
  with Training Dynamics");
- forgetting events come from Toneva et al., 2019, "An Empirical Study of Example
  Forgetting during Deep Neural Network Learning".

Where soi's conventions differ from the reference code of dataset cartography
(allenai/cartography, ``cartography/selection/train_dy_filtering.py``), a
:class:`Conventions` object chooses between them. ``SOI_CONVENTIONS`` is the default
and ``CARTOGRAPHY_CONVENTIONS`` reproduces the reference code:

===================  ==================================  ====================================
metric               soi (default)                       allenai/cartography
===================  ==================================  ====================================
correctness          fraction of correct epochs          number of correct epochs
forgetting events    0 when never learned, with the      1000 when never learned
                     ``never_learned`` flag
variability          population std of the gold          the same, or with ``include_ci``
                     probability                         sqrt(var + var^2 / (E - 1))
threshold closeness  not computed                        conf * (1 - conf)
burn-out             every epoch                         only the first k epochs
===================  ==================================  ====================================
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from soi.dynamics import Dynamics

__all__ = [
    "CARTOGRAPHY_CONVENTIONS",
    "CARTOGRAPHY_NEVER_LEARNED_FORGETTING",
    "CORRECTNESS_OPTIONS",
    "MIN_EPOCHS",
    "METRIC_COLUMNS",
    "SOI_CONVENTIONS",
    "VARIABILITY_OPTIONS",
    "Conventions",
    "check_complete",
    "check_correct",
    "check_gold_prob",
    "compute_metrics",
    "confidence",
    "correct_last",
    "correctness",
    "example_index",
    "first_learned_epoch",
    "forgetting_events",
    "gold_prob_moments",
    "metrics_from_dynamics",
    "never_learned",
    "threshold_closeness",
    "variability",
]

#: Minimum number of recorded epochs. A forgetting event compares two consecutive
#: epochs, and the spread of the gold probability is always 0 for a single epoch.
MIN_EPOCHS = 2

#: Delta degrees of freedom of ``variability``: 0 gives the population standard
#: deviation over the E epochs, which is what ``np.std`` computes in the dataset
#: cartography reference code (allenai/cartography, train_dy_filtering.py).
VARIABILITY_DDOF = 0

#: Forgetting count that allenai/cartography's ``compute_forgetfulness`` returns for an
#: example that is never predicted correctly: a number larger than any real count, so
#: that such examples sort as the most forgettable.
CARTOGRAPHY_NEVER_LEARNED_FORGETTING = 1000

#: Values of ``Conventions.correctness``: a fraction of the epochs (soi) or a count of
#: epochs (allenai/cartography's ``compute_correctness``).
CORRECTNESS_OPTIONS = ("fraction", "count")

#: Values of ``Conventions.variability``: the population standard deviation ("std"),
#: or allenai/cartography's ``include_ci`` variant sqrt(var + var^2 / (E - 1)) ("ci").
VARIABILITY_OPTIONS = ("std", "ci")

#: Columns of ``compute_metrics``, in order. ``threshold_closeness`` follows them when
#: the conventions ask for it.
METRIC_COLUMNS = (
    "confidence",
    "variability",
    "correctness",
    "forgetting_events",
    "never_learned",
    "first_learned_epoch",
    "correct_last",
)

#: Name of the optional threshold-closeness column of ``compute_metrics``.
THRESHOLD_CLOSENESS_COLUMN = "threshold_closeness"

#: Name of the index of every per-example table.
EXAMPLE_INDEX_NAME = "example_id"

# Number of offending values that an error message shows.
_EXAMPLES_IN_MESSAGE = 5

# Rows per block of ``gold_prob_moments``: a float64 block of 10 epochs is 5 MiB, small
# enough to stay in a CPU cache and large enough that the loop costs nothing.
_MOMENT_BLOCK_ROWS = 2**16


@dataclass(frozen=True)
class Conventions:
    """Conventions of the per-example metrics: soi's defaults or dataset cartography's.

    Parameters
    ----------
    correctness : {"fraction", "count"}
        "fraction" reports the fraction of epochs at which the argmax equals the gold
        label; "count" reports the number of those epochs, as allenai/cartography does.
    variability : {"std", "ci"}
        "std" is the population standard deviation of the gold probability over the
        epochs. "ci" is allenai/cartography's ``--include_ci`` variant
        sqrt(var + var^2 / (E - 1)), with var the population variance.
    never_learned_forgetting : int or None
        Forgetting count reported for an example that is never predicted correctly.
        None reports 0 and leaves the ``never_learned`` column to tell such examples
        apart; allenai/cartography reports ``CARTOGRAPHY_NEVER_LEARNED_FORGETTING``.
    burn_out : int or None
        Use only the first ``burn_out`` recorded epochs for every metric, as
        allenai/cartography's ``--burn_out`` does. None uses every epoch. It must lie
        in ``MIN_EPOCHS``..E.
    threshold_closeness : bool
        Add the column ``threshold_closeness``, conf * (1 - conf) of the mean gold
        probability conf (Chang et al., 2017, "Active Bias").

    Raises
    ------
    ValueError
        If an option has a value outside the ones listed above.

    Examples
    --------
    >>> CARTOGRAPHY_CONVENTIONS.correctness, CARTOGRAPHY_CONVENTIONS.never_learned_forgetting
    ('count', 1000)
    >>> Conventions(variability="ci", burn_out=3).burn_out
    3
    """

    correctness: str = "fraction"
    variability: str = "std"
    never_learned_forgetting: int | None = None
    burn_out: int | None = None
    threshold_closeness: bool = False

    def __post_init__(self) -> None:
        if self.correctness not in CORRECTNESS_OPTIONS:
            raise ValueError(
                f"correctness convention {self.correctness!r} is not one of "
                f"{list(CORRECTNESS_OPTIONS)}"
            )
        if self.variability not in VARIABILITY_OPTIONS:
            raise ValueError(
                f"variability convention {self.variability!r} is not one of "
                f"{list(VARIABILITY_OPTIONS)}"
            )
        count = self.never_learned_forgetting
        if count is not None and (not _is_integer(count) or count < 0):
            raise ValueError(
                f"never_learned_forgetting must be None or a non-negative integer, got "
                f"{count!r}; allenai/cartography uses {CARTOGRAPHY_NEVER_LEARNED_FORGETTING}"
            )
        burn_out = self.burn_out
        if burn_out is not None and (not _is_integer(burn_out) or burn_out < MIN_EPOCHS):
            raise ValueError(
                f"burn_out must be None or an integer of at least {MIN_EPOCHS}, got "
                f"{self.burn_out!r}; it is the number of leading epochs to use"
            )
        if not isinstance(self.threshold_closeness, (bool, np.bool_)):
            raise ValueError(
                f"threshold_closeness must be True or False, got {self.threshold_closeness!r}"
            )


def _is_integer(value: object) -> bool:
    # bool is an Integral, but True as a count is almost certainly a mistake.
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


#: soi's conventions, the default of every function.
SOI_CONVENTIONS = Conventions()

#: The conventions of allenai/cartography's ``compute_train_dy_metrics`` with its
#: default flags (no ``--include_ci``, no burn-out): correctness as a count, forgetting
#: count 1000 for an example never learned, and threshold closeness.
CARTOGRAPHY_CONVENTIONS = Conventions(
    correctness="count",
    never_learned_forgetting=CARTOGRAPHY_NEVER_LEARNED_FORGETTING,
    threshold_closeness=True,
)


def _check_matrix_shape(array: np.ndarray, name: str) -> None:
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (examples, epochs) array, got shape {array.shape}; "
            f"put one row per example and one column per epoch"
        )
    num_epochs = array.shape[1]
    if num_epochs < MIN_EPOCHS:
        raise ValueError(
            f"{name} has {num_epochs} epoch(s), but at least {MIN_EPOCHS} are needed to "
            f"measure forgetting and variability; record the dynamics at more epochs"
        )


def _checked_probabilities(gold_prob: np.ndarray) -> np.ndarray:
    """Validate gold probabilities, keeping float32 input as float32."""
    array = np.asarray(gold_prob)
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float64)
    _check_matrix_shape(array, "gold_prob")

    # NOTE: missing cells are not supported yet, so any NaN rejects the whole matrix.
    missing = np.isnan(array)
    if missing.any():
        raise ValueError(
            f"gold_prob has {int(missing.sum())} missing (NaN) cells out of {array.size}; "
            f"missing cells are not supported yet, so drop the examples or epochs "
            f"that lack a record"
        )

    if array.size and (array.min() < 0.0 or array.max() > 1.0):
        outside = (array < 0.0) | (array > 1.0)
        first = array[outside][0]
        raise ValueError(
            f"gold_prob has {int(outside.sum())} values outside [0, 1], such as {first}; "
            f"pass softmax probabilities, not logits"
        )
    return array


def check_gold_prob(gold_prob: np.ndarray, *, keep_float32: bool = False) -> np.ndarray:
    """Validate a gold-probability matrix and return it as a float64 array.

    Parameters
    ----------
    gold_prob : np.ndarray
        Shape (N, E), probability of the gold label for each example and epoch.
    keep_float32 : bool
        Return float32 input as it is instead of a float64 copy. soi records float32
        and its reductions accumulate in float64, so the copy would only cost memory.

    Returns
    -------
    np.ndarray
        The same values as a float64 array, or float32 when the input is float32 and
        ``keep_float32`` is True.

    Raises
    ------
    ValueError
        If the array is not 2-D, has fewer than ``MIN_EPOCHS`` columns, contains NaN
        (missing cells) or values outside [0, 1].

    Examples
    --------
    >>> check_gold_prob([[0.2, 0.9]]).dtype
    dtype('float64')
    >>> check_gold_prob(np.array([[0.2, 0.9]], dtype=np.float32), keep_float32=True).dtype
    dtype('float32')
    """
    array = _checked_probabilities(gold_prob)
    return array if keep_float32 else array.astype(np.float64, copy=False)


def check_correct(correct: np.ndarray) -> np.ndarray:
    """Validate a correctness matrix and return it as a bool array.

    Parameters
    ----------
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label. Integer
        arrays of 0 and 1 are accepted.

    Returns
    -------
    np.ndarray
        The same values as a bool array.

    Raises
    ------
    ValueError
        If the array is not 2-D, has fewer than ``MIN_EPOCHS`` columns, or contains
        values other than 0 and 1.

    Examples
    --------
    >>> check_correct([[0, 1], [1, 1]]).dtype
    dtype('bool')
    """
    array = np.asarray(correct)
    _check_matrix_shape(array, "correct")
    if array.dtype == np.bool_:
        return array

    invalid = (array != 0) & (array != 1)
    if invalid.any():
        first = array[invalid][0]
        raise ValueError(
            f"correct must contain only 0/1 or True/False, found {int(invalid.sum())} "
            f"other values such as {first}; pass predicted == gold, not probabilities"
        )
    return array.astype(bool)


def example_index(
    example_ids: Sequence | np.ndarray | None,
    num_examples: int,
    *,
    check_unique: bool = True,
) -> pd.Index:
    """Build the ``example_id`` index of a per-example table.

    Parameters
    ----------
    example_ids : sequence or np.ndarray or None
        One unique id per example, or None for the positions 0..N-1.
    num_examples : int
        Number of rows N of the matrices.
    check_unique : bool
        Check that no id repeats. Hashing a million string ids takes a noticeable
        fraction of a second, so callers that pass ids already known to be unique,
        such as ``Dynamics.example_ids``, may skip the check.

    Returns
    -------
    pd.Index
        Index named ``example_id``.

    Raises
    ------
    ValueError
        If the number of ids differs from ``num_examples`` or an id repeats.

    Examples
    --------
    >>> index = example_index(["a", "b"], 2)
    >>> index.name, index.tolist()
    ('example_id', ['a', 'b'])
    """
    if example_ids is None:
        return pd.RangeIndex(num_examples, name=EXAMPLE_INDEX_NAME)

    index = pd.Index(np.asarray(example_ids, dtype=object), name=EXAMPLE_INDEX_NAME)
    if len(index) != num_examples:
        raise ValueError(
            f"example_ids has {len(index)} ids, but the matrices have {num_examples} rows; "
            f"pass one id per row"
        )
    if check_unique and index.has_duplicates:
        duplicated = index[index.duplicated()].unique()[:_EXAMPLES_IN_MESSAGE].tolist()
        raise ValueError(
            f"example_ids must be unique, found {int(index.duplicated().sum())} duplicates "
            f"such as {duplicated}; give every example its own id"
        )
    return index


def _mean(probabilities: np.ndarray) -> np.ndarray:
    return probabilities.mean(axis=1, dtype=np.float64)


def gold_prob_moments(gold_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compute each example's mean and population variance of the gold probability.

    Both come from one pass over blocks of rows, converted to float64 one block at a
    time, so that the temporary arrays stay small for millions of examples. The
    variance is the mean squared deviation from the mean (``ddof=VARIABILITY_DDOF``),
    computed in two passes as ``np.var`` does.

    Parameters
    ----------
    gold_prob : np.ndarray
        Shape (N, E), probability of the gold label for each example and epoch.

    Returns
    -------
    tuple of np.ndarray
        The means and the variances, each of shape (N,) and float64.

    Examples
    --------
    >>> mean, variance = gold_prob_moments(np.array([[0.2, 0.6, 1.0]]))
    >>> mean.round(6), variance.round(6)
    (array([0.6]), array([0.106667]))
    """
    probabilities = _checked_probabilities(gold_prob)
    num_examples, num_epochs = probabilities.shape
    mean = np.empty(num_examples, dtype=np.float64)
    variance = np.empty(num_examples, dtype=np.float64)
    for start in range(0, num_examples, _MOMENT_BLOCK_ROWS):
        stop = start + _MOMENT_BLOCK_ROWS
        block = probabilities[start:stop].astype(np.float64)
        block_mean = block.mean(axis=1)
        block -= block_mean[:, None]
        np.square(block, out=block)
        mean[start:stop] = block_mean
        variance[start:stop] = block.sum(axis=1) / (num_epochs - VARIABILITY_DDOF)
    return mean, variance


def confidence(gold_prob: np.ndarray) -> np.ndarray:
    """Compute the mean gold-label probability of each example over the epochs.

    Parameters
    ----------
    gold_prob : np.ndarray
        Shape (N, E), probability of the gold label for each example and epoch.

    Returns
    -------
    np.ndarray
        Shape (N,), float64.

    Examples
    --------
    >>> confidence(np.array([[0.2, 0.6, 1.0]])).round(6)
    array([0.6])
    """
    return _mean(_checked_probabilities(gold_prob))


def variability(gold_prob: np.ndarray, *, estimator: str = "std") -> np.ndarray:
    """Compute the spread of each example's gold probability over the epochs.

    Parameters
    ----------
    gold_prob : np.ndarray
        Shape (N, E), probability of the gold label for each example and epoch.
    estimator : {"std", "ci"}
        "std" is the population standard deviation (``ddof=VARIABILITY_DDOF``, 0).
        "ci" is allenai/cartography's ``--include_ci`` variant sqrt(var + var^2 / (E - 1))
        with var the population variance, which adds the variance of the variance
        estimate (Chang et al., 2017, "Active Bias").

    Returns
    -------
    np.ndarray
        Shape (N,), float64.

    Raises
    ------
    ValueError
        If ``estimator`` is not one of ``VARIABILITY_OPTIONS``.

    Examples
    --------
    >>> variability(np.array([[0.2, 0.6, 1.0], [0.5, 0.5, 0.5]])).round(4)
    array([0.3266, 0.    ])
    >>> variability(np.array([[0.2, 0.6, 1.0]]), estimator="ci").round(4)
    array([0.3352])
    """
    if estimator not in VARIABILITY_OPTIONS:
        raise ValueError(
            f"variability estimator {estimator!r} is not one of {list(VARIABILITY_OPTIONS)}"
        )
    _, variance = gold_prob_moments(gold_prob)
    if estimator == "ci":
        num_epochs = np.shape(gold_prob)[1]
        variance = variance + variance * variance / (num_epochs - 1)
    return np.sqrt(variance)


def threshold_closeness(gold_prob: np.ndarray) -> np.ndarray:
    """Compute conf * (1 - conf) of each example's mean gold probability conf.

    The value is largest, 0.25, for examples whose mean gold probability is one half,
    the examples closest to the decision threshold (Chang et al., 2017, "Active Bias").

    Parameters
    ----------
    gold_prob : np.ndarray
        Shape (N, E), probability of the gold label for each example and epoch.

    Returns
    -------
    np.ndarray
        Shape (N,), float64 in [0, 0.25].

    Examples
    --------
    >>> threshold_closeness(np.array([[0.4, 0.6], [1.0, 1.0]]))
    array([0.25, 0.  ])
    """
    mean = _mean(_checked_probabilities(gold_prob))
    return mean * (1.0 - mean)


def correctness(correct: np.ndarray, *, count: bool = False) -> np.ndarray:
    """Compute the fraction (or number) of epochs at which each example is correct.

    Parameters
    ----------
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label. A gold
        probability above 0.5 is not the same thing when there are three or more labels.
    count : bool
        If True, return the number of correct epochs, as allenai/cartography does.

    Returns
    -------
    np.ndarray
        Shape (N,): float64 in [0, 1], or int64 in 0..E when ``count`` is True.

    Examples
    --------
    >>> correctness(np.array([[True, False, True, True]]))
    array([0.75])
    >>> correctness(np.array([[True, False, True, True]]), count=True)
    array([3])
    """
    array = check_correct(correct)
    if count:
        return array.sum(axis=1, dtype=np.int64)
    return array.mean(axis=1)


def forgetting_events(
    correct: np.ndarray, *, never_learned_count: int | None = None
) -> np.ndarray:
    """Count the forgetting events of each example.

    A forgetting event is an epoch t that is correct followed by epoch t+1 that is
    wrong (Toneva et al., 2019). An example that is never correct has 0 events, so
    the ``never_learned`` flag distinguishes it from an example learned once and kept,
    unless ``never_learned_count`` gives it another value.

    Parameters
    ----------
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label.
    never_learned_count : int or None
        Count reported for an example that is never correct. None reports 0;
        allenai/cartography reports ``CARTOGRAPHY_NEVER_LEARNED_FORGETTING`` (1000).

    Returns
    -------
    np.ndarray
        Shape (N,), int64.

    Examples
    --------
    >>> forgetting_events(np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 1, 1]]))
    array([2, 0, 0])
    >>> forgetting_events(np.array([[1, 0, 1, 0], [0, 0, 0, 0]]), never_learned_count=1000)
    array([   2, 1000])
    """
    array = check_correct(correct)
    forgotten = array[:, :-1] & ~array[:, 1:]
    events = forgotten.sum(axis=1, dtype=np.int64)
    if never_learned_count is not None:
        events[~array.any(axis=1)] = never_learned_count
    return events


def never_learned(correct: np.ndarray) -> np.ndarray:
    """Flag the examples that are wrong at every epoch.

    Parameters
    ----------
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label.

    Returns
    -------
    np.ndarray
        Shape (N,), bool.

    Examples
    --------
    >>> never_learned(np.array([[0, 0], [0, 1]]))
    array([ True, False])
    """
    return ~check_correct(correct).any(axis=1)


def first_learned_epoch(correct: np.ndarray) -> pd.arrays.IntegerArray:
    """Find the first epoch at which each example is predicted correctly.

    Parameters
    ----------
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label.

    Returns
    -------
    pd.arrays.IntegerArray
        Shape (N,), nullable ``Int64``: the 1-based position of the first correct
        column, or ``<NA>`` for an example that is never correct. The position equals
        the epoch number only when the recorded epochs are 1, 2, ..., E.

    Examples
    --------
    >>> first_learned_epoch(np.array([[0, 1, 1], [0, 0, 0], [1, 0, 1]]))
    <IntegerArray>
    [2, <NA>, 1]
    Length: 3, dtype: Int64
    """
    array = check_correct(correct)
    return pd.arrays.IntegerArray(
        array.argmax(axis=1).astype(np.int64) + 1, ~array.any(axis=1)
    )


def correct_last(correct: np.ndarray) -> np.ndarray:
    """Flag the examples that are predicted correctly at the last epoch.

    Parameters
    ----------
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label.

    Returns
    -------
    np.ndarray
        Shape (N,), bool.

    Examples
    --------
    >>> correct_last(np.array([[1, 0], [0, 1]]))
    array([False,  True])
    """
    return check_correct(correct)[:, -1].copy()


def _burned_out(array: np.ndarray, burn_out: int | None, name: str) -> np.ndarray:
    """Keep the first ``burn_out`` epochs of a validated (N, E) matrix."""
    if burn_out is None:
        return array
    num_epochs = array.shape[1]
    if burn_out > num_epochs:
        raise ValueError(
            f"burn_out {burn_out} is larger than the {num_epochs} epochs of {name}; use at "
            f"most {num_epochs}, or None to use every epoch"
        )
    return array[:, :burn_out]


def _checked_pair(
    gold_prob: np.ndarray, correct: np.ndarray, burn_out: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate both matrices, check that they match, and apply the burn-out."""
    probabilities = _checked_probabilities(gold_prob)
    correct_matrix = check_correct(correct)
    if probabilities.shape != correct_matrix.shape:
        raise ValueError(
            f"gold_prob has shape {probabilities.shape} but correct has shape "
            f"{correct_matrix.shape}; both must be (examples, epochs) of the same run"
        )
    return (
        _burned_out(probabilities, burn_out, "gold_prob"),
        _burned_out(correct_matrix, burn_out, "correct"),
    )


def _metric_columns(
    probabilities: np.ndarray, correct: np.ndarray, conventions: Conventions
) -> dict[str, np.ndarray | pd.api.extensions.ExtensionArray]:
    """Compute the metric columns from validated, burned-out matrices of equal shape."""
    ever_correct = correct.any(axis=1)
    events = (correct[:, :-1] & ~correct[:, 1:]).sum(axis=1, dtype=np.int64)
    if conventions.never_learned_forgetting is not None:
        events[~ever_correct] = conventions.never_learned_forgetting

    mean, variance = gold_prob_moments(probabilities)
    if conventions.variability == "ci":
        variance += variance * variance / (probabilities.shape[1] - 1)

    if conventions.correctness == "count":
        correct_share = correct.sum(axis=1, dtype=np.int64)
    else:
        correct_share = correct.mean(axis=1).astype(np.float32)

    columns = {
        "confidence": mean.astype(np.float32),
        "variability": np.sqrt(variance).astype(np.float32),
        "correctness": correct_share,
        "forgetting_events": events,
        "never_learned": ~ever_correct,
        "first_learned_epoch": pd.arrays.IntegerArray(
            correct.argmax(axis=1).astype(np.int64) + 1, ~ever_correct
        ),
        "correct_last": correct[:, -1].copy(),
    }
    if conventions.threshold_closeness:
        columns[THRESHOLD_CLOSENESS_COLUMN] = (mean * (1.0 - mean)).astype(np.float32)
    return columns


def _check_conventions(conventions: Conventions) -> None:
    if not isinstance(conventions, Conventions):
        raise TypeError(
            f"conventions must be a soi.metrics.Conventions, got "
            f"{type(conventions).__name__}; use SOI_CONVENTIONS or CARTOGRAPHY_CONVENTIONS"
        )


def compute_metrics(
    gold_prob: np.ndarray,
    correct: np.ndarray,
    example_ids: Sequence | np.ndarray | None = None,
    *,
    conventions: Conventions = SOI_CONVENTIONS,
) -> pd.DataFrame:
    """Compute the cartography and forgetting metrics of every example.

    Parameters
    ----------
    gold_prob : np.ndarray
        Shape (N, E), probability of the gold label for each example and epoch.
        float32 input stays float32; the means and variances accumulate in float64.
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label.
    example_ids : sequence or np.ndarray or None
        One unique id per row, or None to number the rows 0..N-1.
    conventions : Conventions
        ``SOI_CONVENTIONS`` (the default) or ``CARTOGRAPHY_CONVENTIONS``, or any mix;
        see :class:`Conventions`.

    Returns
    -------
    pd.DataFrame
        One row per example, indexed by ``example_id``, with the columns
        ``METRIC_COLUMNS``:

        - ``confidence``, ``variability``: float32;
        - ``correctness``: float32 fraction, or int64 count with
          ``conventions.correctness == "count"``;
        - ``forgetting_events``: int64, 0 for an example never learned unless
          ``conventions.never_learned_forgetting`` sets another value;
        - ``never_learned``: bool, True when the example is wrong at every epoch;
        - ``first_learned_epoch``: nullable Int64, 1-based, ``<NA>`` when never
          learned;
        - ``correct_last``: bool, correct at the last epoch used;

        and ``threshold_closeness`` (float32) when ``conventions.threshold_closeness``
        is True. With a burn-out of k, every column reads only the first k epochs.

    Raises
    ------
    ValueError
        If the matrices differ in shape, have fewer than ``MIN_EPOCHS`` epochs,
        contain missing cells, have fewer epochs than the burn-out, or
        ``example_ids`` does not match the rows.

    Examples
    --------
    >>> gold_prob = np.array([[0.2, 0.6, 1.0], [0.9, 0.1, 0.8]])
    >>> correct = np.array([[False, True, True], [True, False, True]])
    >>> table = compute_metrics(gold_prob, correct, example_ids=["a", "b"])
    >>> columns = ["confidence", "forgetting_events", "first_learned_epoch"]
    >>> table[columns]  # doctest: +NORMALIZE_WHITESPACE
                confidence  forgetting_events  first_learned_epoch
    example_id
    a                  0.6                  0                    2
    b                  0.6                  1                    1
    >>> theirs = compute_metrics(gold_prob, correct, conventions=CARTOGRAPHY_CONVENTIONS)
    >>> theirs["correctness"].tolist()
    [2, 2]
    >>> theirs["threshold_closeness"].astype(float).round(2).tolist()
    [0.24, 0.24]
    """
    _check_conventions(conventions)
    probabilities, correct_matrix = _checked_pair(gold_prob, correct, conventions.burn_out)
    index = example_index(example_ids, probabilities.shape[0])
    return pd.DataFrame(_metric_columns(probabilities, correct_matrix, conventions), index=index)


def check_complete(dynamics: Dynamics) -> None:
    """Raise ValueError if any (example, epoch) cell of ``dynamics`` has no record.

    NOTE: missing cells are not supported by the metrics and subsets yet.
    """
    num_missing = int((~dynamics.recorded).sum())
    if num_missing:
        raise ValueError(
            f"dynamics has {num_missing} missing (example, epoch) cells out of "
            f"{dynamics.recorded.size}; missing cells are not supported yet, so select "
            f"the examples and epochs that have a record"
        )


def metrics_from_dynamics(
    dynamics: Dynamics, *, conventions: Conventions = SOI_CONVENTIONS
) -> pd.DataFrame:
    """Compute ``compute_metrics`` for the examples of a recorded run.

    Parameters
    ----------
    dynamics : Dynamics
        Training dynamics with no missing cells.
    conventions : Conventions
        ``SOI_CONVENTIONS`` (the default) or ``CARTOGRAPHY_CONVENTIONS``; see
        :class:`Conventions`.

    Returns
    -------
    pd.DataFrame
        As ``compute_metrics``, indexed by ``dynamics.example_ids``.

    Examples
    --------
    >>> dyn = Dynamics(
    ...     example_ids=["a", "b"],
    ...     epochs=[1, 2],
    ...     gold=[0, 1],
    ...     gold_prob=[[0.3, 0.7], [0.6, 0.2]],
    ...     predicted=[[1, 0], [1, 0]],
    ... )
    >>> metrics_from_dynamics(dyn)["forgetting_events"].tolist()
    [0, 1]
    """
    _check_conventions(conventions)
    check_complete(dynamics)
    probabilities, correct_matrix = _checked_pair(
        dynamics.gold_prob, dynamics.correct, conventions.burn_out
    )
    # Dynamics checks on construction that its ids are unique.
    index = example_index(dynamics.example_ids, dynamics.num_examples, check_unique=False)
    return pd.DataFrame(_metric_columns(probabilities, correct_matrix, conventions), index=index)
