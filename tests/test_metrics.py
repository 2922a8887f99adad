"""Tests of soi.metrics against hand-computed values and a per-example reference."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from soi.dynamics import MISSING_PREDICTION, Dynamics
from soi.metrics import (
    CARTOGRAPHY_CONVENTIONS,
    METRIC_COLUMNS,
    SOI_CONVENTIONS,
    Conventions,
    compute_metrics,
    confidence,
    correctness,
    first_learned_epoch,
    forgetting_events,
    metrics_from_dynamics,
    gold_prob_moments,
    never_learned,
    threshold_closeness,
    variability,
)


def test_confidence_hand_computed():
    gold_prob = np.array([[0.2, 0.6, 1.0], [0.5, 0.5, 0.5], [0.0, 0.3, 0.3]])

    # (0.2 + 0.6 + 1.0) / 3 = 0.6, 1.5 / 3 = 0.5, 0.6 / 3 = 0.2
    np.testing.assert_allclose(confidence(gold_prob), [0.6, 0.5, 0.2])


def test_variability_is_population_std():
    gold_prob = np.array([[0.2, 0.6, 1.0], [0.5, 0.5, 0.5], [0.0, 0.3, 0.3]])

    # Deviations from the mean 0.6 are -0.4, 0, 0.4, divided by E = 3 (not E - 1 = 2).
    first = math.sqrt((0.4**2 + 0.0 + 0.4**2) / 3)
    # Deviations from the mean 0.2 are -0.2, 0.1, 0.1.
    third = math.sqrt((0.2**2 + 0.1**2 + 0.1**2) / 3)
    np.testing.assert_allclose(variability(gold_prob), [first, 0.0, third])


def test_correctness_uses_argmax_not_half():
    # Three labels, gold label 0, two epochs. Each row of the last axis sums to 1.
    class_probs = np.array(
        [
            [[0.45, 0.30, 0.25], [0.45, 0.30, 0.25]],  # gold below 0.5 but the argmax
            [[0.35, 0.40, 0.25], [0.35, 0.40, 0.25]],  # gold not the argmax
            [[0.55, 0.40, 0.05], [0.20, 0.70, 0.10]],  # right, then wrong
        ]
    )
    gold = np.zeros(3, dtype=np.int64)
    dyn = Dynamics(
        example_ids=["argmax", "runner_up", "dropped"],
        epochs=[1, 2],
        gold=gold,
        gold_prob=class_probs[:, :, 0],
        predicted=class_probs.argmax(axis=2),
    )

    table = metrics_from_dynamics(dyn)

    assert table.loc["argmax", "correctness"] == 1.0
    assert table.loc["runner_up", "correctness"] == 0.0
    assert table.loc["dropped", "correctness"] == 0.5
    assert table.loc["dropped", "forgetting_events"] == 1


def test_correctness_fraction_of_epochs():
    correct = np.array([[True, False, True, True], [False, False, False, False]])

    np.testing.assert_allclose(correctness(correct), [0.75, 0.0])


def test_forgetting_events_hand_cases():
    correct = np.array(
        [
            [1, 0, 1, 0],  # two 1 -> 0 steps
            [0, 0, 0, 0],  # never correct
            [1, 1, 1, 1],  # never forgotten
            [0, 1, 1, 0],  # forgotten at the last step
            [1, 0, 0, 0],  # forgotten once, never relearned
            [0, 1, 0, 1],  # one forgetting event between two learnings
        ]
    )

    np.testing.assert_array_equal(forgetting_events(correct), [2, 0, 0, 1, 1, 1])


def test_never_learned_flags_zero_forgetting():
    correct = np.array([[0, 0, 0], [0, 0, 1], [1, 1, 1]])

    np.testing.assert_array_equal(never_learned(correct), [True, False, False])
    np.testing.assert_array_equal(forgetting_events(correct), [0, 0, 0])


def test_first_learned_epoch_hand_cases():
    correct = np.array([[0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 1, 1]])

    result = first_learned_epoch(correct)

    assert result.dtype == "Int64"
    assert result[0] == 3
    assert result[1] is pd.NA
    assert result[2] == 1
    assert result[3] == 2


def test_compute_metrics_hand_computed_table():
    gold_prob = np.array([[0.2, 0.6, 1.0], [0.9, 0.1, 0.8], [0.1, 0.2, 0.3]])
    correct = np.array([[False, True, True], [True, False, True], [False, False, False]])

    table = compute_metrics(gold_prob, correct, example_ids=["a", "b", "c"])

    assert table.index.name == "example_id"
    assert table.index.tolist() == ["a", "b", "c"]
    assert tuple(table.columns) == METRIC_COLUMNS
    np.testing.assert_allclose(table["confidence"], [0.6, 0.6, 0.2], rtol=1e-6)
    np.testing.assert_allclose(
        table["variability"],
        [
            math.sqrt((0.4**2 + 0.4**2) / 3),
            math.sqrt((0.3**2 + 0.5**2 + 0.2**2) / 3),
            math.sqrt((0.1**2 + 0.1**2) / 3),
        ],
        rtol=1e-6,
    )
    np.testing.assert_allclose(table["correctness"], [2 / 3, 2 / 3, 0.0], rtol=1e-6)
    assert table["forgetting_events"].tolist() == [0, 1, 0]
    assert table["never_learned"].tolist() == [False, False, True]
    assert table["first_learned_epoch"].tolist() == [2, 1, pd.NA]
    assert table["correct_last"].tolist() == [True, True, False]


def test_compute_metrics_column_dtypes():
    gold_prob = np.array([[0.2, 0.6], [0.9, 0.1]])
    correct = np.array([[False, True], [True, False]])

    table = compute_metrics(gold_prob, correct)

    for column in ("confidence", "variability", "correctness"):
        assert table[column].dtype == np.float32, column
    assert table["forgetting_events"].dtype == np.int64
    assert table["never_learned"].dtype == bool
    assert table["correct_last"].dtype == bool
    assert table["first_learned_epoch"].dtype == "Int64"


def test_compute_metrics_default_index():
    table = compute_metrics(np.full((3, 2), 0.5), np.ones((3, 2), dtype=bool))

    assert table.index.name == "example_id"
    assert table.index.tolist() == [0, 1, 2]


def test_compute_metrics_accepts_zero_one_integers():
    as_int = compute_metrics(np.full((2, 3), 0.5), np.array([[0, 1, 0], [1, 1, 1]]))
    as_bool = compute_metrics(np.full((2, 3), 0.5), np.array([[0, 1, 0], [1, 1, 1]], dtype=bool))

    pd.testing.assert_frame_equal(as_int, as_bool)


@pytest.mark.parametrize("num_epochs", [2, 3, 4, 5, 6])
def test_metrics_match_per_example_reference(num_epochs):
    sequences = np.array(list(itertools.product([0, 1], repeat=num_epochs)), dtype=bool)
    rng = np.random.default_rng(0)
    gold_prob = rng.uniform(size=sequences.shape)

    # Straightforward per-example reference, one sequence at a time.
    events, never, first, last = [], [], [], []
    for sequence in sequences.tolist():
        events.append(sum(1 for t in range(num_epochs - 1) if sequence[t] and not sequence[t + 1]))
        learned_at = [t + 1 for t, value in enumerate(sequence) if value]
        never.append(not learned_at)
        first.append(learned_at[0] if learned_at else np.nan)
        last.append(sequence[-1])

    table = compute_metrics(gold_prob, sequences)

    np.testing.assert_array_equal(table["forgetting_events"], events)
    np.testing.assert_array_equal(table["never_learned"], never)
    np.testing.assert_array_equal(
        table["first_learned_epoch"].to_numpy(dtype=float, na_value=np.nan), first
    )
    np.testing.assert_array_equal(table["correct_last"], last)
    np.testing.assert_allclose(table["correctness"], sequences.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(
        table["confidence"], [np.mean(row) for row in gold_prob], rtol=1e-6
    )
    np.testing.assert_allclose(
        table["variability"], [np.std(row) for row in gold_prob], rtol=1e-5, atol=1e-7
    )


def test_one_epoch_raises():
    with pytest.raises(ValueError, match=r"1 epoch\(s\), but at least 2 are needed"):
        compute_metrics(np.array([[0.5], [0.7]]), np.array([[True], [False]]))


def test_one_epoch_raises_in_small_functions():
    with pytest.raises(ValueError, match=r"correct has 1 epoch\(s\)"):
        forgetting_events(np.array([[True]]))
    with pytest.raises(ValueError, match=r"gold_prob has 1 epoch\(s\)"):
        variability(np.array([[0.5]]))


def test_one_dimensional_input_raises():
    with pytest.raises(ValueError, match=r"2-D \(examples, epochs\) array, got shape \(3,\)"):
        confidence(np.array([0.1, 0.2, 0.3]))


def test_missing_gold_prob_raises_with_count():
    gold_prob = np.array([[0.1, np.nan, 0.3], [np.nan, 0.2, 0.2]])

    with pytest.raises(ValueError, match=r"2 missing \(NaN\) cells out of 6"):
        compute_metrics(gold_prob, np.zeros((2, 3), dtype=bool))


def test_missing_dynamics_cell_raises_with_count():
    dyn = Dynamics(
        example_ids=["a", "b"],
        epochs=[1, 2],
        gold=[0, 1],
        gold_prob=[[0.3, np.nan], [0.6, 0.2]],
        predicted=[[1, MISSING_PREDICTION], [1, 0]],
    )

    with pytest.raises(ValueError, match=r"1 missing \(example, epoch\) cells out of 4"):
        metrics_from_dynamics(dyn)


def test_probability_outside_unit_interval_raises():
    with pytest.raises(ValueError, match=r"1 values outside \[0, 1\], such as 2\.5"):
        compute_metrics(np.array([[0.1, 2.5]]), np.array([[False, True]]))


def test_non_binary_correct_raises():
    with pytest.raises(ValueError, match=r"only 0/1 or True/False, found 1 other values such as 2"):
        forgetting_events(np.array([[0, 2]]))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"gold_prob has shape \(2, 3\) but correct has shape"):
        compute_metrics(np.full((2, 3), 0.5), np.ones((2, 4), dtype=bool))


def test_duplicate_example_ids_raise():
    with pytest.raises(ValueError, match=r"found 1 duplicates such as \['a'\]"):
        compute_metrics(np.full((2, 2), 0.5), np.ones((2, 2), dtype=bool), ["a", "a"])


def test_wrong_number_of_ids_raises():
    with pytest.raises(ValueError, match=r"example_ids has 1 ids, but the matrices have 2 rows"):
        compute_metrics(np.full((2, 2), 0.5), np.ones((2, 2), dtype=bool), ["a"])


def test_correctness_count_convention():
    correct = np.array([[True, False, True, True], [False, False, False, False]])

    table = compute_metrics(np.full((2, 4), 0.5), correct, conventions=Conventions(correctness="count"))

    assert table["correctness"].tolist() == [3, 0]
    assert table["correctness"].dtype == np.int64
    np.testing.assert_array_equal(correctness(correct, count=True), [3, 0])


def test_never_learned_forgetting_sentinel():
    correct = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 1, 1]])
    conventions = Conventions(never_learned_forgetting=1000)

    table = compute_metrics(np.full((3, 4), 0.5), correct, conventions=conventions)

    assert table["forgetting_events"].tolist() == [2, 1000, 0]
    assert table["never_learned"].tolist() == [False, True, False]
    np.testing.assert_array_equal(forgetting_events(correct, never_learned_count=1000), [2, 1000, 0])


def test_variability_ci_variant_hand_computed():
    gold_prob = np.array([[0.2, 0.6, 1.0], [0.5, 0.5, 0.5]])
    # Population variance of the first row: (0.16 + 0 + 0.16) / 3; E - 1 = 2.
    var = 0.32 / 3
    expected = [math.sqrt(var + var * var / 2), 0.0]

    np.testing.assert_allclose(variability(gold_prob, estimator="ci"), expected)
    table = compute_metrics(gold_prob, gold_prob > 0.5, conventions=Conventions(variability="ci"))
    np.testing.assert_allclose(table["variability"], expected, rtol=1e-6)


def test_threshold_closeness_hand_computed():
    gold_prob = np.array([[0.2, 0.6, 1.0], [0.0, 0.0, 0.3]])

    # Means 0.6 and 0.1: 0.6 * 0.4 = 0.24 and 0.1 * 0.9 = 0.09.
    np.testing.assert_allclose(threshold_closeness(gold_prob), [0.24, 0.09])
    table = compute_metrics(gold_prob, gold_prob > 0.5, conventions=CARTOGRAPHY_CONVENTIONS)
    assert table.columns[-1] == "threshold_closeness"
    np.testing.assert_allclose(table["threshold_closeness"], [0.24, 0.09], rtol=1e-6)


def test_default_table_has_no_threshold_closeness():
    table = compute_metrics(np.full((1, 2), 0.5), np.ones((1, 2), dtype=bool))

    assert tuple(table.columns) == METRIC_COLUMNS


def test_burn_out_uses_first_epochs_only():
    gold_prob = np.array([[0.2, 0.6, 1.0, 0.0]])
    correct = np.array([[False, True, True, False]])

    table = compute_metrics(gold_prob, correct, conventions=Conventions(burn_out=2))

    # Epochs 1 and 2 only: mean 0.4, population std 0.2, correct once, never forgotten.
    assert table["confidence"].iloc[0] == pytest.approx(0.4)
    assert table["variability"].iloc[0] == pytest.approx(0.2)
    assert table["correctness"].iloc[0] == pytest.approx(0.5)
    assert table["forgetting_events"].iloc[0] == 0
    assert table["correct_last"].iloc[0]
    assert compute_metrics(gold_prob, correct)["forgetting_events"].iloc[0] == 1


def test_burn_out_larger_than_epochs_raises():
    with pytest.raises(ValueError, match=r"burn_out 5 is larger than the 3 epochs of gold_prob"):
        compute_metrics(np.full((1, 3), 0.5), np.ones((1, 3), dtype=bool), conventions=Conventions(burn_out=5))


def test_cartography_conventions_values():
    assert CARTOGRAPHY_CONVENTIONS == Conventions(
        correctness="count", variability="std", never_learned_forgetting=1000,
        burn_out=None, threshold_closeness=True,
    )
    assert SOI_CONVENTIONS == Conventions()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"correctness": "share"}, r"correctness convention 'share' is not one of \['fraction', 'count'\]"),
        ({"variability": "sd"}, r"variability convention 'sd' is not one of \['std', 'ci'\]"),
        ({"never_learned_forgetting": -1}, r"never_learned_forgetting must be None or a non-negative integer, got -1"),
        ({"never_learned_forgetting": True}, r"never_learned_forgetting must be None or a non-negative integer, got True"),
        ({"burn_out": 1}, r"burn_out must be None or an integer of at least 2, got 1"),
        ({"burn_out": 2.5}, r"burn_out must be None or an integer of at least 2, got 2\.5"),
        ({"threshold_closeness": "yes"}, r"threshold_closeness must be True or False, got 'yes'"),
    ],
)
def test_invalid_conventions_raise(options, message):
    with pytest.raises(ValueError, match=message):
        Conventions(**options)


def test_conventions_of_wrong_type_raise():
    with pytest.raises(TypeError, match=r"conventions must be a soi.metrics.Conventions, got dict"):
        compute_metrics(np.full((1, 2), 0.5), np.ones((1, 2), dtype=bool), conventions={"burn_out": 2})


def test_unknown_variability_estimator_raises():
    with pytest.raises(ValueError, match=r"variability estimator 'var' is not one of"):
        variability(np.full((1, 2), 0.5), estimator="var")


def test_float32_input_matches_float64():
    rng = np.random.default_rng(1)
    gold_prob = rng.uniform(size=(50, 7)).astype(np.float32)
    correct = rng.uniform(size=(50, 7)) < 0.5

    as_float32 = compute_metrics(gold_prob, correct)
    as_float64 = compute_metrics(gold_prob.astype(np.float64), correct)

    pd.testing.assert_frame_equal(as_float32, as_float64)


def test_moments_match_numpy_across_blocks():
    rng = np.random.default_rng(2)
    # More rows than one block of gold_prob_moments, so that several blocks are used.
    gold_prob = rng.uniform(size=(70_000, 3)).astype(np.float32)

    mean, variance = gold_prob_moments(gold_prob)

    as_float64 = gold_prob.astype(np.float64)
    np.testing.assert_allclose(mean, as_float64.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(variance, as_float64.var(axis=1), rtol=1e-9, atol=1e-15)


def test_metrics_from_dynamics_with_conventions():
    dyn = Dynamics(
        example_ids=["a", "b"],
        epochs=[1, 2, 3],
        gold=[0, 1],
        gold_prob=[[0.3, 0.7, 0.6], [0.2, 0.1, 0.3]],
        predicted=[[1, 0, 0], [0, 0, 0]],
    )

    table = metrics_from_dynamics(dyn, conventions=CARTOGRAPHY_CONVENTIONS)

    assert table["correctness"].to_dict() == {"a": 2, "b": 0}
    assert table["forgetting_events"].to_dict() == {"a": 0, "b": 1000}


matrices = st.integers(1, 30).flatmap(
    lambda rows: st.integers(2, 8).flatmap(
        lambda epochs: st.tuples(
            hnp.arrays(np.float32, (rows, epochs), elements=st.floats(0, 1, width=32)),
            hnp.arrays(np.bool_, (rows, epochs)),
            st.permutations(range(rows)),
        )
    )
)
conventions_strategy = st.builds(
    Conventions,
    correctness=st.sampled_from(["fraction", "count"]),
    variability=st.sampled_from(["std", "ci"]),
    never_learned_forgetting=st.sampled_from([None, 1000]),
    threshold_closeness=st.booleans(),
)


@settings(max_examples=80, deadline=None)
@given(data=matrices, conventions=conventions_strategy)
def test_metrics_invariant_to_example_order(data, conventions):
    gold_prob, correct, order = data
    ids = [f"ex{i}" for i in range(len(gold_prob))]
    order = list(order)

    original = compute_metrics(gold_prob, correct, ids, conventions=conventions)
    shuffled = compute_metrics(
        gold_prob[order], correct[order], [ids[i] for i in order], conventions=conventions
    )

    pd.testing.assert_frame_equal(shuffled.loc[ids], original, check_exact=False, rtol=1e-6)
