"""Tests of soi.seeds: agreement of categories over seeds and pooled transitions."""

import math

import numpy as np
import pandas as pd
import pytest

from soi.dynamics import Dynamics
from soi.seeds import (
    categories_by_seed,
    category_shares_by_seed,
    distribution_over_seeds,
    fleiss_kappa,
    modal_categories,
    transitions_over_seeds,
)
from soi.subsets import FORGETTING, SOI_CATEGORIES
from soi.transitions import transition_matrix


def run(ids, correct):
    """Dynamics whose correctness matrix is ``correct`` (gold label 0)."""
    correct = np.asarray(correct, dtype=bool)
    return Dynamics(
        example_ids=ids,
        epochs=np.arange(1, correct.shape[1] + 1),
        gold=np.zeros(len(ids), dtype=int),
        gold_prob=np.where(correct, 0.8, 0.2),
        predicted=np.where(correct, 0, 1),
    )


def ratings_table(counts: list[list[int]]) -> pd.DataFrame:
    """Turn per-subject category counts into one column per rater."""
    rows = []
    for subject_counts in counts:
        rows.append([category for category, count in enumerate(subject_counts) for _ in range(count)])
    return pd.DataFrame(rows)


def test_categories_by_seed_aligns_example_order():
    first = run(["a", "b"], [[1, 1], [0, 0]])
    second = run(["b", "a"], [[0, 1], [1, 1]])

    table = categories_by_seed({13: first, 42: second})

    assert table.columns.tolist() == [13, 42]
    assert table.columns.name == "seed"
    assert table.index.tolist() == ["a", "b"]
    assert table.loc["a"].tolist() == ["always_correct", "always_correct"]
    assert table.loc["b"].tolist() == ["unlearned", "learned_late"]
    assert tuple(table[42].cat.categories) == SOI_CATEGORIES


def test_categories_by_seed_other_taxonomy():
    table = categories_by_seed({0: run(["a"], [[1, 0]])}, taxonomy=FORGETTING)

    assert table.loc["a", 0] == "forgettable"


def test_categories_by_seed_different_ids_raise():
    with pytest.raises(ValueError, match=r"seed 2 has 1 example ids that the first seed lacks, such as \['c'\]"):
        categories_by_seed({1: run(["a", "b"], [[1, 1], [0, 0]]), 2: run(["a", "c"], [[1, 1], [0, 0]])})


def test_categories_by_seed_empty_raises():
    with pytest.raises(ValueError, match=r"dynamics_by_seed is empty"):
        categories_by_seed({})


def test_modal_categories_and_agreement():
    seeds = pd.DataFrame(
        {1: ["x", "y", "z"], 2: ["x", "y", "y"], 3: ["x", "z", "z"], 4: ["y", "y", "x"]},
        index=["a", "b", "c"],
    )

    result = modal_categories(seeds, order=["x", "y", "z"])

    assert result["category"].tolist() == ["x", "y", "z"]
    assert result["agreement"].tolist() == [0.75, 0.75, 0.5]
    assert tuple(result["category"].cat.categories) == ("x", "y", "z")


def test_modal_category_tie_goes_to_first_in_order():
    seeds = pd.DataFrame({1: ["y"], 2: ["x"]})

    assert modal_categories(seeds, order=["x", "y"])["category"].tolist() == ["x"]
    assert modal_categories(seeds, order=["y", "x"])["category"].tolist() == ["y"]


def test_fleiss_kappa_published_example():
    # The worked example of Fleiss' kappa on Wikipedia: 10 subjects, 14 raters, 5
    # categories; it reports P-bar = 0.378, P-bar_e = 0.213 and kappa = 0.210.
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]

    assert fleiss_kappa(ratings_table(counts)) == pytest.approx(0.210, abs=5e-4)


