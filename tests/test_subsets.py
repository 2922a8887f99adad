"""Tests of soi.subsets: the SOI taxonomy, custom taxonomies and their checks."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from soi.dynamics import MISSING_PREDICTION, Dynamics
from soi.subsets import (
    SOI,
    SOI_CATEGORIES,
    Rule,
    Taxonomy,
    assign_categories,
    categories_from_dynamics,
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
