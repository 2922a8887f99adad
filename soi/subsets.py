"""Subsets of Interest: assign every example to one category of a taxonomy.

A taxonomy is data, not code. Each :class:`Rule` is a ``pandas.DataFrame.eval``
expression over a *features* table (see :func:`compute_features`), and a
:class:`Taxonomy` is an ordered tuple of rules whose order fixes the category order of
every table and plot. :func:`assign_categories` evaluates all rules and checks, on the
data at hand, that every example matches exactly one.

The default taxonomy ``SOI`` reads the correctness sequence c_1..c_E of an example
(E >= 2 recorded epochs). A forgetting event is c_t = 1 followed by c_{t+1} = 0, f is
the first epoch with c_t = 1, and the split point s is ceil(E / 2) unless set:

1. ``always_correct``: c_t = 1 at every epoch.
2. ``learned_early``: no forgetting event and 1 < f <= s.
3. ``learned_late``: no forgetting event and f > s.
4. ``forgettable``: at least one forgetting event, correct at the last epoch.
5. ``forgotten``: at least one forgetting event, wrong at the last epoch.
6. ``unlearned``: never correct.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from soi import metrics
from soi.dynamics import Dynamics

__all__ = [
    "FEATURE_COLUMNS",
    "SOI",
    "SOI_CATEGORIES",
    "Rule",
    "Taxonomy",
    "assign_categories",
    "categories_from_dynamics",
    "compute_features",
    "default_split",
]

#: Maximum number of offending examples shown in an error message.
MAX_EXAMPLES_SHOWN = 5

#: Columns of the features table that are always present. ``confidence`` and
#: ``variability`` are added when gold probabilities are given.
FEATURE_COLUMNS = (
    "n_epochs",
    "split",
    "first_learned_epoch",
    "forgetting_events",
    "correct_last",
    "always_correct",
    "never_correct",
    "correctness",
)


@dataclass(frozen=True)
class Rule:
    """One category of a taxonomy and the condition that selects its examples.

    Parameters
    ----------
    name : str
        Category name, unique within its taxonomy.
    expression : str
        Boolean ``pandas.DataFrame.eval`` expression over the columns of the features
        table, for example ``"forgetting_events > 0 and correct_last"``. Comparisons
        with a NaN ``first_learned_epoch`` (never correct) are False.
    description : str
        One-line meaning of the category for readers and plot legends.

    Examples
    --------
    >>> Rule("stable", "forgetting_events == 0", "never forgotten").name
    'stable'
    """

    name: str
    expression: str
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"rule name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.expression, str) or not self.expression.strip():
            raise ValueError(
                f"rule {self.name!r} has expression {self.expression!r}; give a non-empty "
                f"pandas eval expression such as 'forgetting_events > 0'"
            )


@dataclass(frozen=True)
class Taxonomy:
    """Ordered, named set of rules that should put each example in exactly one category.

    Parameters
    ----------
    name : str
        Name of the taxonomy, used in error messages.
    rules : tuple of Rule
        The categories in display order. A list is converted to a tuple.

    Examples
    --------
    A two-way split on the last epoch, written in a few lines:

    >>> ending = Taxonomy("ending", (
    ...     Rule("ends_correct", "correct_last", "right at the last epoch"),
    ...     Rule("ends_wrong", "not correct_last", "wrong at the last epoch"),
    ... ))
    >>> ending.categories
    ('ends_correct', 'ends_wrong')
    >>> correct = np.array([[False, True], [True, False], [True, True]])
    >>> assign_categories(correct, taxonomy=ending).tolist()
    ['ends_correct', 'ends_wrong', 'ends_correct']
    """

    name: str
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        if not self.rules:
            raise ValueError(f"taxonomy {self.name!r} has no rules; give at least one Rule")
        for rule in self.rules:
            if not isinstance(rule, Rule):
                raise TypeError(
                    f"taxonomy {self.name!r} contains {rule!r}, expected Rule instances"
                )

        names = pd.Index([rule.name for rule in self.rules])
        if names.has_duplicates:
            duplicated = names[names.duplicated()].unique().tolist()
            raise ValueError(
                f"taxonomy {self.name!r} repeats the rule names {duplicated}; "
                f"give every rule its own name"
            )

    @property
    def categories(self) -> tuple[str, ...]:
        """Category names in taxonomy order."""
        return tuple(rule.name for rule in self.rules)


SOI = Taxonomy(
    "SOI",
    (
        Rule("always_correct", "always_correct", "correct at every epoch"),
        Rule(
            "learned_early",
            "forgetting_events == 0 and 1 < first_learned_epoch <= split",
            "learned after the first epoch, by the split point, and never forgotten",
        ),
        Rule(
            "learned_late",
            "forgetting_events == 0 and first_learned_epoch > split",
            "learned after the split point and never forgotten",
        ),
        Rule(
            "forgettable",
            "forgetting_events > 0 and correct_last",
            "forgotten at least once, correct at the last epoch",
        ),
        Rule(
            "forgotten",
            "forgetting_events > 0 and not correct_last",
            "forgotten at least once, wrong at the last epoch",
        ),
        Rule("unlearned", "never_correct", "wrong at every epoch"),
    ),
)

#: The six Subsets of Interest, in the fixed order used by every table and plot.
SOI_CATEGORIES = SOI.categories


def default_split(num_epochs: int) -> int:
    """Return the default split point ceil(E / 2) between early and late learning.

    Examples
    --------
    >>> default_split(4), default_split(5)
    (2, 3)
    """
    return math.ceil(num_epochs / 2)


def _resolve_split(split: int | None, num_epochs: int) -> int:
    if split is None:
        return default_split(num_epochs)

    # bool is an Integral, but True as a split point is almost certainly a mistake.
    if isinstance(split, bool) or not isinstance(split, numbers.Integral):
        raise TypeError(f"split must be an integer epoch number, got {split!r}")

    # A split at E would leave no epoch after it, so nothing could be learned late.
    if not 1 <= split <= num_epochs - 1:
        raise ValueError(
            f"split {split} is outside 1..{num_epochs - 1} for {num_epochs} epochs; "
            f"choose the last epoch that still counts as early, or None for "
            f"ceil(E / 2) = {default_split(num_epochs)}"
        )
    return int(split)


def compute_features(
    correct: np.ndarray,
    split: int | None = None,
    gold_prob: np.ndarray | None = None,
    example_ids: Sequence | np.ndarray | None = None,
) -> pd.DataFrame:
    """Build the per-example features table that taxonomy rules are evaluated on.

    Parameters
    ----------
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label.
    split : int or None
        Split point s, the last epoch (1-based) that counts as early learning, in
        1..E-1. None uses ceil(E / 2).
    gold_prob : np.ndarray or None
        Shape (N, E), probability of the gold label. When given, the table also has
        ``confidence`` and ``variability``.
    example_ids : sequence or np.ndarray or None
        One unique id per row, or None to number the rows 0..N-1.

    Returns
    -------
    pd.DataFrame
        Indexed by ``example_id``, with the columns ``FEATURE_COLUMNS``:

        - ``n_epochs``, ``split``: int64, the same on every row;
        - ``first_learned_epoch``: float64, 1-based, NaN when never correct so that
          every comparison with it is False;
        - ``forgetting_events``: int64;
        - ``correct_last``, ``always_correct``, ``never_correct``: bool;
        - ``correctness``: float64 fraction of correct epochs;

        and, with ``gold_prob``, ``confidence`` and ``variability`` (float64).

    Raises
    ------
    ValueError
        If the matrices are invalid (see :func:`soi.metrics.compute_metrics`) or
        ``split`` is outside 1..E-1.
    TypeError
        If ``split`` is not an integer.

    Examples
    --------
    >>> features = compute_features(np.array([[0, 1, 0, 1]]))
    >>> features[["split", "first_learned_epoch", "forgetting_events"]].iloc[0].tolist()
    [2.0, 2.0, 1.0]
    """
    correct_matrix = metrics.check_correct(correct)
    num_examples, num_epochs = correct_matrix.shape
    split_point = _resolve_split(split, num_epochs)
    index = metrics.example_index(example_ids, num_examples)

    first_learned = metrics.first_learned_epoch(correct_matrix)
    columns = {
        "n_epochs": np.full(num_examples, num_epochs, dtype=np.int64),
        "split": np.full(num_examples, split_point, dtype=np.int64),
        "first_learned_epoch": first_learned.to_numpy(dtype=np.float64, na_value=np.nan),
        "forgetting_events": metrics.forgetting_events(correct_matrix),
        "correct_last": metrics.correct_last(correct_matrix),
        "always_correct": correct_matrix.all(axis=1),
        "never_correct": metrics.never_learned(correct_matrix),
        "correctness": metrics.correctness(correct_matrix),
    }

    if gold_prob is not None:
        probabilities = metrics.check_gold_prob(gold_prob)
        if probabilities.shape != correct_matrix.shape:
            raise ValueError(
                f"gold_prob has shape {probabilities.shape} but correct has shape "
                f"{correct_matrix.shape}; both must be (examples, epochs) of the same run"
            )
        columns["confidence"] = metrics.confidence(probabilities)
        columns["variability"] = metrics.variability(probabilities)

    return pd.DataFrame(columns, index=index)


def _evaluate_rule(rule: Rule, features: pd.DataFrame, taxonomy_name: str) -> np.ndarray:
    """Evaluate one rule on the features table and return an (N,) bool mask."""
    try:
        result = features.eval(rule.expression)
    except (SyntaxError, NameError, TypeError, ValueError, KeyError, AttributeError) as err:
        hint = "" if "confidence" in features else " (confidence and variability need gold_prob)"
        raise ValueError(
            f"rule {rule.name!r} of taxonomy {taxonomy_name!r} failed to evaluate "
            f"{rule.expression!r}: {err}. Write the expression over the feature columns "
            f"{features.columns.tolist()}{hint}"
        ) from err

    if np.ndim(result) == 0 and isinstance(result, (bool, np.bool_)):
        return np.full(len(features), bool(result))

    mask = np.asarray(result)
    if mask.dtype != np.bool_ or mask.shape != (len(features),):
        raise ValueError(
            f"rule {rule.name!r} of taxonomy {taxonomy_name!r} evaluated "
            f"{rule.expression!r} to dtype {mask.dtype} and shape {mask.shape}, expected "
            f"one True/False per example; use a comparison such as 'correctness > 0.5'"
        )
    return mask


def _describe_example(example_id: object, sequence: np.ndarray, rule_names: list[str]) -> str:
    bits = "".join("1" if value else "0" for value in sequence)
    matched = ", ".join(repr(name) for name in rule_names) if rule_names else "no rule"
    return f"example {example_id!r} with correctness {bits} (epoch 1 first) matches {matched}"


def _check_one_rule_each(
    matches: np.ndarray,
    correct: np.ndarray,
    index: pd.Index,
    taxonomy: Taxonomy,
) -> None:
    """Raise ValueError naming examples that match no rule or more than one."""
    counts = matches.sum(axis=1)
    unmatched = np.flatnonzero(counts == 0)
    overlapping = np.flatnonzero(counts > 1)
    if len(unmatched) == 0 and len(overlapping) == 0:
        return

    reported_rows = np.concatenate([overlapping, unmatched])[:MAX_EXAMPLES_SHOWN]
    lines = [
        _describe_example(
            index[row],
            correct[row],
            [name for name, hit in zip(taxonomy.categories, matches[row]) if hit],
        )
        for row in reported_rows
    ]
    raise ValueError(
        f"taxonomy {taxonomy.name!r} must put every example in exactly one category, but "
        f"{len(unmatched)} of {len(index)} examples match no rule and {len(overlapping)} "
        f"match several:\n  " + "\n  ".join(lines) + "\nChange the rule expressions so "
        "that they do not overlap and together cover every correctness sequence"
    )


def assign_categories(
    correct: np.ndarray,
    taxonomy: Taxonomy = SOI,
    split: int | None = None,
    gold_prob: np.ndarray | None = None,
    example_ids: Sequence | np.ndarray | None = None,
) -> pd.Series:
    """Assign every example to the one category of ``taxonomy`` whose rule it matches.

    Parameters
    ----------
    correct : np.ndarray
        Shape (N, E), True where the argmax prediction equals the gold label, with
        E >= 2.
    taxonomy : Taxonomy
        Rules to apply. The default is the six Subsets of Interest, ``SOI``.
    split : int or None
        Split point s between early and late learning, in 1..E-1. None uses
        ceil(E / 2). With s = 1 no example is ``learned_early``.
    gold_prob : np.ndarray or None
        Shape (N, E), needed only by rules that use ``confidence`` or ``variability``.
    example_ids : sequence or np.ndarray or None
        One unique id per row, or None to number the rows 0..N-1.

    Returns
    -------
    pd.Series
        Categorical with the categories in taxonomy order (unused ones included),
        indexed by ``example_id`` and named ``category``.

    Raises
    ------
    ValueError
        If an example matches no rule or several (the message shows up to
        ``MAX_EXAMPLES_SHOWN`` of them with their correctness sequences and matching
        rules), a rule fails to evaluate, the matrices are invalid, or ``split`` is
        outside 1..E-1.

    Examples
    --------
    >>> correct = np.array([
    ...     [1, 1, 1, 1],  # always correct
    ...     [0, 1, 1, 1],  # first correct at epoch 2 <= split 2
    ...     [0, 0, 0, 1],  # first correct at epoch 4 > split 2
    ...     [1, 0, 1, 1],  # forgotten once, correct at the end
    ...     [0, 1, 1, 0],  # forgotten once, wrong at the end
    ...     [0, 0, 0, 0],  # never correct
    ... ])
    >>> assign_categories(correct).tolist()
    ['always_correct', 'learned_early', 'learned_late', 'forgettable', 'forgotten', 'unlearned']
    """
    features = compute_features(correct, split=split, gold_prob=gold_prob, example_ids=example_ids)
    correct_matrix = metrics.check_correct(correct)

    masks = [_evaluate_rule(rule, features, taxonomy.name) for rule in taxonomy.rules]
    matches = np.column_stack(masks)
    _check_one_rule_each(matches, correct_matrix, features.index, taxonomy)

    codes = matches.argmax(axis=1)
    values = pd.Categorical.from_codes(codes, categories=list(taxonomy.categories))
    return pd.Series(values, index=features.index, name="category")


def categories_from_dynamics(
    dynamics: Dynamics,
    taxonomy: Taxonomy = SOI,
    split: int | None = None,
) -> pd.Series:
    """Assign the examples of a recorded run to the categories of ``taxonomy``.

    Parameters
    ----------
    dynamics : Dynamics
        Training dynamics with no missing cells.
    taxonomy : Taxonomy
        Rules to apply. The default is ``SOI``.
    split : int or None
        Split point between early and late learning, see :func:`assign_categories`.

    Returns
    -------
    pd.Series
        As :func:`assign_categories`, indexed by ``dynamics.example_ids``.

    Examples
    --------
    >>> dyn = Dynamics(
    ...     example_ids=["a", "b"],
    ...     epochs=[1, 2],
    ...     gold=[0, 1],
    ...     gold_prob=[[0.3, 0.7], [0.6, 0.2]],
    ...     predicted=[[1, 0], [1, 0]],
    ... )
    >>> categories_from_dynamics(dyn).to_dict()
    {'a': 'learned_late', 'b': 'forgotten'}
    """
    metrics.check_complete(dynamics)
    return assign_categories(
        dynamics.correct,
        taxonomy=taxonomy,
        split=split,
        gold_prob=dynamics.gold_prob,
        example_ids=dynamics.example_ids,
    )
