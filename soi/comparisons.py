"""The data and the runs of a single-setting versus multi-setting comparison.

A :class:`Comparison` names every run of a comparison with its training data and the
evaluation sets it is scored on. The three builders below prepare the comparisons of the
book from registered data sets (see :mod:`soi.registry`); :func:`run_comparison` trains
them, or loads them when they were saved before.

- :func:`multi_source`: one model per sentiment source, and one on their union.
- :func:`multi_task`: one model per task, per pair of tasks and on all tasks, each with a
  shared encoder and one classification head per task.
- :func:`multi_lingual`: one intent classifier per language, and one on all languages. The
  languages get the same utterances, so translations of one utterance can be compared.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from soi.data import example_key, load_samples, load_splits, train_test_split

logger = logging.getLogger(__name__)

#: Separator of task names in the name of a run on several tasks.
TASK_SEPARATOR = "+"


@dataclass
class RunPlan:
    """One run of a comparison: its training data and the evaluation sets it is scored on.

    ``train`` is a data set, or a dict of data sets by task for a multi-head model.
    """

    train: datasets.Dataset | dict[str, datasets.Dataset]
    eval_sets: list[str]

    @property
    def num_examples(self) -> int:
        if isinstance(self.train, dict):
            return sum(len(d) for d in self.train.values())
        return len(self.train)


@dataclass
class Comparison:
    """The runs of one comparison and the data sets they use.

    Attributes
    ----------
    name : str
        Name of the comparison and of its multi-setting run.
    settings : list of str
        The single settings (sources, tasks or languages), in order.
    runs : dict of str to RunPlan
        Every run by name; the single-setting runs are named after their setting and the
        multi-setting run after the comparison.
    eval_sets : dict of str to datasets.Dataset
        Every evaluation set by name.
    ood : list of str
        Names of the evaluation sets that no run trains on.
    loaded : dict
        The data sets as loaded, for :func:`soi.registry.origin_table`.
    notes : list of str
        What the builder changed or left out, for the chapter to show.
    """

    name: str
    settings: list[str]
    runs: dict[str, RunPlan]
    eval_sets: dict[str, datasets.Dataset]
    ood: list[str]
    loaded: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def multi(self) -> RunPlan:
        """The run on every setting."""
        return self.runs[self.name]

    def training_ids(self, run: str) -> list[str]:
        """Return the example ids of a run's training data."""
        train = self.runs[run].train
        parts = train.values() if isinstance(train, dict) else [train]
        return [i for part in parts for i in part["example_id"]]


def _source_of(data) -> str:
    first = next(iter(data.values())) if isinstance(data, datasets.DatasetDict) else data
    return first.info.dataset_name or ""


def multi_source(
    sources: Sequence[str],
    ood_sources: Sequence[str],
    train_per_source: int | None,
    test_per_source: int,
    ood_per_source: int | None,
    seed: int,
    data_home: str | Path | None = None,
) -> Comparison:
    """Prepare one run per sentiment source and one on all of them.

    Each source is split into a stratified test set and training sample; the run named
    ``multi_source`` trains on the union of the single-source training sets. Every run is
    scored on every source's test set and on ``ood``, a sample of each OOD source.
    """
    splits = load_splits(list(sources), train_per_source, test_per_source, seed, data_home)
    eval_sets = {name: parts["test"] for name, parts in splits.items()}
    loaded: dict = dict(splits)
    ood = []
    if ood_sources:
        eval_sets["ood"] = load_samples(list(ood_sources), ood_per_source, seed, data_home)
        ood = ["ood"]
        loaded["ood"] = eval_sets["ood"]
    runs = {name: RunPlan(splits[name]["train"], list(eval_sets)) for name in sources}
    union = datasets.concatenate_datasets([splits[name]["train"] for name in sources])
    runs["multi_source"] = RunPlan(union, list(eval_sets))
    return Comparison("multi_source", list(sources), runs, eval_sets, ood, loaded)


def task_run_name(tasks: Sequence[str], all_tasks: Sequence[str]) -> str:
    """Name a run on ``tasks``: the task itself, ``a+b`` for a subset, ``multi_task`` for all."""
    if len(tasks) == len(all_tasks) and len(all_tasks) > 1:
        return "multi_task"
    return TASK_SEPARATOR.join(tasks)


