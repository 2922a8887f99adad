"""Tests of soi.selection: category and ranking selection, and matched random controls."""

import json

import numpy as np
import pandas as pd
import pytest

from soi.selection import Selection, matched_control, select_examples


@pytest.fixture
def table():
    """Ten examples with hand-set variability, confidence, categories, labels and sources."""
    index = pd.Index([f"ex{i}" for i in range(10)], name="example_id")
    metrics = pd.DataFrame(
        {
            "variability": [0.05, 0.30, 0.10, 0.40, 0.30, 0.20, 0.01, 0.35, 0.15, 0.25],
            "confidence": [0.9, 0.5, 0.8, 0.4, 0.6, 0.7, 0.95, 0.45, 0.2, 0.3],
        },
        index=index,
    )
    categories = pd.Series(
        pd.Categorical(
            ["always_correct", "forgettable", "always_correct", "forgotten", "forgettable",
             "learned_late", "always_correct", "forgettable", "unlearned", "forgotten"],
            categories=["always_correct", "learned_late", "forgettable", "forgotten", "unlearned"],
        ),
        index=index,
    )
    return metrics, categories


def test_ranking_takes_largest_first(table):
    metrics, _ = table

    chosen = select_examples(metrics, 3, rank_by="variability")

    assert chosen.example_ids.tolist() == ["ex3", "ex7", "ex1"]
    assert chosen.record["method"] == "ranking"
    assert chosen.record["cutoff"] == 0.30


def test_ranking_ascending(table):
    metrics, _ = table

    chosen = select_examples(metrics, 2, rank_by="confidence", order="ascending")

    assert chosen.example_ids.tolist() == ["ex8", "ex9"]


def test_ranking_ties_broken_by_id(table):
    metrics, _ = table

    # ex1 and ex4 both have variability 0.30; the smaller id comes first.
    chosen = select_examples(metrics, 4, rank_by="variability")
    reversed_rows = select_examples(metrics.iloc[::-1], 4, rank_by="variability")

    assert chosen.example_ids.tolist() == ["ex3", "ex7", "ex1", "ex4"]
    assert reversed_rows.example_ids.tolist() == chosen.example_ids.tolist()


def test_fraction_rounds_down(table):
    metrics, _ = table

    chosen = select_examples(metrics, 0.25, rank_by="variability")

    # 0.25 of 10 examples is 2.5, rounded down to 2.
    assert len(chosen) == 2
    assert chosen.record["size"] == 0.25
    assert chosen.record["count"] == 2


def test_categories_only_take_every_candidate(table):
    metrics, categories = table

    chosen = select_examples(metrics, categories=categories, include=["forgettable", "forgotten"])

    assert chosen.example_ids.tolist() == ["ex1", "ex3", "ex4", "ex7", "ex9"]
    assert chosen.record["method"] == "categories"
    assert chosen.record["candidates"] == 5


def test_categories_and_ranking(table):
    metrics, categories = table

    chosen = select_examples(
        metrics, 2, categories=categories, include=["forgettable"], rank_by="variability"
    )

    assert chosen.example_ids.tolist() == ["ex7", "ex1"]
    assert chosen.record["method"] == "categories+ranking"


def test_fraction_of_candidates(table):
    metrics, categories = table
    include = ["forgettable", "forgotten"]

    of_all = select_examples(metrics, 0.3, categories=categories, include=include, rank_by="variability")
    of_candidates = select_examples(
        metrics, 0.4, categories=categories, include=include, rank_by="variability",
        fraction_of="candidates",
    )

    # 0.3 of 10 examples is 3; 0.4 of the 5 candidates is 2.
    assert len(of_all) == 3
    assert len(of_candidates) == 2


def test_random_subset_of_categories_is_seeded(table):
    metrics, categories = table
    include = ["always_correct", "forgettable", "forgotten"]

    first = select_examples(metrics, 3, categories=categories, include=include, seed=1)
    again = select_examples(metrics.iloc[::-1], 3, categories=categories, include=include, seed=1)

    candidates = set(categories[categories.isin(include)].index)
    assert set(first.example_ids) <= candidates
    assert len(set(first.example_ids)) == 3
    assert first.example_ids.tolist() == again.example_ids.tolist()
    assert first.record["seed"] == 1
    assert first.record["method"] == "categories+random"


def test_random_subset_depends_on_seed():
    metrics = pd.DataFrame({"variability": np.linspace(0, 0.5, 200)}, index=[f"ex{i:03d}" for i in range(200)])

    draws = {tuple(select_examples(metrics, 20, seed=seed).example_ids) for seed in range(5)}

    assert len(draws) == 5


def test_record_is_json_serialisable(table):
    metrics, categories = table

    chosen = select_examples(
        metrics, np.int64(2), categories=categories, include=["forgettable"], rank_by="confidence"
    )

    record = json.loads(json.dumps(chosen.record))
    assert record["size"] == 2
    assert record["include"] == ["forgettable"]


def test_size_above_candidates_raises(table):
    metrics, categories = table

    with pytest.raises(ValueError, match=r"size 4 asks for 4 examples, but only 3 of 10 are candidates"):
        select_examples(metrics, 4, categories=categories, include=["forgettable"])


def test_unknown_category_raises(table):
    metrics, categories = table

    with pytest.raises(ValueError, match=r"include names unknown categories \['forgetable'\]"):
        select_examples(metrics, categories=categories, include=["forgetable"])


