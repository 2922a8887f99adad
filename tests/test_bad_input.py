"""Bad input through soi's public API, as a user would give it.

Every case checks that the error names the bad value and the fix, and, where the
operation writes output, that no partial file is left behind. The cases are grouped by
what the user passes: data files, registered data sets, dynamics files, training runs,
chapter parameters and the command line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from soi import cli
from soi import dynamics as dynamics_module
from soi.checkpoints import CHECKPOINT_FILE, save_checkpoint
from soi.data import DataFileError, DatasetSpec, SourceUnavailableError, load_source, load_splits
from soi.dynamics import (
    MISSING_PREDICTION,
    Dynamics,
    DynamicsFileError,
    export_cartography,
    import_cartography,
    load_dynamics,
    save_dynamics,
)
from soi.experiments import load_run, run_setting
from soi.metrics import metrics_from_dynamics
from soi.models import load_model_and_tokenizer
from soi.notebooks import ParameterError, run_chapter
from soi.registry import load_registered
from soi.training import TrainingConfig, fine_tune
from soi.transitions import transition_matrix

LABELS = ("negative", "positive")

#: Rows of the small review files that the data cases write.
REVIEWS = [
    ("the movie was good", "positive"),
    ("the film was awful", "negative"),
    ("great fun", "positive"),
    ("boring and bad", "negative"),
]

#: Bytes that are not valid UTF-8: "café" in Latin-1.
LATIN1_TEXT = "café".encode("latin-1")


def assert_names(error: BaseException, *fragments: str) -> None:
    """Check that the message of ``error`` contains every fragment."""
    message = str(error)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def file_tree(folder: Path) -> dict[str, bytes]:
    """Return every file under ``folder`` with its content, to compare before and after."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """Run ``soi`` with ``argv`` and return its exit status, stdout and stderr."""
    try:
        status = cli.main([str(value) for value in argv])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_cli_error(status: int, err: str, *fragments: str) -> None:
    assert status == cli.EXIT_USAGE
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


# --- Data files described with DatasetSpec ---------------------------------------------


def write_csv(folder: Path, rows=REVIEWS, name: str = "reviews.csv", sep: str = ",") -> str:
    header = sep.join(("text", "label"))
    lines = [header, *(sep.join(row) for row in rows)]
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def reviews_spec(files: dict[str, str], **options) -> DatasetSpec:
    values = dict(name="reviews", text_columns=("text",), label_column="label", label_names=LABELS)
    return DatasetSpec(**(values | options), files=files)


def empty_split(folder: Path) -> DatasetSpec:
    return reviews_spec({"train": write_csv(folder)}, drop_labels=LABELS)


def missing_text_column(folder: Path) -> DatasetSpec:
    return reviews_spec({"train": write_csv(folder)}, text_columns=("review",))


def missing_label_column(folder: Path) -> DatasetSpec:
    return reviews_spec({"train": write_csv(folder)}, label_column="sentiment")


def unknown_label(folder: Path) -> DatasetSpec:
    return reviews_spec({"train": write_csv(folder, [*REVIEWS, ("so so", "neutral")])})


def label_id_out_of_range(folder: Path) -> DatasetSpec:
    path = folder / "reviews.jsonl"
    frame = pd.DataFrame({"text": ["good", "bad", "odd"], "label": [1, 0, 2]})
    frame.to_json(path, orient="records", lines=True)
    return reviews_spec({"train": str(path)})


def duplicate_ids(folder: Path) -> DatasetSpec:
    path = folder / "reviews.csv"
    path.write_text("id,text,label\n7,good,positive\n8,bad,negative\n7,fun,positive\n")
    return reviews_spec({"train": str(path)}, id_column="id")


def non_utf8_file(suffix: str, sep: str) -> Callable[[Path], DatasetSpec]:
    """Return a builder of a file whose third line has a Latin-1 byte."""

    def build(folder: Path) -> DatasetSpec:
        path = folder / f"reviews.{suffix}"
        header = f"text{sep}label\ngood{sep}positive\n".encode()
        path.write_bytes(header + LATIN1_TEXT + f"{sep}negative\n".encode())
        return reviews_spec({"train": str(path)})

    return build


def unknown_encoding(folder: Path) -> DatasetSpec:
    return reviews_spec({"train": write_csv(folder)}, encoding="utf-9")


def unknown_error_handler(folder: Path) -> DatasetSpec:
    return reviews_spec({"train": write_csv(folder)}, encoding_errors="ignor")


def truncated_parquet(folder: Path) -> DatasetSpec:
    path = folder / "reviews.parquet"
    pd.DataFrame(REVIEWS * 20, columns=["text", "label"]).to_parquet(path)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    return reviews_spec({"train": str(path)})


def truncated_jsonl(folder: Path) -> DatasetSpec:
    path = folder / "reviews.jsonl"
    path.write_text('{"text": "good", "label": "positive"}\n{"text": "bad", "lab')
    return reviews_spec({"train": str(path)})


def empty_file(folder: Path) -> DatasetSpec:
    path = folder / "reviews.csv"
    path.write_text("")
    return reviews_spec({"train": str(path)})


def extra_fields(folder: Path) -> DatasetSpec:
    path = folder / "reviews.csv"
    path.write_text("text,label\ngood,positive\nbad,negative,again,more\n")
    return reviews_spec({"train": str(path)})


def missing_file(folder: Path) -> DatasetSpec:
    return reviews_spec({"train": str(folder / "absent.csv")})


def unknown_suffix(folder: Path) -> DatasetSpec:
    path = folder / "reviews.xlsx"
    path.write_bytes(b"PK")
    return reviews_spec({"train": str(path)})


def one_label(folder: Path) -> DatasetSpec:
    return reviews_spec({"train": write_csv(folder)}, label_names=("positive",))


def hub_id_offline(folder: Path) -> DatasetSpec:
    values = dict(name="reviews", text_columns=("text",), label_column="label", label_names=LABELS)
    return DatasetSpec(**values, hub_id="someone/movie-reviews")


DATA_CASES = [
    pytest.param(
        empty_split, ValueError,
        ["split 'train' of 'reviews' is empty after filtering", "check row_filter and drop_labels"],
        id="empty-split",
    ),
    pytest.param(
        missing_text_column, ValueError,
        ["column 'review' is missing", "columns are ['text', 'label']", "Set text_columns"],
        id="missing-text-column",
    ),
    pytest.param(
        missing_label_column, ValueError,
        ["column 'sentiment' is missing", "Set text_columns, label_column"],
        id="missing-label-column",
    ),
    pytest.param(
        unknown_label, ValueError,
        ["unknown label 'neutral'", "known labels are ['negative', 'positive']",
         "drop_labels"],
        id="unknown-label-string",
    ),
    pytest.param(
        label_id_out_of_range, ValueError,
        ["label id 2 of 'reviews' is outside 0..1", "['negative', 'positive']"],
        id="label-id-out-of-range",
    ),
    pytest.param(
        duplicate_ids, ValueError,
        ["example id 'reviews:7' of 'reviews' occurs twice", "Choose another id_column"],
        id="duplicate-example-ids",
    ),
    pytest.param(
        non_utf8_file("csv", ","), DataFileError,
        ["reviews.csv", "is not valid utf-8 text: byte 0xe9 on line 3",
         "encoding='latin-1'", "encoding_errors='replace'"],
        id="non-utf8-csv",
    ),
    pytest.param(
        non_utf8_file("tsv", "\t"), DataFileError,
        ["reviews.tsv", "byte 0xe9 on line 3", "encoding_errors='replace'"],
        id="non-utf8-tsv",
    ),
    pytest.param(
        unknown_encoding, ValueError,
        ["encoding='utf-9', which Python does not know", "'latin-1'"],
        id="unknown-encoding",
    ),
    pytest.param(
        unknown_error_handler, ValueError,
        ["encoding_errors='ignor'", "use 'strict', 'replace' or 'ignore'"],
        id="unknown-error-handler",
    ),
    pytest.param(
        truncated_parquet, DataFileError,
        ["reviews.parquet", "as Parquet", "truncated", "Copy it again"],
        id="truncated-parquet",
    ),
    pytest.param(
        truncated_jsonl, DataFileError,
        ["reviews.jsonl", "line 2 is not valid JSON", "truncated", "Copy it again"],
        id="truncated-jsonl",
    ),
    pytest.param(
        empty_file, DataFileError, ["reviews.csv", "is empty", "header row"], id="empty-file",
    ),
    pytest.param(
        extra_fields, DataFileError,
        ["cannot read file", "reviews.csv", "Expected 2 fields in line 3, saw 4",
         "check that file_format='csv'"],
        id="csv-row-with-extra-fields",
    ),
    pytest.param(
        missing_file, FileNotFoundError,
        ["absent.csv", "for split 'train' of 'reviews' not found", "check the path"],
        id="missing-data-file",
    ),
    pytest.param(
        unknown_suffix, ValueError,
        ["reviews.xlsx", "from its suffix", "set file_format"], id="unknown-file-suffix",
    ),
    pytest.param(
        one_label, ValueError,
        ["at least two distinct label names", "('positive',)"], id="single-label-name",
    ),
    pytest.param(
        hub_id_offline, SourceUnavailableError,
        ["'someone/movie-reviews'", "offline mode is on", "HF_HUB_OFFLINE",
         "Unset both variables"],
        id="hub-id-offline",
    ),
]


@pytest.mark.parametrize(("build", "error_type", "fragments"), DATA_CASES)
def test_data_file_rejected(tmp_path, build, error_type, fragments):
    with pytest.raises(error_type) as caught:
        load_source(build(tmp_path))

    assert_names(caught.value, *fragments)


def test_non_utf8_loads_with_suggested_fix(tmp_path):
    spec = non_utf8_file("csv", ",")(tmp_path)
    replaced = DatasetSpec(**{**spec.__dict__, "encoding_errors": "replace"})
    latin1 = DatasetSpec(**{**spec.__dict__, "encoding": "latin-1"})

    assert load_source(replaced)["train"]["text"][1] == "caf\ufffd"
    assert load_source(latin1)["train"]["text"][1] == "café"


# --- Registered data sets --------------------------------------------------------------


def test_unknown_registered_name():
    with pytest.raises(ValueError) as caught:
        load_splits(["imbd"], train_size=2, test_size=1, seed=0)

    assert_names(caught.value, "unknown source 'imbd'", "'imdb'", "soi.data.load_source")


def test_registered_hub_set_offline(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        load_registered("yelp_polarity", data_home=tmp_path)

    assert_names(
        caught.value, "'yelp_polarity'", "not tried in offline mode",
        "unset HF_HUB_OFFLINE and HF_DATASETS_OFFLINE", "soi.data.DatasetSpec",
    )


def test_data_home_copy_lacks_file(tmp_path):
    (tmp_path / "rte").mkdir()
    (tmp_path / "rte" / "dev.tsv").write_text("index\tsentence1\tsentence2\tlabel\n")

    with pytest.raises(FileNotFoundError) as caught:
        load_registered("rte", data_home=tmp_path)

    assert_names(
        caught.value, "file 'train.tsv' not found in", "it contains ['dev.tsv']",
        "Copy the file under its original name",
    )


def test_data_home_massive_truncated(tmp_path):
    folder = tmp_path / "massive"
    folder.mkdir()
    row = {"id": "1", "locale": "en-US", "partition": "train", "intent": "alarm_set",
           "utt": "wake me up at nine"}
    (folder / "en-US.jsonl").write_text(json.dumps(row) + '\n{"id": "2", "locale": "en')

    with pytest.raises(DataFileError) as caught:
        load_registered("massive_en", data_home=tmp_path)

    assert_names(caught.value, "en-US.jsonl, line 2 is not valid JSON", "copy it again")


# --- Dynamics in memory and in files ---------------------------------------------------


def small_dynamics(num_epochs: int = 3, ids: tuple[str, ...] = ("a", "b", "c")) -> Dynamics:
    """Build consistent dynamics with logits for ``ids`` over ``num_epochs`` epochs."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(len(ids), num_epochs, 2)).astype(np.float32)
    gold = np.arange(len(ids)) % 2
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    return Dynamics(
        example_ids=list(ids),
        epochs=np.arange(1, num_epochs + 1),
        gold=gold,
        gold_prob=np.take_along_axis(probabilities, gold[:, None, None], axis=2)[..., 0],
        predicted=logits.argmax(axis=2),
        logits=logits,
    )