def multi_task(
    tasks: Mapping[str, str],
    ood: Mapping[str, str],
    train_per_task: int | None,
    test_per_task: int,
    ood_per_task: int | None,
    seed: int,
    data_home: str | Path | None = None,
    combinations: bool = True,
) -> Comparison:
    """Prepare one run per task, one per combination of tasks, and one on all tasks.

    Parameters
    ----------
    tasks : mapping of str to str
        Registered data set of each task, such as ``{"entailment": "rte"}``. Each task has
        its own head and label space.
    ood : mapping of str to str
        Registered OOD data set of each task; tasks may be left out. An OOD set that
        resolves to the same data as the task's training data (a starter set standing in
        for both) is left out, and a note records it.
    train_per_task, test_per_task, ood_per_task : int or None
        Sizes of the stratified samples; None takes the whole training data.
    seed : int
    data_home : str or Path, optional
    combinations : bool
        Also run every combination of two or more tasks short of all of them.

    Returns
    -------
    Comparison
        Runs named after their tasks joined by ``+``, and ``multi_task`` for all tasks.
        Evaluation sets are named after the task, and ``<task>_ood``.
    """
    names = list(tasks)
    if not names:
        raise ValueError("tasks is empty; give at least one task, such as {'entailment': 'rte'}")
    unknown = sorted(set(ood) - set(names))
    if unknown:
        raise ValueError(
            f"ood contains task {unknown[0]!r}, which is not among the tasks {names}. Use "
            f"the task names of the tasks parameter"
        )
    splits = load_splits(list(tasks.values()), train_per_task, test_per_task, seed, data_home)
    train, eval_sets, loaded, notes, ood_names = {}, {}, {}, [], []
    for task, source in tasks.items():
        parts = splits[source]
        found = set(parts["train"]["task"])
        if found != {task}:
            raise ValueError(
                f"data set {source!r} is tagged with task {sorted(found)}, not {task!r}; key "
                f"each data set by its own task, for example {{{sorted(found)[0]!r}: "
                f"{source!r}}}"
            )
        train[task] = parts["train"]
        eval_sets[task] = parts["test"]
        loaded[task] = parts
    for task, source in ood.items():
        sample = load_samples([source], ood_per_task, seed, data_home)
        if _source_of(sample) == _source_of(loaded[task]):
            notes.append(
                f"OOD set {source!r} of task {task!r} was left out: it resolved to "
                f"{_source_of(sample)!r}, the task's own training data. Put a copy of "
                f"{source!r} in the data home, or allow the hub, to score it."
            )
            continue
        eval_sets[f"{task}_ood"] = sample
        loaded[f"{task}_ood"] = sample
        ood_names.append(f"{task}_ood")

    def evaluated(subset: Sequence[str]) -> list[str]:
        return [n for n in eval_sets if n in subset or n.removesuffix("_ood") in subset]

    sizes = [1] + (list(range(2, len(names))) if combinations else []) + [len(names)]
    runs = {}
    for size in dict.fromkeys(sizes):
        for subset in itertools.combinations(names, size):
            runs[task_run_name(subset, names)] = RunPlan(
                {task: train[task] for task in subset}, evaluated(subset)
            )
    if len(names) == 1:
        notes.append("Only one task was given, so there is no multi-task run.")
    return Comparison("multi_task", names, runs, eval_sets, ood_names, loaded, notes)


def parallel_select(
    dataset: datasets.Dataset, keys: Sequence[str], description: str
) -> datasets.Dataset:
    """Return the rows of ``dataset`` whose :func:`soi.data.example_key` is in ``keys``, in order."""
    position = {example_key(i): row for row, i in enumerate(dataset["example_id"])}
    missing = [key for key in keys if key not in position]
    if missing:
        raise ValueError(
            f"{description} lacks {len(missing)} of the {len(keys)} utterance ids of the first "
            f"language, such as {missing[:3]}; the languages must be parallel copies of one "
            f"data set (the same MASSIVE release, or the starter sets of every language)"
        )
    return dataset.select([position[key] for key in keys])


