"""Continue training a comparison's multi-setting model on a Subset of Interest.

Stage 1 is the multi-setting run of a comparison, saved with its weights by
``run_setting(..., save_model=True)``. Stage 2 trains that model further, in four arms:

``selected``
    The stage-1 training examples of chosen SOI categories (by default forgettable,
    forgotten and unlearned), or the top of a metric ranking (see :func:`select_stage2`).
``random``
    A random control of the same size with the same number of examples per label and tag
    (task, source, language), drawn by :func:`soi.selection.matched_control` anew for
    every seed.
``full``
    The whole stage-1 training set.
``none``
    No stage 2: the accuracies of the stage-1 model itself.

Every trained arm takes the same number S of optimizer steps under the same linear
learning-rate schedule. S is the number of steps of the selected arm for
``stage2_epochs`` epochs (:func:`count_optimizer_steps`), and every trained arm runs with
``max_steps=S``. The full arm therefore stops before it has seen its whole training set.
Each seed changes the data order, dropout and the random control, while stage 1 and the
selection stay fixed. Each trained run goes through :func:`soi.experiments.run_setting`
with ``init_from`` set to the stage-1 folder, so it is saved, reused, and trained again
when stage 1 changes. Each selection is saved as JSON next to its run
(:data:`SELECTION_FILE`), so that a reader can check that selecting again gives the same
ids.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pandas as pd

from soi.batching import TaskBatchSampler
from soi.dynamics import Dynamics
from soi.experiments import RunResult, load_run, run_setting
from soi.files import atomic_file
from soi.metrics import metrics_from_dynamics
from soi.seeds import SEED_SD_DDOF, SeedTransitions, transitions_over_seeds
from soi.selection import Selection, matched_control, select_examples
from soi.subsets import SOI_CATEGORIES, categories_from_dynamics
from soi.training import TrainingConfig

logger = logging.getLogger(__name__)

__all__ = [
    "ARMS",
    "DEFAULT_INCLUDE",
    "SELECTION_FILE",
    "TRAINED_ARMS",
    "TwoStageResult",
    "composition_table",
    "count_optimizer_steps",
    "format_mean_sd",
    "load_selection",
    "load_selection_ids",
    "random_control",
    "run_two_stage",
    "save_selection",
    "select_stage2",
    "stage2_categories",
    "stage2_config",
    "stage_transitions",
    "subset_train",
    "summarize_accuracies",
]

#: Arms of the second stage, in display order.
ARMS = ("selected", "random", "full", "none")

#: Arms that train in the second stage; ``none`` reuses the stage-1 model's accuracies.
TRAINED_ARMS = ("selected", "random", "full")

#: Categories selected by default: the examples that stage 1 forgot or never learned.
DEFAULT_INCLUDE = ("forgettable", "forgotten", "unlearned")

#: Name of the JSON file with a run's selected ids and selection record, in the run folder.
SELECTION_FILE = "selection.json"

#: Minimum stage-2 epochs: a category needs a correctness sequence of at least 2 epochs.
MIN_STAGE2_EPOCHS = 2

#: Training options that :func:`run_two_stage` sets itself, so ``options`` may not set them.
_STAGE2_OWNED_OPTIONS = ("epochs", "learning_rate", "seed", "max_steps")

#: Maximum number of ids or values shown in an error message.
MAX_SHOWN = 5


@dataclass
class TwoStageResult:
    """The stage-1 run, the selection and every stage-2 run of a two-stage experiment.

    Attributes
    ----------
    stage1 : RunResult
        The multi-setting run that stage 2 starts from.
    stage1_dir : Path
        Its folder, the ``init_from`` of every stage-2 run.
    selection : Selection
        Examples of the selected arm; the same for every seed.
    controls : dict of int to Selection
        Random control of each seed.
    runs : dict of str to dict of int to RunResult
        Stage-2 runs by arm and seed, for the arms that trained.
    steps : int
        Optimizer steps S of every stage-2 run.
    seeds : list of int
        Stage-2 seeds, in order.
    output_dir : Path
        Folder of the stage-2 runs: one subfolder ``<arm>_seed<seed>`` per run.
    """

    stage1: RunResult
    stage1_dir: Path
    selection: Selection
    controls: dict[int, Selection]
    runs: dict[str, dict[int, RunResult]]
    steps: int
    seeds: list[int]
    output_dir: Path

    @property
    def eval_sets(self) -> list[str]:
        """Names of the evaluation sets, in the order of the stage-1 run."""
        return list(self.stage1.accuracy)

    @property
    def accuracies(self) -> pd.DataFrame:
        """Accuracy of every arm, seed and evaluation set, one row each.

        Columns ``arm``, ``seed``, ``eval_set`` and ``accuracy``. The ``none`` arm has one
        row per evaluation set with a missing seed, because stage 1 is a single run.
        """
        rows = [
            {"arm": "none", "seed": pd.NA, "eval_set": name, "accuracy": value}
            for name, value in self.stage1.accuracy.items()
        ]
        for arm, by_seed in self.runs.items():
            for seed, run in by_seed.items():
                rows += [
                    {"arm": arm, "seed": seed, "eval_set": name, "accuracy": value}
                    for name, value in run.accuracy.items()
                ]
        table = pd.DataFrame(rows, columns=["arm", "seed", "eval_set", "accuracy"])
        table["seed"] = table["seed"].astype("Int64")
        arms = [arm for arm in ARMS if arm in set(table["arm"])]
        table["arm"] = pd.Categorical(table["arm"], categories=arms, ordered=True)
        return table.sort_values(["arm", "seed"], kind="stable").reset_index(drop=True)

    def selection_path(self, arm: str, seed: int) -> Path:
        """Return the path of the selection JSON of one run of the selected or random arm."""
        return self.output_dir / run_name(arm, seed) / SELECTION_FILE


def run_name(arm: str, seed: int) -> str:
    """Name the stage-2 run of ``arm`` with ``seed``, such as ``selected_seed1``."""
    return f"{arm}_seed{seed}"


def count_optimizer_steps(
    train: datasets.Dataset | Mapping[str, datasets.Dataset], config: TrainingConfig
) -> int:
    """Count the optimizer steps of :func:`soi.training.fine_tune` on ``train``.

    Batches are counted with the sampler that fine-tuning uses: one group for a single
    data set, one group per task for a dict of data sets by task (a multi-head model, whose
    batches never mix tasks). The count is ``batches per epoch * config.epochs``, capped
    at ``config.max_steps`` when that is set.

    NOTE: the count is for one process; with several processes each takes a share of
    the batches.

    Examples
    --------
    >>> data = datasets.Dataset.from_dict({"text": ["a"] * 5, "label": [0] * 5})
    >>> count_optimizer_steps(data, TrainingConfig(batch_size=2, epochs=3))
    9
    >>> count_optimizer_steps({"x": data, "y": data.select(range(1))},
    ...                       TrainingConfig(batch_size=2, epochs=3, max_steps=10))
    10
    """
    if isinstance(train, Mapping):
        groups = [task for task, part in train.items() for _ in range(len(part))]
    else:
        groups = ["all"] * len(train)
    sampler = TaskBatchSampler(
        groups,
        batch_size=config.batch_size,
        strategy=config.sampling,
        temperature=config.temperature,
        drop_last=config.drop_last,
    )
    steps = len(sampler) * config.epochs
    return min(steps, config.max_steps) if config.max_steps else steps


def _check_include(include: Sequence[str] | None) -> list[str] | None:
    if include is None:
        return None
    if isinstance(include, str):
        raise TypeError(
            f"include must be a list of category names, got the string {include!r}; "
            f"write [{include!r}]"
        )
    unknown = [name for name in include if name not in SOI_CATEGORIES]
    if unknown:
        raise ValueError(
            f"include names unknown SOI categories {unknown}; choose from {list(SOI_CATEGORIES)}"
        )
    if not include:
        raise ValueError(
            f"include is empty, so no example can be selected; name at least one of "
            f"{list(SOI_CATEGORIES)}, or pass None to rank every example by rank_by"
        )
    return list(include)


def select_stage2(
    dynamics: Dynamics,
    *,
    include: Sequence[str] | None = DEFAULT_INCLUDE,
    rank_by: str | None = None,
    size: int | float | None = None,
    order: str = "descending",
    fraction_of: str = "all",
    seed: int = 0,
) -> Selection:
    """Select the stage-1 training examples that the selected arm trains on.

    The categories and metrics come from the stage-1 dynamics
    (:func:`soi.subsets.categories_from_dynamics` and
    :func:`soi.metrics.metrics_from_dynamics`), and the choice from
    :func:`soi.selection.select_examples`. The function is deterministic, so calling it
    again with the same arguments returns the same ids.

    Parameters
    ----------
    dynamics : Dynamics
        Dynamics of the stage-1 run, with no missing cells.
    include : sequence of str or None
        SOI categories to select from. None ranks every training example by ``rank_by``.
    rank_by : str or None
        Metric column to rank by, such as ``"variability"``; needs ``size``.
    size : int or float or None
        Number of examples, or a fraction in (0, 1] of the base set by ``fraction_of``.
        None takes every example of the categories.
    order : {"descending", "ascending"}
        Ranking direction.
    fraction_of : {"all", "candidates"}
        Whether a fractional size counts the whole training set or the examples of the
        ``include`` categories.
    seed : int
        Seed of the random draw when ``size`` is given without ``rank_by``.

    Returns
    -------
    Selection
        The chosen ids and the record of :func:`soi.selection.select_examples`, with the
        category counts of the training set under ``category_counts``.

    Raises
    ------
    ValueError
        If a category is unknown, ``include`` and ``rank_by`` are both None (that would
        select the full arm), the size exceeds the candidates, or nothing is selected.
    """
    include = _check_include(include)
    if include is None and rank_by is None:
        raise ValueError(
            "include=None and rank_by=None select every training example, which is the full "
            "arm; name categories to include or a metric to rank by"
        )
    categories = categories_from_dynamics(dynamics)
    metrics = metrics_from_dynamics(dynamics)
    selection = select_examples(
        metrics,
        size,
        categories=categories if include is not None else None,
        include=include,
        rank_by=rank_by,
        order=order,
        fraction_of=fraction_of,
        seed=seed,
    )
    counts = {name: int(n) for name, n in categories.value_counts(sort=False).items()}
    if len(selection) == 0:
        raise ValueError(
            f"the selection is empty: the stage-1 training set has no example to take "
            f"from categories {include} with size {size!r} (its category counts are "
            f"{counts}); include other categories or give a larger size"
        )
    record = dict(selection.record, category_counts=counts)
    return Selection(example_ids=selection.example_ids, record=record)


def _strata(dynamics: Dynamics) -> pd.DataFrame | None:
    """Return the tag columns with a value for every example, indexed by example id."""
    tags = dynamics.tags
    if len(tags.columns) == 0:
        return None
    tags = tags.set_axis(pd.Index(dynamics.example_ids, name="example_id"))
    complete = [column for column in tags.columns if not tags[column].isna().any()]
    return tags[complete] if complete else None


def random_control(
    selection: Selection, dynamics: Dynamics, *, seed: int, exclude_selected: bool = False
) -> Selection:
    """Draw the random control of ``selection`` from the stage-1 training set.

    The control has as many examples as the selection for every combination of gold
    label and tag (``task``, ``source``, ``language``, where the stage-1 dynamics record
    them), so that a multi-task control also has the same number of examples per task.

    Parameters
    ----------
    selection : Selection
        The selected arm's examples.
    dynamics : Dynamics
        Dynamics of the stage-1 run; the pool is its training set.
    seed : int
        Seed of the draw.
    exclude_selected : bool
        Draw only from examples outside the selection. False lets the control overlap
        the selection as a uniform draw would.
    """
    labels = pd.Series(dynamics.gold, index=pd.Index(dynamics.example_ids, name="example_id"))
    return matched_control(
        selection, labels, strata=_strata(dynamics), seed=seed, exclude_selected=exclude_selected
    )


def subset_train(
    train: datasets.Dataset | Mapping[str, datasets.Dataset], example_ids: Sequence
) -> datasets.Dataset | dict[str, datasets.Dataset]:
    """Return the rows of ``train`` whose ``example_id`` is in ``example_ids``.

    Rows keep their order in ``train``, so the same ids give the same data set whatever
    their order. A dict by task keeps only the tasks with at least one chosen example.

    Raises
    ------
    ValueError
        If an id is not in ``train``.
    """
    requested = set(pd.Index(example_ids).tolist())
    parts = train if isinstance(train, Mapping) else {None: train}
    subsets = {}
    found = 0
    for task, dataset in parts.items():
        rows = [row for row, i in enumerate(dataset["example_id"]) if i in requested]
        found += len(rows)
        if rows or task is None:
            subsets[task] = dataset.select(rows)
    if found != len(requested):
        present = {i for dataset in parts.values() for i in dataset["example_id"]}
        absent = sorted(map(str, requested - present))[:MAX_SHOWN]
        raise ValueError(
            f"{len(requested) - found} selected ids are not in the training set, such as "
            f"{absent}; select from the dynamics of the run that trained on this set"
        )
    return subsets if isinstance(train, Mapping) else subsets[None]


def stage2_config(
    stage1_config: TrainingConfig,
    *,
    epochs: int,
    learning_rate: float,
    seed: int,
    max_steps: int = 0,
    **options: Any,
) -> TrainingConfig:
    """Return the stage-1 configuration with the stage-2 epochs, learning rate and seed.

    ``options`` replace further fields, such as ``progress=False``.
    """
    return dataclasses.replace(
        stage1_config,
        epochs=epochs,
        learning_rate=learning_rate,
        seed=seed,
        max_steps=max_steps,
        **options,
    )


def save_selection(selection: Selection, path: str | Path, **context: Any) -> Path:
    """Write a selection's ids and record to a JSON file, atomically.

    ``context`` adds entries such as the arm and the seed. The file is written to a
    temporary name and renamed, so a reader never sees half of it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {
        **context,
        "count": len(selection),
        "example_ids": selection.example_ids.tolist(),
        "record": selection.record,
    }
    with atomic_file(path) as file:
        file.write(json.dumps(content, indent=2).encode("utf-8"))
    return path