def dynamics_with_value(array: str, value: float) -> Callable[[], Dynamics]:
    """Return a builder of dynamics whose ``array`` has ``value`` for example 'b' at epoch 3."""

    def build() -> Dynamics:
        dyn = small_dynamics()
        values = {name: getattr(dyn, name) for name in ("gold_prob", "predicted", "logits")}
        if array == "gold_prob":
            values["gold_prob"][1, 2] = value
        else:
            values["logits"][1, 2, 0] = value
        return Dynamics(dyn.example_ids, dyn.epochs, dyn.gold, **values)

    return build


def repeated_ids() -> Dynamics:
    return small_dynamics(ids=("a", "b", "a"))


@pytest.mark.parametrize(
    ("build", "fragments"),
    [
        pytest.param(
            repeated_ids, ["example ids must be unique", "['a']", "give every example its own id"],
            id="duplicate-example-ids",
        ),
        pytest.param(
            dynamics_with_value("gold_prob", np.nan),
            ["1 recorded cells have a NaN gold_prob", "example 'b' at epoch 3",
             "lower the learning rate", "MISSING_PREDICTION"],
            id="nan-logits",
        ),
        pytest.param(
            dynamics_with_value("logits", np.inf),
            ["infinite logits", "example 'b' at epoch 3", "train in fp32"],
            id="infinite-logits",
        ),
        pytest.param(
            dynamics_with_value("logits", -np.inf), ["infinite logits", "example 'b'"],
            id="negative-infinite-logits",
        ),
    ],
)
def test_dynamics_rejected(build, fragments):
    with pytest.raises(ValueError) as caught:
        build()

    assert_names(caught.value, *fragments)


