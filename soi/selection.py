"""Select training examples for a second training stage, and matched random controls.

:func:`select_examples` picks examples by category, by a metric ranking, or both, with
a size that the caller gives as a count or a fraction. :func:`matched_control` draws a
random control of the same size with the same label distribution (and the same mix of
tags such as task, source or language). Both return a :class:`Selection`: the example
ids and a JSON-serialisable record of how they were chosen.

Results do not depend on the row order of the inputs: ties in a ranking are broken by
example id, and random draws visit the examples in the order of their ids.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FRACTION_BASES", "RANK_ORDERS", "Selection", "matched_control", "select_examples"]

#: Values of ``select_examples(order=...)``: "descending" takes the largest values
#: first (the most variable examples for ``variability``), "ascending" the smallest.
RANK_ORDERS = ("descending", "ascending")

#: Values of ``select_examples(fraction_of=...)``: a fractional size counts either all
#: examples of the table ("all", as dataset cartography's selection does) or only the
#: examples in the chosen categories ("candidates").
FRACTION_BASES = ("all", "candidates")

#: Maximum number of example ids or values shown in an error message.
MAX_SHOWN = 5


@dataclass(frozen=True)
class Selection:
    """Example ids chosen for training and the record of how they were chosen.

    Attributes
    ----------
    example_ids : pd.Index
        The chosen ids: in rank order for a ranking, otherwise in id order.
    record : dict
        JSON-serialisable description: the method, its parameters, the requested and
        the resolved size, the pool sizes and the seed where one was used. A matched
        control also records its examples per stratum and the record it matches.
    """

    example_ids: pd.Index
    record: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.example_ids)


def _id_order(index: pd.Index) -> np.ndarray:
    """Return the rank of each id in sorted order, so results ignore the row order."""
    try:
        order = np.argsort(index.to_numpy(), kind="stable")
    except TypeError as err:
        raise TypeError(
            "example ids must be sortable to make the selection independent of the row "
            f"order, but they mix types such as {index[:MAX_SHOWN].tolist()}; convert them "
            "with index.astype(str)"
        ) from err
    ranks = np.empty(len(index), dtype=np.int64)
    ranks[order] = np.arange(len(index))
    return ranks


def _check_unique(index: pd.Index, name: str) -> None:
    if index.has_duplicates:
        duplicated = index[index.duplicated()].unique()[:MAX_SHOWN].tolist()
        raise ValueError(
            f"{name} repeats example ids such as {duplicated}; give one row per example"
        )


def _resolve_size(size: int | float, base: int) -> int:
    """Turn a count or a fraction of ``base`` into a count."""
    if isinstance(size, bool) or not isinstance(size, numbers.Real):
        raise TypeError(
            f"size must be a count (int) or a fraction (float in (0, 1]), got {size!r}"
        )
    if isinstance(size, numbers.Integral):
        if size < 1:
            raise ValueError(
                f"size must be at least 1 example, got {size}; pass None to keep every "
                f"example that the categories allow"
            )
        return int(size)
    if not 0 < size <= 1:
        raise ValueError(
            f"a fractional size must lie in (0, 1], got {size}; give a count as an int"
        )
    # Rounded down, as int(fraction * N) in dataset cartography's selection script.
    return math.floor(size * base)


def select_examples(
    metrics: pd.DataFrame,
    size: int | float | None = None,
    *,
    categories: pd.Series | None = None,
    include: Sequence[str] | None = None,
    rank_by: str | None = None,
    order: str = "descending",
    fraction_of: str = "all",
    seed: int = 0,
) -> Selection:
    """Select examples by category, by a metric ranking, or both.

    1. With ``include``, the candidates are the examples whose category in
       ``categories`` is one of ``include``; otherwise every row of ``metrics``.
    2. With ``rank_by``, the candidates are sorted by that column (``order``), ties
       broken by example id, and the first ``size`` are taken.
    3. Without ``rank_by``, ``size`` examples are drawn from the candidates at random
       with ``seed``, or all candidates are taken when ``size`` is None.

    Parameters
    ----------
    metrics : pd.DataFrame
        One row per example of the training set, indexed by unique example id, for
        example the output of :func:`soi.metrics.compute_metrics`.
    size : int or float or None
        Number of examples (int), or a fraction in (0, 1] of the base chosen by
        ``fraction_of``, rounded down. None takes every candidate and is only allowed
        without ``rank_by``.
    categories : pd.Series or None
        Category of each example, indexed by example id; needed with ``include``.
    include : sequence of str or None
        Categories to select from.
    rank_by : str or None
        Column of ``metrics`` to rank by, such as ``"variability"`` for the most
        ambiguous examples or ``"confidence"`` with ``order="ascending"`` for the
        hardest.
    order : {"descending", "ascending"}
        Ranking direction; "descending" takes the largest values first.
    fraction_of : {"all", "candidates"}
        What a fractional ``size`` is a fraction of: every row of ``metrics``, or the
        examples in the ``include`` categories.
    seed : int
        Seed of the random draw of step 3; unused with ``rank_by``.

    Returns
    -------
    Selection
        The chosen ids and a record with ``method``, ``include``, ``rank_by``,
        ``order``, ``size`` (as requested), ``count`` (as resolved),
        ``fraction_of``, ``pool_size``, ``candidates``, ``seed`` (random draws only)
        and ``cutoff`` (the metric value of the last example taken by a ranking).

    Raises
    ------
    ValueError
        If an option is invalid, a category in ``include`` is unknown, the ranking
        column is missing or has NaN, ids repeat or lack a category, or ``size``
        exceeds the candidates.
    TypeError
        If ``size`` is neither an int nor a float, or the ids cannot be sorted.

    Examples
    --------
    >>> table = pd.DataFrame(
    ...     {"variability": [0.30, 0.05, 0.25, 0.40], "confidence": [0.5, 0.9, 0.6, 0.4]},
    ...     index=pd.Index(["a", "b", "c", "d"], name="example_id"),
    ... )
    >>> subsets = pd.Series(["forgettable", "always_correct", "forgettable", "unlearned"],
    ...                     index=table.index)
    >>> select_examples(table, 2, rank_by="variability").example_ids.tolist()
    ['d', 'a']
    >>> chosen = select_examples(table, 0.5, categories=subsets, include=["forgettable"],
    ...                          rank_by="variability", fraction_of="candidates")
    >>> chosen.example_ids.tolist(), chosen.record["count"], chosen.record["cutoff"]
    (['a'], 1, 0.3)
    """
    if not isinstance(metrics, pd.DataFrame):
        raise TypeError(
            f"metrics must be a DataFrame indexed by example id, got {type(metrics).__name__}"
        )
    if order not in RANK_ORDERS:
        raise ValueError(f"order {order!r} is not one of {list(RANK_ORDERS)}")
    if fraction_of not in FRACTION_BASES:
        raise ValueError(f"fraction_of {fraction_of!r} is not one of {list(FRACTION_BASES)}")
    _check_unique(metrics.index, "metrics")

    candidates = np.ones(len(metrics), dtype=bool)
    if include is not None:
        candidates = _in_categories(metrics.index, categories, include)
    elif categories is not None:
        raise ValueError("categories is given without include; name the categories to select")
    num_candidates = int(candidates.sum())

    if size is None:
        if rank_by is not None:
            raise ValueError(f"ranking by {rank_by!r} needs a size: a count or a fraction")
        count = num_candidates
    else:
        base = num_candidates if fraction_of == "candidates" else len(metrics)
        count = _resolve_size(size, base)
    if count > num_candidates:
        raise ValueError(
            f"size {size!r} asks for {count} examples, but only {num_candidates} of "
            f"{len(metrics)} are candidates; lower the size or include more categories"
        )

    positions = np.flatnonzero(candidates)
    id_ranks = _id_order(metrics.index)
    record: dict[str, Any] = {
        "include": None if include is None else [str(name) for name in include],
        "rank_by": rank_by,
        "order": order if rank_by is not None else None,
        "size": _json_number(size),
        "count": count,
        "fraction_of": fraction_of,
        "pool_size": len(metrics),
        "candidates": num_candidates,
    }
    if rank_by is not None:
        values = _ranking_values(metrics, rank_by)[positions]
        keys = -values if order == "descending" else values
        ranked = positions[np.lexsort((id_ranks[positions], keys))]
        chosen = ranked[:count]
        record["method"] = "categories+ranking" if include is not None else "ranking"
        record["cutoff"] = float(metrics[rank_by].iloc[chosen[-1]]) if count else None
    elif size is None or count == num_candidates:
        chosen = positions[np.argsort(id_ranks[positions], kind="stable")]
        record["method"] = "categories"
    else:
        in_id_order = positions[np.argsort(id_ranks[positions], kind="stable")]
        rng = np.random.default_rng(seed)
        chosen = rng.choice(in_id_order, size=count, replace=False)
        chosen = chosen[np.argsort(id_ranks[chosen], kind="stable")]
        record["method"] = "categories+random" if include is not None else "random"
        record["seed"] = int(seed)
    return Selection(example_ids=metrics.index[chosen], record=record)


def _json_number(value: int | float | None) -> int | float | None:
    """Convert a NumPy scalar to the Python number that ``json.dumps`` accepts."""
    if value is None:
        return None
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _in_categories(
    index: pd.Index, categories: pd.Series | None, include: Sequence[str]
) -> np.ndarray:
    """Flag the rows of ``index`` whose category is in ``include``."""
    if categories is None:
        raise ValueError("include needs categories: pass the category of every example")
    if isinstance(include, str):
        raise TypeError(f"include must be a list of category names, got the string {include!r}")
    _check_unique(categories.index, "categories")
    aligned = categories if categories.index.equals(index) else categories.reindex(index)
    if aligned.isna().any():
        missing = index[aligned.isna().to_numpy()][:MAX_SHOWN].tolist()
        raise ValueError(
            f"{int(aligned.isna().sum())} examples have no category, such as {missing}; "
            "pass a category for every row of metrics"
        )
    known = (
        list(aligned.cat.categories)
        if isinstance(aligned.dtype, pd.CategoricalDtype)
        else sorted(pd.unique(aligned.to_numpy(dtype=object)).tolist(), key=str)
    )
    unknown = [name for name in include if name not in known]
    if unknown:
        raise ValueError(f"include names unknown categories {unknown}; the categories are {known}")
    return aligned.isin(list(include)).to_numpy()


def _ranking_values(metrics: pd.DataFrame, rank_by: str) -> np.ndarray:
    if rank_by not in metrics.columns:
        raise ValueError(
            f"rank_by {rank_by!r} is not a column of metrics; choose one of "
            f"{metrics.columns.tolist()}"
        )
    values = metrics[rank_by].to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(values).any():
        missing = metrics.index[np.isnan(values)][:MAX_SHOWN].tolist()
        raise ValueError(
            f"column {rank_by!r} has {int(np.isnan(values).sum())} missing values, such as "
            f"for {missing}; a ranking needs a value for every example"
        )
    return values


def _strata_table(labels: pd.Series, strata: pd.DataFrame | pd.Series | None) -> pd.DataFrame:
    """Build one row per pool example with the label and the tags to match on."""
    if not isinstance(labels, pd.Series):
        raise TypeError(
            f"labels must be a Series indexed by example id, got {type(labels).__name__}"
        )
    _check_unique(labels.index, "labels")
    table = pd.DataFrame({"label": labels})
    if strata is None:
        return table
    if isinstance(strata, pd.Series):
        strata = strata.to_frame()
    _check_unique(strata.index, "strata")
    if "label" in strata.columns:
        raise ValueError(
            "strata has a column named 'label', which would clash with the labels; rename it"
        )
    aligned = strata if strata.index.equals(labels.index) else strata.reindex(labels.index)
    missing = aligned.isna().any(axis=1).to_numpy()
    if missing.any():
        ids = labels.index[missing][:MAX_SHOWN].tolist()
        raise ValueError(
            f"{int(missing.sum())} examples of labels have no value in strata, such as {ids}; "
            "give every example of the pool its tags"
        )
    return table.join(aligned)


def matched_control(
    selection: Selection | Sequence | pd.Index,
    labels: pd.Series,
    *,
    strata: pd.DataFrame | pd.Series | None = None,
    seed: int = 0,
    exclude_selected: bool = False,
) -> Selection:
    """Draw a random control with the size and label distribution of a selection.

    For each label (and each combination of label and tag values when ``strata`` is
    given), the control draws as many examples of the pool as the selection has,
    uniformly without replacement.

    Parameters
    ----------
    selection : Selection or sequence of ids
        The selection to match; its ids must all be in ``labels``.
    labels : pd.Series
        Gold label of every example of the pool (the training set), indexed by id.
    strata : pd.DataFrame or pd.Series or None
        Tags to match as well, such as task, source or language, indexed by id; for
        example ``dynamics.tags`` with ``dynamics.example_ids`` as index.
    seed : int
        Seed of the draw.
    exclude_selected : bool
        If True, draw only from examples outside the selection.

    Returns
    -------
    Selection
        The control's ids in id order, and a record with ``method``
        ("matched_random_control"), ``matched_on``, ``seed``, ``exclude_selected``,
        ``count``, ``strata_counts`` and the selection's own record under ``matches``.

    Raises
    ------
    ValueError
        If a selected id is not in ``labels``, tags are missing, or a stratum of the
        pool has fewer examples than the selection needs from it.

    Examples
    --------
    >>> labels = pd.Series([0, 0, 0, 1, 1, 1], index=list("abcdef"))
    >>> control = matched_control(["a", "d"], labels, seed=0, exclude_selected=True)
    >>> len(control), sorted(labels[control.example_ids].tolist())
    (2, [0, 1])
    >>> control.record["strata_counts"]
    {'0': 1, '1': 1}
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if isinstance(selection, Selection):
        chosen, matches = selection.example_ids, selection.record
    else:
        chosen, matches = pd.Index(list(selection)), None
    _check_unique(chosen, "selection")

    pool = _strata_table(labels, strata)
    positions = pool.index.get_indexer(chosen)
    if (positions < 0).any():
        absent = chosen[positions < 0][:MAX_SHOWN].tolist()
        raise ValueError(
            f"{int((positions < 0).sum())} selected ids are not in labels, such as {absent}; "
            "labels must cover the whole pool the selection came from"
        )

    keys = list(pool.columns)
    stratum_codes, uniques = pd.MultiIndex.from_frame(pool[keys]).factorize()
    needed = np.bincount(stratum_codes[positions], minlength=len(uniques))
    available = np.ones(len(pool), dtype=bool)
    if exclude_selected:
        available[positions] = False

    id_ranks = _id_order(pool.index)
    rng = np.random.default_rng(seed)
    drawn = []
    strata_counts = {}
    # Strata in the order of their values, so that the draw ignores the row order.
    for code in sorted(np.flatnonzero(needed), key=lambda code: tuple(map(str, uniques[code]))):
        members = np.flatnonzero((stratum_codes == code) & available)
        members = members[np.argsort(id_ranks[members], kind="stable")]
        name = _stratum_name(uniques[code])
        if len(members) < needed[code]:
            raise ValueError(
                f"stratum {name} has {len(members)} examples available, but the selection "
                f"has {int(needed[code])}; match on fewer tags, or allow selected examples "
                "with exclude_selected=False"
            )
        drawn.append(rng.choice(members, size=int(needed[code]), replace=False))
        strata_counts[name] = int(needed[code])

    rows = np.concatenate(drawn) if drawn else np.array([], dtype=np.int64)
    rows = rows[np.argsort(id_ranks[rows], kind="stable")]
    record = {
        "method": "matched_random_control",
        "matched_on": keys,
        "seed": int(seed),
        "exclude_selected": bool(exclude_selected),
        "count": int(len(rows)),
        "strata_counts": strata_counts,
        "matches": matches,
    }
    return Selection(example_ids=pool.index[rows], record=record)


def _stratum_name(values: tuple) -> str:
    """Name a stratum by its values, such as ``'1'`` or ``'1/imdb'``."""
    return "/".join(str(value) for value in values)