def multi_lingual(
    languages: Mapping[str, str],
    train_per_language: int | None,
    test_per_language: int,
    seed: int,
    data_home: str | Path | None = None,
) -> Comparison:
    """Prepare one intent classifier per language and one on all languages.

    The first language is split into a stratified test set and training sample; every
    other language takes the translations of the same utterances (same
    :func:`soi.data.example_key`), so the same utterance is a training example in every
    language. The run named ``multi_lingual`` trains on the union of the languages.

    Raises
    ------
    ValueError
        When the languages' data sets are not parallel: different label names, or ids
        missing from a language, as when a starter set replaces only some languages.
    """
    from soi.registry import load_registered

    names = list(languages)
    if not names:
        raise ValueError("languages is empty; give at least one, such as {'en': 'massive_en'}")
    full = {lang: load_registered(source, data_home=data_home)["train"]
            for lang, source in languages.items()}
    first = names[0]
    label_names = full[first].features["label"].names
    for lang in names[1:]:
        other = full[lang].features["label"].names
        if other != label_names:
            raise ValueError(
                f"languages {first!r} ({_source_of(full[first])}) and {lang!r} "
                f"({_source_of(full[lang])}) have different labels ({len(label_names)} and "
                f"{len(other)}), but every language must come from the same parallel data set. "
                f"Put all of {list(languages.values())} in the data home, or none"
            )
    reference = train_test_split(full[first], train_per_language, test_per_language, seed)
    train_keys = [example_key(i) for i in reference["train"]["example_id"]]
    test_keys = [example_key(i) for i in reference["test"]["example_id"]]
    splits = {first: reference}
    for lang in names[1:]:
        splits[lang] = datasets.DatasetDict({
            "train": parallel_select(full[lang], train_keys, f"language {lang!r}"),
            "test": parallel_select(full[lang], test_keys, f"language {lang!r}"),
        })
    eval_sets = {lang: parts["test"] for lang, parts in splits.items()}
    runs = {lang: RunPlan(splits[lang]["train"], list(eval_sets)) for lang in names}
    union = datasets.concatenate_datasets([splits[lang]["train"] for lang in names])
    runs["multi_lingual"] = RunPlan(union, list(eval_sets))
    return Comparison("multi_lingual", names, runs, eval_sets, [], dict(splits))


def run_comparison(
    comparison: Comparison,
    *,
    model_name: str,
    config,
    output_dir: str | Path,
    save_multi_model: bool = True,
    force: bool = False,
) -> dict:
    """Train every run of a comparison, or load the runs saved with the same settings.

    The multi-setting run keeps its weights (``save_model=True``) unless
    ``save_multi_model`` is False, so that a second fine-tuning stage can start from it.

    Returns
    -------
    dict of str to soi.experiments.RunResult
        In the order of ``comparison.runs``.
    """
    from soi.experiments import run_setting

    results = {}
    for name, plan in comparison.runs.items():
        results[name] = run_setting(
            name,
            model_name=model_name,
            train=plan.train,
            config=config,
            eval_sets={n: comparison.eval_sets[n] for n in plan.eval_sets},
            output_dir=output_dir,
            force=force,
            save_model=save_multi_model and name == comparison.name,
        )
    return results


def build_comparison(name: str, settings: Mapping, data_home: str | Path | None = None) -> Comparison:
    """Prepare comparison ``name`` from the settings of :func:`soi.profiles.resolve_profile`."""
    if name == "multi_source":
        return multi_source(
            settings["sources"], settings["ood_sources"], settings["train_per_source"],
            settings["test_per_source"], settings["ood_per_source"], settings["seed"], data_home,
        )
    if name == "multi_task":
        return multi_task(
            settings["tasks"], settings["ood"], settings["train_per_task"],
            settings["test_per_task"], settings["ood_per_task"], settings["seed"], data_home,
        )
    if name == "multi_lingual":
        return multi_lingual(
            settings["languages"], settings["train_per_language"],
            settings["test_per_language"], settings["seed"], data_home,
        )
    raise ValueError(
        f"unknown comparison {name!r}; pass 'multi_source', 'multi_task' or 'multi_lingual'"
    )


def training_config(settings: Mapping):
    """Return the :class:`soi.training.TrainingConfig` of resolved chapter settings."""
    from dataclasses import fields

    from soi.training import TrainingConfig

    names = {f.name for f in fields(TrainingConfig)}
    return TrainingConfig(**{k: v for k, v in settings.items() if k in names})


__all__ = [
    "Comparison",
    "RunPlan",
    "build_comparison",
    "multi_lingual",
    "multi_source",
    "multi_task",
    "parallel_select",
    "run_comparison",
    "task_run_name",
    "training_config",
]
