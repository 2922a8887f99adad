"""Tests of soi.transitions.transition_matrix on hand-built runs."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soi.subsets import SOI_CATEGORIES
from soi.transitions import transition_matrix


def soi_series(values: dict[str, str]) -> pd.Series:
    """Build a SOI Categorical Series indexed by example id."""
    return pd.Series(
        pd.Categorical(list(values.values()), categories=list(SOI_CATEGORIES)),
        index=pd.Index(list(values), name="example_id"),
        name="category",
    )


SINGLE = soi_series(
    {
        "a": "always_correct",
        "b": "always_correct",
        "c": "learned_late",
        "d": "forgotten",
        "e": "unlearned",
    }
)
MULTI = soi_series(
    {
        "a": "always_correct",
        "b": "learned_early",
        "c": "always_correct",
        "d": "forgettable",
        "e": "unlearned",
    }
)


def test_counts_hand_built():
    matrix = transition_matrix(SINGLE, MULTI)

    expected = np.zeros((6, 6), dtype=np.int64)
    position = {category: i for i, category in enumerate(SOI_CATEGORIES)}
    for source, target in [
        ("always_correct", "always_correct"),
        ("always_correct", "learned_early"),
        ("learned_late", "always_correct"),
        ("forgotten", "forgettable"),
        ("unlearned", "unlearned"),
    ]:
        expected[position[source], position[target]] += 1
    np.testing.assert_array_equal(matrix.to_numpy(), expected)
    assert matrix.dtypes.eq(np.int64).all()


def test_all_categories_kept_in_order():
    matrix = transition_matrix(SINGLE, MULTI)

    assert matrix.index.tolist() == list(SOI_CATEGORIES)
    assert matrix.columns.tolist() == list(SOI_CATEGORIES)
    assert matrix.loc["learned_early"].sum() == 0


def test_axis_names_default_and_custom():
    default = transition_matrix(SINGLE, MULTI)
    named = transition_matrix(SINGLE, MULTI, source_name="single", target_name="multi")

    assert (default.index.name, default.columns.name) == ("source", "target")
    assert (named.index.name, named.columns.name) == ("single", "multi")


def test_order_invariance():
    shuffled = MULTI.sample(frac=1.0, random_state=0)
    assert shuffled.index.tolist() != MULTI.index.tolist()

    pd.testing.assert_frame_equal(
        transition_matrix(SINGLE, shuffled), transition_matrix(SINGLE, MULTI)
    )
    pd.testing.assert_frame_equal(
        transition_matrix(SINGLE.iloc[::-1], MULTI), transition_matrix(SINGLE, MULTI)
    )


def test_counts_sum_to_number_of_examples():
    matrix = transition_matrix(SINGLE, MULTI)

    assert matrix.to_numpy().sum() == len(SINGLE)


def test_normalized_rows_sum_to_one():
    matrix = transition_matrix(SINGLE, MULTI, normalize=True)

    assert matrix.loc["always_correct", "always_correct"] == 0.5
    assert matrix.loc["always_correct", "learned_early"] == 0.5
    assert matrix.loc["forgotten", "forgettable"] == 1.0
    for category in ("always_correct", "learned_late", "forgotten", "unlearned"):
        assert matrix.loc[category].sum() == pytest.approx(1.0)


def test_normalized_empty_row_is_nan():
    matrix = transition_matrix(SINGLE, MULTI, normalize=True)

    assert matrix.loc["learned_early"].isna().all()
    assert matrix.loc["forgettable"].isna().all()


def test_plain_strings_use_sorted_values():
    source = pd.Series(["hard", "easy"], index=["x", "y"])
    target = pd.Series(["easy", "easy"], index=["x", "y"])

    matrix = transition_matrix(source, target)

    assert matrix.index.tolist() == ["easy", "hard"]
    assert matrix.columns.tolist() == ["easy"]
    assert matrix.loc["hard", "easy"] == 1


def test_explicit_categories_fix_both_axes():
    source = pd.Series(["hard", "easy"], index=["x", "y"])
    target = pd.Series(["easy", "easy"], index=["x", "y"])

    matrix = transition_matrix(source, target, categories=["easy", "medium", "hard"])

    assert matrix.index.tolist() == ["easy", "medium", "hard"]
    assert matrix.columns.tolist() == ["easy", "medium", "hard"]
    assert matrix.loc["hard", "easy"] == 1
    assert matrix.loc["easy", "easy"] == 1


def test_id_mismatch_reports_counts_and_ids():
    source = pd.Series(["easy"] * 8, index=[f"s{i}" for i in range(7)] + ["shared"])
    target = pd.Series(["easy"] * 2, index=["shared", "t0"])

    with pytest.raises(
        ValueError,
        match=(
            r"source and target must contain the same example ids, but 7 are only in "
            r"source \['s0', 's1', 's2', 's3', 's4'\] and 1 only in target \['t0'\]"
        ),
    ):
        transition_matrix(source, target)


def test_duplicate_ids_raise():
    source = pd.Series(["easy", "hard"], index=["a", "a"])
    target = pd.Series(["easy"], index=["a"])

    with pytest.raises(ValueError, match=r"source has 1 repeated example ids such as \['a'\]"):
        transition_matrix(source, target)


def test_missing_category_raises():
    source = pd.Series(["easy", None], index=["a", "b"], dtype=object)
    target = pd.Series(["easy", "easy"], index=["a", "b"])

    with pytest.raises(ValueError, match=r"source has 1 examples with no category, such as \['b'\]"):
        transition_matrix(source, target)


def test_value_outside_categories_raises():
    source = pd.Series(["easy", "odd"], index=["a", "b"])
    target = pd.Series(["easy", "easy"], index=["a", "b"])

    with pytest.raises(ValueError, match=r"source has 1 examples in categories \['odd'\]"):
        transition_matrix(source, target, categories=["easy", "hard"])


def test_repeated_categories_raise():
    source = pd.Series(["easy"], index=["a"])

    with pytest.raises(ValueError, match=r"categories repeat \['easy'\]"):
        transition_matrix(source, source, categories=["easy", "easy"])


def string_ids(values: list[str], dtype: str) -> pd.Index:
    return pd.Index(np.array(values, dtype=object), dtype=dtype, name="example_id")


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_lookup_paths_agree_with_hand_counts(dtype):
    source = pd.Series(["easy", "hard", "hard", "easy"], index=string_ids(list("abcd"), dtype))
    target = pd.Series(["hard", "easy", "easy", "easy"], index=string_ids(list("dcba"), dtype))

    matrix = transition_matrix(source, target)

    # a: easy -> easy, b: hard -> easy, c: hard -> easy, d: easy -> hard.
    assert matrix.to_dict("index") == {"easy": {"easy": 1, "hard": 1}, "hard": {"easy": 2, "hard": 0}}


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_same_length_different_ids_raise(dtype):
    source = pd.Series(["easy", "easy"], index=string_ids(["a", "b"], dtype))
    target = pd.Series(["easy", "easy"], index=string_ids(["a", "z"], dtype))

    with pytest.raises(ValueError, match=r"1 are only in source \['b'\] and 1 only in target \['z'\]"):
        transition_matrix(source, target)


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_same_length_repeated_target_ids_raise(dtype):
    source = pd.Series(["easy", "easy"], index=string_ids(["a", "b"], dtype))
    target = pd.Series(["easy", "hard"], index=string_ids(["a", "a"], dtype))

    with pytest.raises(ValueError, match=r"target has 1 repeated example ids such as \['a'\]"):
        transition_matrix(source, target)


def test_repeated_ids_in_same_order_raise():
    index = string_ids(["a", "a"], "str")
    source = pd.Series(["easy", "hard"], index=index)

    with pytest.raises(ValueError, match=r"source has 1 repeated example ids such as \['a'\]"):
        transition_matrix(source, source.copy())


def test_categorical_with_other_category_order():
    source = pd.Series(pd.Categorical(["b", "a"], categories=["b", "a"]), index=["x", "y"])
    target = pd.Series(pd.Categorical(["a", "a"], categories=["a", "b"]), index=["y", "x"])

    matrix = transition_matrix(source, target, categories=["a", "b"])

    assert matrix.to_dict("index") == {"a": {"a": 1, "b": 0}, "b": {"a": 1, "b": 0}}


def test_categorical_value_outside_categories_raises():
    source = pd.Series(pd.Categorical(["odd", "easy"]), index=["a", "b"])

    with pytest.raises(ValueError, match=r"source has 1 examples in categories \['odd'\]"):
        transition_matrix(source, source, categories=["easy", "hard"])


@settings(max_examples=60, deadline=None)
@given(
    data=st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.sampled_from(SOI_CATEGORIES), min_size=n, max_size=n),
            st.lists(st.sampled_from(SOI_CATEGORIES), min_size=n, max_size=n),
            st.permutations(range(n)),
            st.sampled_from(["str", "object"]),
        )
    )
)
def test_counts_match_pairwise_reference(data):
    first, second, order, dtype = data
    ids = [f"ex{i}" for i in range(len(first))]
    source = pd.Series(pd.Categorical(first, categories=list(SOI_CATEGORIES)), index=string_ids(ids, dtype))
    order = list(order)
    target = pd.Series(
        pd.Categorical([second[i] for i in order], categories=list(SOI_CATEGORIES)),
        index=string_ids([ids[i] for i in order], dtype),
    )

    matrix = transition_matrix(source, target)

    expected = pd.DataFrame(0, index=list(SOI_CATEGORIES), columns=list(SOI_CATEGORIES))
    for row, column in zip(first, second):
        expected.loc[row, column] += 1
    np.testing.assert_array_equal(matrix.to_numpy(), expected.to_numpy())
