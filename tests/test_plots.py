"""Tests of soi.plots: returned Axes, drawn elements, category order and colours."""

import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb

from soi.plots import (
    CATEGORY_COLORS,
    category_colors,
    category_order,
    plot_category_distribution,
    plot_data_map,
    plot_transition_heatmap,
)
from soi.subsets import SOI_CATEGORIES, assign_categories
from soi.transitions import transition_matrix


@pytest.fixture(autouse=True)
def no_files_written(tmp_path, monkeypatch):
    """Run each test in an empty folder, fail on savefig, and check nothing was written."""
    monkeypatch.chdir(tmp_path)

    def reject_savefig(*args, **kwargs):
        raise AssertionError("a plot function called savefig")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", reject_savefig)
    yield
    plt.close("all")
    assert list(tmp_path.iterdir()) == []


def soi_categories(values: list[str], ids: list) -> pd.Series:
    return pd.Series(
        pd.Categorical(values, categories=list(SOI_CATEGORIES)),
        index=pd.Index(ids, name="example_id"),
    )


@pytest.fixture
def run():
    """Metrics and SOI categories of 200 examples over 4 epochs, from a fixed seed."""
    rng = np.random.default_rng(0)
    correct = rng.random((200, 4)) < 0.6
    ids = [f"ex{i}" for i in range(200)]
    metrics = pd.DataFrame(
        {"confidence": rng.random(200), "variability": rng.random(200) / 2},
        index=pd.Index(ids, name="example_id"),
    )
    return metrics, assign_categories(correct, example_ids=ids)


def scatter_offsets(ax: Axes) -> np.ndarray:
    return np.concatenate([collection.get_offsets() for collection in ax.collections])


def test_soi_colors_follow_colorblind_palette():
    palette = sns.color_palette("colorblind")

    assert list(CATEGORY_COLORS) == list(SOI_CATEGORIES)
    assert list(CATEGORY_COLORS.values()) == [tuple(color) for color in palette[:6]]
    assert len(set(CATEGORY_COLORS.values())) == 6


def test_custom_categories_get_palette_in_order():
    colors = category_colors(["low", "mid", "high"])

    assert list(colors) == ["low", "mid", "high"]
    assert list(colors.values()) == list(CATEGORY_COLORS.values())[:3]


def test_too_many_categories_raise():
    with pytest.raises(ValueError, match=r"11 categories need more than the 10 colours"):
        category_colors([f"c{i}" for i in range(11)])


def test_category_order_sources():
    categorical = pd.Series(pd.Categorical(["b"], categories=["z", "b"]))
    soi_subset = pd.Series(["unlearned", "forgotten"])
    other = pd.Series(["pear", "apple"])

    assert category_order(categorical) == ["z", "b"]
    assert category_order(soi_subset) == list(SOI_CATEGORIES)
    assert category_order(other) == ["apple", "pear"]


def test_category_order_unknown_value_raises():
    categorical = pd.Series(pd.Categorical(["b"], categories=["a", "b"]))

    with pytest.raises(ValueError, match=r"categories \['c'\] are not among \['a', 'b'\]"):
        category_order(categorical, pd.Series(["c"]))


def test_data_map_draws_every_point(run):
    metrics, categories = run

    ax = plot_data_map(metrics, categories)

    assert isinstance(ax, Axes)
    assert len(scatter_offsets(ax)) == 200
    assert ax.get_title() == "Data map\n200 examples"
    assert ax.get_xlabel().startswith("variability")
    assert ax.get_ylabel().startswith("confidence")


def test_data_map_points_match_metrics(run):
    metrics, categories = run

    ax = plot_data_map(metrics, categories)

    offsets = scatter_offsets(ax)
    expected = metrics[["variability", "confidence"]].to_numpy()
    np.testing.assert_allclose(
        offsets[np.lexsort(offsets.T)], expected[np.lexsort(expected.T)]
    )


def test_data_map_legend_follows_category_order(run):
    metrics, categories = run

    ax = plot_data_map(metrics, categories)

    present = [c for c in SOI_CATEGORIES if (categories == c).any()]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert [label.split(" (")[0] for label in labels] == present
    for collection, category in zip(ax.collections, present):
        np.testing.assert_allclose(collection.get_facecolor()[0][:3], CATEGORY_COLORS[category])


