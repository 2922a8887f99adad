"""Categories and transitions of one setting trained with several seeds.

A category read from one run mixes what the data does with what the seed does. These
functions take the runs of one setting that differ only in their seed and measure how
far the seeds agree:

- :func:`categories_by_seed`: the category of every example in every seed, one column
  per seed;
- :func:`modal_categories`: each example's most frequent category and the fraction of
  seeds that agree with it;
- :func:`fleiss_kappa`: Fleiss' kappa, the agreement of the seeds beyond chance;
- :func:`distribution_over_seeds`: the category distribution as mean and standard
  deviation over seeds;
- :func:`transitions_over_seeds`: the transition matrix between two settings, pooled
  over seeds, with bootstrap confidence intervals that resample examples.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from soi.dynamics import Dynamics
from soi.subsets import SOI, Taxonomy, categories_from_dynamics

__all__ = [
    "DEFAULT_CONFIDENCE_LEVEL",
    "DEFAULT_RESAMPLES",
    "SeedTransitions",
    "categories_by_seed",
    "category_shares_by_seed",
    "distribution_over_seeds",
    "fleiss_kappa",
    "modal_categories",
    "transitions_over_seeds",
]

#: Default number of bootstrap resamples. Efron and Tibshirani (1993, "An Introduction
#: to the Bootstrap") recommend about 1000 for percentile confidence intervals, which
#: read the tails of the distribution, against 25 to 200 for a standard error.
DEFAULT_RESAMPLES = 1000

#: Default coverage of the bootstrap confidence intervals.
DEFAULT_CONFIDENCE_LEVEL = 0.95

#: Delta degrees of freedom of the standard deviation over seeds: 1, the sample
#: standard deviation, because the seeds are a sample of all possible seeds.
SEED_SD_DDOF = 1

#: Maximum number of example ids shown in an error message.
MAX_IDS_SHOWN = 5

# Upper bound on the entries of one block of bootstrap weights (replicates times
# distinct example patterns), so that 1000 replicates never need more than about
# 128 MiB at once.
_BOOTSTRAP_BLOCK_ENTRIES = 2**24


def _check_same_examples(index: pd.Index, other: pd.Index, label: str) -> None:
    only_first = index.difference(other)
    only_other = other.difference(index)
    if len(only_first) or len(only_other):
        raise ValueError(
            f"{label} has {len(only_other)} example ids that the first seed lacks, such as "
            f"{only_other[:MAX_IDS_SHOWN].tolist()}, and lacks {len(only_first)}, such as "
            f"{only_first[:MAX_IDS_SHOWN].tolist()}; train every seed on the same examples"
        )


def categories_by_seed(
    dynamics_by_seed: Mapping[Hashable, Dynamics],
    taxonomy: Taxonomy = SOI,
    split: int | None = None,
) -> pd.DataFrame:
    """Assign the examples of each seed's run to the categories of ``taxonomy``.

    Parameters
    ----------
    dynamics_by_seed : mapping of seed to Dynamics
        The runs of one setting, keyed by their seed (or any run label), all over the
        same examples in any order and without missing cells.
    taxonomy : Taxonomy
        Rules to apply. The default is ``SOI``.
    split : int or None
        Split point between early and late learning, see
        :func:`soi.subsets.assign_categories`.

    Returns
    -------
    pd.DataFrame
        One row per example in the order of the first run, indexed by ``example_id``.
        It has one Categorical column per seed in mapping order, and its columns index
        is named ``seed``.

    Raises
    ------
    ValueError
        If there is no run or the runs differ in their example ids.

    Examples
    --------
    >>> runs = {
    ...     seed: Dynamics(["a", "b"], [1, 2], [0, 1], [[0.6, 0.7], [0.4, p]], [[0, 0], [0, q]])
    ...     for seed, p, q in [(1, 0.6, 1), (2, 0.3, 0)]
    ... }
    >>> categories_by_seed(runs)  # doctest: +NORMALIZE_WHITESPACE
    seed                     1               2
    example_id
    a           always_correct  always_correct
    b             learned_late       unlearned
    """
    if not dynamics_by_seed:
        raise ValueError("dynamics_by_seed is empty; pass one Dynamics per seed")
    columns = {}
    index = None
    for seed, dynamics in dynamics_by_seed.items():
        series = categories_from_dynamics(dynamics, taxonomy=taxonomy, split=split)
        if index is None:
            index = series.index
        elif not series.index.equals(index):
            _check_same_examples(index, series.index, f"seed {seed!r}")
            series = series.reindex(index)
        columns[seed] = series.array
    table = pd.DataFrame(columns, index=index)
    table.columns.name = "seed"
    return table


def _codes_by_seed(
    categories: pd.DataFrame, order: Sequence[str] | None
) -> tuple[np.ndarray, pd.Index]:
    """Return the (N, S) category positions of a seeds table and the category order."""
    if not isinstance(categories, pd.DataFrame) or categories.shape[1] == 0:
        raise ValueError(
            "categories must be a DataFrame with one column per seed, such as the output "
            "of categories_by_seed"
        )
    if order is None:
        first = categories.iloc[:, 0]
        if isinstance(first.dtype, pd.CategoricalDtype):
            order = list(first.cat.categories)
        else:
            values = pd.unique(categories.to_numpy().ravel())
            order = sorted(value for value in values.tolist() if not pd.isna(value))
    order_index = pd.Index(list(order))

    codes = np.empty(categories.shape, dtype=np.int64)
    for position, seed in enumerate(categories.columns):
        column = categories[seed]
        if column.isna().any():
            missing = column.index[column.isna().to_numpy()][:MAX_IDS_SHOWN].tolist()
            raise ValueError(
                f"seed {seed!r} has {int(column.isna().sum())} examples with no category, "
                f"such as {missing}; assign every example a category in every seed"
            )
        if isinstance(column.dtype, pd.CategoricalDtype):
            seed_codes = order_index.get_indexer(column.cat.categories)[column.cat.codes.to_numpy()]
        else:
            seed_codes = order_index.get_indexer(column.to_numpy(dtype=object))
        if (seed_codes < 0).any():
            unknown = pd.unique(column.to_numpy(dtype=object)[seed_codes < 0]).tolist()
            raise ValueError(
                f"seed {seed!r} has categories {unknown[:MAX_IDS_SHOWN]} that are not in "
                f"{order_index.tolist()}; give every seed the same taxonomy"
            )
        codes[:, position] = seed_codes
    return codes, order_index


def _category_counts(codes: np.ndarray, num_categories: int) -> np.ndarray:
    """Count, for each example (row), how many seeds put it in each category."""
    num_examples = codes.shape[0]
    flat = codes + num_categories * np.arange(num_examples)[:, None]
    counts = np.bincount(flat.ravel(), minlength=num_examples * num_categories)
    return counts.reshape(num_examples, num_categories)


def modal_categories(
    categories: pd.DataFrame, order: Sequence[str] | None = None
) -> pd.DataFrame:
    """Find each example's most frequent category over seeds and the seeds' agreement.

    Parameters
    ----------
    categories : pd.DataFrame
        One row per example and one column per seed, such as the output of
        :func:`categories_by_seed`.
    order : sequence of str or None
        Category order. None takes it from the first column's Categorical, or else
        sorts the values. A tie between categories goes to the first in this order.

    Returns
    -------
    pd.DataFrame
        Indexed like ``categories``, with the columns ``category`` (Categorical, the
        modal category) and ``agreement`` (float64, the fraction of seeds that put the
        example in it, between 1/S and 1 for S seeds).

    Raises
    ------
    ValueError
        If ``categories`` has no column, a value is missing, or a value is not in
        ``order``.

    Examples
    --------
    >>> seeds = pd.DataFrame({1: ["easy", "hard"], 2: ["easy", "easy"], 3: ["easy", "hard"]},
    ...                      index=["a", "b"])
    >>> modal_categories(seeds).to_dict("index")  # doctest: +NORMALIZE_WHITESPACE
    {'a': {'category': 'easy', 'agreement': 1.0},
     'b': {'category': 'hard', 'agreement': 0.6666666666666666}}
    """
    codes, order_index = _codes_by_seed(categories, order)
    counts = _category_counts(codes, len(order_index))
    modal = counts.argmax(axis=1)
    agreement = counts[np.arange(len(modal)), modal] / codes.shape[1]
    return pd.DataFrame(
        {
            "category": pd.Categorical.from_codes(modal, categories=order_index),
            "agreement": agreement,
        },
        index=categories.index,
    )


def fleiss_kappa(categories: pd.DataFrame, order: Sequence[str] | None = None) -> float:
    """Compute Fleiss' kappa of the seeds' categories, the agreement beyond chance.

    With N examples, S seeds and n_ij the number of seeds that put example i in
    category j (Fleiss, 1971, "Measuring nominal scale agreement among many raters"):

    - P_i = (sum_j n_ij^2 - S) / (S (S - 1)), the agreement on example i;
    - p_j = sum_i n_ij / (N S), the share of category j;
    - kappa = (mean_i P_i - sum_j p_j^2) / (1 - sum_j p_j^2).

    Parameters
    ----------
    categories : pd.DataFrame
        One row per example and one column per seed, at least two seeds.
    order : sequence of str or None
        Category order, as in :func:`modal_categories`. It does not change the value.

    Returns
    -------
    float
        1 for perfect agreement, 0 for agreement at chance level, negative below it.
        NaN when every seed puts every example in one and the same category, because
        chance agreement is then 1 and kappa is 0 / 0.

    Raises
    ------
    ValueError
        If there are fewer than two seeds or no example, or a value is missing.

    Examples
    --------
    >>> seeds = pd.DataFrame({1: ["x", "y", "x", "y"], 2: ["x", "y", "x", "y"]})
    >>> fleiss_kappa(seeds)
    1.0
    >>> fleiss_kappa(pd.DataFrame({1: ["x", "y"], 2: ["y", "x"]}))
    -1.0
    """
    codes, order_index = _codes_by_seed(categories, order)
    num_examples, num_seeds = codes.shape
    if num_seeds < 2:
        raise ValueError(
            f"Fleiss' kappa needs at least 2 seeds, got {num_seeds}; pass one column per seed"
        )
    if num_examples == 0:
        raise ValueError("categories has no rows; pass at least one example")

    counts = _category_counts(codes, len(order_index)).astype(np.float64)
    per_example = (np.square(counts).sum(axis=1) - num_seeds) / (num_seeds * (num_seeds - 1))
    shares = counts.sum(axis=0) / (num_examples * num_seeds)
    chance = float(np.square(shares).sum())
    if chance == 1.0:
        return float("nan")
    return float((per_example.mean() - chance) / (1.0 - chance))


def category_shares_by_seed(
    categories: pd.DataFrame,
    normalize: bool = True,
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Count the examples of each category in each seed.

    Parameters
    ----------
    categories : pd.DataFrame
        One row per example and one column per seed.
    normalize : bool
        If True, return the fraction of each seed's examples; if False, counts.
    order : sequence of str or None
        Category order, as in :func:`modal_categories`.

    Returns
    -------
    pd.DataFrame
        One row per category in order, zeros kept, and one column per seed.

    Examples
    --------
    >>> seeds = pd.DataFrame({1: ["x", "y", "x", "x"], 2: ["x", "y", "y", "x"]})
    >>> category_shares_by_seed(seeds)  # doctest: +NORMALIZE_WHITESPACE
    seed         1    2
    category
    x         0.75  0.5
    y         0.25  0.5
    """
    codes, order_index = _codes_by_seed(categories, order)
    counts = np.stack(
        [np.bincount(codes[:, j], minlength=len(order_index)) for j in range(codes.shape[1])],
        axis=1,
    )
    values = counts / max(codes.shape[0], 1) if normalize else counts
    return pd.DataFrame(
        values,
        index=order_index.rename("category"),
        columns=pd.Index(categories.columns, name="seed"),
    )