def test_nan_logits_padding_allowed():
    dyn = small_dynamics()
    logits = np.concatenate([dyn.logits, np.full((3, 3, 1), np.nan, np.float32)], axis=2)

    padded = Dynamics(dyn.example_ids, dyn.epochs, dyn.gold, dyn.gold_prob, dyn.predicted, logits)

    assert padded.logits.shape == (3, 3, 3)


def test_newer_schema_version(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(dynamics_module, "SCHEMA_VERSION", dynamics_module.SCHEMA_VERSION + 1)
    path = save_dynamics(small_dynamics(), tmp_path / "future.parquet")
    monkeypatch.undo()

    with pytest.raises(DynamicsFileError) as caught:
        load_dynamics(path)
    assert_names(caught.value, "future.parquet", "schema version 2", "upgrade soi")

    output = tmp_path / "analysis.csv"
    status, _, err = run_cli(capsys, "analyze", path, "--output", output)
    assert_cli_error(status, err, "schema version 2", "upgrade soi")
    assert not output.exists()


def test_truncated_dynamics_parquet(capsys, tmp_path):
    path = save_dynamics(small_dynamics(), tmp_path / "run.parquet")
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])

    with pytest.raises(DynamicsFileError) as caught:
        load_dynamics(path)
    assert_names(caught.value, "run.parquet as Parquet", "truncated", "Write it again")

    output = tmp_path / "map.png"
    status, _, err = run_cli(capsys, "plot", "data-map", path, "--output", output)
    assert_cli_error(status, err, "truncated")
    assert not output.exists()


