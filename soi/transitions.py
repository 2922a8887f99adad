"""Category transitions of the same examples between two runs.

The usual comparison is a single-setting run (rows) against a multi-setting run
(columns): the cell (i, j) counts the examples that are in category i in the first run
and in category j in the second.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    if isinstance(series.dtype, pd.CategoricalDtype):
        # Map the few categories instead of the many values.
        category_positions = order.get_indexer(series.cat.categories)
        codes = series.cat.codes.to_numpy()
        mapped = category_positions[codes]
        unknown = mapped < 0
        if unknown.any():
            unknown_values = pd.unique(series.cat.categories[codes[unknown]])
            raise ValueError(
                f"{role} has {int(unknown.sum())} examples in categories "
                f"{unknown_values[:MAX_IDS_SHOWN].tolist()} that are not in {order.tolist()}; "
                f"pass categories that include every value"
            )
        return mapped.astype(np.int64)

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


def _lookup(ids: pd.Index, reference: pd.Index) -> np.ndarray | None:
    """Return the first row of ``reference`` with each id of ``ids``, -1 where absent.

    Returns None when ``reference`` repeats ids and the lookup cannot tell rows apart.
    """
    arrow_strings = [
        isinstance(index.dtype, pd.StringDtype) and index.dtype.storage == "pyarrow"
        for index in (ids, reference)
    ]
    if all(arrow_strings):
        # Arrow looks up the strings it already stores; pandas first converts them to
        # Python objects. For a million ids Arrow took under half the time (pandas 3.1,
        # pyarrow 26, 2-core AMD EPYC).
        found = pc.index_in(pa.array(ids.array), value_set=pa.array(reference.array))
        return pc.fill_null(found, -1).to_numpy().astype(np.int64)
    if not reference.is_unique:
        return None
    return reference.get_indexer(ids)


def _target_positions(source: pd.Series, target: pd.Series) -> np.ndarray | None:
    """Find the row of ``target`` for each example of ``source``, checking the ids.

    Returns None when both have the same ids in the same order. Hashing millions of
    string ids dominates the time, so the common cases hash each index once and the
    detailed checks run only to explain an error.
    """
    if source.index.equals(target.index):
        _check_unique_ids(source, "source")
        return None

    if len(source) == len(target):
        positions = _lookup(source.index, target.index)
        # The lookup returns each id's first row of target, or -1. Both indexes are
        # free of repeats and contain the same ids exactly when the positions are a
        # permutation of the target rows.
        if positions is not None and positions.min(initial=0) >= 0 and (
            len(positions) == 0 or np.bincount(positions).max() <= 1
        ):
            return positions

    _check_unique_ids(source, "source")
    _check_unique_ids(target, "target")
    _check_same_ids(source, target)
    # Not reached: one of the checks above raises when the positions are not a permutation.
    return target.index.get_indexer(source.index)


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
    positions = _target_positions(source, target)
    _check_no_missing(source, "source")
    _check_no_missing(target, "target")

    row_order = _category_order(source, categories)
    column_order = _category_order(target, categories)
    row_codes = _category_codes(source, row_order, "source")
    column_codes = _category_codes(target, column_order, "target")
    if positions is not None:
        column_codes = column_codes[positions]

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