def test_data_map_legend_counts_points(run):
    metrics, categories = run

    ax = plot_data_map(metrics, categories)

    label = ax.get_legend().get_texts()[0].get_text()
    first = next(c for c in SOI_CATEGORIES if (categories == c).any())
    assert label == f"{first} ({int((categories == first).sum())})"


def test_data_map_subsample_is_reported(run):
    metrics, categories = run

    ax = plot_data_map(metrics, categories, max_points=50, seed=3, title="Run A")

    assert len(scatter_offsets(ax)) == 50
    assert ax.get_title() == "Run A\n50 of 200 examples shown (random sample, seed 3)"


def test_data_map_subsample_is_seeded(run):
    metrics, categories = run

    first = scatter_offsets(plot_data_map(metrics, categories, max_points=50, seed=3))
    again = scatter_offsets(plot_data_map(metrics, categories, max_points=50, seed=3))
    other = scatter_offsets(plot_data_map(metrics, categories, max_points=50, seed=4))

    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(np.sort(first, axis=0), np.sort(other, axis=0))


def test_data_map_small_table_not_subsampled(run):
    metrics, categories = run

    ax = plot_data_map(metrics, categories, max_points=500)

    assert len(scatter_offsets(ax)) == 200
    assert ax.get_title() == "Data map\n200 examples"


def test_data_map_without_categories(run):
    metrics, _ = run

    ax = plot_data_map(metrics)

    assert len(ax.collections) == 1
    assert len(scatter_offsets(ax)) == 200
    assert ax.get_legend() is None


def test_data_map_draws_on_given_axes(run):
    metrics, categories = run
    figure, axes = plt.subplots(1, 2)

    returned = plot_data_map(metrics, categories, ax=axes[1])

    assert returned is axes[1]
    assert len(axes[0].collections) == 0
    assert len(plt.get_fignums()) == 1


def test_data_map_missing_category_raises(run):
    metrics, categories = run

    with pytest.raises(ValueError, match=r"1 examples of metrics have no category, such as \['ex0'\]"):
        plot_data_map(metrics, categories.drop("ex0"))


def test_data_map_missing_column_raises(run):
    metrics, _ = run

    with pytest.raises(ValueError, match=r"metrics lacks the columns \['variability'\]"):
        plot_data_map(metrics.drop(columns="variability"))


def test_data_map_empty_metrics_raises(run):
    metrics, _ = run

    with pytest.raises(ValueError, match=r"metrics has no rows"):
        plot_data_map(metrics.iloc[:0])


def test_data_map_invalid_max_points_raises(run):
    metrics, _ = run

    with pytest.raises(ValueError, match=r"max_points must be at least 1, got 0"):
        plot_data_map(metrics, max_points=0)


def test_distribution_bar_count_and_heights():
    runs = {
        "single": soi_categories(["always_correct", "unlearned", "unlearned", "forgotten"], range(4)),
        "multi": soi_categories(["always_correct", "always_correct"], range(2)),
    }

    ax = plot_category_distribution(runs)

    assert isinstance(ax, Axes)
    assert len(ax.patches) == 2 * 6
    heights = np.array([patch.get_height() for patch in ax.patches])
    # Bars are drawn category by category, runs in order within each category.
    by_category = heights.reshape(6, 2)
    np.testing.assert_allclose(by_category[:, 0], [0.25, 0, 0, 0, 0.25, 0.5])
    np.testing.assert_allclose(by_category[:, 1], [1.0, 0, 0, 0, 0, 0])
    assert ax.get_ylabel() == "fraction of examples"


def test_distribution_counts_when_not_normalized():
    runs = {"only": soi_categories(["unlearned", "unlearned", "forgotten"], range(3))}

    ax = plot_category_distribution(runs, normalize=False)

    heights = [patch.get_height() for patch in ax.patches]
    assert heights == [0, 0, 0, 0, 1, 2]
    assert ax.get_ylabel() == "number of examples"


def test_distribution_colours_follow_order():
    runs = {"a": soi_categories(["unlearned", "always_correct"], range(2))}

    ax = plot_category_distribution(runs)

    colours = [to_rgb(patch.get_facecolor()) for patch in ax.patches]
    np.testing.assert_allclose(colours, [CATEGORY_COLORS[c] for c in SOI_CATEGORIES])
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == list(SOI_CATEGORIES)