def test_nan_probability_in_dynamics_file(tmp_path):
    path = save_dynamics(small_dynamics(), tmp_path / "run.parquet")
    table = pq.read_table(path)
    gold_prob = table.column("gold_prob").to_numpy().copy()
    gold_prob[4] = np.nan
    column = table.schema.get_field_index("gold_prob")
    pq.write_table(table.set_column(column, "gold_prob", pa.array(gold_prob)), path)

    with pytest.raises(DynamicsFileError) as caught:
        load_dynamics(path)

    assert_names(
        caught.value, "run.parquet contains invalid dynamics", "NaN gold_prob",
        "example 'b' at epoch 2",
    )


def test_cartography_missing_epoch_file(capsys, tmp_path):
    export_cartography(small_dynamics(), tmp_path / "cartography")
    (tmp_path / "cartography" / "dynamics_epoch_1.jsonl").unlink()

    with pytest.raises(FileNotFoundError) as caught:
        import_cartography(tmp_path / "cartography")
    assert_names(caught.value, "dynamics_epoch_1.jsonl is missing", "numbered 0..2 without gaps")

    output = tmp_path / "analysis.csv"
    status, _, err = run_cli(capsys, "analyze", tmp_path / "cartography", "--output", output)
    assert_cli_error(status, err, "dynamics_epoch_1.jsonl is missing")
    assert not output.exists()