def load_selection(path: str | Path) -> Selection:
    """Read a selection written by :func:`save_selection`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; run run_two_stage to write the selection of that run"
        )
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        ids = content["example_ids"]
        record = content["record"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as error:
        raise ValueError(
            f"{path} is not a selection file ({error!r}); delete it and run run_two_stage "
            f"again to rewrite it"
        ) from error
    return Selection(example_ids=pd.Index(ids, name="example_id"), record=record)


def load_selection_ids(path: str | Path) -> pd.Index:
    """Return the example ids saved by :func:`save_selection`, in their saved order."""
    return load_selection(path).example_ids


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty; give at least one stage-2 seed, such as [1, 2, 3]")
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, numbers.Integral)]
    if bad:
        raise TypeError(f"seeds must be integers, got {bad[:MAX_SHOWN]}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeat values: {seeds}; give each seed once")
    return [int(s) for s in seeds]


def _check_stage2_epochs(stage2_epochs: int) -> None:
    if isinstance(stage2_epochs, bool) or not isinstance(stage2_epochs, numbers.Integral):
        raise TypeError(f"stage2_epochs must be an integer, got {stage2_epochs!r}")
    if stage2_epochs < MIN_STAGE2_EPOCHS:
        raise ValueError(
            f"stage2_epochs={stage2_epochs}: the stage-1 to stage-2 transitions need the "
            f"categories of the stage-2 run, which need at least {MIN_STAGE2_EPOCHS} epochs; "
            f"pass stage2_epochs={MIN_STAGE2_EPOCHS} or more"
        )


def _check_arms(arms: Sequence[str]) -> list[str]:
    if isinstance(arms, str):
        raise TypeError(f"arms must be a list of arm names, got the string {arms!r}")
    unknown = [arm for arm in arms if arm not in ARMS]
    if unknown:
        raise ValueError(f"unknown arms {unknown}; choose from {list(ARMS)}")
    if "selected" not in arms:
        raise ValueError(
            f"arms {list(arms)} lack 'selected', which sets the stage-2 steps of every arm; "
            f"add it"
        )
    return [arm for arm in ARMS if arm in arms]


def _check_stage1(
    stage1: RunResult,
    train: datasets.Dataset | Mapping[str, datasets.Dataset],
    eval_sets: Mapping[str, datasets.Dataset],
) -> None:
    """Reject training data or evaluation sets that do not belong to the stage-1 run."""
    multitask = bool(stage1.record.get("tasks"))
    if multitask != isinstance(train, Mapping):
        kind = "a dict of data sets by task" if multitask else "a single data set"
        raise ValueError(
            f"stage-1 run {stage1.name!r} trained on {kind}; pass its training data in the "
            f"same form, such as comparison.multi.train"
        )
    parts = train.values() if isinstance(train, Mapping) else [train]
    ids = pd.Index([i for part in parts for i in part["example_id"]])
    stage1_ids = pd.Index(stage1.dynamics.example_ids)
    if len(ids) != len(stage1_ids) or not ids.isin(stage1_ids).all():
        raise ValueError(
            f"train has {len(ids)} examples and stage-1 run {stage1.name!r} trained on "
            f"{len(stage1_ids)}, not the same ids; pass the training data of that run"
        )
    if list(eval_sets) != list(stage1.accuracy):
        raise ValueError(
            f"eval_sets {list(eval_sets)} differ from the evaluation sets of stage-1 run "
            f"{stage1.name!r}, {list(stage1.accuracy)}; evaluate stage 2 on the same sets, "
            f"so that the 'none' arm is comparable"
        )


def _optimizer_steps(run: RunResult) -> int:
    return int(sum(entry["steps"] for entry in run.record["history"]))


def run_two_stage(
    stage1_dir: str | Path,
    *,
    train: datasets.Dataset | Mapping[str, datasets.Dataset],
    eval_sets: Mapping[str, datasets.Dataset],
    output_dir: str | Path,
    seeds: Sequence[int],
    include: Sequence[str] | None = DEFAULT_INCLUDE,
    rank_by: str | None = None,
    size: int | float | None = None,
    order: str = "descending",
    fraction_of: str = "all",
    selection_seed: int = 0,
    exclude_selected: bool = False,
    stage2_epochs: int = 3,
    stage2_learning_rate: float = 2e-5,
    arms: Sequence[str] = ARMS,
    options: Mapping[str, Any] | None = None,
    force: bool = False,
) -> TwoStageResult:
    """Train the stage-2 arms from a saved stage-1 run, or load the runs saved before.

    Parameters
    ----------
    stage1_dir : str or Path
        Folder of the stage-1 run, trained with ``run_setting(..., save_model=True)``.
    train : datasets.Dataset or mapping of str to datasets.Dataset
        The stage-1 training data, as passed to its ``run_setting``: a dict by task for a
        multi-head run. The selected and random arms train on subsets of it (split by task
        for a dict), the full arm on all of it.
    eval_sets : mapping of str to datasets.Dataset
        The stage-1 run's evaluation sets, with the same names in the same order.
    output_dir : str or Path
        Stage-2 runs go to ``output_dir/<stage-1 run name>/<arm>_seed<seed>``.
    seeds : sequence of int
        Stage-2 seeds: each sets the data order, dropout and the random control.
    include, rank_by, size, order, fraction_of
        The selection, see :func:`select_stage2`.
    selection_seed : int
        Seed of the selection's random draw when ``size`` is given without ``rank_by``.
        It is fixed across the stage-2 seeds, so every seed trains on the same selection.
    exclude_selected : bool
        Draw the random control from examples outside the selection only.
    stage2_epochs : int
        Epochs of the selected arm; at least 2, so that its categories exist.
    stage2_learning_rate : float
        Peak learning rate of every stage-2 run. The other options are those of stage 1.
    arms : sequence of str
        Arms to run, out of :data:`ARMS`; ``selected`` is required.
    options : mapping of str to object, optional
        Further :class:`soi.training.TrainingConfig` fields for stage 2, such as
        ``{"progress": False}``; not ``epochs``, ``learning_rate``, ``seed`` or
        ``max_steps``, which this function sets.
    force : bool
        Train every stage-2 run again even when a saved run matches.

    Returns
    -------
    TwoStageResult

    Raises
    ------
    ValueError
        For an invalid selection (see :func:`select_stage2`), ``stage2_epochs`` below 2,
        empty or repeated seeds, unknown arms or options, or training data and evaluation
        sets that are not those of the stage-1 run.
    RuntimeError
        If a stage-2 run took another number of optimizer steps than the selected arm.
    """
    _check_stage2_epochs(stage2_epochs)
    seeds = _check_seeds(seeds)
    arms = _check_arms(arms)
    options = dict(options or {})
    owned = sorted(set(options) & set(_STAGE2_OWNED_OPTIONS))
    if owned:
        raise ValueError(
            f"options sets {owned}, which run_two_stage sets itself; pass stage2_epochs, "
            f"stage2_learning_rate and seeds instead"
        )

    stage1_dir = Path(stage1_dir)
    stage1 = load_run(stage1_dir)
    _check_stage1(stage1, train, eval_sets)
    stage1_config = TrainingConfig.from_dict(stage1.record["training_config"])
    model_name = stage1.record["model"]
    folder = Path(output_dir) / stage1.name

    selection = select_stage2(
        stage1.dynamics, include=include, rank_by=rank_by, size=size, order=order,
        fraction_of=fraction_of, seed=selection_seed,
    )
    selected_train = subset_train(train, selection.example_ids)
    unlimited = stage2_config(
        stage1_config, epochs=stage2_epochs, learning_rate=stage2_learning_rate,
        seed=seeds[0], **options,
    )
    steps = count_optimizer_steps(selected_train, unlimited)
    logger.info(
        "Stage 2 from %s: %d selected examples, %d optimizer steps per run, seeds %s",
        stage1_dir, len(selection), steps, seeds,
    )

    controls: dict[int, Selection] = {}
    runs: dict[str, dict[int, RunResult]] = {arm: {} for arm in arms if arm in TRAINED_ARMS}
    for seed in seeds:
        config = stage2_config(
            stage1_config, epochs=stage2_epochs, learning_rate=stage2_learning_rate,
            seed=seed, max_steps=steps, **options,
        )
        arm_data: dict[str, tuple[Any, Selection | None]] = {
            "selected": (selected_train, selection)
        }
        if "random" in arms:
            controls[seed] = random_control(
                selection, stage1.dynamics, seed=seed, exclude_selected=exclude_selected
            )
            if controls[seed].example_ids.sort_values().equals(
                selection.example_ids.sort_values()
            ):
                logger.warning(
                    "The random control of seed %d contains exactly the selected examples: "
                    "no label and tag stratum of the training set has more examples than "
                    "the selection takes from it, so the random arm does not control for "
                    "the selection",
                    seed,
                )
            arm_data["random"] = (subset_train(train, controls[seed].example_ids), controls[seed])
        if "full" in arms:
            arm_data["full"] = (dict(train) if isinstance(train, Mapping) else train, None)

        for arm, (arm_train, arm_selection) in arm_data.items():
            planned = count_optimizer_steps(arm_train, config)
            if planned != steps:
                raise RuntimeError(
                    f"arm {arm!r} with seed {seed} would take {planned} optimizer steps and "
                    f"the selected arm {steps}; its training set is too small for the "
                    f"selected arm's steps. This is a bug in soi unless train was changed"
                )
            name = run_name(arm, seed)
            if arm_selection is not None:
                save_selection(
                    arm_selection, folder / name / SELECTION_FILE, arm=arm, seed=seed,
                    stage1_run=str(stage1_dir),
                )
            run = run_setting(
                name,
                model_name=model_name,
                train=arm_train,
                config=config,
                eval_sets=dict(eval_sets),
                output_dir=folder,
                force=force,
                init_from=stage1_dir,
            )
            steps_taken = _optimizer_steps(run)
            if steps_taken != steps:
                raise RuntimeError(
                    f"stage-2 run {name!r} took {steps_taken} optimizer steps, not the {steps} of "
                    f"every arm; delete {folder / name} and run again"
                )
            runs[arm][seed] = run

    return TwoStageResult(
        stage1=stage1,
        stage1_dir=stage1_dir,
        selection=selection,
        controls=controls,
        runs=runs,
        steps=steps,
        seeds=seeds,
        output_dir=folder,
    )


def summarize_accuracies(accuracies: pd.DataFrame) -> pd.DataFrame:
    """Summarise accuracies as mean and standard deviation over seeds per arm and set.

    Parameters
    ----------
    accuracies : pd.DataFrame
        Columns ``arm``, ``seed``, ``eval_set`` and ``accuracy``, as
        :attr:`TwoStageResult.accuracies`.

    Returns
    -------
    pd.DataFrame
        Indexed by (``arm``, ``eval_set``) in the order of first appearance, with
        ``mean``, ``sd`` (sample standard deviation, ``ddof=SEED_SD_DDOF``; NaN for a
        single run, as for the ``none`` arm) and ``n_seeds``.

    Examples
    --------
    >>> table = pd.DataFrame({"arm": ["a", "a", "b"], "seed": [1, 2, None],
    ...                       "eval_set": ["x", "x", "x"], "accuracy": [0.7, 0.8, 0.6]})
    >>> summarize_accuracies(table).round(4)  # doctest: +NORMALIZE_WHITESPACE
                    mean      sd  n_seeds
    arm eval_set
    a   x         0.75  0.0707        2
    b   x         0.60     NaN        1
    """
    missing = [c for c in ("arm", "eval_set", "accuracy") if c not in accuracies.columns]
    if missing:
        raise ValueError(
            f"accuracies lacks columns {missing}; pass TwoStageResult.accuracies"
        )
    grouped = accuracies.groupby(["arm", "eval_set"], sort=False, observed=True)["accuracy"]
    summary = pd.DataFrame(
        {
            "mean": grouped.mean(),
            "sd": grouped.std(ddof=SEED_SD_DDOF),
            "n_seeds": grouped.count(),
        }
    )
    return summary


def format_mean_sd(summary: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Return a table of ``mean ± sd`` strings, arms as rows and evaluation sets as columns.

    A missing standard deviation (one run) shows the mean alone.

    Examples
    --------
    >>> table = pd.DataFrame({"arm": ["a", "a", "b"], "seed": [1, 2, None],
    ...                       "eval_set": ["x", "x", "x"], "accuracy": [0.7, 0.8, 0.6]})
    >>> format_mean_sd(summarize_accuracies(table)).loc["a", "x"]
    '0.750 ± 0.071'
    """
    def cell(row: pd.Series) -> str:
        if pd.isna(row["sd"]):
            return f"{row['mean']:.{digits}f}"
        return f"{row['mean']:.{digits}f} ± {row['sd']:.{digits}f}"

    text = summary.apply(cell, axis=1)
    arms = list(dict.fromkeys(summary.index.get_level_values("arm")))
    sets = list(dict.fromkeys(summary.index.get_level_values("eval_set")))
    return text.unstack("eval_set").reindex(index=arms, columns=sets)


