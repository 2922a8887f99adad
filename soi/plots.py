"""Plots of training dynamics, category distributions and category transitions.

Every function takes an optional ``ax``, creates a new figure when it is None, and
returns the Axes it drew on. None of them saves a file.

All plots share one category order (the taxonomy order) and one colour-blind-safe
palette. Category i of a taxonomy gets colour i of seaborn's ``"colorblind"`` palette,
so the six Subsets of Interest always have the colours in ``CATEGORY_COLORS``, and the
categories of the other built-in taxonomies (``soi.subsets.BUILTIN_TAXONOMIES``) keep
their taxonomy order in every plot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from mpl_toolkits.axes_grid1 import make_axes_locatable

from soi.subsets import BUILTIN_TAXONOMIES, SOI_CATEGORIES

__all__ = [
    "CATEGORY_COLORS",
    "category_colors",
    "category_order",
    "plot_category_distribution",
    "plot_data_map",
    "plot_transition_heatmap",
]

#: seaborn palette whose colours stay distinguishable under the common forms of
#: colour blindness.
PALETTE_NAME = "colorblind"

#: Number of distinct colours in seaborn's "colorblind" palette (seaborn 0.9 and later).
#: Asking seaborn for more would repeat colours.
PALETTE_SIZE = 10

#: Matplotlib colormap of the transition heatmap. viridis was designed to be perceptually
#: uniform, also in grey scale, and readable with the most common form of colour
#: blindness. It is reversed so that small fractions are light.
HEATMAP_CMAP = "viridis_r"

#: Marker area in points^2 of the data map: small, so that dense regions stay readable.
POINT_SIZE = 8.0

#: Marker opacity of the data map, so that overlapping points show density.
POINT_ALPHA = 0.6

#: Legend markers are this many times larger than the points, so their colours are clear.
LEGEND_MARKER_SCALE = 2.0

#: Share of each run's slot on the x axis taken by its bars. The rest separates the runs.
GROUP_WIDTH = 0.8

#: Rotation in degrees of the heatmap's column labels, so long category names do not overlap.
TICK_ROTATION = 30

#: Maximum number of example ids shown in an error message.
MAX_IDS_SHOWN = 5

#: Default figure size in inches for a new figure.
FIGURE_SIZE = (6.4, 4.8)

#: Number of histogram bins of each marginal density of the data map.
MARGINAL_BINS = 50

#: Size of each marginal axes of the data map, as a share of the main axes.
MARGINAL_SIZE = "20%"

#: Gap in inches between the data map and its marginal axes.
MARGINAL_PAD = 0.1

#: Font size in points of heatmap annotations with an interval, which have three lines
#: instead of two and would overlap at matplotlib's default of 10.
INTERVAL_FONT_SIZE = 7

#: Length in points of the caps of the error bars over seeds.
ERROR_CAP_SIZE = 2.0


def category_colors(categories: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """Map each category, in order, to the colour at the same position in the palette.

    Parameters
    ----------
    categories : sequence of str
        Category names in taxonomy order.

    Returns
    -------
    dict
        Category name to RGB tuple from seaborn's ``"colorblind"`` palette.

    Raises
    ------
    ValueError
        If there are more categories than palette colours (10).

    Examples
    --------
    >>> colors = category_colors(["easy", "hard"])
    >>> colors["easy"] == CATEGORY_COLORS["always_correct"]
    True
    """
    palette = sns.color_palette(PALETTE_NAME, n_colors=PALETTE_SIZE)
    if len(categories) > len(palette):
        raise ValueError(
            f"{len(categories)} categories need more than the {len(palette)} colours of "
            f"the {PALETTE_NAME!r} palette; merge categories so that at most "
            f"{len(palette)} remain"
        )
    return {category: tuple(color) for category, color in zip(categories, palette)}


#: Colour of each Subset of Interest, shared by every plot.
CATEGORY_COLORS = category_colors(SOI_CATEGORIES)


def category_order(*series: pd.Series) -> list[str]:
    """Return the display order of the categories found in one or more Series.

    The order is the categories of the first Categorical Series, else the categories
    of the first built-in taxonomy (``SOI``, ``CARTOGRAPHY_REGIONS``, ``FORGETTING``)
    that contains every value, else the sorted values.

    Parameters
    ----------
    *series : pd.Series
        Category of each example, one Series per run.

    Returns
    -------
    list of str
        Every category, including those with no example.

    Raises
    ------
    ValueError
        If a value is not among the categories of the first Categorical Series.

    Examples
    --------
    >>> category_order(pd.Series(["unlearned", "always_correct"]))[:2]
    ['always_correct', 'learned_early']
    """
    values: set = set()
    for item in series:
        values.update(item.dropna().unique().tolist())

    for item in series:
        if isinstance(item.dtype, pd.CategoricalDtype):
            order = list(item.cat.categories)
            unknown = sorted(map(str, values - set(order)))
            if unknown:
                raise ValueError(
                    f"categories {unknown} are not among {order}; give every run the same "
                    f"taxonomy"
                )
            return order

    for taxonomy in BUILTIN_TAXONOMIES:
        if values <= set(taxonomy.categories):
            return list(taxonomy.categories)
    return sorted(values)


def _new_axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    _, new_ax = plt.subplots(figsize=FIGURE_SIZE)
    return new_ax


def _sample_rows(num_rows: int, max_points: int | None, seed: int) -> np.ndarray | None:
    """Return sorted row positions of a seeded sample, or None when all rows fit."""
    if max_points is None:
        return None
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)):
        raise TypeError(f"max_points must be a positive integer or None, got {max_points!r}")
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}; use None for all")
    if num_rows <= max_points:
        return None

    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num_rows, size=max_points, replace=False))


def plot_data_map(
    metrics: pd.DataFrame,
    categories: pd.Series | None = None,
    ax: Axes | None = None,
    max_points: int | None = None,
    seed: int = 0,
    title: str | None = None,
    *,
    marginals: bool = False,
    bins: int = MARGINAL_BINS,
) -> Axes:
    """Draw a data map: variability on x, confidence on y, one point per example.

    Parameters
    ----------
    metrics : pd.DataFrame
        Output of :func:`soi.metrics.compute_metrics`, or any table with
        ``confidence`` and ``variability`` columns indexed by example id.
    categories : pd.Series or None
        Category of each example, indexed by example id (extra ids are ignored).
        Points are coloured by category and the legend follows the category order.
        None draws every point in one colour.
    ax : matplotlib.axes.Axes or None
        Axes to draw on, or None to create a new figure.
    max_points : int or None
        Maximum number of points. A larger table is subsampled uniformly at random
        with ``seed``, and the title reports how many of how many examples are shown.
    seed : int
        Seed of the subsample, so that the same call draws the same points.
    title : str or None
        First title line, or None for "Data map". The second line gives the counts.
    marginals : bool
        If True, add a density of variability above the map and one of confidence to
        its right, one curve per category, each integrating to 1. The densities use
        every example, not only the points drawn, and the title moves above them.
    bins : int
        Number of histogram bins of each marginal density.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes of the map itself. The marginal axes, when drawn, are in the same
        figure, above and to the right of it.

    Raises
    ------
    ValueError
        If a column is missing, ``metrics`` has no rows, an example has no category,
        ``max_points`` < 1 or ``bins`` < 1.
    TypeError
        If ``max_points`` is neither None nor an integer.

    Examples
    --------
    >>> table = pd.DataFrame({"confidence": [0.9, 0.2, 0.5], "variability": [0.1, 0.1, 0.4]})
    >>> subsets = pd.Series(["always_correct", "unlearned", "forgettable"])
    >>> ax = plot_data_map(table, subsets, max_points=2, seed=0)
    >>> ax.get_title().splitlines()[1]
    '2 of 3 examples shown (random sample, seed 0)'
    >>> plt.close(ax.figure)
    >>> ax = plot_data_map(table, subsets, marginals=True)
    >>> len(ax.figure.axes)
    3
    >>> plt.close(ax.figure)
    """
    missing_columns = [name for name in ("confidence", "variability") if name not in metrics]
    if missing_columns:
        raise ValueError(
            f"metrics lacks the columns {missing_columns}; pass the table from "
            f"soi.metrics.compute_metrics"
        )
    if len(metrics) == 0:
        raise ValueError("metrics has no rows; pass at least one example")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")

    labels = None
    order: list[str] = []
    if categories is not None:
        labels = _categories_for(metrics, categories)
        order = category_order(categories)

    # Subsample rows before drawing so that the points, the legend and the title agree.
    total = len(metrics)
    rows = _sample_rows(total, max_points, seed)
    variability = metrics["variability"].to_numpy(dtype=np.float64)
    confidence = metrics["confidence"].to_numpy(dtype=np.float64)
    codes = None if labels is None else _codes_in_order(labels, order)
    drawn = slice(None) if rows is None else rows

    ax = _new_axes(ax)
    if codes is None:
        ax.scatter(
            variability[drawn],
            confidence[drawn],
            s=POINT_SIZE,
            alpha=POINT_ALPHA,
            color=sns.color_palette(PALETTE_NAME, n_colors=PALETTE_SIZE)[0],
        )
    else:
        colors = category_colors(order)
        drawn_codes = codes[drawn]
        for position, category in enumerate(order):
            selected = drawn_codes == position
            if not selected.any():
                continue
            ax.scatter(
                variability[drawn][selected],
                confidence[drawn][selected],
                s=POINT_SIZE,
                alpha=POINT_ALPHA,
                color=colors[category],
                label=f"{category} ({int(selected.sum()):,})",
            )

    # With marginals, the title goes above the top density and the legend to the
    # right of the right density, so that neither covers them.
    title_ax, legend_ax = ax, ax
    if marginals:
        title_ax, legend_ax = _draw_marginals(ax, variability, confidence, codes, order, bins)
    if codes is not None:
        handles, names = ax.get_legend_handles_labels()
        legend = legend_ax.legend(
            handles,
            names,
            title="category (points shown)",
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            markerscale=LEGEND_MARKER_SCALE,
        )
        for handle in legend.legend_handles:
            handle.set_alpha(1.0)

    if rows is None:
        counts = f"{total:,} examples"
    else:
        counts = f"{len(rows):,} of {total:,} examples shown (random sample, seed {seed})"
    title_ax.set_title(f"{title or 'Data map'}\n{counts}")
    ax.set_xlabel("variability (std of gold-label probability)")
    ax.set_ylabel("confidence (mean gold-label probability)")
    return ax


def _categories_for(metrics: pd.DataFrame, categories: pd.Series) -> pd.Series:
    """Align the categories to the rows of ``metrics`` and reject missing ones."""
    if categories.index.equals(metrics.index):
        labels = categories
    else:
        if categories.index.has_duplicates:
            raise ValueError("categories has repeated example ids; give one category per id")
        labels = categories.reindex(metrics.index)
    if labels.isna().any():
        missing = metrics.index[labels.isna().to_numpy()][:MAX_IDS_SHOWN].tolist()
        raise ValueError(
            f"{int(labels.isna().sum())} examples of metrics have no category, such as "
            f"{missing}; pass categories for every example of metrics"
        )
    return labels


def _codes_in_order(labels: pd.Series, order: list[str]) -> np.ndarray:
    """Return each example's position in ``order``; a Categorical maps its few categories."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        positions = pd.Index(order).get_indexer(labels.cat.categories)
        return positions[labels.cat.codes.to_numpy()]
    return pd.Index(order).get_indexer(labels.to_numpy(dtype=object))


