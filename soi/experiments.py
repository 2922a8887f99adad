"""Run, save and reload the fine-tuning runs that a comparison is made of.

A run's folder contains ``run.json`` (configuration, seed, data fingerprints, library
versions, accuracies, timings), ``dynamics.parquet`` and ``predictions.parquet``. The
three files are written to temporary names and renamed only when all are complete,
``run.json`` last, so a folder without it never counts as a finished run.
A run whose configuration, model and data fingerprints match a saved ``run.json`` is
loaded instead of trained again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pandas as pd

from soi import __version__
from soi.dynamics import Dynamics, load_dynamics, save_dynamics
from soi.reproducibility import collect_versions, fingerprint
from soi.training import TrainingConfig, fine_tune

logger = logging.getLogger(__name__)

RUN_RECORD = "run.json"
DYNAMICS_FILE = "dynamics.parquet"
PREDICTIONS_FILE = "predictions.parquet"
#: Folder of a run's fine-tuned weights and tokenizer, written when ``save_model=True``.
MODEL_FOLDER = "model"
#: File of a multi-task model's heads and their label names, inside ``MODEL_FOLDER``.
HEADS_FILE = "heads.safetensors"
TASK_LABELS_FILE = "task_labels.json"

# Options that change how a run is shown, not what it computes.
_DISPLAY_OPTIONS = ("progress",)
# Training options added after runs were first saved, with the default that trains as before.
_LATER_OPTIONS = {"max_steps": 0}


@dataclass
class RunResult:
    """One finished run: its dynamics, evaluation results and saved record."""

    name: str
    dynamics: Dynamics
    accuracy: dict[str, float]
    predictions: pd.DataFrame
    record: dict[str, Any]
    from_cache: bool


def dataset_fingerprint(dataset: datasets.Dataset) -> str:
    """Return a digest of a data set's ids, texts and labels."""
    columns = [c for c in ("example_id", "text", "text_pair", "label") if c in dataset.column_names]
    return fingerprint(*[list(map(str, dataset[c])) for c in columns])


def _write_run_files(folder: Path, writers: dict[str, Callable[[Path], Any]]) -> None:
    """Write a run's files to temporary names, then rename them, ``run.json`` last.

    ``writers`` maps each file name to a function that writes the file to a given path.
    If a write fails, the temporary files are removed and the folder keeps the previous
    run untouched. The old ``run.json`` is removed just before the renames, so that a
    folder never pairs a record with the files of another run.
    """
    temporaries: dict[str, Path] = {}
    try:
        for name, write in writers.items():
            handle, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            os.close(handle)
            temporaries[name] = Path(tmp)
            write(temporaries[name])
        (folder / RUN_RECORD).unlink(missing_ok=True)
        for name in sorted(temporaries, key=lambda name: name == RUN_RECORD):
            os.replace(temporaries[name], folder / name)
    except BaseException:
        for tmp in temporaries.values():
            tmp.unlink(missing_ok=True)
        raise


