"""Tests of soi.cli, the ``soi`` command line, run in-process through ``main``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from soi import cli
from soi.dynamics import MISSING_PREDICTION, Dynamics, export_cartography, load_dynamics

EPOCHS = 4

#: Correctness per epoch of the two examples of each category, epoch 1 first, for four
#: epochs and the default split point 2.
PATTERNS = {
    "always_correct": "1111",
    "learned_early": "0111",
    "learned_late": "0001",
    "forgettable": "1011",
    "forgotten": "0110",
    "unlearned": "0000",
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pattern_dynamics(id_prefix: str = "") -> Dynamics:
    """Build 12 examples, two per category, with logits that give each correctness pattern."""
    ids, gold, logits, sources = [], [], [], []
    for index, (category, bits) in enumerate(PATTERNS.items()):
        for copy in range(2):
            label = (index + copy) % 2
            correct = np.array([bit == "1" for bit in bits])
            margin = 1.0 + 0.5 * copy + 0.1 * np.arange(EPOCHS)
            example = np.zeros((EPOCHS, 2), dtype=np.float32)
            example[:, label] = np.where(correct, margin, -margin)
            ids.append(f"{id_prefix}{category}-{copy}")
            gold.append(label)
            logits.append(example)
            sources.append(["imdb", "tweets"][copy])
    logits = np.array(logits)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    gold_prob = np.take_along_axis(probabilities, np.array(gold)[:, None, None], axis=2)[..., 0]
    return Dynamics(
        example_ids=ids,
        epochs=np.arange(1, EPOCHS + 1),
        gold=gold,
        gold_prob=gold_prob,
        predicted=logits.argmax(axis=-1),
        logits=logits,
        tags=pd.DataFrame({"source": sources}),
        metadata={"capture": "train_pass"},
    )


def expected_category(example_id: str) -> str:
    return example_id.rsplit("-", 1)[0]


@pytest.fixture
def dynamics_file(tmp_path) -> Path:
    return pattern_dynamics().save(tmp_path / "run.parquet")


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """Run ``soi`` with ``argv`` and return its exit status, stdout and stderr."""
    try:
        status = cli.main([str(value) for value in argv])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def assert_user_error(status: int, err: str, *fragments: str) -> None:
    assert status == cli.EXIT_USAGE
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_analyze_prints_counts(capsys, dynamics_file):
    status, out, _ = run_cli(capsys, "analyze", dynamics_file)

    assert status == 0
    assert "12 examples, 4 epochs, capture train_pass" in out
    for category in PATTERNS:
        assert f"{category}" in out
    assert "forgettable            2   16.7%" in out
    assert "total                 12  100.0%" in out


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_analyze_writes_table(capsys, dynamics_file, tmp_path, suffix):
    output = tmp_path / "tables" / f"analysis{suffix}"
    status, out, _ = run_cli(capsys, "analyze", dynamics_file, "--output", output)
    table = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)

    assert status == 0
    assert f"wrote 12 rows to {output}" in out
    assert table.columns[:3].tolist() == ["example_id", "gold", "source"]
    assert {"confidence", "variability", "forgetting_events", "category"} <= set(table.columns)
    assert table["category"].tolist() == [expected_category(i) for i in table["example_id"]]
    assert files_under(output.parent) == [output.name]


def test_analyze_reads_every_input_kind(capsys, tmp_path):
    dyn = pattern_dynamics()
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    inputs = {
        "parquet": dyn.save(tmp_path / "dynamics.parquet"),
        "run folder": dyn.save(run_folder / "dynamics.parquet").parent,
        "cartography": tmp_path / "cartography",
    }
    export_cartography(dyn, inputs["cartography"])

    tables = {}
    for kind, path in inputs.items():
        output = tmp_path / f"{kind}.csv"
        status, _, _ = run_cli(capsys, "analyze", path, "--output", output)
        assert status == 0, kind
        tables[kind] = pd.read_csv(output).set_index("example_id")

    for kind in ("run folder", "cartography"):
        categories = tables[kind]["category"]
        assert categories.to_dict() == tables["parquet"]["category"].to_dict(), kind
        np.testing.assert_allclose(
            tables[kind]["confidence"], tables["parquet"]["confidence"], atol=1e-6
        )


def test_analyze_missing_cells_need_flag(capsys, tmp_path):
    dyn = pattern_dynamics()
    dyn.gold_prob[0, 1] = np.nan
    dyn.predicted[0, 1] = MISSING_PREDICTION
    path = dyn.save(tmp_path / "dropped.parquet")

    status, _, err = run_cli(capsys, "analyze", path, "--output", tmp_path / "a.csv")
    assert_user_error(status, err, "1 examples without a record", "--drop-incomplete")
    assert not (tmp_path / "a.csv").exists()

    status, out, _ = run_cli(
        capsys, "analyze", path, "--drop-incomplete", "--output", tmp_path / "a.csv"
    )
    assert status == 0
    assert "left out 1 examples" in out
    assert len(pd.read_csv(tmp_path / "a.csv")) == 11


def test_analyze_bad_output_suffix(capsys, dynamics_file, tmp_path):
    status, _, err = run_cli(capsys, "analyze", dynamics_file, "--output", tmp_path / "a.xlsx")

    assert_user_error(status, err, "--output", "'.xlsx'", ".csv, .parquet")
    assert not (tmp_path / "a.xlsx").exists()


def test_analyze_missing_input(capsys, tmp_path):
    status, _, err = run_cli(capsys, "analyze", tmp_path / "absent.parquet")

    assert_user_error(status, err, "absent.parquet does not exist", "run folder")


def test_analyze_folder_without_dynamics(capsys, tmp_path):
    status, _, err = run_cli(capsys, "analyze", tmp_path)

    assert_user_error(status, err, "neither dynamics.parquet nor cartography files")


def test_analyze_single_cartography_file(capsys, tmp_path):
    export_cartography(pattern_dynamics(), tmp_path / "cartography")
    status, _, err = run_cli(
        capsys, "analyze", tmp_path / "cartography" / "dynamics_epoch_0.jsonl"
    )

    assert_user_error(status, err, "single cartography epoch file", "give the folder")


def test_analyze_truncated_parquet(capsys, dynamics_file, tmp_path):
    data = dynamics_file.read_bytes()
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(data[: len(data) // 2])
    output = tmp_path / "out" / "table.csv"

    status, _, err = run_cli(capsys, "analyze", truncated, "--output", output)

    assert_user_error(status, err, "truncated.parquet")
    assert not output.parent.exists()


def test_analyze_split_out_of_range(capsys, dynamics_file):
    status, _, err = run_cli(capsys, "analyze", dynamics_file, "--split", 4)

    assert_user_error(status, err, "split 4 is outside 1..3")


def test_failed_write_leaves_nothing(capsys, dynamics_file, tmp_path, monkeypatch):
    output = tmp_path / "new" / "table.parquet"

    def write_half_then_fail(self, path, **kwargs):
        Path(path).write_bytes(b"PAR1 partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", write_half_then_fail)
    status, _, err = run_cli(capsys, "analyze", dynamics_file, "--output", output)

    assert_user_error(status, err, "No space left on device")
    assert files_under(tmp_path) == ["run.parquet"]


def test_failed_write_keeps_old_file(capsys, dynamics_file, tmp_path, monkeypatch):
    output = tmp_path / "table.csv"
    output.write_text("old content\n")

    def fail(self, path, **kwargs):
        Path(path).write_text("partial")
        raise OSError("disk quota exceeded")

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail)
    status, _, err = run_cli(capsys, "analyze", dynamics_file, "--output", output)

    assert_user_error(status, err, "disk quota exceeded")
    assert output.read_text() == "old content\n"
    assert files_under(tmp_path) == ["run.parquet", "table.csv"]


@pytest.mark.parametrize(
    "kind, inputs",
    [
        ("data-map", ["run.parquet"]),
        ("categories", ["run.parquet", "other.parquet"]),
        ("transitions", ["run.parquet", "other.parquet"]),
    ],
)
def test_plot_writes_png(capsys, tmp_path, kind, inputs):
    pattern_dynamics().save(tmp_path / "run.parquet")
    pattern_dynamics().save(tmp_path / "other.parquet")
    output = tmp_path / "figures" / f"{kind}.png"

    status, out, _ = run_cli(
        capsys, "plot", kind, *[tmp_path / name for name in inputs], "--output", output
    )

    assert status == 0
    assert f"wrote {output}" in out
    assert output.read_bytes().startswith(PNG_SIGNATURE)
    assert files_under(output.parent) == [output.name]


def test_plot_data_map_options(capsys, dynamics_file, tmp_path):
    output = tmp_path / "map.svg"
    status, _, _ = run_cli(
        capsys, "plot", "data-map", dynamics_file, "--output", output,
        "--max-points", 5, "--seed", 3, "--title", "Toy run",
    )

    assert status == 0
    assert b"<svg" in output.read_bytes()


def test_plot_transitions_different_ids(capsys, tmp_path):
    pattern_dynamics().save(tmp_path / "run.parquet")
    pattern_dynamics(id_prefix="other-").save(tmp_path / "other.parquet")
    output = tmp_path / "figures" / "heatmap.png"

    status, _, err = run_cli(
        capsys, "plot", "transitions", tmp_path / "run.parquet", tmp_path / "other.parquet",
        "--output", output,
    )

    assert_user_error(status, err, "always_correct-0")
    assert not output.parent.exists()


def test_plot_names_count_mismatch(capsys, dynamics_file, tmp_path):
    status, _, err = run_cli(
        capsys, "plot", "categories", dynamics_file, "--names", "a,b", "--output",
        tmp_path / "bars.png",
    )

    assert_user_error(status, err, "--names 'a,b' gives 2 names for 1 dynamics inputs")


def test_plot_bad_figure_suffix(capsys, dynamics_file, tmp_path):
    status, _, err = run_cli(
        capsys, "plot", "data-map", dynamics_file, "--output", tmp_path / "map.gif"
    )

    assert_user_error(status, err, "'.gif'", ".png, .pdf, .svg")


def test_select_categories_with_control(capsys, dynamics_file, tmp_path):
    output = tmp_path / "selection" / "ids.txt"
    control = tmp_path / "selection" / "control.csv"

    status, out, _ = run_cli(
        capsys, "select", dynamics_file, "--categories", "forgettable,forgotten,unlearned",
        "--count", 4, "--output", output, "--control", control, "--seed", 1,
    )
    ids = output.read_text().splitlines()
    control_table = pd.read_csv(control)
    record = json.loads((tmp_path / "selection" / "ids.json").read_text())
    table = cli.analysis_table(pattern_dynamics()).set_index("example_id")

    assert status == 0
    assert "selected 4 of 12 examples (categories+random)" in out
    assert len(ids) == 4
    assert {expected_category(i) for i in ids} <= {"forgettable", "forgotten", "unlearned"}
    assert len(control_table) == 4
    assert sorted(control_table["gold"]) == sorted(table.loc[ids, "gold"])
    assert sorted(control_table["source"]) == sorted(table.loc[ids, "source"])
    assert record["selection"]["count"] == 4
    assert record["selection"]["seed"] == 1
    assert record["control"]["matched_on"] == ["label", "source"]
    assert files_under(output.parent) == ["control.csv", "ids.json", "ids.txt"]


def test_select_same_seed_same_ids(capsys, dynamics_file, tmp_path):
    selections = []
    for name in ("first", "second"):
        output = tmp_path / f"{name}.txt"
        status, _, _ = run_cli(
            capsys, "select", dynamics_file, "--categories", "always_correct,unlearned",
            "--count", 2, "--output", output, "--seed", 7,
        )
        assert status == 0
        selections.append(output.read_text())

    assert selections[0] == selections[1]


def test_select_fraction_of_candidates(capsys, dynamics_file, tmp_path):
    output = tmp_path / "ids.parquet"
    status, _, _ = run_cli(
        capsys, "select", dynamics_file, "--categories", "forgettable,forgotten",
        "--fraction", 0.5, "--fraction-of", "candidates", "--output", output,
    )
    chosen = pd.read_parquet(output)

    assert status == 0
    assert len(chosen) == 2
    assert set(chosen["category"]) <= {"forgettable", "forgotten"}


def test_select_rank_by_variability(capsys, dynamics_file, tmp_path):
    output = tmp_path / "ids.csv"
    status, _, _ = run_cli(
        capsys, "select", dynamics_file, "--rank-by", "variability", "--count", 3,
        "--output", output,
    )
    chosen = pd.read_csv(output)
    table = cli.analysis_table(pattern_dynamics())

    assert status == 0
    assert chosen["example_id"].tolist() == table.nlargest(3, "variability")["example_id"].tolist()


def test_select_unknown_category(capsys, dynamics_file, tmp_path):
    output = tmp_path / "ids.txt"
    status, _, err = run_cli(
        capsys, "select", dynamics_file, "--categories", "hard", "--count", 1, "--output", output
    )

    assert_user_error(status, err, "unknown categories ['hard']", "forgettable")
    assert files_under(tmp_path) == ["run.parquet"]


def test_select_count_too_large(capsys, dynamics_file, tmp_path):
    output = tmp_path / "ids.txt"
    status, _, err = run_cli(
        capsys, "select", dynamics_file, "--categories", "unlearned", "--count", 5,
        "--output", output, "--control", tmp_path / "control.txt",
    )

    assert_user_error(status, err, "asks for 5 examples, but only 2 of 12 are candidates")
    assert files_under(tmp_path) == ["run.parquet"]


def test_select_needs_categories_or_ranking(capsys, dynamics_file, tmp_path):
    status, _, err = run_cli(
        capsys, "select", dynamics_file, "--count", 2, "--output", tmp_path / "ids.txt"
    )

    assert_user_error(status, err, "needs --categories, --rank-by or both")


def test_select_outputs_must_differ(capsys, dynamics_file, tmp_path):
    status, _, err = run_cli(
        capsys, "select", dynamics_file, "--categories", "unlearned", "--count", 1,
        "--output", tmp_path / "ids.txt", "--control", tmp_path / "ids.txt",
    )

    assert_user_error(status, err, "--control and --output both name")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--count", "0"], "argument --count: 0 is not a positive integer"),
        (["--count", "two"], "argument --count: 'two' is not an integer"),
        (["--fraction", "1.5"], "argument --fraction: 1.5 is outside (0, 1]"),
        (["--fraction", "nan"], "argument --fraction: 'nan' is not a finite number"),
        (["--count", "1", "--fraction", "0.5"], "not allowed with argument"),
        (["--count", "1", "--seed", "-1"], "argument --seed: -1 is negative"),
    ],
)
def test_select_invalid_sizes(capsys, dynamics_file, tmp_path, argv, message):
    status, _, err = run_cli(
        capsys, "select", dynamics_file, "--categories", "unlearned", *argv,
        "--output", tmp_path / "ids.txt",
    )

    assert_user_error(status, err, message)


def test_unknown_command_rejected(capsys):
    status, _, err = run_cli(capsys, "cluster")

    assert_user_error(status, err, "invalid choice: 'cluster'")


def subparsers(parser: argparse.ArgumentParser, prefix: str = "soi"):
    """Yield every parser with a subcommand path, such as ``soi plot data-map``."""
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from subparsers(child, f"{prefix} {name}")


def test_help_gives_every_default(capsys):
    undocumented = []
    for name, parser in subparsers(cli.build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not action.option_strings:
                continue
            text = (action.help or "") % {"default": action.default}
            if "default:" not in text and "required" not in text:
                undocumented.append(f"{name} {action.option_strings[0]}")

    assert undocumented == []


@pytest.mark.parametrize(
    "command, option, unit",
    [
        (["train"], "--max-length", "in tokens"),
        (["train"], "--batch-size", "examples per optimizer step"),
        (["train"], "--warmup-ratio", "fraction (0 to 1) of all optimizer steps"),
        (["train"], "--epochs", "passes over the training set"),
        (["train"], "--record-logits", "float32 values"),
        (["plot", "data-map"], "--dpi", "dots per inch"),
        (["plot", "data-map"], "--max-points", "at most N examples"),
        (["select"], "--fraction", "share in (0, 1]"),
        (["analyze"], "--split", "counted from 1"),
    ],
)
def test_help_states_units(capsys, command, option, unit):
    status, out, _ = run_cli(capsys, *command, "--help")
    flattened = " ".join(out.split())

    assert status == 0
    assert option in flattened
    assert unit in flattened


def test_module_runs_as_script():
    result = subprocess.run(
        [sys.executable, "-m", "soi.cli", "--help"], capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0
    assert "analyze" in result.stdout
    assert "select" in result.stdout


def write_tiny_csv(path: Path, size: int = 12) -> Path:
    rng = np.random.default_rng(0)
    words = {"positive": ["good", "great", "love", "fun"], "negative": ["bad", "awful", "hate"]}
    rows = []
    for index in range(size):
        label = ["negative", "positive"][index % 2]
        text = "the film was " + " ".join(rng.choice(words[label], 3))
        rows.append({"text": text, "label": label})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def train_argv(tiny_model_dir, train_file, output_dir, *extra):
    return [
        "train", "--model", tiny_model_dir, "--train-file", train_file,
        "--labels", "negative,positive", "--output-dir", output_dir,
        "--epochs", 2, "--batch-size", 4, "--max-length", 16, "--learning-rate", 1e-3,
        "--precision", "fp32", "--device", "cpu", "--no-progress", *extra,
    ]


def test_train_saves_run(capsys, tiny_model_dir, tmp_path):
    train_file = write_tiny_csv(tmp_path / "toy.csv")
    test_file = write_tiny_csv(tmp_path / "toy_test.csv", size=6)
    output = tmp_path / "runs" / "toy"

    status, out, _ = run_cli(
        capsys, *train_argv(tiny_model_dir, train_file, output, "--test-file", test_file,
                            "--capture", "epoch_end", "--seed", 3)
    )
    dyn = load_dynamics(output / "dynamics.parquet")
    record = json.loads((output / "run.json").read_text())

    assert status == 0
    assert f"saved the run to {output}" in out
    assert "accuracy on test" in out
    assert dyn.example_ids.tolist() == [f"toy:train:{i}" for i in range(12)]
    assert dyn.epochs.tolist() == [1, 2]
    assert dyn.recorded.all()
    assert dyn.tags["source"].tolist() == ["toy"] * 12
    assert record["training_config"]["capture"] == "epoch_end"
    assert record["training_config"]["seed"] == 3
    assert record["label_names"] == ["negative", "positive"]

    status, out, _ = run_cli(capsys, "analyze", output)
    assert status == 0
    assert "total                 12  100.0%" in out


def test_train_unknown_label(capsys, tiny_model_dir, tmp_path):
    train_file = write_tiny_csv(tmp_path / "toy.csv")
    output = tmp_path / "runs" / "toy"
    argv = train_argv(tiny_model_dir, train_file, output)
    argv[argv.index("negative,positive")] = "negative,neutral"

    status, _, err = run_cli(capsys, *argv)

    assert_user_error(status, err, "unknown label 'positive'", "--labels gives the label names")
    assert not (tmp_path / "runs").exists()


def test_train_missing_text_column(capsys, tiny_model_dir, tmp_path):
    train_file = write_tiny_csv(tmp_path / "toy.csv")
    output = tmp_path / "runs" / "toy"

    status, _, err = run_cli(
        capsys, *train_argv(tiny_model_dir, train_file, output, "--text-column", "review")
    )

    assert_user_error(status, err, "column 'review' is missing", "--text-column")
    assert not (tmp_path / "runs").exists()


def test_train_missing_file(capsys, tiny_model_dir, tmp_path):
    status, _, err = run_cli(
        capsys, *train_argv(tiny_model_dir, tmp_path / "absent.csv", tmp_path / "run")
    )

    assert_user_error(status, err, "train file", "absent.csv does not exist")
    assert not (tmp_path / "run").exists()


def test_train_one_label_rejected(capsys, tiny_model_dir, tmp_path):
    argv = train_argv(tiny_model_dir, write_tiny_csv(tmp_path / "toy.csv"), tmp_path / "run")
    argv[argv.index("negative,positive")] = "negative"

    status, _, err = run_cli(capsys, *argv)

    assert_user_error(status, err, "--labels 'negative' must name at least two distinct labels")


def test_train_one_epoch_rejected(capsys, tiny_model_dir, tmp_path):
    argv = train_argv(tiny_model_dir, write_tiny_csv(tmp_path / "toy.csv"), tmp_path / "run")
    argv[argv.index("--epochs") + 1] = 1

    status, _, err = run_cli(capsys, *argv)

    assert_user_error(status, err, "epochs=1", "at least 2 epochs")
    assert not (tmp_path / "run").exists()


def test_train_offline_hub_id(capsys, tmp_path):
    argv = train_argv("nobody/no-such-model", write_tiny_csv(tmp_path / "toy.csv"),
                      tmp_path / "run")

    status, _, err = run_cli(capsys, *argv)

    assert_user_error(status, err, "could not load model 'nobody/no-such-model'")
    assert not (tmp_path / "run").exists()


def test_plot_transitions_shared_ids(capsys, tmp_path):
    full = pattern_dynamics()
    full.save(tmp_path / "multi.parquet")
    # The single-setting run contains half of the examples, as a single-source run does.
    keep = np.arange(0, full.num_examples, 2)
    subset = Dynamics(
        example_ids=full.example_ids[keep], epochs=full.epochs, gold=full.gold[keep],
        gold_prob=full.gold_prob[keep], predicted=full.predicted[keep],
        logits=full.logits[keep], tags=full.tags.iloc[keep],
    )
    subset.save(tmp_path / "single.parquet")
    output = tmp_path / "heatmap.png"
    arguments = ["plot", "transitions", tmp_path / "single.parquet", tmp_path / "multi.parquet"]

    status, _, err = run_cli(capsys, *arguments, "--output", output)
    assert_user_error(status, err, "only in target")
    assert not output.exists()

    status, _, _ = run_cli(capsys, *arguments, "--shared-ids", "--output", output)
    assert status == 0
    assert output.read_bytes().startswith(PNG_SIGNATURE)


def test_plot_transitions_shared_ids_none_shared(capsys, tmp_path):
    pattern_dynamics().save(tmp_path / "run.parquet")
    pattern_dynamics(id_prefix="other-").save(tmp_path / "other.parquet")
    status, _, err = run_cli(
        capsys, "plot", "transitions", tmp_path / "run.parquet", tmp_path / "other.parquet",
        "--shared-ids", "--output", tmp_path / "heatmap.png",
    )
    assert_user_error(status, err, "share no example ids")