def _draw_marginals(
    ax: Axes,
    variability: np.ndarray,
    confidence: np.ndarray,
    codes: np.ndarray | None,
    order: list[str],
    bins: int,
) -> tuple[Axes, Axes]:
    """Draw the marginal densities next to the data map; return the top and right axes."""
    divider = make_axes_locatable(ax)
    top = divider.append_axes("top", size=MARGINAL_SIZE, pad=MARGINAL_PAD, sharex=ax)
    right = divider.append_axes("right", size=MARGINAL_SIZE, pad=MARGINAL_PAD, sharey=ax)
    x_edges = np.histogram_bin_edges(variability, bins=bins)
    y_edges = np.histogram_bin_edges(confidence, bins=bins)

    if codes is None:
        groups = [(np.ones(len(variability), dtype=bool), sns.color_palette(PALETTE_NAME)[0])]
    else:
        colors = category_colors(order)
        groups = [
            (codes == position, colors[category])
            for position, category in enumerate(order)
            if (codes == position).any()
        ]
    for selected, color in groups:
        x_density, _ = np.histogram(variability[selected], bins=x_edges, density=True)
        y_density, _ = np.histogram(confidence[selected], bins=y_edges, density=True)
        top.stairs(x_density, x_edges, color=color)
        right.stairs(y_density, y_edges, color=color, orientation="horizontal")

    top.set_ylabel("density")
    right.set_xlabel("density")
    top.tick_params(axis="x", labelbottom=False)
    right.tick_params(axis="y", labelleft=False)
    return top, right


