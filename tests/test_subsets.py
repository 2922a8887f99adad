"""Tests of soi.subsets: the SOI taxonomy, custom taxonomies and their checks."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from soi.dynamics import MISSING_PREDICTION, Dynamics
from soi.metrics import CARTOGRAPHY_CONVENTIONS, SOI_CONVENTIONS, compute_metrics
from soi.subsets import (
    BUILTIN_TAXONOMIES,
    CARTOGRAPHY_REGIONS,
    FORGETTING,
    SOI,
    SOI_CATEGORIES,
    Rule,
    Taxonomy,
    assign_categories,
    cartography_regions,
    categories_from_dynamics,
    categorize,
    compute_features,
)


def reference_category(sequence: list[int], split: int) -> str:
    """Classify one correctness sequence by reading the SOI definitions literally."""
    if all(sequence):
        return "always_correct"
    if not any(sequence):
        return "unlearned"

    forgets = any(sequence[t] == 1 and sequence[t + 1] == 0 for t in range(len(sequence) - 1))
    if forgets:
        return "forgettable" if sequence[-1] == 1 else "forgotten"

    first = sequence.index(1) + 1
    assert first > 1  # no forgetting and correct at epoch 1 means always correct
    return "learned_early" if first <= split else "learned_late"


def all_sequences(num_epochs: int) -> np.ndarray:
    return np.array(list(itertools.product([0, 1], repeat=num_epochs)), dtype=bool)


def test_soi_category_order():
    assert SOI_CATEGORIES == (
        "always_correct",
        "learned_early",
        "learned_late",
        "forgettable",
        "forgotten",
        "unlearned",
    )
    assert SOI.categories == SOI_CATEGORIES


@pytest.mark.parametrize("num_epochs", range(2, 9))
def test_every_sequence_matches_one_rule(num_epochs):
    features = compute_features(all_sequences(num_epochs))

    matches = np.column_stack([features.eval(rule.expression) for rule in SOI.rules])

    np.testing.assert_array_equal(matches.sum(axis=1), 1)


@pytest.mark.parametrize("num_epochs", range(2, 9))
def test_default_split_matches_reference(num_epochs):
    sequences = all_sequences(num_epochs)
    split = math.ceil(num_epochs / 2)
    expected = [reference_category(row, split) for row in sequences.astype(int).tolist()]

    result = assign_categories(sequences)

    assert result.tolist() == expected


@pytest.mark.parametrize(
    ("num_epochs", "split"),
    [(num_epochs, split) for num_epochs in range(2, 9) for split in range(1, num_epochs)],
)
def test_every_split_matches_reference(num_epochs, split):
    sequences = all_sequences(num_epochs)
    expected = [reference_category(row, split) for row in sequences.astype(int).tolist()]

    result = assign_categories(sequences, split=split)

    assert result.tolist() == expected


@pytest.mark.parametrize(
    ("sequence", "category"),
    [
        ([1, 1, 1, 1], "always_correct"),
        ([0, 1, 1, 1], "learned_early"),  # f = 2 <= s = 2
        ([0, 0, 1, 1], "learned_late"),  # f = 3 > s = 2
        ([0, 0, 0, 1], "learned_late"),
        ([1, 0, 1, 1], "forgettable"),
        ([1, 0, 0, 1], "forgettable"),
        ([0, 1, 0, 1], "forgettable"),  # learned early, forgotten, relearned
        ([1, 1, 1, 0], "forgotten"),
        ([1, 0, 1, 0], "forgotten"),  # two forgetting events
        ([0, 0, 0, 0], "unlearned"),
    ],
)
def test_hand_cases_four_epochs(sequence, category):
    result = assign_categories(np.array([sequence], dtype=bool))

    assert result.iloc[0] == category


def test_default_split_rounds_up():
    # E = 5 gives s = ceil(5 / 2) = 3.
    correct = np.array([[0, 0, 1, 1, 1], [0, 0, 0, 1, 1]], dtype=bool)

    assert assign_categories(correct).tolist() == ["learned_early", "learned_late"]


def test_explicit_split_moves_boundary():
    correct = np.array([[0, 0, 1, 1, 1], [0, 1, 1, 1, 1]], dtype=bool)

    assert assign_categories(correct, split=2).tolist() == ["learned_late", "learned_early"]
    assert assign_categories(correct, split=1).tolist() == ["learned_late", "learned_late"]


def test_two_epochs_have_no_learned_early():
    result = assign_categories(all_sequences(2))

    assert result.tolist() == ["unlearned", "learned_late", "forgotten", "always_correct"]


def test_result_is_ordered_categorical():
    correct = np.array([[0, 0], [1, 1]], dtype=bool)

    result = assign_categories(correct, example_ids=["x", "y"])

    assert isinstance(result.dtype, pd.CategoricalDtype)
    assert tuple(result.cat.categories) == SOI_CATEGORIES
    assert result.index.name == "example_id"
    assert result.index.tolist() == ["x", "y"]
    assert result.name == "category"
    assert result.to_dict() == {"x": "unlearned", "y": "always_correct"}


def test_features_never_correct_gives_nan():
    features = compute_features(np.array([[0, 0, 0], [0, 1, 1]], dtype=bool))

    assert math.isnan(features["first_learned_epoch"].iloc[0])
    assert features["first_learned_epoch"].iloc[1] == 2.0
    assert not features.eval("first_learned_epoch > split").iloc[0]


def test_features_columns_with_gold_prob():
    gold_prob = np.array([[0.2, 0.6, 1.0]])
    features = compute_features(np.array([[0, 1, 1]], dtype=bool), gold_prob=gold_prob)

    assert features["n_epochs"].iloc[0] == 3
    assert features["split"].iloc[0] == 2
    assert features["forgetting_events"].iloc[0] == 0
    assert features["correct_last"].iloc[0]
    assert not features["always_correct"].iloc[0]
    assert not features["never_correct"].iloc[0]
    assert features["correctness"].iloc[0] == pytest.approx(2 / 3)
    assert features["confidence"].iloc[0] == pytest.approx(0.6)
    assert features["variability"].iloc[0] == pytest.approx(math.sqrt(0.32 / 3))


def test_custom_taxonomy_on_confidence():
    confident = Taxonomy(
        "confident",
        [
            Rule("sure", "confidence >= 0.5", "mean gold probability at least one half"),
            Rule("unsure", "confidence < 0.5", "mean gold probability below one half"),
        ],
    )
    gold_prob = np.array([[0.9, 0.8], [0.1, 0.3]])
    correct = np.array([[1, 1], [0, 0]], dtype=bool)

    result = assign_categories(correct, taxonomy=confident, gold_prob=gold_prob)

    assert result.tolist() == ["sure", "unsure"]
    assert tuple(result.cat.categories) == ("sure", "unsure")
    assert isinstance(confident.rules, tuple)


def test_constant_expression_selects_every_example():
    everything = Taxonomy("everything", (Rule("all", "True"),))

    result = assign_categories(np.array([[0, 1], [1, 0]], dtype=bool), taxonomy=everything)

    assert result.tolist() == ["all", "all"]


def test_overlapping_taxonomy_shows_example():
    overlapping = Taxonomy(
        "overlapping",
        (
            Rule("ends_correct", "correct_last"),
            Rule("ever_correct", "not never_correct"),
            Rule("never", "never_correct"),
        ),
    )
    correct = np.array([[0, 0], [1, 1]], dtype=bool)

    with pytest.raises(
        ValueError,
        match=(
            r"taxonomy 'overlapping' must put every example in exactly one category, but "
            r"0 of 2 examples match no rule and 1 match several:\n"
            r"  example 'b' with correctness 11 \(epoch 1 first\) matches "
            r"'ends_correct', 'ever_correct'"
        ),
    ):
        assign_categories(correct, taxonomy=overlapping, example_ids=["a", "b"])


def test_non_exhaustive_taxonomy_shows_example():
    partial = Taxonomy("partial", (Rule("always", "always_correct"),))
    correct = np.array([[1, 1, 1], [0, 1, 0]], dtype=bool)

    with pytest.raises(
        ValueError,
        match=(
            r"1 of 2 examples match no rule and 0 match several:\n"
            r"  example 'q' with correctness 010 \(epoch 1 first\) matches no rule"
        ),
    ):
        assign_categories(correct, taxonomy=partial, example_ids=["p", "q"])


def test_error_lists_at_most_five_examples():
    partial = Taxonomy("partial", (Rule("always", "always_correct"),))
    correct = np.zeros((8, 2), dtype=bool)

    with pytest.raises(ValueError, match=r"8 of 8 examples match no rule") as info:
        assign_categories(correct, taxonomy=partial)

    assert str(info.value).count("matches no rule") == 5


def test_one_epoch_raises():
    with pytest.raises(ValueError, match=r"correct has 1 epoch\(s\), but at least 2 are needed"):
        assign_categories(np.array([[True], [False]]))


@pytest.mark.parametrize("split", [0, 4, -1])
def test_split_outside_range_raises(split):
    with pytest.raises(ValueError, match=rf"split {split} is outside 1\.\.3 for 4 epochs"):
        assign_categories(np.ones((1, 4), dtype=bool), split=split)


@pytest.mark.parametrize("split", [2.0, True, "2"])
def test_split_not_integer_raises(split):
    with pytest.raises(TypeError, match=r"split must be an integer epoch number"):
        assign_categories(np.ones((1, 4), dtype=bool), split=split)


def test_split_accepts_numpy_integer():
    result = assign_categories(np.array([[0, 1, 1, 1]], dtype=bool), split=np.int64(1))

    assert result.iloc[0] == "learned_late"


def test_unknown_column_names_rule_and_expression():
    broken = Taxonomy("broken", (Rule("typo", "forgeting_events > 0"),))

    with pytest.raises(
        ValueError,
        match=r"rule 'typo' of taxonomy 'broken' failed to evaluate 'forgeting_events > 0'",
    ):
        assign_categories(np.ones((1, 2), dtype=bool), taxonomy=broken)


def test_confidence_rule_without_gold_prob_raises():
    needs_prob = Taxonomy("needs_prob", (Rule("sure", "confidence > 0.5"),))

    with pytest.raises(ValueError, match=r"\(confidence and variability need gold_prob\)"):
        assign_categories(np.ones((1, 2), dtype=bool), taxonomy=needs_prob)


def test_unknown_column_with_gold_prob_has_no_hint():
    broken = Taxonomy("broken", (Rule("typo", "confidance > 0.5"),))

    with pytest.raises(ValueError, match=r"'variability'\]$"):
        assign_categories(np.ones((1, 2), dtype=bool), taxonomy=broken, gold_prob=np.ones((1, 2)))


def test_syntax_error_names_rule():
    broken = Taxonomy("broken", (Rule("bad", "correct_last and"),))

    with pytest.raises(ValueError, match=r"rule 'bad' of taxonomy 'broken' failed to evaluate"):
        assign_categories(np.ones((1, 2), dtype=bool), taxonomy=broken)


def test_non_boolean_expression_raises():
    numeric = Taxonomy("numeric", (Rule("count", "forgetting_events + 1"),))

    with pytest.raises(ValueError, match=r"rule 'count' .* to dtype int64 .* expected one True"):
        assign_categories(np.ones((1, 2), dtype=bool), taxonomy=numeric)


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_rule_name_raises(name):
    with pytest.raises(ValueError, match=r"rule name must be a non-empty string"):
        Rule(name, "correct_last")


def test_empty_expression_raises():
    with pytest.raises(ValueError, match=r"rule 'x' has expression ''"):
        Rule("x", "")


def test_duplicate_rule_names_raise():
    with pytest.raises(ValueError, match=r"taxonomy 'twice' repeats the rule names \['a'\]"):
        Taxonomy("twice", (Rule("a", "correct_last"), Rule("a", "not correct_last")))


def test_empty_taxonomy_raises():
    with pytest.raises(ValueError, match=r"taxonomy 'none' has no rules"):
        Taxonomy("none", ())


def test_categories_from_dynamics():
    dyn = Dynamics(
        example_ids=["a", "b", "c"],
        epochs=[1, 2, 3],
        gold=[0, 1, 2],
        gold_prob=[[0.3, 0.7, 0.8], [0.6, 0.2, 0.1], [0.9, 0.9, 0.9]],
        predicted=[[1, 0, 0], [1, 0, 0], [2, 2, 2]],
    )

    result = categories_from_dynamics(dyn)

    assert result.to_dict() == {"a": "learned_early", "b": "forgotten", "c": "always_correct"}


def test_categories_from_dynamics_missing_cell_raises():
    dyn = Dynamics(
        example_ids=["a"],
        epochs=[1, 2],
        gold=[0],
        gold_prob=[[0.3, np.nan]],
        predicted=[[0, MISSING_PREDICTION]],
    )

    with pytest.raises(ValueError, match=r"1 missing \(example, epoch\) cells out of 2"):
        categories_from_dynamics(dyn)


def test_forgetting_taxonomy_hand_cases():
    correct = np.array([[0, 1, 1], [1, 0, 1], [0, 0, 0], [1, 1, 1], [1, 0, 0]], dtype=bool)

    result = assign_categories(correct, taxonomy=FORGETTING)

    assert result.tolist() == [
        "unforgettable", "forgettable", "never_learned", "unforgettable", "forgettable"
    ]
    assert tuple(result.cat.categories) == ("unforgettable", "forgettable", "never_learned")


@pytest.mark.parametrize("conventions", [SOI_CONVENTIONS, CARTOGRAPHY_CONVENTIONS])
def test_forgetting_taxonomy_on_metrics_table(conventions):
    correct = np.array([[0, 1, 1], [1, 0, 1], [0, 0, 0]], dtype=bool)
    table = compute_metrics(np.full((3, 3), 0.5), correct, conventions=conventions)

    result = categorize(table, FORGETTING)

    assert result.tolist() == ["unforgettable", "forgettable", "never_learned"]


def test_cartography_regions_boundaries():
    table = pd.DataFrame(
        {
            "confidence": [0.9, 0.5, 0.49, 0.9, 0.1, 0.3],
            "variability": [0.0, 0.19, 0.1, 0.2, 0.45, 0.199],
        },
        index=list("abcdef"),
    )

    result = categorize(table, CARTOGRAPHY_REGIONS)

    # Variability 0.2 is ambiguous and confidence 0.5 is easy: both thresholds are inclusive.
    assert result.to_dict() == {
        "a": "easy_to_learn",
        "b": "easy_to_learn",
        "c": "hard_to_learn",
        "d": "ambiguous",
        "e": "ambiguous",
        "f": "hard_to_learn",
    }


def test_cartography_regions_custom_thresholds():
    regions = cartography_regions(confidence_threshold=0.8, variability_threshold=0.1)
    table = pd.DataFrame({"confidence": [0.7, 0.85, 0.9], "variability": [0.05, 0.05, 0.15]})

    assert categorize(table, regions).tolist() == ["hard_to_learn", "easy_to_learn", "ambiguous"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"confidence_threshold": 1.5}, r"confidence_threshold must be a number in \[0, 1.0\], got 1.5"),
        ({"variability_threshold": 0.6}, r"variability_threshold must be a number in \[0, 0.5\], got 0.6"),
        ({"variability_threshold": "0.2"}, r"variability_threshold must be a number"),
    ],
)
def test_cartography_regions_invalid_thresholds(options, message):
    with pytest.raises(ValueError, match=message):
        cartography_regions(**options)


def test_categories_from_dynamics_with_regions():
    dyn = Dynamics(
        example_ids=["a", "b"],
        epochs=[1, 2],
        gold=[0, 1],
        gold_prob=[[0.9, 0.95], [0.1, 0.9]],
        predicted=[[0, 0], [0, 1]],
    )

    result = categories_from_dynamics(dyn, CARTOGRAPHY_REGIONS)

    # b: mean 0.5, population std 0.4.
    assert result.to_dict() == {"a": "easy_to_learn", "b": "ambiguous"}


def test_categorize_reads_missing_integers_as_nan():
    table = compute_metrics(np.full((2, 2), 0.5), np.array([[0, 0], [0, 1]], dtype=bool), ["x", "y"])
    speed = Taxonomy(
        "speed",
        (
            Rule("late", "first_learned_epoch >= 2"),
            Rule("not_late", "not (first_learned_epoch >= 2)"),
        ),
    )

    # x was never learned: its comparison is False, so "not (...)" is True.
    assert categorize(table, speed).to_dict() == {"x": "not_late", "y": "late"}


def test_categorize_error_shows_values_read_by_rules():
    table = pd.DataFrame({"confidence": [0.9, 0.4], "other": [1, 2]}, index=["a", "b"])
    partial = Taxonomy("partial", (Rule("sure", "confidence > 0.5"),))

    with pytest.raises(
        ValueError,
        match=(
            r"taxonomy 'partial' must put every example in exactly one category, but "
            r"1 of 2 examples match no rule and 0 match several:\n"
            r"  example 'b' with confidence=0.4 matches no rule"
        ),
    ):
        categorize(table, partial)


def test_categorize_error_shows_overlap():
    table = pd.DataFrame({"variability": [0.3]}, index=["a"])
    overlapping = Taxonomy("overlapping", (Rule("high", "variability > 0.1"), Rule("higher", "variability > 0.2")))

    with pytest.raises(ValueError, match=r"example 'a' with variability=.* matches 'high', 'higher'"):
        categorize(table, overlapping)


def test_categorize_rejects_other_types():
    with pytest.raises(TypeError, match=r"taxonomy must be a soi.subsets.Taxonomy, got list"):
        categorize(pd.DataFrame({"a": [1]}), [Rule("x", "a > 0")])
    with pytest.raises(TypeError, match=r"table must be a pandas DataFrame"):
        categorize({"a": [1]}, SOI)


def test_features_never_learned_matches_never_correct():
    features = compute_features(np.array([[0, 0], [1, 0]], dtype=bool))

    assert features["never_learned"].tolist() == [True, False]
    assert features["never_learned"].tolist() == features["never_correct"].tolist()


def test_builtin_taxonomies_listed():
    assert [taxonomy.name for taxonomy in BUILTIN_TAXONOMIES] == ["SOI", "cartography_regions", "forgetting"]


correctness_runs = st.integers(1, 25).flatmap(
    lambda rows: st.integers(2, 9).flatmap(
        lambda epochs: st.tuples(
            hnp.arrays(np.bool_, (rows, epochs)),
            hnp.arrays(np.float32, (rows, epochs), elements=st.floats(0, 1, width=32)),
            st.integers(1, epochs - 1),
            st.permutations(range(rows)),
        )
    )
)


def one_rule_each(table: pd.DataFrame, taxonomy: Taxonomy) -> np.ndarray:
    """Count, for each row, the rules of ``taxonomy`` that it matches."""
    masks = [table.reset_index(drop=True).eval(rule.expression).to_numpy(dtype=bool) for rule in taxonomy.rules]
    return np.column_stack(masks).sum(axis=1)


@settings(max_examples=100, deadline=None)
@given(
    run=correctness_runs,
    confidence_threshold=st.floats(0, 1),
    variability_threshold=st.floats(0, 0.5),
)
def test_builtin_taxonomies_exhaustive_and_exclusive(run, confidence_threshold, variability_threshold):
    correct, gold_prob, split, _ = run
    features = compute_features(correct, split=split, gold_prob=gold_prob)
    regions = cartography_regions(confidence_threshold, variability_threshold)

    for taxonomy in (SOI, FORGETTING, CARTOGRAPHY_REGIONS, regions):
        np.testing.assert_array_equal(one_rule_each(features, taxonomy), 1, err_msg=taxonomy.name)
    for conventions in (SOI_CONVENTIONS, CARTOGRAPHY_CONVENTIONS):
        table = compute_metrics(gold_prob, correct, conventions=conventions)
        for taxonomy in (FORGETTING, CARTOGRAPHY_REGIONS, regions):
            counts = one_rule_each(table.astype({"first_learned_epoch": "float64"}), taxonomy)
            np.testing.assert_array_equal(counts, 1, err_msg=taxonomy.name)


@settings(max_examples=60, deadline=None)
@given(run=correctness_runs)
def test_categories_invariant_to_example_order(run):
    correct, gold_prob, split, order = run
    ids = [f"ex{i}" for i in range(len(correct))]
    order = list(order)

    for taxonomy in BUILTIN_TAXONOMIES:
        original = assign_categories(correct, taxonomy, split, gold_prob, ids)
        shuffled = assign_categories(
            correct[order], taxonomy, split, gold_prob[order], [ids[i] for i in order]
        )
        pd.testing.assert_series_equal(shuffled.loc[ids], original)
