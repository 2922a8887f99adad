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

Two more taxonomies are built in. ``CARTOGRAPHY_REGIONS`` splits the data map into the
regions of dataset cartography (Swayamdipta et al., 2020) with fixed thresholds on
confidence and variability (see :func:`cartography_regions`), and ``FORGETTING``
follows example forgetting (Toneva et al., 2019): unforgettable, forgettable and never
learned. :func:`categorize` applies any taxonomy to a per-example table, such as the
output of :func:`soi.metrics.compute_metrics`.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from soi import metrics
from soi.dynamics import Dynamics

__all__ = [
    "BUILTIN_TAXONOMIES",
    "CARTOGRAPHY_REGIONS",
    "FEATURE_COLUMNS",
    "FORGETTING",
    "SOI",
    "SOI_CATEGORIES",
    "Rule",
    "Taxonomy",
    "assign_categories",
    "cartography_regions",
    "categories_from_dynamics",
    "categorize",
    "compute_features",
    "default_split",
]

#: Maximum number of offending examples shown in an error message.
MAX_EXAMPLES_SHOWN = 5

#: Columns of the features table that are always present. ``confidence`` and
#: ``variability`` are added when gold probabilities are given. ``never_learned``
#: repeats ``never_correct`` under its name in the metrics table, so that rules written
#: for the metrics table also run on the features table.
FEATURE_COLUMNS = (
    "n_epochs",
    "split",
    "first_learned_epoch",
    "forgetting_events",
    "correct_last",
    "always_correct",
    "never_correct",
    "never_learned",
    "correctness",
)

#: Default confidence threshold of ``cartography_regions``. At a mean gold probability
#: of at least one half, the gold label gets on average at least half of the
#: probability mass, so it is the argmax whatever the other labels get.
CARTOGRAPHY_CONFIDENCE_THRESHOLD = 0.5

#: Default variability threshold of ``cartography_regions``. A gold probability that
#: alternates between 0.3 and 0.7, crossing one half at every epoch, has a standard
#: deviation of 0.2; the maximum over [0, 1] is 0.5.
CARTOGRAPHY_VARIABILITY_THRESHOLD = 0.2