def _read_record(path: Path) -> dict[str, Any]:
    """Read a ``run.json``, naming the file when it is not a JSON object."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}); delete its folder, or pass force=True to "
            f"run_setting to train the run again"
        ) from error
    if not isinstance(record, dict):
        raise ValueError(
            f"{path} contains a JSON {type(record).__name__}, not a run record object; delete "
            f"its folder, or pass force=True to run_setting to train the run again"
        )
    return record


def _run_key(model_name, config, train, eval_sets, tasks=None, init_key=None) -> dict[str, Any]:
    settings = {k: v for k, v in config.to_dict().items() if k not in _DISPLAY_OPTIONS}
    # Options added later are left out at their default, so older saved runs stay valid.
    for option, default in _LATER_OPTIONS.items():
        if settings.get(option) == default:
            settings.pop(option)
    key = {
        "soi_version": __version__,
        "model": model_name,
        "training_config": settings,
        "train_fingerprint": dataset_fingerprint(train),
        "eval_fingerprints": {name: dataset_fingerprint(d) for name, d in eval_sets.items()},
    }
    if tasks is not None:
        key["tasks"] = tasks
    if init_key is not None:
        key["init_from"] = fingerprint(json.dumps(init_key, sort_keys=True))
    return key


def save_model_files(model, tokenizer, folder: str | Path) -> Path:
    """Save fine-tuned weights and their tokenizer to ``folder/model``, atomically.

    A transformers model is saved with ``save_pretrained``. A
    :class:`soi.heads.MultiTaskModel` is saved as its encoder's ``save_pretrained`` folder
    plus ``heads.safetensors`` and ``task_labels.json``. The files are written to a
    temporary folder that replaces ``folder/model`` only once complete.
    """
    from safetensors.torch import save_file

    from soi.heads import MultiTaskModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MODEL_FOLDER
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=f".{MODEL_FOLDER}.", suffix=".tmp"))
    try:
        if isinstance(model, MultiTaskModel):
            model.encoder.save_pretrained(staging)
            heads = {k: v.detach().cpu().contiguous() for k, v in model.heads.state_dict().items()}
            save_file(heads, staging / HEADS_FILE)
            (staging / TASK_LABELS_FILE).write_text(
                json.dumps(model.task_labels, indent=2), encoding="utf-8"
            )
        else:
            model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def load_run_model(folder: str | Path):
    """Load the fine-tuned model and tokenizer that :func:`run_setting` saved in ``folder``.

    Returns a :class:`soi.heads.MultiTaskModel` for a multi-task run, otherwise a
    transformers sequence-classification model, in both cases with its tokenizer.
    """
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    from soi.heads import MultiTaskModel

    path = Path(folder) / MODEL_FOLDER
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"{path} contains no saved model; train the run with run_setting(..., "
            f"save_model=True) to keep its weights"
        )
    tokenizer = AutoTokenizer.from_pretrained(path)
    labels_file = path / TASK_LABELS_FILE
    if labels_file.is_file():
        task_labels = json.loads(labels_file.read_text(encoding="utf-8"))
        model = MultiTaskModel(AutoModel.from_pretrained(path), task_labels)
        model.heads.load_state_dict(load_file(path / HEADS_FILE))
    else:
        model = AutoModelForSequenceClassification.from_pretrained(path)
    return model, tokenizer


def load_run(folder: str | Path) -> RunResult:
    """Load a finished run from its folder."""
    folder = Path(folder)
    record_path = folder / RUN_RECORD
    if not record_path.is_file():
        raise FileNotFoundError(
            f"{record_path} not found: {folder} contains no finished run. Run it with run_setting"
        )
    record = _read_record(record_path)
    return RunResult(
        name=record["name"],
        dynamics=load_dynamics(folder / DYNAMICS_FILE),
        accuracy=record["accuracy"],
        predictions=pd.read_parquet(folder / PREDICTIONS_FILE),
        record=record,
        from_cache=True,
    )


def run_setting(
    name: str,
    *,
    model_name: str,
    train: datasets.Dataset | dict[str, datasets.Dataset],
    config: TrainingConfig,
    eval_sets: dict[str, datasets.Dataset],
    output_dir: str | Path,
    force: bool = False,
    save_model: bool = False,
    init_from: str | Path | None = None,
) -> RunResult:
    """Fine-tune ``model_name`` on ``train``, or load the saved run with the same settings.

    Parameters
    ----------
    name : str
        Name of the run; its files go to ``output_dir/name``.
    model_name : str
        Embedded model name, hub id or local folder (see :mod:`soi.models`).
    train : datasets.Dataset or dict of str to datasets.Dataset
        Training set as returned by :func:`soi.data.load_source`. A dict of training sets
        keyed by task trains a :class:`soi.heads.MultiTaskModel` with one head per task,
        even for a single task. The sets are concatenated with
        :func:`soi.heads.concatenate_tasks`, and the examples of every evaluation set must
        then belong to those tasks.
    config : TrainingConfig
    eval_sets : dict of str to datasets.Dataset
        Sets to evaluate after training, keyed by the name shown in tables.
    output_dir : str or Path
    force : bool
        Train again even when a saved run matches.
    save_model : bool
        Also keep the fine-tuned weights in ``output_dir/name/model`` (see
        :func:`load_run_model`). A saved run without weights is trained again.
    init_from : str or Path, optional
        Folder of a saved run whose fine-tuned weights are trained further, instead of the
        pretrained ``model_name``. The run key includes that run's key, so a changed first
        stage trains this run again.
    """
    from soi.heads import concatenate_tasks, load_multitask_model
    from soi.models import load_model_and_tokenizer

    folder = Path(output_dir) / name
    task_labels = None
    if isinstance(train, dict):
        for task, dataset in train.items():
            _check_class_labels(dataset, f"{name}/{task}")
        train, task_labels = concatenate_tasks(train)
    else:
        _check_class_labels(train, name)
    init_record = None
    if init_from is not None:
        init_path = Path(init_from) / RUN_RECORD
        if init_path.is_file():
            init_record = _read_record(init_path)
        if init_record is None or not (Path(init_from) / MODEL_FOLDER).is_dir():
            raise FileNotFoundError(
                f"init_from={str(init_from)!r} is not a finished run with saved weights; "
                f"train it first with run_setting(..., save_model=True)"
            )
    key = _run_key(
        model_name, config, train, eval_sets, task_labels,
        init_record["key"] if init_record else None,
    )
    record_path = folder / RUN_RECORD
    if record_path.is_file() and not force:
        saved = _read_record(record_path)
        has_model = (folder / MODEL_FOLDER / "config.json").is_file()
        if saved.get("key") == key and (has_model or not save_model):
            logger.info("Loading saved run %s from %s", name, folder)
            return load_run(folder)
        if saved.get("key") == key:
            logger.info("Saved run %s has no saved weights; training it again", name)
        else:
            logger.info("Saved run %s has other settings; training it again", name)

    if init_from is not None:
        from soi.reproducibility import set_seed

        model, tokenizer = load_run_model(init_from)
        set_seed(config.seed)
        label_names = task_labels or init_record["label_names"]
    elif task_labels is not None:
        model, tokenizer = load_multitask_model(model_name, task_labels, seed=config.seed)
        label_names = task_labels
    else:
        label_names = list(train.features["label"].names)
        model, tokenizer = load_model_and_tokenizer(model_name, label_names, seed=config.seed)
    result = fine_tune(
        model, tokenizer, train, config, eval_sets=eval_sets,
        metadata={"run": name, "model": model_name, "key": key},
    )

    predictions = pd.concat(
        [e.predictions.assign(eval_set=set_name) for set_name, e in result.evaluations.items()],
        ignore_index=True,
    ) if result.evaluations else pd.DataFrame()
    accuracy = {set_name: e.accuracy for set_name, e in result.evaluations.items()}
    record = {
        "name": name,
        "key": key,
        "seed": config.seed,
        "model": model_name,
        "init_from": str(init_from) if init_from is not None else None,
        "tasks": list(task_labels) if task_labels else None,
        "label_names": label_names,
        "training_config": config.to_dict(),
        "precision": result.precision,
        "device": result.device,
        "num_train_examples": len(train),
        "eval_set_sizes": {set_name: len(d) for set_name, d in eval_sets.items()},
        "accuracy": accuracy,
        "history": result.history,
        "train_seconds": result.train_seconds,
        "train_examples_per_second": result.examples_per_second,
        "versions": collect_versions(),
    }

    folder.mkdir(parents=True, exist_ok=True)
    # Weights of an earlier run must never pair with this run's record.
    shutil.rmtree(folder / MODEL_FOLDER, ignore_errors=True)
    text = json.dumps(record, indent=2)
    _write_run_files(
        folder,
        {
            DYNAMICS_FILE: lambda tmp: save_dynamics(result.dynamics, tmp),
            PREDICTIONS_FILE: lambda tmp: predictions.to_parquet(tmp, index=False),
            RUN_RECORD: lambda tmp: tmp.write_text(text, encoding="utf-8"),
        },
    )
    if save_model:
        save_model_files(model, tokenizer, folder)
    logger.info("Saved run %s to %s", name, folder)
    return RunResult(name, result.dynamics, accuracy, predictions, record, from_cache=False)


def _check_class_labels(dataset: datasets.Dataset, name: str) -> None:
    feature = dataset.features.get("label")
    if not isinstance(feature, datasets.ClassLabel):
        raise ValueError(
            f"the label column of training set {name!r} is {feature!r}, but run_setting takes "
            f"the label names from a ClassLabel column. Load the data with "
            f"soi.data.load_source, or cast it with train.cast_column('label', "
            f"datasets.ClassLabel(names=[...]))"
        )


def speed_table(runs: dict[str, RunResult]) -> pd.DataFrame:
    """Return each run's training examples, seconds, examples per second and precision."""
    return pd.DataFrame(
        {
            name: {
                "examples": run.record["num_train_examples"],
                "seconds": run.record["train_seconds"],
                "examples per second": run.record["train_examples_per_second"],
                "precision": run.record["precision"],
            }
            for name, run in runs.items()
        }
    ).T


def accuracy_table(runs: dict[str, RunResult]) -> pd.DataFrame:
    """Return accuracies with one row per run and one column per evaluation set."""
    return pd.DataFrame({name: run.accuracy for name, run in runs.items()}).T