def test_cartography_truncated_epoch_file(tmp_path):
    export_cartography(small_dynamics(), tmp_path)
    path = tmp_path / "dynamics_epoch_2.jsonl"
    path.write_bytes(path.read_bytes()[:-20])

    with pytest.raises(ValueError) as caught:
        import_cartography(tmp_path)

    assert_names(caught.value, "dynamics_epoch_2.jsonl, line 3 is not valid JSON")


def test_cartography_null_logits(tmp_path):
    export_cartography(small_dynamics(), tmp_path)
    path = tmp_path / "dynamics_epoch_1.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = json.dumps({"guid": "b", "logits_epoch_1": [None, 0.5], "gold": 1})
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(ValueError) as caught:
        import_cartography(tmp_path)

    assert_names(
        caught.value, "dynamics_epoch_1.jsonl gives guid 'b' the logits [nan, 0.5]",
        "NaN (null) or infinite", "lower learning rate",
    )


def test_cartography_export_over_longer_run(tmp_path):
    export_cartography(small_dynamics(num_epochs=3), tmp_path)
    before = file_tree(tmp_path)

    with pytest.raises(FileExistsError) as caught:
        export_cartography(small_dynamics(num_epochs=2), tmp_path)

    assert_names(caught.value, "dynamics_epoch_2.jsonl", "export into an empty folder")
    assert file_tree(tmp_path) == before


def test_save_dynamics_invalid_tags_writes_nothing(tmp_path):
    dyn = small_dynamics()
    dyn.tags = pd.DataFrame({"source": [{"a": 1}, {"b": 2}, {"c": 3}]})

    folder = tmp_path / "runs"
    folder.mkdir()
    with pytest.raises(TypeError) as caught:
        save_dynamics(dyn, folder / "run.parquet")

    assert_names(caught.value, "tag column 'source'", "astype(str)")
    assert list(folder.iterdir()) == []


def test_fewer_than_two_epochs(capsys, tmp_path):
    with pytest.raises(ValueError) as caught:
        TrainingConfig(epochs=1)
    assert_names(caught.value, "epochs=1", "at least 2 epochs")

    one_epoch = small_dynamics(num_epochs=1)
    with pytest.raises(ValueError) as caught:
        metrics_from_dynamics(one_epoch)
    assert_names(caught.value, "1 epoch(s), but at least 2 are needed", "more epochs")

    path = save_dynamics(one_epoch, tmp_path / "short.parquet")
    output = tmp_path / "analysis.csv"
    status, _, err = run_cli(capsys, "analyze", path, "--output", output)
    assert_cli_error(status, err, "at least 2 are needed")
    assert not output.exists()


def test_transition_between_different_id_sets(capsys, tmp_path):
    single = pd.Series(["easy", "hard"], index=["a", "b"])
    multi = pd.Series(["easy", "hard"], index=["a", "c"])

    with pytest.raises(ValueError) as caught:
        transition_matrix(single, multi)
    assert_names(
        caught.value, "1 are only in source ['b']", "1 only in target ['c']",
        "select the shared ids first",
    )

    first = save_dynamics(small_dynamics(ids=("a", "b", "c")), tmp_path / "single.parquet")
    second = save_dynamics(small_dynamics(ids=("a", "b", "d")), tmp_path / "multi.parquet")
    output = tmp_path / "figures" / "transitions.png"
    status, _, err = run_cli(capsys, "plot", "transitions", first, second, "--output", output)
    assert_cli_error(status, err, "only in source ['c']", "only in target ['d']")
    assert not (tmp_path / "figures").exists()


# --- Training runs ---------------------------------------------------------------------


def toy_train(size: int = 8, **columns) -> datasets.Dataset:
    words = ["good fun", "awful", "great", "boring bad"]
    values = {
        "example_id": [f"toy:{i}" for i in range(size)],
        "text": [f"the movie was {words[i % 4]}" for i in range(size)],
        "label": [int(i % 4 in (0, 2)) for i in range(size)],
    }
    return datasets.Dataset.from_dict(values | columns)