def distribution_over_seeds(
    categories: pd.DataFrame,
    normalize: bool = True,
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Summarise the category distribution as mean and standard deviation over seeds.

    Parameters
    ----------
    categories : pd.DataFrame
        One row per example and one column per seed.
    normalize : bool
        If True, summarise fractions of the examples; if False, counts.
    order : sequence of str or None
        Category order, as in :func:`modal_categories`.

    Returns
    -------
    pd.DataFrame
        One row per category in order, with the columns ``mean`` and ``sd`` (the
        sample standard deviation over seeds, ``ddof=SEED_SD_DDOF``; NaN for one seed)
        and ``n_seeds``.

    Examples
    --------
    >>> seeds = pd.DataFrame({1: ["x", "y", "x", "x"], 2: ["x", "y", "y", "x"]})
    >>> distribution_over_seeds(seeds).round(4)  # doctest: +NORMALIZE_WHITESPACE
                mean      sd  n_seeds
    category
    x          0.625  0.1768        2
    y          0.375  0.1768        2
    """
    shares = category_shares_by_seed(categories, normalize=normalize, order=order)
    num_seeds = shares.shape[1]
    values = shares.to_numpy(dtype=np.float64)
    if num_seeds > SEED_SD_DDOF:
        sd = values.std(axis=1, ddof=SEED_SD_DDOF)
    else:
        sd = np.full(len(values), np.nan)
    return pd.DataFrame(
        {"mean": values.mean(axis=1), "sd": sd, "n_seeds": num_seeds},
        index=shares.index,
    )


@dataclass(frozen=True)
class SeedTransitions:
    """Transition matrix pooled over seeds, with bootstrap confidence intervals.

    Attributes
    ----------
    counts : pd.DataFrame
        Transition counts summed over the seeds (int64); each example counts once per
        seed.
    fractions : pd.DataFrame
        ``counts`` divided by its row totals; a row with no example is NaN.
    lower, upper : pd.DataFrame
        Percentile bootstrap confidence interval of each cell of ``fractions``.
        NaN where the row is empty in the data or in every resample.
    confidence_level : float
        Coverage of the intervals, such as 0.95.
    n_resamples : int
        Number of bootstrap resamples.
    seed : int
        Seed of the resampling.
    seeds : tuple
        The run labels, in the order of the columns of the inputs.
    """

    counts: pd.DataFrame
    fractions: pd.DataFrame
    lower: pd.DataFrame
    upper: pd.DataFrame
    confidence_level: float
    n_resamples: int
    seed: int
    seeds: tuple


def _check_bootstrap_options(n_resamples: int, confidence_level: float, seed: int) -> None:
    is_integer = isinstance(n_resamples, numbers.Integral) and not isinstance(n_resamples, bool)
    if not is_integer or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    is_number = isinstance(confidence_level, numbers.Real) and not isinstance(confidence_level, bool)
    if not is_number or not 0 < confidence_level < 1:
        raise ValueError(
            f"confidence_level must lie strictly between 0 and 1, got {confidence_level!r}; "
            f"use 0.95 for a 95% interval"
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {seed!r}")


def _aligned_codes(
    source: pd.DataFrame, target: pd.DataFrame, categories: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray, pd.Index, pd.Index]:
    """Return the (N, S) category positions of both settings with target rows aligned."""
    if list(source.columns) != list(target.columns):
        raise ValueError(
            f"source has the seeds {list(source.columns)} and target {list(target.columns)}; "
            f"pair the runs by giving both the same seed columns in the same order"
        )
    if not source.index.equals(target.index):
        if source.index.has_duplicates or target.index.has_duplicates:
            raise ValueError("source and target must not repeat example ids")
        _check_same_examples(source.index, target.index, "target")
        target = target.reindex(source.index)
    source_codes, row_order = _codes_by_seed(source, categories)
    target_codes, column_order = _codes_by_seed(target, categories)
    return source_codes, target_codes, row_order, column_order


def _row_fractions(counts: np.ndarray) -> np.ndarray:
    """Divide the last two axes' rows by their totals, NaN for empty rows."""
    totals = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts / np.where(totals > 0, totals, 1), np.nan)


