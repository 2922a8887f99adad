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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from soi.dynamics import Dynamics

__all__ = [
    "MIN_EPOCHS",
    "METRIC_COLUMNS",
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
    "metrics_from_dynamics",
    "never_learned",
    "variability",
]

#: Minimum number of recorded epochs. A forgetting event compares two consecutive
#: epochs, and the spread of the gold probability is always 0 for a single epoch.
MIN_EPOCHS = 2

#: Delta degrees of freedom of ``variability``: 0 gives the population standard
#: deviation over the E epochs, which is what ``np.std`` computes in the dataset
#: cartography reference code (allenai/cartography, train_dy_filtering.py).
VARIABILITY_DDOF = 0

#: Columns of ``compute_metrics``, in order.
METRIC_COLUMNS = (
    "confidence",
    "variability",
    "correctness",
    "forgetting_events",
    "never_learned",
    "first_learned_epoch",
    "correct_last",
)

#: Name of the index of every per-example table.
EXAMPLE_INDEX_NAME = "example_id"


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


def check_gold_prob(gold_prob: np.ndarray) -> np.ndarray:
    """Validate a gold-probability matrix and return it as a float64 array.

    Parameters
    ----------
    gold_prob : np.ndarray
        Shape (N, E), probability of the gold label for each example and epoch.

    Returns
    -------
    np.ndarray
        The same values as a float64 array.

    Raises
    ------
    ValueError
        If the array is not 2-D, has fewer than ``MIN_EPOCHS`` columns, contains NaN
        (missing cells) or values outside [0, 1].

    Examples
    --------
    >>> check_gold_prob([[0.2, 0.9]]).dtype
    dtype('float64')
    """
    array = np.asarray(gold_prob, dtype=np.float64)
    _check_matrix_shape(array, "gold_prob")

    # NOTE: missing cells are not supported yet, so any NaN rejects the whole matrix.
    num_missing = int(np.isnan(array).sum())
    if num_missing:
        raise ValueError(
            f"gold_prob has {num_missing} missing (NaN) cells out of {array.size}; "
            f"missing cells are not supported yet, so drop the examples or epochs "
            f"that lack a record"
        )

    outside = (array < 0.0) | (array > 1.0)
    if outside.any():
        first = array[outside][0]
        raise ValueError(
            f"gold_prob has {int(outside.sum())} values outside [0, 1], such as {first}; "
            f"pass softmax probabilities, not logits"
        )
    return array


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


def example_index(example_ids: Sequence | np.ndarray | None, num_examples: int) -> pd.Index:
    """Build the ``example_id`` index of a per-example table.

    Parameters
    ----------
    example_ids : sequence or np.ndarray or None
        One unique id per example, or None for the positions 0..N-1.
    num_examples : int
        Number of rows N of the matrices.

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
    if index.has_duplicates:
        duplicated = index[index.duplicated()].unique()[:5].tolist()
        raise ValueError(
            f"example_ids must be unique, found {int(index.duplicated().sum())} duplicates "
            f"such as {duplicated}; give every example its own id"
        )
    return index


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
    return check_gold_prob(gold_prob).mean(axis=1)


def variability(gold_prob: np.ndarray) -> np.ndarray:
    """Compute the population standard deviation of each example's gold probability.

    Parameters
    ----------
    gold_prob : np.ndarray
        Shape (N, E), probability of the gold label for each example and epoch.

    Returns
    -------
    np.ndarray
        Shape (N,), float64, computed with ``ddof=VARIABILITY_DDOF`` (0).

    Examples
    --------
    >>> variability(np.array([[0.2, 0.6, 1.0], [0.5, 0.5, 0.5]])).round(4)
    array([0.3266, 0.    ])
    """
    return check_gold_prob(gold_prob).std(axis=1, ddof=VARIABILITY_DDOF)


def correctness(correct: np.ndarray) -> np.ndarray:
    """Compute the fraction of epochs at which each example is predicted correctly.

    Parameters
    ----------
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label. A gold
        probability above 0.5 is not the same thing when there are three or more labels.

    Returns
    -------
    np.ndarray
        Shape (N,), float64 in [0, 1].

    Examples
    --------
    >>> correctness(np.array([[True, False, True, True]]))
    array([0.75])
    """
    return check_correct(correct).mean(axis=1)


def forgetting_events(correct: np.ndarray) -> np.ndarray:
    """Count the forgetting events of each example.

    A forgetting event is an epoch t that is correct followed by epoch t+1 that is
    wrong (Toneva et al., 2019). An example that is never correct has 0 events, so
    the ``never_learned`` flag distinguishes it from an example learned once and kept.

    Parameters
    ----------
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label.

    Returns
    -------
    np.ndarray
        Shape (N,), int64.

    Examples
    --------
    >>> forgetting_events(np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 1, 1]]))
    array([2, 0, 0])
    """
    array = check_correct(correct)
    forgotten = array[:, :-1] & ~array[:, 1:]
    return forgotten.sum(axis=1).astype(np.int64)


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
    first = pd.array(array.argmax(axis=1) + 1, dtype="Int64")
    first[~array.any(axis=1)] = pd.NA
    return first


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


def compute_metrics(
    gold_prob: np.ndarray,
    correct: np.ndarray,
    example_ids: Sequence | np.ndarray | None = None,
) -> pd.DataFrame:
    """Compute the cartography and forgetting metrics of every example.

    Parameters
    ----------
    gold_prob : np.ndarray
        Shape (N, E), probability of the gold label for each example and epoch.
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label.
    example_ids : sequence or np.ndarray or None
        One unique id per row, or None to number the rows 0..N-1.

    Returns
    -------
    pd.DataFrame
        One row per example, indexed by ``example_id``, with the columns
        ``METRIC_COLUMNS``:

        - ``confidence``, ``variability``, ``correctness``: float32;
        - ``forgetting_events``: int64, 0 for an example never learned;
        - ``never_learned``: bool, True when the example is wrong at every epoch;
        - ``first_learned_epoch``: nullable Int64, 1-based, ``<NA>`` when never
          learned;
        - ``correct_last``: bool.

    Raises
    ------
    ValueError
        If the matrices differ in shape, have fewer than ``MIN_EPOCHS`` epochs,
        contain missing cells, or ``example_ids`` does not match the rows.

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
    """
    probabilities = check_gold_prob(gold_prob)
    correct_matrix = check_correct(correct)
    if probabilities.shape != correct_matrix.shape:
        raise ValueError(
            f"gold_prob has shape {probabilities.shape} but correct has shape "
            f"{correct_matrix.shape}; both must be (examples, epochs) of the same run"
        )
    index = example_index(example_ids, probabilities.shape[0])

    columns = {
        "confidence": confidence(probabilities).astype(np.float32),
        "variability": variability(probabilities).astype(np.float32),
        "correctness": correctness(correct_matrix).astype(np.float32),
        "forgetting_events": forgetting_events(correct_matrix),
        "never_learned": never_learned(correct_matrix),
        "first_learned_epoch": first_learned_epoch(correct_matrix),
        "correct_last": correct_last(correct_matrix),
    }
    return pd.DataFrame(columns, index=index)


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


def metrics_from_dynamics(dynamics: Dynamics) -> pd.DataFrame:
    """Compute ``compute_metrics`` for the examples of a recorded run.

    Parameters
    ----------
    dynamics : Dynamics
        Training dynamics with no missing cells.

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
    check_complete(dynamics)
    return compute_metrics(dynamics.gold_prob, dynamics.correct, dynamics.example_ids)