def stage2_categories(result: TwoStageResult) -> pd.DataFrame:
    """Return the SOI category of every selected example in each seed's selected run.

    One row per selected example (in selection order) and one column per seed.
    """
    if "selected" not in result.runs or not result.runs["selected"]:
        raise ValueError(
            "the result has no runs of the selected arm; run it with arms including 'selected'"
        )
    columns = {
        seed: categories_from_dynamics(run.dynamics).reindex(result.selection.example_ids)
        for seed, run in result.runs["selected"].items()
    }
    return pd.DataFrame(columns, index=result.selection.example_ids)


def stage_transitions(
    result: TwoStageResult, *, n_resamples: int = 1000, seed: int = 0
) -> SeedTransitions:
    """Count how the selected examples move from their stage-1 to their stage-2 category.

    Rows are the categories in the stage-1 run, columns those in each seed's selected
    run, pooled over the seeds with bootstrap intervals over the examples
    (:func:`soi.seeds.transitions_over_seeds`). Stage 1 is one run, so its category is
    the same in every seed's pair.

    Raises
    ------
    ValueError
        If a stage-2 run has fewer than 2 epochs, so its categories are undefined.
    """
    for run_seed, run in result.runs.get("selected", {}).items():
        if run.dynamics.num_epochs < MIN_STAGE2_EPOCHS:
            raise ValueError(
                f"selected run of seed {run_seed} has {run.dynamics.num_epochs} epoch; the "
                f"categories need at least {MIN_STAGE2_EPOCHS}, so train stage 2 with "
                f"stage2_epochs={MIN_STAGE2_EPOCHS} or more"
            )
    target = stage2_categories(result)
    stage1 = categories_from_dynamics(result.stage1.dynamics).reindex(target.index)
    source = pd.DataFrame({column: stage1 for column in target.columns}, index=target.index)
    return transitions_over_seeds(
        source,
        target,
        n_resamples=n_resamples,
        seed=seed,
        categories=list(SOI_CATEGORIES),
        source_name="stage 1",
        target_name="stage 2 (selected)",
    )


