"""Category transitions of the same examples between two runs.

The usual comparison is a single-setting run (rows) against a multi-setting run
(columns): the cell (i, j) counts the examples that are in category i in the first run
and in category j in the second.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["transition_matrix"]

#: Maximum number of example ids shown in an error message.
MAX_IDS_SHOWN = 5


def _check_unique_ids(series: pd.Series, role: str) -> None:
    if series.index.has_duplicates:
        duplicated = series.index[series.index.duplicated()].unique()[:MAX_IDS_SHOWN].tolist()
        raise ValueError(
            f"{role} has {int(series.index.duplicated().sum())} repeated example ids such "
            f"as {duplicated}; each example must appear once per run"
        )


def _check_same_ids(source: pd.Series, target: pd.Series) -> None:
    only_source = source.index.difference(target.index)
    only_target = target.index.difference(source.index)
    if len(only_source) == 0 and len(only_target) == 0:
        return

    raise ValueError(
        f"source and target must contain the same example ids, but {len(only_source)} "
        f"are only in source {only_source[:MAX_IDS_SHOWN].tolist()} and "
        f"{len(only_target)} only in target {only_target[:MAX_IDS_SHOWN].tolist()}; "
        f"select the shared ids first, for example "
        f"source.loc[source.index.intersection(target.index)]"
    )


def _check_no_missing(series: pd.Series, role: str) -> None:
    if series.isna().any():
        missing = series.index[series.isna().to_numpy()][:MAX_IDS_SHOWN].tolist()
        raise ValueError(
            f"{role} has {int(series.isna().sum())} examples with no category, such as "
            f"{missing}; assign every example a category or drop it from both runs"
        )


def _category_order(series: pd.Series, categories: Sequence[str] | None) -> pd.Index:
    """Return the categories of one axis: given, from the Categorical, or sorted values."""
    if categories is not None:
        order = pd.Index(list(categories))
    elif isinstance(series.dtype, pd.CategoricalDtype):
        order = pd.Index(series.cat.categories)
    else:
        order = pd.Index(sorted(series.unique().tolist()))

    if order.has_duplicates:
        raise ValueError(
            f"categories repeat {order[order.duplicated()].unique().tolist()}; "
            f"list each category once"
        )
    return order


def _category_codes(series: pd.Series, order: pd.Index, role: str) -> np.ndarray:
    """Map each value to its position in ``order`` and reject values not in it."""
    values = series.to_numpy(dtype=object)
    codes = order.get_indexer(values)
    unknown = codes < 0
    if unknown.any():
        unknown_values = pd.unique(values[unknown])[:MAX_IDS_SHOWN].tolist()
        raise ValueError(
            f"{role} has {int(unknown.sum())} examples in categories {unknown_values} that are not "
            f"in {order.tolist()}; pass categories that include every value"
        )
    return codes.astype(np.int64)


def transition_matrix(
    source: pd.Series,
    target: pd.Series,
    normalize: bool = False,
    categories: Sequence[str] | None = None,
    *,
    source_name: str = "source",
    target_name: str = "target",
) -> pd.DataFrame:
    """Count how the examples move between the categories of two runs.

    Parameters
    ----------
    source : pd.Series
        Category of each example in the first run (rows), indexed by example id,
        for example the single-setting run.
    target : pd.Series
        Category of each example in the second run (columns), indexed by the same
        example ids in any order, for example the multi-setting run.
    normalize : bool
        If False, return counts. If True, divide each row by its total so that it sums
        to 1. A row with no examples is all NaN, because its fractions are undefined.
    categories : sequence of str or None
        Categories of both axes, in display order. None takes each axis from its
        Series: the Categorical's categories, or else the sorted distinct values.
    source_name, target_name : str
        Names of the index (rows) and columns (the Series names are not used).

    Returns
    -------
    pd.DataFrame
        Every category on both axes in fixed order, zeros kept: int64 counts, or
        float64 row fractions when ``normalize`` is True.

    Raises
    ------
    ValueError
        If an example id repeats within a run, ids are only in one run (the message
        gives how many in each and up to ``MAX_IDS_SHOWN`` of them), or a category is
        missing or not in ``categories``.

    Examples
    --------
    >>> single = pd.Series(["easy", "hard", "hard"], index=["a", "b", "c"])
    >>> multi = pd.Series(["easy", "easy", "hard"], index=["c", "b", "a"])
    >>> counts = transition_matrix(single, multi, source_name="single", target_name="multi")
    >>> counts  # doctest: +NORMALIZE_WHITESPACE
    multi   easy  hard
    single
    easy       0     1
    hard       2     0
    >>> transition_matrix(single, multi, normalize=True).loc["hard"].tolist()
    [1.0, 0.0]
    """
    _check_unique_ids(source, "source")
    _check_unique_ids(target, "target")
    _check_same_ids(source, target)
    _check_no_missing(source, "source")
    _check_no_missing(target, "target")
    aligned_target = target.reindex(source.index)

    row_order = _category_order(source, categories)
    column_order = _category_order(target, categories)
    row_codes = _category_codes(source, row_order, "source")
    column_codes = _category_codes(aligned_target, column_order, "target")

    # Each (row, column) pair becomes one flat cell number, so one bincount counts all.
    cells = row_codes * len(column_order) + column_codes
    counts = np.bincount(cells, minlength=len(row_order) * len(column_order))
    counts = counts.reshape(len(row_order), len(column_order)).astype(np.int64)

    matrix = pd.DataFrame(
        counts,
        index=row_order.rename(source_name),
        columns=column_order.rename(target_name),
    )
    if not normalize:
        return matrix

    row_totals = matrix.sum(axis=1)
    return matrix.div(row_totals.where(row_totals > 0), axis=0)