def test_distribution_accepts_dataframe():
    frame = pd.DataFrame(
        {
            "single": ["always_correct", "forgotten", "unlearned"],
            "multi": ["always_correct", "always_correct", None],
        }
    )

    ax = plot_category_distribution(frame)

    assert len(ax.patches) == 12
    assert [label.get_text() for label in ax.get_xticklabels()] == ["single", "multi"]
    multi_heights = [patch.get_height() for patch in ax.patches][1::2]
    assert multi_heights[0] == 1.0


def test_distribution_custom_taxonomy_colours():
    runs = {"a": pd.Series(pd.Categorical(["hi", "lo"], categories=["lo", "hi"]))}

    ax = plot_category_distribution(runs)

    colours = [to_rgb(patch.get_facecolor()) for patch in ax.patches]
    palette = list(CATEGORY_COLORS.values())
    np.testing.assert_allclose(colours, palette[:2])


def test_distribution_empty_raises():
    with pytest.raises(ValueError, match=r"categories_by_run is empty"):
        plot_category_distribution({})


def test_heatmap_cells_and_annotations():
    single = soi_categories(["always_correct", "always_correct", "unlearned"], ["a", "b", "c"])
    multi = soi_categories(["always_correct", "learned_early", "unlearned"], ["a", "b", "c"])
    matrix = transition_matrix(single, multi, source_name="single", target_name="multi")

    ax = plot_transition_heatmap(matrix)

    assert isinstance(ax, Axes)
    assert ax.collections[0].get_array().size == 36
    texts = [text.get_text() for text in ax.texts]
    # Only the two non-empty rows are annotated, 6 cells each, row by row.
    assert len(texts) == 12
    assert texts[:2] == ["1\n50.0%", "1\n50.0%"]
    assert texts[-1] == "1\n100.0%"
    assert ax.get_ylabel() == "single"
    assert ax.get_xlabel() == "multi"


def test_heatmap_respects_category_order():
    single = soi_categories(["forgotten"], ["a"])
    matrix = transition_matrix(single, single)

    ax = plot_transition_heatmap(matrix)

    assert [label.get_text() for label in ax.get_yticklabels()] == list(SOI_CATEGORIES)
    assert [label.get_text() for label in ax.get_xticklabels()] == list(SOI_CATEGORIES)


def test_heatmap_without_annotations():
    matrix = pd.DataFrame([[2, 1], [0, 3]], index=["x", "y"], columns=["x", "y"])

    ax = plot_transition_heatmap(matrix, annotate=False)

    assert len(ax.texts) == 0
    assert ax.collections[0].get_array().size == 4


def test_heatmap_rejects_fractions():
    matrix = pd.DataFrame([[0.5, 0.5], [0.0, 1.0]], index=["x", "y"], columns=["x", "y"])

    with pytest.raises(ValueError, match=r"non-negative integer counts, found 2 other values"):
        plot_transition_heatmap(matrix)


def test_heatmap_draws_on_given_axes():
    matrix = pd.DataFrame([[2, 1], [0, 3]], index=["x", "y"], columns=["x", "y"])
    figure, ax = plt.subplots()

    returned = plot_transition_heatmap(matrix, ax=ax)

    assert returned is ax


def test_data_map_marginals_are_densities(run):
    metrics, categories = run

    ax = plot_data_map(metrics, categories, marginals=True, bins=20)

    top, right = [other for other in ax.figure.axes if other is not ax]
    present = [c for c in SOI_CATEGORIES if (categories == c).any()]
    assert len(top.patches) == len(present)
    for patch, category in zip(top.patches, present):
        # Each category's density integrates to 1 over the variability bins.
        values, edges = patch.get_data().values, patch.get_data().edges
        assert np.sum(values * np.diff(edges)) == pytest.approx(1.0)
        np.testing.assert_allclose(patch.get_edgecolor()[:3], CATEGORY_COLORS[category])
    assert len(right.patches) == len(present)
    assert top.get_title() == "Data map\n200 examples"
    assert ax.get_title() == ""