def test_fleiss_kappa_hand_cases():
    agree = pd.DataFrame({1: ["x", "y", "x"], 2: ["x", "y", "x"], 3: ["x", "y", "x"]})
    opposite = pd.DataFrame({1: ["x", "y"], 2: ["y", "x"]})

    assert fleiss_kappa(agree) == 1.0
    # Every example has counts (1, 1): P_i = 0, shares 1/2 each, P_e = 1/2.
    assert fleiss_kappa(opposite) == -1.0


def test_fleiss_kappa_single_category_is_nan():
    assert math.isnan(fleiss_kappa(pd.DataFrame({1: ["x", "x"], 2: ["x", "x"]})))


def test_fleiss_kappa_needs_two_seeds():
    with pytest.raises(ValueError, match=r"Fleiss' kappa needs at least 2 seeds, got 1"):
        fleiss_kappa(pd.DataFrame({1: ["x", "y"]}))


def test_missing_category_in_seed_raises():
    seeds = pd.DataFrame({1: ["x", None], 2: ["x", "y"]}, index=["a", "b"])

    with pytest.raises(ValueError, match=r"seed 1 has 1 examples with no category, such as \['b'\]"):
        modal_categories(seeds)


def test_unknown_category_raises():
    seeds = pd.DataFrame({1: ["x"], 2: ["w"]})

    with pytest.raises(ValueError, match=r"seed 2 has categories \['w'\] that are not in \['x', 'y'\]"):
        modal_categories(seeds, order=["x", "y"])


def test_distribution_over_seeds_hand_computed():
    seeds = pd.DataFrame({1: ["x", "y", "x", "x"], 2: ["x", "y", "y", "x"], 3: ["y", "y", "y", "y"]})

    result = distribution_over_seeds(seeds, order=["x", "y", "z"])

    # Shares of x: 3/4, 2/4, 0; mean 5/12, sample sd sqrt(sum of squared deviations / 2).
    shares = [0.75, 0.5, 0.0]
    mean = sum(shares) / 3
    sd = math.sqrt(sum((share - mean) ** 2 for share in shares) / 2)
    assert result.loc["x", "mean"] == pytest.approx(mean)
    assert result.loc["x", "sd"] == pytest.approx(sd)
    assert result.loc["z", "mean"] == 0.0
    assert result.loc["z", "sd"] == 0.0
    assert result["n_seeds"].tolist() == [3, 3, 3]


def test_distribution_counts_and_single_seed():
    seeds = pd.DataFrame({1: ["x", "y", "x"]})

    counts = category_shares_by_seed(seeds, normalize=False)
    summary = distribution_over_seeds(seeds)

    assert counts[1].tolist() == [2, 1]
    assert summary["sd"].isna().all()


def seed_tables():
    rng = np.random.default_rng(3)
    categories = ["easy", "mid", "hard"]
    ids = [f"ex{i}" for i in range(60)]
    source = pd.DataFrame({seed: rng.choice(categories, 60) for seed in (1, 2, 3)}, index=ids)
    target = pd.DataFrame({seed: rng.choice(categories, 60) for seed in (1, 2, 3)}, index=ids)
    return source, target.sample(frac=1.0, random_state=0), categories


def test_pooled_counts_are_sum_over_seeds():
    source, target, categories = seed_tables()

    result = transitions_over_seeds(source, target, categories=categories, n_resamples=50)

    expected = sum(
        transition_matrix(source[seed], target[seed], categories=categories).to_numpy()
        for seed in (1, 2, 3)
    )
    np.testing.assert_array_equal(result.counts.to_numpy(), expected)
    np.testing.assert_allclose(result.fractions.to_numpy(), expected / expected.sum(axis=1, keepdims=True))
    assert result.seeds == (1, 2, 3)