def _label_names(stage1: RunResult) -> pd.Series:
    """Return the label name of every stage-1 training example, ``task:label`` for tasks."""
    dynamics = stage1.dynamics
    names = stage1.record["label_names"]
    if isinstance(names, Mapping):
        tasks = dynamics.tags["task"].to_numpy()
        values = [f"{task}:{names[task][gold]}" for task, gold in zip(tasks, dynamics.gold)]
    else:
        values = [names[gold] for gold in dynamics.gold]
    return pd.Series(values, index=pd.Index(dynamics.example_ids, name="example_id"))


def composition_table(result: TwoStageResult) -> pd.DataFrame:
    """Count the examples of each arm's training set by stage-1 category, label and tag.

    Columns are the stage-1 training set (the full arm), the selection, and each seed's
    random control. Rows are indexed by (``feature``, ``value``), where ``feature`` is
    ``category`` (stage-1 category), ``label`` or a tag such as ``source``, and the first
    row is the total.
    """
    dynamics = result.stage1.dynamics
    index = pd.Index(dynamics.example_ids, name="example_id")
    features = pd.DataFrame(
        {
            "category": categories_from_dynamics(dynamics).astype(str),
            "label": _label_names(result.stage1),
        },
        index=index,
    )
    strata = _strata(dynamics)
    if strata is not None:
        features = features.join(strata.astype(str))

    sets = {"stage-1 training set": index, "selected": result.selection.example_ids}
    for seed, control in result.controls.items():
        sets[f"random (seed {seed})"] = control.example_ids

    blocks = [pd.DataFrame({name: [len(ids)] for name, ids in sets.items()},
                           index=pd.MultiIndex.from_tuples([("total", "examples")]))]
    for column in features.columns:
        counts = {name: features.loc[ids, column].value_counts() for name, ids in sets.items()}
        block = pd.DataFrame(counts).fillna(0).astype(int)
        if column == "category":
            block = block.reindex([c for c in SOI_CATEGORIES if c in block.index])
        else:
            block = block.sort_index()
        block.index = pd.MultiIndex.from_product([[column], block.index])
        blocks.append(block)
    table = pd.concat(blocks)
    table.index.names = ["feature", "value"]
    return table