def test_data_map_marginals_use_every_example(run):
    metrics, categories = run

    ax = plot_data_map(metrics, marginals=True, max_points=20, bins=10)

    top = next(other for other in ax.figure.axes if other is not ax and other.get_ylabel() == "density")
    values, edges = top.patches[0].get_data().values, top.patches[0].get_data().edges
    counts, _ = np.histogram(metrics["variability"], bins=edges)
    np.testing.assert_allclose(values, counts / (len(metrics) * np.diff(edges)))
    assert len(scatter_offsets(ax)) == 20


def test_data_map_marginals_on_given_axes(run):
    metrics, categories = run
    figure, axes = plt.subplots(1, 2)

    returned = plot_data_map(metrics, categories, ax=axes[0], marginals=True)

    assert returned is axes[0]
    assert len(figure.axes) == 4
    assert len(plt.get_fignums()) == 1


def test_data_map_invalid_bins_raise(run):
    metrics, _ = run

    with pytest.raises(ValueError, match=r"bins must be a positive integer, got 0"):
        plot_data_map(metrics, marginals=True, bins=0)


def test_data_map_cartography_regions_order():
    table = pd.DataFrame({"confidence": [0.9, 0.1, 0.5], "variability": [0.1, 0.1, 0.3]})
    regions = pd.Series(["hard_to_learn", "easy_to_learn", "ambiguous"])

    ax = plot_data_map(table, regions)

    labels = [text.get_text().split(" (")[0] for text in ax.get_legend().get_texts()]
    assert labels == ["easy_to_learn", "ambiguous", "hard_to_learn"]


def test_distribution_seed_error_bars():
    seeds = pd.DataFrame(
        {
            0: ["always_correct", "unlearned", "unlearned", "forgotten"],
            1: ["always_correct", "always_correct", "unlearned", "forgotten"],
            2: ["unlearned", "unlearned", "unlearned", "forgotten"],
        }
    )
    single = soi_categories(["always_correct", "always_correct", "unlearned", "unlearned"], range(4))

    ax = plot_category_distribution({"multi": seeds, "single": single})

    heights = np.array([patch.get_height() for patch in ax.patches]).reshape(6, 2)
    # always_correct shares over seeds 1/4, 2/4, 0: mean 1/4, sample sd 1/4.
    assert heights[0, 0] == pytest.approx(0.25)
    assert heights[0, 1] == pytest.approx(0.5)
    containers = [c for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    assert len(containers) == 6
    segments = containers[0].lines[2][0].get_segments()
    assert len(segments) == 1
    low, high = segments[0][0][1], segments[0][1][1]
    assert (high - low) / 2 == pytest.approx(0.25)
    assert ax.get_ylabel() == "fraction of examples (mean ± sd over seeds)"


def test_distribution_seed_without_categories_raises():
    seeds = pd.DataFrame({0: ["unlearned"], 1: [None]})

    with pytest.raises(ValueError, match=r"run 'r', seed 1 has no categorised example"):
        plot_category_distribution({"r": seeds})


def test_heatmap_interval_annotations():
    matrix = pd.DataFrame([[3, 1], [0, 0]], index=["x", "y"], columns=["x", "y"])
    lower = pd.DataFrame([[0.5, 0.05], [np.nan, np.nan]], index=["x", "y"], columns=["x", "y"])
    upper = pd.DataFrame([[0.95, 0.5], [np.nan, np.nan]], index=["x", "y"], columns=["x", "y"])

    ax = plot_transition_heatmap(matrix, lower=lower, upper=upper)

    assert [text.get_text() for text in ax.texts] == ["3\n75.0%\n[50%, 95%]", "1\n25.0%\n[5%, 50%]"]


def test_heatmap_interval_mismatch_raises():
    matrix = pd.DataFrame([[3, 1], [0, 0]], index=["x", "y"], columns=["x", "y"])
    lower = pd.DataFrame([[0.5]], index=["x"], columns=["x"])

    with pytest.raises(ValueError, match=r"give both lower and upper, or neither"):
        plot_transition_heatmap(matrix, lower=lower)
    with pytest.raises(ValueError, match=r"lower must have the index and columns of matrix"):
        plot_transition_heatmap(matrix, lower=lower, upper=lower)