def test_missing_category_raises(table):
    metrics, categories = table

    with pytest.raises(ValueError, match=r"1 examples have no category, such as \['ex0'\]"):
        select_examples(metrics, categories=categories.drop("ex0"), include=["forgettable"])


def test_ranking_needs_size(table):
    metrics, _ = table

    with pytest.raises(ValueError, match=r"ranking by 'variability' needs a size"):
        select_examples(metrics, rank_by="variability")


def test_ranking_with_missing_values_raises(table):
    metrics, _ = table
    metrics.loc["ex2", "variability"] = np.nan

    with pytest.raises(ValueError, match=r"column 'variability' has 1 missing values, such as for \['ex2'\]"):
        select_examples(metrics, 2, rank_by="variability")


def test_unknown_ranking_column_raises(table):
    metrics, _ = table

    with pytest.raises(ValueError, match=r"rank_by 'ambiguity' is not a column of metrics"):
        select_examples(metrics, 2, rank_by="ambiguity")


@pytest.mark.parametrize(
    ("size", "error", "message"),
    [
        (1.5, ValueError, r"a fractional size must lie in \(0, 1\], got 1.5"),
        (0.0, ValueError, r"a fractional size must lie in \(0, 1\], got 0.0"),
        (-1, ValueError, r"size must be at least 1 example, got -1"),
        (0, ValueError, r"size must be at least 1 example, got 0; pass None"),
        ("10%", TypeError, r"size must be a count \(int\) or a fraction"),
        (True, TypeError, r"size must be a count \(int\) or a fraction"),
    ],
)
def test_invalid_sizes_raise(table, size, error, message):
    metrics, _ = table

    with pytest.raises(error, match=message):
        select_examples(metrics, size, rank_by="variability")


def test_invalid_options_raise(table):
    metrics, categories = table

    with pytest.raises(ValueError, match=r"order 'down' is not one of \['descending', 'ascending'\]"):
        select_examples(metrics, 1, rank_by="variability", order="down")
    with pytest.raises(ValueError, match=r"fraction_of 'pool' is not one of \['all', 'candidates'\]"):
        select_examples(metrics, 0.5, rank_by="variability", fraction_of="pool")
    with pytest.raises(ValueError, match=r"categories is given without include"):
        select_examples(metrics, 1, categories=categories)


@pytest.fixture
def pool():
    """200 examples with labels 0..2 and three sources, in a fixed pseudo-random layout."""
    rng = np.random.default_rng(7)
    index = pd.Index([f"ex{i:03d}" for i in range(200)], name="example_id")
    labels = pd.Series(rng.integers(0, 3, 200), index=index)
    sources = pd.DataFrame({"source": rng.choice(["imdb", "airline", "nfl"], 200)}, index=index)
    return labels, sources


def test_control_matches_label_counts(pool):
    labels, _ = pool
    selection = Selection(pd.Index(labels.index[:30]), {"method": "ranking"})

    control = matched_control(selection, labels, seed=0)

    assert len(control) == 30
    pd.testing.assert_series_equal(
        labels[control.example_ids].value_counts().sort_index(),
        labels[selection.example_ids].value_counts().sort_index(),
    )
    assert control.record["matches"] == {"method": "ranking"}
    assert control.record["matched_on"] == ["label"]


def test_control_matches_label_and_source_mix(pool):
    labels, sources = pool
    chosen = labels.index[::4]

    control = matched_control(chosen, labels, strata=sources, seed=3, exclude_selected=True)

    def mix(ids):
        return pd.crosstab(labels[ids], sources.loc[ids, "source"])

    pd.testing.assert_frame_equal(mix(control.example_ids), mix(chosen))
    assert not set(control.example_ids) & set(chosen)
    assert control.record["matched_on"] == ["label", "source"]
    assert sum(control.record["strata_counts"].values()) == len(chosen)


def test_control_is_seeded_and_order_free(pool):
    labels, sources = pool
    chosen = labels.index[:40]

    first = matched_control(chosen, labels, strata=sources, seed=11)
    again = matched_control(chosen, labels.iloc[::-1], strata=sources.iloc[::-1], seed=11)
    other = matched_control(chosen, labels, strata=sources, seed=12)

    assert first.example_ids.tolist() == again.example_ids.tolist()
    assert first.example_ids.tolist() != other.example_ids.tolist()


def test_control_too_small_stratum_raises():
    labels = pd.Series([0, 0, 1], index=["a", "b", "c"])

    with pytest.raises(ValueError, match=r"stratum 1 has 0 examples available, but the selection has 1"):
        matched_control(["c"], labels, exclude_selected=True)


def test_control_unknown_id_raises():
    labels = pd.Series([0, 1], index=["a", "b"])

    with pytest.raises(ValueError, match=r"1 selected ids are not in labels, such as \['z'\]"):
        matched_control(["a", "z"], labels)


def test_control_missing_tag_raises():
    labels = pd.Series([0, 1], index=["a", "b"])
    sources = pd.Series(["imdb"], index=["a"], name="source")

    with pytest.raises(ValueError, match=r"1 examples of labels have no value in strata, such as \['b'\]"):
        matched_control(["a"], labels, strata=sources)


def test_control_strata_label_column_raises():
    labels = pd.Series([0, 1], index=["a", "b"])
    strata = pd.DataFrame({"label": ["x", "y"]}, index=["a", "b"])

    with pytest.raises(ValueError, match=r"strata has a column named 'label'"):
        matched_control(["a"], labels, strata=strata)