def tiny_config(**overrides) -> TrainingConfig:
    values = dict(
        epochs=2, batch_size=4, eval_batch_size=8, learning_rate=1e-3, max_length=16,
        precision="fp32", progress=False,
    )
    return TrainingConfig(**(values | overrides))


@pytest.fixture
def tiny_model(tiny_model_dir):
    return load_model_and_tokenizer(str(tiny_model_dir), list(LABELS), seed=0)


@pytest.mark.parametrize(
    ("train", "fragments"),
    [
        pytest.param(
            toy_train().remove_columns("text"),
            ["training set lacks column 'text'", "soi.data.load_source"],
            id="missing-text-column",
        ),
        pytest.param(
            toy_train().select([]), ["training set is empty", "check the data set's filters"],
            id="empty-training-set",
        ),
        pytest.param(
            toy_train(example_id=["toy:0", "toy:1", "toy:0", "toy:3", "toy:4", "toy:5",
                                  "toy:6", "toy:1"]),
            ["training set repeats 2 example ids", "['toy:0', 'toy:1']", "new ids"],
            id="duplicate-example-ids",
        ),
        pytest.param(
            toy_train(label=[0, 1, 0, 1, 2, 0, 1, 0]),
            ["label 2 of example 'toy:4' is outside 0..1", "label names"],
            id="label-id-out-of-range",
        ),
    ],
)
def test_training_set_rejected(tiny_model, train, fragments):
    model, tokenizer = tiny_model

    with pytest.raises(ValueError) as caught:
        fine_tune(model, tokenizer, train, tiny_config())

    assert_names(caught.value, *fragments)


def test_training_diverged(tiny_model, tmp_path):
    model, tokenizer = tiny_model
    with torch.no_grad():
        model.classifier.weight.fill_(float("nan"))

    checkpoints = tmp_path / "checkpoints"
    with pytest.raises(ValueError) as caught:
        fine_tune(model, tokenizer, toy_train(), tiny_config(), checkpoint_dir=checkpoints)

    assert_names(
        caught.value, "training diverged in epoch 1", "Lower learning_rate (now 0.001)",
        "precision='fp32'",
    )
    assert not checkpoints.exists() or list(checkpoints.iterdir()) == []


def test_corrupted_checkpoint(tiny_model, tmp_path):
    model, tokenizer = tiny_model
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")

    with pytest.raises(ValueError) as caught:
        fine_tune(model, tokenizer, toy_train(), tiny_config(), checkpoint_dir=tmp_path)

    assert_names(caught.value, CHECKPOINT_FILE, "could not be read", "delete it")


def test_checkpoint_of_other_settings(tiny_model, tmp_path):
    model, tokenizer = tiny_model
    train = toy_train()
    saved = tiny_config(learning_rate=1e-2).to_dict()
    save_checkpoint(
        tmp_path,
        {"epoch": 1, "step": 0, "config": saved, "example_ids": list(train["example_id"])},
    )

    with pytest.raises(ValueError) as caught:
        fine_tune(model, tokenizer, train, tiny_config(), checkpoint_dir=tmp_path)

    assert_names(caught.value, "other settings (['learning_rate'])", "another checkpoint folder")


def test_unknown_training_option():
    with pytest.raises(ValueError) as caught:
        TrainingConfig.from_dict({"epochs": 3, "learnig_rate": 1e-3})

    assert_names(caught.value, "['learnig_rate']", "'learning_rate'")


def test_run_setting_hidden_labels_write_nothing(tiny_model_dir, tmp_path):
    # GLUE's test splits on the hub mark hidden labels with -1, which ClassLabel accepts.
    features = datasets.Features(
        {
            "example_id": datasets.Value("string"),
            "text": datasets.Value("string"),
            "label": datasets.ClassLabel(names=list(LABELS)),
        }
    )
    train = datasets.Dataset.from_dict(
        toy_train(label=[0, 1, 0, 1, 0, 1, 0, -1]).to_dict(), features=features
    )

    with pytest.raises(ValueError) as caught:
        run_setting(
            "hidden", model_name=str(tiny_model_dir), train=train, config=tiny_config(),
            eval_sets={}, output_dir=tmp_path / "runs",
        )

    assert_names(caught.value, "label -1 of example 'toy:7' is outside 0..1", "label names")
    assert not (tmp_path / "runs").exists()