# Names that may appear in a rule expression; those that are table columns are shown
# next to an example that matches no rule or several.
_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Rule:
    """One category of a taxonomy and the condition that selects its examples.

    Parameters
    ----------
    name : str
        Category name, unique within its taxonomy.
    expression : str
        Boolean ``pandas.DataFrame.eval`` expression over the columns of a per-example
        table: the features table of :func:`compute_features`, or the metrics table for
        :func:`categorize`. An example is ``"forgetting_events > 0 and correct_last"``.
        Comparisons with a missing ``first_learned_epoch`` (never correct) are False.
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


def cartography_regions(
    confidence_threshold: float = CARTOGRAPHY_CONFIDENCE_THRESHOLD,
    variability_threshold: float = CARTOGRAPHY_VARIABILITY_THRESHOLD,
) -> Taxonomy:
    """Build the taxonomy of the three data-map regions of dataset cartography.

    Swayamdipta et al. (2020) describe the regions by their place on the data map and
    select them by rank. This taxonomy draws them with fixed thresholds, so that every
    example belongs to exactly one region:

    1. ``easy_to_learn``: variability < ``variability_threshold`` and
       confidence >= ``confidence_threshold``;
    2. ``ambiguous``: variability >= ``variability_threshold``;
    3. ``hard_to_learn``: variability < ``variability_threshold`` and
       confidence < ``confidence_threshold``.

    Parameters
    ----------
    confidence_threshold : float
        Mean gold probability in [0, 1] that separates easy from hard examples.
    variability_threshold : float
        Standard deviation of the gold probability in [0, 0.5] from which an example
        counts as ambiguous. For a rank-based split, pass a quantile of the data, for
        example ``metrics["variability"].quantile(2 / 3)`` for the most ambiguous third.

    Returns
    -------
    Taxonomy
        Named ``cartography_regions``; its rules read ``confidence`` and
        ``variability``, so they run on a metrics table or on features computed with
        ``gold_prob``.

    Raises
    ------
    ValueError
        If a threshold is outside its range.

    Examples
    --------
    >>> regions = cartography_regions(variability_threshold=0.25)
    >>> regions.categories
    ('easy_to_learn', 'ambiguous', 'hard_to_learn')
    >>> table = pd.DataFrame({"confidence": [0.9, 0.5, 0.1], "variability": [0.05, 0.3, 0.1]})
    >>> categorize(table, regions).tolist()
    ['easy_to_learn', 'ambiguous', 'hard_to_learn']
    """
    # The ranges are those of a mean and a standard deviation of values in [0, 1].
    for name, value, upper in [
        ("confidence_threshold", confidence_threshold, 1.0),
        ("variability_threshold", variability_threshold, 0.5),
    ]:
        is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not is_number or not 0 <= value <= upper:
            raise ValueError(f"{name} must be a number in [0, {upper}], got {value!r}")
    confidence_threshold = float(confidence_threshold)
    variability_threshold = float(variability_threshold)
    return Taxonomy(
        "cartography_regions",
        (
            Rule(
                "easy_to_learn",
                f"variability < {variability_threshold!r} and "
                f"confidence >= {confidence_threshold!r}",
                f"variability below {variability_threshold:g}, confidence at least "
                f"{confidence_threshold:g}",
            ),
            Rule(
                "ambiguous",
                f"variability >= {variability_threshold!r}",
                f"variability at least {variability_threshold:g}",
            ),
            Rule(
                "hard_to_learn",
                f"variability < {variability_threshold!r} and "
                f"confidence < {confidence_threshold!r}",
                f"variability below {variability_threshold:g}, confidence below "
                f"{confidence_threshold:g}",
            ),
        ),
    )


#: The data-map regions of dataset cartography with the default thresholds.
CARTOGRAPHY_REGIONS = cartography_regions()

#: Example forgetting (Toneva et al., 2019). The rules test ``never_learned`` before
#: the forgetting count, so they are valid under both conventions for the count of an
#: example never learned (0 in soi, 1000 in allenai/cartography).
FORGETTING = Taxonomy(
    "forgetting",
    (
        Rule(
            "unforgettable",
            "not never_learned and forgetting_events == 0",
            "learned at some epoch and never forgotten",
        ),
        Rule(
            "forgettable",
            "not never_learned and forgetting_events > 0",
            "forgotten at least once after being learned",
        ),
        Rule("never_learned", "never_learned", "wrong at every epoch"),
    ),
)

#: The built-in taxonomies, whose category orders the plots know.
BUILTIN_TAXONOMIES = (SOI, CARTOGRAPHY_REGIONS, FORGETTING)


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
        - ``forgetting_events``: int64, 0 when never correct;
        - ``correct_last``, ``always_correct``, ``never_correct``, ``never_learned``:
          bool;
        - ``correctness``: float64 fraction of correct epochs;

        and, with ``gold_prob``, ``confidence`` and ``variability`` (float64). The
        metrics follow soi's conventions (:data:`soi.metrics.SOI_CONVENTIONS`).

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
    index = metrics.example_index(example_ids, correct_matrix.shape[0])
    return _features(correct_matrix, split, gold_prob, index)


def _features(
    correct_matrix: np.ndarray,
    split: int | None,
    gold_prob: np.ndarray | None,
    index: pd.Index,
) -> pd.DataFrame:
    """Build the features table from a validated correctness matrix and its index."""
    num_examples, num_epochs = correct_matrix.shape
    split_point = _resolve_split(split, num_epochs)
    probabilities = None
    if gold_prob is not None:
        probabilities = metrics.check_gold_prob(gold_prob, keep_float32=True)
        if probabilities.shape != correct_matrix.shape:
            raise ValueError(
                f"gold_prob has shape {probabilities.shape} but correct has shape "
                f"{correct_matrix.shape}; both must be (examples, epochs) of the same run"
            )

    ever_correct = correct_matrix.any(axis=1)
    first_learned = (correct_matrix.argmax(axis=1) + 1).astype(np.float64)
    first_learned[~ever_correct] = np.nan
    columns = {
        "n_epochs": np.full(num_examples, num_epochs, dtype=np.int64),
        "split": np.full(num_examples, split_point, dtype=np.int64),
        "first_learned_epoch": first_learned,
        "forgetting_events": (correct_matrix[:, :-1] & ~correct_matrix[:, 1:]).sum(
            axis=1, dtype=np.int64
        ),
        "correct_last": correct_matrix[:, -1].copy(),
        "always_correct": correct_matrix.all(axis=1),
        "never_correct": ~ever_correct,
        "never_learned": ~ever_correct,
        "correctness": correct_matrix.mean(axis=1),
    }
    if probabilities is not None:
        mean, variance = metrics.gold_prob_moments(probabilities)
        columns["confidence"] = mean
        columns["variability"] = np.sqrt(variance)
    return pd.DataFrame(columns, index=index)


def _rule_table(table: pd.DataFrame) -> pd.DataFrame:
    """Convert nullable numeric columns to float64 with NaN for ``DataFrame.eval``.

    A comparison with NaN is False, as the rules expect; a comparison with ``pd.NA``
    would be NA, which is neither True nor False.
    """
    converted = {}
    for name in table.columns:
        column = table[name]
        if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) and (
            pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_float_dtype(column.dtype)
        ):
            converted[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return table.assign(**converted) if converted else table


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


def _describe_sequence(correct: np.ndarray) -> Callable[[int], str]:
    """Describe an example by its correctness sequence, epoch 1 first."""

    def describe(row: int) -> str:
        bits = "".join("1" if value else "0" for value in correct[row])
        return f"with correctness {bits} (epoch 1 first)"

    return describe


def _describe_values(table: pd.DataFrame, taxonomy: Taxonomy) -> Callable[[int], str]:
    """Describe an example by the values of the columns that the rules read."""
    names = set()
    for rule in taxonomy.rules:
        names.update(_NAME_PATTERN.findall(rule.expression))
    read_columns = [name for name in table.columns if name in names]

    def describe(row: int) -> str:
        values = ", ".join(f"{name}={_plain(table[name].iloc[row])!r}" for name in read_columns)
        return f"with {values}" if values else "with no column read by the rules"

    return describe


def _plain(value: object) -> object:
    """Convert a NumPy scalar to the Python value, whose repr is shorter."""
    return value.item() if isinstance(value, np.generic) else value


def _check_taxonomy(taxonomy: object) -> None:
    if not isinstance(taxonomy, Taxonomy):
        raise TypeError(
            f"taxonomy must be a soi.subsets.Taxonomy, got {type(taxonomy).__name__}; "
            f"build one with Taxonomy(name, [Rule(...), ...])"
        )


def _check_one_rule_each(
    matches: np.ndarray,
    index: pd.Index,
    taxonomy: Taxonomy,
    describe: Callable[[int], str],
) -> None:
    """Raise ValueError naming examples that match no rule or more than one."""
    counts = matches.sum(axis=1)
    unmatched = np.flatnonzero(counts == 0)
    overlapping = np.flatnonzero(counts > 1)
    if len(unmatched) == 0 and len(overlapping) == 0:
        return

    reported_rows = np.concatenate([overlapping, unmatched])[:MAX_EXAMPLES_SHOWN]
    lines = []
    for row in reported_rows:
        names = [name for name, hit in zip(taxonomy.categories, matches[row]) if hit]
        matched = ", ".join(repr(name) for name in names) if names else "no rule"
        lines.append(f"example {index[row]!r} {describe(row)} matches {matched}")
    raise ValueError(
        f"taxonomy {taxonomy.name!r} must put every example in exactly one category, but "
        f"{len(unmatched)} of {len(index)} examples match no rule and {len(overlapping)} "
        f"match several:\n  " + "\n  ".join(lines) + "\nChange the rule expressions so "
        "that they do not overlap and together cover every example"
    )


def _assign(
    table: pd.DataFrame, taxonomy: Taxonomy, describe: Callable[[int], str]
) -> pd.Series:
    _check_taxonomy(taxonomy)
    # DataFrame.eval converts the index to a Series for every expression, which takes a
    # large share of the time for a million string ids. Positions are enough here.
    positional = table.reset_index(drop=True)
    masks = [_evaluate_rule(rule, positional, taxonomy.name) for rule in taxonomy.rules]
    matches = np.column_stack(masks)
    _check_one_rule_each(matches, table.index, taxonomy, describe)

    codes = matches.argmax(axis=1)
    values = pd.Categorical.from_codes(codes, categories=list(taxonomy.categories))
    return pd.Series(values, index=table.index, name="category")


def categorize(table: pd.DataFrame, taxonomy: Taxonomy) -> pd.Series:
    """Assign every row of a per-example table to the one category whose rule it matches.

    Parameters
    ----------
    table : pd.DataFrame
        One row per example, indexed by example id, with the columns that the rules
        read: for example the output of :func:`soi.metrics.compute_metrics` (with any
        conventions), :func:`compute_features`, or either with columns of your own.
        Nullable integer and float columns are read as float64 with NaN, so that a
        comparison with a missing value is False.
    taxonomy : Taxonomy
        Rules to apply. The check that every row matches exactly one rule runs on this
        table, so a taxonomy is only known to be exhaustive for the data at hand.

    Returns
    -------
    pd.Series
        Categorical with the categories in taxonomy order (unused ones included),
        indexed like ``table`` and named ``category``.

    Raises
    ------
    ValueError
        If a row matches no rule or several (the message shows up to
        ``MAX_EXAMPLES_SHOWN`` of them with the values of the columns that the rules
        read and the rules they match), or a rule fails to evaluate.
    TypeError
        If ``taxonomy`` is not a :class:`Taxonomy`.

    Examples
    --------
    A taxonomy of your own over the metrics table, in a few lines:

    >>> from soi.metrics import compute_metrics
    >>> gold_prob = np.array([[0.9, 0.95], [0.2, 0.8], [0.1, 0.2]])
    >>> correct = gold_prob > 0.5
    >>> table = compute_metrics(gold_prob, correct, example_ids=["a", "b", "c"])
    >>> speed = Taxonomy("speed", [
    ...     Rule("fast", "first_learned_epoch == 1"),
    ...     Rule("slow", "first_learned_epoch > 1"),
    ...     Rule("never", "never_learned"),
    ... ])
    >>> categorize(table, speed).to_dict()
    {'a': 'fast', 'b': 'slow', 'c': 'never'}
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"table must be a pandas DataFrame with one row per example, got "
            f"{type(table).__name__}"
        )
    _check_taxonomy(taxonomy)
    prepared = _rule_table(table)
    return _assign(prepared, taxonomy, _describe_values(prepared, taxonomy))


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
    correct_matrix = metrics.check_correct(correct)
    index = metrics.example_index(example_ids, correct_matrix.shape[0])
    features = _features(correct_matrix, split, gold_prob, index)
    return _assign(features, taxonomy, _describe_sequence(correct_matrix))


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
    >>> categories_from_dynamics(dyn, FORGETTING).to_dict()
    {'a': 'unforgettable', 'b': 'forgettable'}
    """
    metrics.check_complete(dynamics)
    correct_matrix = metrics.check_correct(dynamics.correct)
    # Dynamics checks on construction that its ids are unique.
    index = metrics.example_index(
        dynamics.example_ids, dynamics.num_examples, check_unique=False
    )
    # Confidence and variability take most of the time of the features, so they are
    # computed only for taxonomies whose rules read them.
    gold_prob = dynamics.gold_prob if _reads_probabilities(taxonomy) else None
    features = _features(correct_matrix, split, gold_prob, index)
    return _assign(features, taxonomy, _describe_sequence(correct_matrix))


def _reads_probabilities(taxonomy: Taxonomy) -> bool:
    """Tell whether a rule of ``taxonomy`` names ``confidence`` or ``variability``."""
    names = {"confidence", "variability"}
    return any(names & set(_NAME_PATTERN.findall(rule.expression)) for rule in taxonomy.rules)