def transitions_over_seeds(
    source: pd.DataFrame,
    target: pd.DataFrame,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence_level: float = DEFAULT_CONFIDENCE_LEVEL,
    seed: int = 0,
    categories: Sequence[str] | None = None,
    source_name: str = "source",
    target_name: str = "target",
) -> SeedTransitions:
    """Pool the transition matrices of several seeds and bootstrap their row fractions.

    Seed column s of ``source`` is paired with seed column s of ``target``, for example
    the single-setting and the multi-setting run trained with the same seed. The
    pooled matrix sums the counts of all pairs. Each bootstrap resample draws N
    examples with replacement, keeps every seed's categories of each drawn example,
    and recomputes the pooled row fractions. The interval is the percentile interval
    of those fractions.

    Examples that have the same categories in every seed of both settings are
    interchangeable here, so the resampling draws how many examples of each such
    pattern to take from a multinomial distribution. This has exactly the
    distribution of drawing examples one by one and needs only one number per
    pattern.

    Parameters
    ----------
    source, target : pd.DataFrame
        One row per example (the same ids, in any order) and one column per seed (the
        same labels, in the same order), such as the output of
        :func:`categories_by_seed` for two settings.
    n_resamples : int
        Number of bootstrap resamples, ``DEFAULT_RESAMPLES`` (1000) by default.
    confidence_level : float
        Coverage of the intervals, between 0 and 1.
    seed : int
        Seed of the resampling, so that the same call gives the same intervals.
    categories : sequence of str or None
        Categories of both axes in order. None takes each axis from its first column's
        Categorical, or else the sorted values.
    source_name, target_name : str
        Names of the rows and columns axes.

    Returns
    -------
    SeedTransitions
        Pooled counts, row fractions and their confidence intervals.

    Raises
    ------
    ValueError
        If the seed columns or example ids differ, there is no example, a category is
        missing or unknown, or an option is outside its range.

    Examples
    --------
    >>> single = pd.DataFrame({1: ["easy", "hard", "hard"], 2: ["easy", "hard", "easy"]},
    ...                       index=["a", "b", "c"])
    >>> multi = pd.DataFrame({1: ["easy", "easy", "hard"], 2: ["easy", "hard", "hard"]},
    ...                      index=["a", "b", "c"])
    >>> result = transitions_over_seeds(single, multi, n_resamples=200, seed=0)
    >>> result.counts  # doctest: +NORMALIZE_WHITESPACE
    target  easy  hard
    source
    easy       2     1
    hard       1     2
    >>> bool((result.lower <= result.fractions).all().all())
    True
    """
    _check_bootstrap_options(n_resamples, confidence_level, seed)
    source_codes, target_codes, row_order, column_order = _aligned_codes(
        source, target, categories
    )
    num_examples, num_seeds = source_codes.shape
    if num_examples == 0:
        raise ValueError("source and target have no rows; pass at least one example")
    num_rows, num_columns = len(row_order), len(column_order)
    num_cells = num_rows * num_columns

    # One flat cell number per (example, seed); identical rows form one pattern.
    cells = source_codes * num_columns + target_codes
    patterns, pattern_sizes = np.unique(cells, axis=0, return_counts=True)
    per_pattern = np.zeros((len(patterns), num_cells), dtype=np.int64)
    for column in range(num_seeds):
        np.add.at(per_pattern, (np.arange(len(patterns)), patterns[:, column]), 1)
    pooled = pattern_sizes @ per_pattern

    rng = np.random.default_rng(seed)
    probabilities = pattern_sizes / num_examples
    replicate_fractions = np.empty((n_resamples, num_rows, num_columns), dtype=np.float64)
    block = max(1, _BOOTSTRAP_BLOCK_ENTRIES // max(len(patterns), 1))
    for start in range(0, n_resamples, block):
        stop = min(start + block, n_resamples)
        weights = rng.multinomial(num_examples, probabilities, size=stop - start)
        counts = (weights @ per_pattern).reshape(stop - start, num_rows, num_columns)
        replicate_fractions[start:stop] = _row_fractions(counts)

    alpha = 1.0 - confidence_level
    lower = np.full((num_rows, num_columns), np.nan)
    upper = np.full((num_rows, num_columns), np.nan)
    for row, column in np.ndindex(num_rows, num_columns):
        values = replicate_fractions[:, row, column]
        values = values[np.isfinite(values)]
        if len(values):
            lower[row, column], upper[row, column] = np.quantile(
                values, [alpha / 2, 1 - alpha / 2]
            )

    row_index = row_order.rename(source_name)
    column_index = column_order.rename(target_name)

    def frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=row_index, columns=column_index)

    counts_matrix = pooled.reshape(num_rows, num_columns)
    return SeedTransitions(
        counts=frame(counts_matrix),
        fractions=frame(_row_fractions(counts_matrix.astype(np.float64))),
        lower=frame(lower),
        upper=frame(upper),
        confidence_level=float(confidence_level),
        n_resamples=int(n_resamples),
        seed=int(seed),
        seeds=tuple(source.columns),
    )