def test_run_setting_needs_label_names(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError) as caught:
        run_setting(
            "plain", model_name=str(tiny_model_dir), train=toy_train(), config=tiny_config(),
            eval_sets={}, output_dir=tmp_path / "runs",
        )

    assert_names(
        caught.value, "label column of training set 'plain' is Value(",
        "train.cast_column('label', datasets.ClassLabel(names=[...]))",
    )
    assert not (tmp_path / "runs").exists()


def test_failed_write_keeps_previous_run(tiny_model_dir, tmp_path, monkeypatch):
    train = toy_train().cast_column("label", datasets.ClassLabel(names=list(LABELS)))
    options = dict(
        model_name=str(tiny_model_dir), train=train, eval_sets={"test": train},
        output_dir=tmp_path,
    )
    run_setting("run", config=tiny_config(), **options)
    before = file_tree(tmp_path / "run")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        run_setting("run", config=tiny_config(learning_rate=1e-2), force=True, **options)

    assert file_tree(tmp_path / "run") == before


def test_corrupted_run_record(tmp_path):
    (tmp_path / "run.json").write_text('{"name": "run", "accuracy": ')

    with pytest.raises(ValueError) as caught:
        load_run(tmp_path)

    assert_names(caught.value, "run.json is not valid JSON", "force=True")


def test_hub_model_offline():
    with pytest.raises(OSError) as caught:
        load_model_and_tokenizer("someone/sentiment-model", list(LABELS))

    assert_names(
        caught.value, "'someone/sentiment-model'", "offline mode is on", "Unset both variables",
        "all-MiniLM-L6-v2",
    )


# --- Chapter parameters ----------------------------------------------------------------

CHAPTER = """\
```{code-cell} ipython3
:tags: [parameters]

epochs = 5  # training epochs
sources = ["imdb"]  # training sources
```

```{code-cell} ipython3
from pathlib import Path

Path("ran.txt").write_text("ran")
```
"""


@pytest.mark.parametrize(
    ("parameters", "fragments"),
    [
        pytest.param(
            {"epochs": "10"},
            ["parameter 'epochs' expects a value of type int", "got '10' of type str"],
            id="notebook-parameter-wrong-type",
        ),
        pytest.param(
            {"sources": ["imdb", 3]},
            ["element 1 of parameter 'sources' expects a value of type str"],
            id="notebook-list-element-wrong-type",
        ),
        pytest.param(
            {"epoch": 10},
            ["unknown parameter 'epoch'; did you mean 'epochs'?", "epochs, sources"],
            id="notebook-unknown-parameter",
        ),
    ],
)
def test_chapter_parameter_rejected(tmp_path, parameters, fragments):
    chapter = tmp_path / "chapter.md"
    chapter.write_text(CHAPTER)
    output = tmp_path / "out" / "chapter.ipynb"

    with pytest.raises(ParameterError) as caught:
        run_chapter(chapter, output, parameters)

    assert_names(caught.value, *fragments)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "ran.txt").exists()


# --- The command line ------------------------------------------------------------------


def test_cli_train_non_utf8_file(capsys, tmp_path):
    spec = non_utf8_file("csv", ",")(tmp_path)
    output = tmp_path / "runs" / "reviews"

    status, _, err = run_cli(
        capsys, "train", "--model", "unused", "--train-file", spec.files["train"],
        "--labels", "negative,positive", "--output-dir", output,
    )

    assert_cli_error(
        status, err, "reviews.csv", "byte 0xe9 on line 3", "encoding_errors='replace'",
        "--encoding-errors",
    )
    assert not (tmp_path / "runs").exists()


def test_cli_train_unknown_encoding(capsys, tmp_path):
    path = write_csv(tmp_path)

    status, _, err = run_cli(
        capsys, "train", "--model", "unused", "--train-file", path, "--labels",
        "negative,positive", "--encoding", "utf-9", "--output-dir", tmp_path / "run",
    )

    assert_cli_error(status, err, "encoding='utf-9'", "'latin-1'")
    assert not (tmp_path / "run").exists()