def plot_category_distribution(
    categories_by_run: Mapping[str, pd.Series | pd.DataFrame] | pd.DataFrame,
    ax: Axes | None = None,
    normalize: bool = True,
) -> Axes:
    """Draw grouped bars of the category distribution of each run.

    Each run is one group on the x axis and each category one bar within it, in
    category order and colour. Bars share a baseline, so one category is compared
    across runs by the height of the bars of its colour. A run given with several
    seeds is drawn as the mean over its seeds with an error bar of one standard
    deviation (``ddof=1``).

    Parameters
    ----------
    categories_by_run : mapping of str to pd.Series or pd.DataFrame, or pd.DataFrame
        Category of each example for each run: a dict from run name to a Series, or
        to a DataFrame with one column per seed (such as the output of
        :func:`soi.seeds.categories_by_seed`); or a DataFrame with one column per run.
        Missing values (an example absent from a run) are not counted.
    ax : matplotlib.axes.Axes or None
        Axes to draw on, or None to create a new figure.
    normalize : bool
        If True, bar heights are the fraction of the run's examples. If False, they
        are counts.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on, with one bar per (run, category) pair, zero bars included,
        and one error bar container per category when a run has seeds.

    Raises
    ------
    ValueError
        If there is no run, or a run or seed has no categorised example.

    Examples
    --------
    >>> runs = {
    ...     "single": pd.Series(["always_correct", "unlearned", "unlearned"]),
    ...     "multi": pd.Series(["always_correct", "always_correct", "forgotten"]),
    ... }
    >>> ax = plot_category_distribution(runs)
    >>> len(ax.patches)
    12
    >>> plt.close(ax.figure)
    >>> seeds = pd.DataFrame({0: ["unlearned", "forgotten"], 1: ["unlearned", "unlearned"]})
    >>> ax = plot_category_distribution({"single": seeds})
    >>> ax.get_ylabel()
    'fraction of examples (mean ± sd over seeds)'
    >>> plt.close(ax.figure)
    """
    if isinstance(categories_by_run, pd.DataFrame):
        runs = {str(column): categories_by_run[column] for column in categories_by_run.columns}
    else:
        runs = dict(categories_by_run)
    if not runs:
        raise ValueError("categories_by_run is empty; pass at least one run")

    every_series = []
    for values in runs.values():
        if isinstance(values, pd.DataFrame):
            every_series.extend(values[column] for column in values.columns)
        else:
            every_series.append(values)
    order = category_order(*every_series)
    colors = category_colors(order)

    # Bar heights and error bars: one row per run, one column per category, zeros kept.
    heights = pd.DataFrame(0.0, index=list(runs), columns=order)
    errors = pd.DataFrame(np.nan, index=list(runs), columns=order)
    for run, values in runs.items():
        if isinstance(values, pd.DataFrame):
            per_seed = np.stack(
                [
                    _bar_heights(values[column], order, normalize, f"run {run!r}, seed {column!r}")
                    for column in values.columns
                ]
            )
            heights.loc[run] = per_seed.mean(axis=0)
            if len(per_seed) > 1:
                errors.loc[run] = per_seed.std(axis=0, ddof=1)
        else:
            heights.loc[run] = _bar_heights(values, order, normalize, f"run {run!r}")
    has_seeds = any(isinstance(values, pd.DataFrame) for values in runs.values())

    ax = _new_axes(ax)
    bar_width = GROUP_WIDTH / len(order)
    positions = np.arange(len(runs))
    for k, category in enumerate(order):
        offset = (k - (len(order) - 1) / 2) * bar_width
        ax.bar(
            positions + offset,
            heights[category].to_numpy(),
            width=bar_width,
            color=colors[category],
            label=category,
        )
        with_error = errors[category].notna().to_numpy()
        if with_error.any():
            ax.errorbar(
                (positions + offset)[with_error],
                heights[category].to_numpy()[with_error],
                yerr=errors[category].to_numpy()[with_error],
                fmt="none",
                ecolor="black",
                capsize=ERROR_CAP_SIZE,
            )

    ax.set_xticks(positions)
    ax.set_xticklabels(list(runs))
    ax.set_xlabel("run")
    ylabel = "fraction of examples" if normalize else "number of examples"
    ax.set_ylabel(f"{ylabel} (mean ± sd over seeds)" if has_seeds else ylabel)
    ax.legend(title="category", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return ax


def _bar_heights(
    series: pd.Series, order: list[str], normalize: bool, description: str
) -> np.ndarray:
    """Count one run's categories in ``order``, as fractions when ``normalize``."""
    counts = series.dropna().value_counts().reindex(order, fill_value=0)
    total = counts.sum()
    if total == 0:
        raise ValueError(f"{description} has no categorised example; drop it or fill it")
    values = counts.to_numpy(dtype=np.float64)
    return values / total if normalize else values


def _check_counts(matrix: pd.DataFrame) -> np.ndarray:
    """Return the matrix as float counts and reject empty, negative or fractional tables."""
    if matrix.size == 0:
        raise ValueError("matrix is empty; pass the output of soi.transitions.transition_matrix")

    values = matrix.to_numpy(dtype=np.float64)
    invalid = np.isnan(values) | (values < 0) | (values != np.round(values))
    if invalid.any():
        raise ValueError(
            f"matrix must contain non-negative integer counts, found {int(invalid.sum())} "
            f"other values; pass transition_matrix(..., normalize=False)"
        )
    return values


def _check_intervals(
    matrix: pd.DataFrame, lower: pd.DataFrame | None, upper: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the interval bounds as arrays aligned with ``matrix``, or None."""
    if lower is None and upper is None:
        return None
    if lower is None or upper is None:
        raise ValueError("give both lower and upper, or neither")
    bounds = []
    for name, frame in (("lower", lower), ("upper", upper)):
        if not (frame.index.equals(matrix.index) and frame.columns.equals(matrix.columns)):
            raise ValueError(
                f"{name} must have the index and columns of matrix, "
                f"{matrix.index.tolist()} by {matrix.columns.tolist()}"
            )
        bounds.append(frame.to_numpy(dtype=np.float64))
    return bounds[0], bounds[1]


def plot_transition_heatmap(
    matrix: pd.DataFrame,
    ax: Axes | None = None,
    annotate: bool = True,
    *,
    lower: pd.DataFrame | None = None,
    upper: pd.DataFrame | None = None,
) -> Axes:
    """Draw a transition matrix as a heatmap coloured by row fraction.

    Rows are the categories of the first run (for example single-setting), columns
    those of the second (multi-setting). The colour of a cell is its share of the
    row, so rows of different sizes are comparable. A row with no example is left
    blank.

    Parameters
    ----------
    matrix : pd.DataFrame
        Counts from :func:`soi.transitions.transition_matrix` with
        ``normalize=False``. The index and column names label the axes.
    ax : matplotlib.axes.Axes or None
        Axes to draw on, or None to create a new figure.
    annotate : bool
        If True, write the count and the row percentage in every cell of a
        non-empty row.
    lower, upper : pd.DataFrame or None
        Confidence interval of each cell's row fraction, with the index and columns
        of ``matrix``, such as ``SeedTransitions.lower`` and ``.upper`` from
        :func:`soi.seeds.transitions_over_seeds`. When both are given, the
        annotation adds the interval in percent on a third line.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on, with one heatmap cell per matrix cell.

    Raises
    ------
    ValueError
        If the matrix is empty or contains values other than non-negative integers, only
        one of ``lower`` and ``upper`` is given, or they do not match the matrix.

    Examples
    --------
    >>> counts = pd.DataFrame(
    ...     [[3, 1], [0, 0]],
    ...     index=pd.Index(["easy", "hard"], name="single"),
    ...     columns=pd.Index(["easy", "hard"], name="multi"),
    ... )
    >>> ax = plot_transition_heatmap(counts)
    >>> [text.get_text() for text in ax.texts]
    ['3\\n75.0%', '1\\n25.0%']
    >>> plt.close(ax.figure)
    """
    counts = _check_counts(matrix)
    row_totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        fractions = np.where(row_totals > 0, counts / row_totals, np.nan)

    intervals = _check_intervals(matrix, lower, upper)
    labels = np.full(counts.shape, "", dtype=object)
    for i, j in np.ndindex(counts.shape):
        if row_totals[i, 0] > 0:
            labels[i, j] = f"{int(counts[i, j]):,}\n{fractions[i, j]:.1%}"
            if intervals is not None and np.isfinite(intervals[0][i, j]):
                labels[i, j] += f"\n[{intervals[0][i, j]:.0%}, {intervals[1][i, j]:.0%}]"

    ax = _new_axes(ax)
    sns.heatmap(
        pd.DataFrame(fractions, index=matrix.index, columns=matrix.columns),
        ax=ax,
        annot=labels if annotate else False,
        annot_kws={"fontsize": INTERVAL_FONT_SIZE} if intervals is not None else None,
        fmt="",
        cmap=HEATMAP_CMAP,
        vmin=0.0,
        vmax=1.0,
        cbar_kws={"label": "fraction of row"},
    )
    ax.set_ylabel(matrix.index.name or "source")
    ax.set_xlabel(matrix.columns.name or "target")
    ax.tick_params(axis="y", labelrotation=0)
    plt.setp(ax.get_xticklabels(), rotation=TICK_ROTATION, ha="right", rotation_mode="anchor")
    return ax