def test_intervals_bracket_fractions_and_are_seeded():
    source, target, categories = seed_tables()

    first = transitions_over_seeds(source, target, categories=categories, n_resamples=300, seed=5)
    again = transitions_over_seeds(source, target, categories=categories, n_resamples=300, seed=5)
    other = transitions_over_seeds(source, target, categories=categories, n_resamples=300, seed=6)

    assert (first.lower.to_numpy() <= first.fractions.to_numpy()).all()
    assert (first.fractions.to_numpy() <= first.upper.to_numpy()).all()
    pd.testing.assert_frame_equal(first.lower, again.lower)
    assert not first.lower.equals(other.lower)


def test_intervals_agree_with_naive_bootstrap():
    source, target, categories = seed_tables()
    target = target.loc[source.index]
    resamples = 2000

    result = transitions_over_seeds(source, target, categories=categories, n_resamples=resamples, seed=0)

    # Reference: resample example rows one by one and recount every seed pair.
    rng = np.random.default_rng(123)
    position = {category: i for i, category in enumerate(categories)}
    rows = np.array([[position[value] for value in source[seed]] for seed in source.columns]).T
    columns = np.array([[position[value] for value in target[seed]] for seed in target.columns]).T
    fractions = np.empty((resamples, 3, 3))
    for replicate in range(resamples):
        drawn = rng.integers(0, len(source), len(source))
        counts = np.zeros((3, 3))
        for seed in range(rows.shape[1]):
            np.add.at(counts, (rows[drawn, seed], columns[drawn, seed]), 1)
        fractions[replicate] = counts / counts.sum(axis=1, keepdims=True)
    lower = np.quantile(fractions, 0.025, axis=0)
    upper = np.quantile(fractions, 0.975, axis=0)

    # Two independent Monte Carlo estimates of the same quantiles.
    np.testing.assert_allclose(result.lower.to_numpy(), lower, atol=0.03)
    np.testing.assert_allclose(result.upper.to_numpy(), upper, atol=0.03)


def test_empty_row_has_no_interval():
    source = pd.DataFrame({1: ["easy", "easy"], 2: ["easy", "easy"]}, index=["a", "b"])
    target = pd.DataFrame({1: ["easy", "hard"], 2: ["hard", "hard"]}, index=["a", "b"])

    result = transitions_over_seeds(source, target, categories=["easy", "hard"], n_resamples=100)

    assert result.fractions.loc["hard"].isna().all()
    assert result.lower.loc["hard"].isna().all()
    assert result.fractions.loc["easy"].tolist() == [0.25, 0.75]


def test_transitions_axis_names():
    source, target, categories = seed_tables()

    result = transitions_over_seeds(source, target, n_resamples=10, source_name="single", target_name="multi")

    assert result.counts.index.name == "single"
    assert result.upper.columns.name == "multi"
    assert result.counts.index.tolist() == sorted(categories)


def test_transitions_different_seeds_raise():
    source = pd.DataFrame({1: ["x"], 2: ["x"]})
    target = pd.DataFrame({1: ["x"], 3: ["x"]})

    with pytest.raises(ValueError, match=r"source has the seeds \[1, 2\] and target \[1, 3\]"):
        transitions_over_seeds(source, target)


def test_transitions_different_ids_raise():
    source = pd.DataFrame({1: ["x"]}, index=["a"])
    target = pd.DataFrame({1: ["x"]}, index=["b"])

    with pytest.raises(ValueError, match=r"target has 1 example ids that the first seed lacks"):
        transitions_over_seeds(source, target)


def test_transitions_without_examples_raise():
    empty = pd.DataFrame({1: pd.Series([], dtype=object)})

    with pytest.raises(ValueError, match=r"source and target have no rows"):
        transitions_over_seeds(empty, empty, categories=["x"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_resamples": 0}, r"n_resamples must be a positive integer, got 0"),
        ({"confidence_level": 1.0}, r"confidence_level must lie strictly between 0 and 1, got 1.0"),
    ],
)
def test_transitions_invalid_options_raise(options, message):
    source = pd.DataFrame({1: ["x"]})

    with pytest.raises(ValueError, match=message):
        transitions_over_seeds(source, source, **options)
