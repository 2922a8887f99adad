"""Tests of soi.dynamics (the Dynamics container, Parquet and cartography files) and of
soi.reproducibility."""

from __future__ import annotations

import json
import os
import random
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import soi
from soi import dynamics as dynamics_module
from soi.dynamics import (
    MISSING_PREDICTION,
    SCHEMA_VERSION,
    Dynamics,
    DynamicsFileError,
    export_cartography,
    import_cartography,
    load_dynamics,
    read_cartography_epoch,
    save_dynamics,
)
from soi.reproducibility import collect_versions, fingerprint, set_seed

NUM_LABELS = 3


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def make_dynamics(
    num_examples: int = 4,
    epochs: tuple[int, ...] = (1, 2, 3),
    with_logits: bool = True,
    missing: tuple[tuple[int, int], ...] = (),
    seed: int = 0,
) -> Dynamics:
    """Build consistent dynamics from random logits; ``missing`` lists (row, column) cells."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(num_examples, len(epochs), NUM_LABELS)).astype(np.float32)
    gold = rng.integers(0, NUM_LABELS, size=num_examples)
    probabilities = softmax(logits.astype(np.float64))
    gold_prob = np.take_along_axis(probabilities, gold[:, None, None], axis=2)[..., 0]
    predicted = logits.argmax(axis=2)
    for row, column in missing:
        gold_prob[row, column] = np.nan
        predicted[row, column] = MISSING_PREDICTION
        logits[row, column] = np.nan
    return Dynamics(
        example_ids=[f"ex-{index}" for index in range(num_examples)],
        epochs=np.array(epochs),
        gold=gold,
        gold_prob=gold_prob,
        predicted=predicted,
        logits=logits if with_logits else None,
        tags=pd.DataFrame(
            {
                "task": [["nli", "qa"][index % 2] for index in range(num_examples)],
                "language": [["en", "de", "fr"][index % 3] for index in range(num_examples)],
            }
        ),
        metadata={
            "seed": 13,
            "label_names": ["entailment", "neutral", "contradiction"],
            "config": {"learning_rate": 2e-5, "model": "tiny-bert"},
        },
    )


def assert_same_dynamics(actual: Dynamics, expected: Dynamics, *, logits: bool = True) -> None:
    np.testing.assert_array_equal(actual.example_ids, expected.example_ids)
    np.testing.assert_array_equal(actual.epochs, expected.epochs)
    np.testing.assert_array_equal(actual.gold, expected.gold)
    np.testing.assert_array_equal(actual.gold_prob, expected.gold_prob)
    np.testing.assert_array_equal(actual.predicted, expected.predicted)
    if logits and expected.logits is not None:
        np.testing.assert_array_equal(actual.logits, expected.logits)
    else:
        assert actual.logits is None


# ---------------------------------------------------------------------------------------
# Dynamics validation
# ---------------------------------------------------------------------------------------


def test_dynamics_converts_types():
    dyn = Dynamics([1, 2], [1], [0, 1], [[0.5], [0.25]], [[0], [1]])
    assert dyn.example_ids.tolist() == ["1", "2"]
    assert dyn.gold.dtype == np.int64
    assert dyn.gold_prob.dtype == np.float32
    assert dyn.predicted.dtype == np.int64
    assert dyn.num_examples == 2
    assert dyn.num_epochs == 1
    assert dyn.tags.shape == (2, 0)


def test_dynamics_rejects_shape_mismatch():
    with pytest.raises(ValueError, match=r"gold_prob has shape \(2, 3\), expected \(2, 2\)"):
        Dynamics(["a", "b"], [1, 2], [0, 1], np.zeros((2, 3)), np.zeros((2, 2)))


def test_dynamics_rejects_logits_shape():
    message = r"logits have shape \(2, 1\), expected \(2, 1, num_labels\)"
    with pytest.raises(ValueError, match=message):
        Dynamics(["a", "b"], [1], [0, 1], [[0.5], [0.5]], [[0], [0]], logits=np.zeros((2, 1)))


def test_dynamics_rejects_duplicate_ids():
    with pytest.raises(ValueError, match=r"unique, found 1 duplicates such as \['a'\]"):
        Dynamics(["a", "b", "a"], [1], [0, 0, 0], np.zeros((3, 1)), np.zeros((3, 1)))


def test_dynamics_rejects_missing_id():
    with pytest.raises(ValueError, match=r"example_ids has 1 missing values, at positions \[1\]"):
        Dynamics(["a", None], [1], [0, 0], np.zeros((2, 1)), np.zeros((2, 1)))


def test_dynamics_rejects_tag_rows():
    with pytest.raises(ValueError, match="tags have 1 rows, expected 2"):
        Dynamics(
            ["a", "b"], [1], [0, 0], np.zeros((2, 1)), np.zeros((2, 1)),
            tags=pd.DataFrame({"task": ["nli"]}),
        )


@pytest.mark.parametrize(
    ("epochs", "message"),
    [
        ([2, 1], r"epochs must be increasing, got \[2, 1\]"),
        ([0, 1], r"epochs are counted from 1, got \[0, 1\]"),
        ([1, 1.5], r"epochs must hold integers, got \[1.5\]"),
    ],
)
def test_dynamics_rejects_bad_epochs(epochs, message):
    with pytest.raises(ValueError, match=message):
        Dynamics(["a"], epochs, [0], np.zeros((1, 2)), np.zeros((1, 2)))


def test_dynamics_rejects_label_outside_logits():
    with pytest.raises(ValueError, match=r"gold label 3 is outside 0..2.*\['b'\]"):
        Dynamics(
            ["a", "b"], [1], [0, 3], [[0.5], [0.5]], [[0], [0]],
            logits=np.zeros((2, 1, NUM_LABELS)),
        )


def test_dynamics_rejects_negative_prediction():
    with pytest.raises(ValueError, match=r"MISSING_PREDICTION \(-1\), got \[-2\]"):
        Dynamics(["a"], [1], [0], [[0.5]], [[-2]])


def test_dynamics_rejects_probability_above_one():
    with pytest.raises(ValueError, match=r"gold_prob must lie in \[0, 1\], got 2.5"):
        Dynamics(["a"], [1], [0], [[2.5]], [[0]])


def test_dynamics_rejects_probability_of_missing_cell():
    with pytest.raises(ValueError, match="set gold_prob to NaN where no record exists"):
        Dynamics(["a"], [1], [0], [[0.5]], [[MISSING_PREDICTION]])


def test_dynamics_rejects_non_frame_tags():
    with pytest.raises(TypeError, match="tags must be a pandas DataFrame, got dict"):
        Dynamics(["a"], [1], [0], [[0.5]], [[0]], tags={"task": ["nli"]})


# ---------------------------------------------------------------------------------------
# Parquet
# ---------------------------------------------------------------------------------------


def test_parquet_round_trip_with_logits(tmp_path):
    dyn = make_dynamics(missing=((1, 2), (3, 0)))
    loaded = load_dynamics(save_dynamics(dyn, tmp_path / "run.parquet"))
    assert_same_dynamics(loaded, dyn)
    pd.testing.assert_frame_equal(loaded.tags, dyn.tags)
    assert loaded.metadata == dyn.metadata
    np.testing.assert_array_equal(loaded.recorded, dyn.recorded)


def test_parquet_round_trip_without_logits(tmp_path):
    dyn = make_dynamics(with_logits=False)
    loaded = load_dynamics(save_dynamics(dyn, tmp_path / "run.parquet"))
    assert_same_dynamics(loaded, dyn)
    pd.testing.assert_frame_equal(loaded.tags, dyn.tags)


def test_parquet_round_trip_methods(tmp_path):
    dyn = make_dynamics()
    loaded = Dynamics.load(dyn.save(tmp_path / "run.parquet"))
    assert_same_dynamics(loaded, dyn)


def test_parquet_round_trip_no_tags_no_examples(tmp_path):
    dyn = Dynamics([], [1, 2], [], np.zeros((0, 2)), np.zeros((0, 2)))
    loaded = load_dynamics(save_dynamics(dyn, tmp_path / "empty.parquet"))
    assert loaded.num_examples == 0
    assert loaded.epochs.tolist() == [1, 2]
    assert loaded.tags.shape == (0, 0)


def test_parquet_round_trip_typed_tags(tmp_path):
    dyn = make_dynamics(num_examples=3)
    dyn.tags = pd.DataFrame(
        {
            "source": ["snli", None, "mnli"],
            "length": [12, 7, 30],
            "score": [0.5, np.nan, 1.0],
            "augmented": [True, False, True],
        }
    )
    loaded = load_dynamics(save_dynamics(dyn, tmp_path / "run.parquet"))
    assert loaded.tags["source"].tolist()[0::2] == ["snli", "mnli"]
    assert pd.isna(loaded.tags["source"][1])
    assert loaded.tags["length"].tolist() == [12, 7, 30]
    np.testing.assert_array_equal(loaded.tags["score"], [0.5, np.nan, 1.0])
    assert loaded.tags["augmented"].tolist() == [True, False, True]


def test_parquet_columns_selection(tmp_path):
    path = save_dynamics(make_dynamics(), tmp_path / "run.parquet")
    only_task = load_dynamics(path, columns=["task"])
    assert only_task.tags.columns.tolist() == ["task"]
    assert only_task.logits is None
    core_only = load_dynamics(path, columns=["gold_prob"])
    assert core_only.tags.shape == (4, 0)


def test_parquet_columns_unknown(tmp_path):
    path = save_dynamics(make_dynamics(), tmp_path / "run.parquet")
    with pytest.raises(ValueError, match=r"has no columns \['topic'\]; its optional columns"):
        load_dynamics(path, columns=["topic"])


def test_parquet_columns_string(tmp_path):
    path = save_dynamics(make_dynamics(), tmp_path / "run.parquet")
    with pytest.raises(TypeError, match=r"write \['task'\]"):
        load_dynamics(path, columns="task")


def test_parquet_schema(tmp_path):
    dyn = make_dynamics(missing=((0, 1),))
    path = save_dynamics(dyn, tmp_path / "run.parquet")
    schema = pq.read_schema(path)
    assert schema.field("example_id").type == pa.dictionary(pa.int32(), pa.string())
    assert schema.field("epoch").type == pa.int32()
    assert schema.field("gold").type == pa.int32()
    assert schema.field("gold_prob").type == pa.float32()
    assert schema.field("predicted").type == pa.int32()
    assert schema.field("correct").type == pa.bool_()
    assert schema.field("logits").type == pa.list_(pa.float32(), NUM_LABELS)
    assert schema.field("task").type == pa.dictionary(pa.int32(), pa.string())


def test_parquet_long_rows(tmp_path):
    dyn = make_dynamics(missing=((0, 1),))
    table = pq.read_table(save_dynamics(dyn, tmp_path / "run.parquet"))
    assert table.num_rows == dyn.num_examples * dyn.num_epochs
    frame = table.to_pandas()
    first = frame[frame["example_id"] == "ex-0"]
    assert first["epoch"].tolist() == [1, 2, 3]
    assert first["predicted"].isna().tolist() == [False, True, False]
    assert first["correct"].isna().tolist() == [False, True, False]
    assert first["logits"].isna().tolist() == [False, True, False]
    np.testing.assert_array_equal(
        frame["correct"].dropna().to_numpy(dtype=bool), dyn.correct[dyn.recorded]
    )


def test_parquet_file_metadata(tmp_path):
    dyn = make_dynamics()
    path = save_dynamics(dyn, tmp_path / "run.parquet")
    header = json.loads(pq.ParquetFile(path).metadata.metadata[b"soi"])
    assert header["schema_version"] == SCHEMA_VERSION
    assert header["soi_version"] == soi.__version__
    assert header["epochs"] == [1, 2, 3]
    assert header["num_labels"] == NUM_LABELS
    assert header["label_names"] == ["entailment", "neutral", "contradiction"]
    assert header["metadata"] == dyn.metadata


def test_parquet_numpy_metadata(tmp_path):
    dyn = make_dynamics()
    dyn.metadata = {"seed": np.int64(7), "weights": np.array([0.5, 1.5])}
    loaded = load_dynamics(save_dynamics(dyn, tmp_path / "run.parquet"))
    assert loaded.metadata == {"seed": 7, "weights": [0.5, 1.5]}


def test_parquet_rejects_unserialisable_metadata(tmp_path):
    dyn = make_dynamics()
    dyn.metadata = {"started": object()}
    with pytest.raises(TypeError, match="is not JSON-serialisable; convert it"):
        save_dynamics(dyn, tmp_path / "run.parquet")
    assert list(tmp_path.iterdir()) == []


def test_parquet_rejects_core_tag_name(tmp_path):
    dyn = make_dynamics()
    dyn.tags = dyn.tags.rename(columns={"task": "epoch"})
    with pytest.raises(ValueError, match="tag column 'epoch' has the name of a core column"):
        save_dynamics(dyn, tmp_path / "run.parquet")


def test_parquet_rejects_object_tags(tmp_path):
    dyn = make_dynamics(num_examples=2)
    dyn.tags = pd.DataFrame({"span": [(0, 1), (2, 3)]})
    with pytest.raises(TypeError, match=r"tag column 'span' contains mixed values.*astype\(str\)"):
        save_dynamics(dyn, tmp_path / "run.parquet")


def test_parquet_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        save_dynamics(make_dynamics(), tmp_path / "absent" / "run.parquet")


class FailingWriter(pq.ParquetWriter):
    """A ParquetWriter whose first write raises, as a full disk would."""

    def write_table(self, table, row_group_size=None):
        raise OSError("No space left on device")


def test_atomic_write_removes_temporary(tmp_path, monkeypatch):
    monkeypatch.setattr(dynamics_module.pq, "ParquetWriter", FailingWriter)
    with pytest.raises(OSError, match="No space left on device"):
        save_dynamics(make_dynamics(), tmp_path / "run.parquet")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_old_file(tmp_path, monkeypatch):
    path = save_dynamics(make_dynamics(seed=1), tmp_path / "run.parquet")
    before = path.read_bytes()
    monkeypatch.setattr(dynamics_module.pq, "ParquetWriter", FailingWriter)
    with pytest.raises(OSError, match="No space left on device"):
        save_dynamics(make_dynamics(seed=2), path)
    assert list(tmp_path.iterdir()) == [path]
    assert path.read_bytes() == before


def test_atomic_write_replaces_file(tmp_path):
    path = tmp_path / "run.parquet"
    save_dynamics(make_dynamics(seed=1), path)
    replacement = make_dynamics(seed=2, num_examples=6)
    save_dynamics(replacement, path)
    assert list(tmp_path.iterdir()) == [path]
    assert_same_dynamics(load_dynamics(path), replacement)


def test_load_rejects_newer_schema(tmp_path, monkeypatch):
    monkeypatch.setattr(dynamics_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    path = save_dynamics(make_dynamics(), tmp_path / "future.parquet")
    monkeypatch.undo()
    message = (
        f"has dynamics schema version {SCHEMA_VERSION + 1} .* reads schema versions up to "
        f"{SCHEMA_VERSION}; upgrade soi"
    )
    with pytest.raises(DynamicsFileError, match=message):
        load_dynamics(path)


def test_load_rejects_truncated_file(tmp_path):
    path = save_dynamics(make_dynamics(), tmp_path / "run.parquet")
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(DynamicsFileError, match=f"cannot read {re.escape(str(path))} as Parquet"):
        load_dynamics(path)


def test_load_rejects_text_file(tmp_path):
    path = tmp_path / "notes.parquet"
    path.write_text("not parquet\n")
    with pytest.raises(DynamicsFileError, match="may be truncated"):
        load_dynamics(path)


def test_load_rejects_foreign_parquet(tmp_path):
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), path)
    with pytest.raises(DynamicsFileError, match="not a soi dynamics file.*no 'soi' key"):
        load_dynamics(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.parquet does not exist"):
        load_dynamics(tmp_path / "absent.parquet")


def rewrite_table(path: Path, table: pa.Table) -> None:
    """Write ``table`` over ``path``, keeping the file's soi metadata."""
    metadata = pq.ParquetFile(path).metadata.metadata
    pq.write_table(table.replace_schema_metadata(metadata), path)


def test_load_accepts_absent_rows(tmp_path):
    dyn = make_dynamics(missing=((1, 0), (2, 2)))
    path = save_dynamics(dyn, tmp_path / "run.parquet")
    table = pq.read_table(path)
    rewrite_table(path, table.filter(table.column("predicted").is_valid()))
    assert_same_dynamics(load_dynamics(path), dyn)


def test_load_rejects_duplicate_cells(tmp_path):
    path = save_dynamics(make_dynamics(), tmp_path / "run.parquet")
    table = pq.read_table(path)
    rewrite_table(path, pa.concat_tables([table, table.slice(0, 1)]))
    with pytest.raises(DynamicsFileError, match="1 .example, epoch. cells with more than one row"):
        load_dynamics(path)


def test_load_rejects_conflicting_gold(tmp_path):
    path = save_dynamics(make_dynamics(), tmp_path / "run.parquet")
    table = pq.read_table(path)
    gold = table.column("gold").to_numpy().copy()
    gold[1] = (gold[0] + 1) % NUM_LABELS
    index = table.schema.get_field_index("gold")
    rewrite_table(path, table.set_column(index, "gold", pa.array(gold, type=pa.int32())))
    with pytest.raises(DynamicsFileError, match="gives example 'ex-0' the gold labels"):
        load_dynamics(path)


def test_load_spans_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(dynamics_module, "_ROWS_PER_ROW_GROUP", 6)
    monkeypatch.setattr(dynamics_module, "_LOGITS_READ_BATCH_ROWS", 4)
    dyn = make_dynamics(num_examples=11, missing=((3, 1), (10, 2)))
    path = save_dynamics(dyn, tmp_path / "run.parquet")
    assert pq.ParquetFile(path).metadata.num_row_groups == 6
    loaded = load_dynamics(path)
    assert_same_dynamics(loaded, dyn)
    pd.testing.assert_frame_equal(loaded.tags, dyn.tags)


cells = st.tuples(st.integers(0, 5), st.integers(0, 3))


@settings(max_examples=25, deadline=None)
@given(
    num_examples=st.integers(0, 6),
    num_epochs=st.integers(1, 4),
    with_logits=st.booleans(),
    missing=st.lists(cells, max_size=6),
    seed=st.integers(0, 1000),
)
def test_parquet_round_trip_property(num_examples, num_epochs, with_logits, missing, seed):
    inside = tuple(
        (row, column) for row, column in missing if row < num_examples and column < num_epochs
    )
    dyn = make_dynamics(
        num_examples=num_examples,
        epochs=tuple(range(2, 2 + num_epochs)),
        with_logits=with_logits,
        missing=inside,
        seed=seed,
    )
    with tempfile.TemporaryDirectory() as folder:
        loaded = load_dynamics(save_dynamics(dyn, Path(folder) / "run.parquet"))
    assert_same_dynamics(loaded, dyn)


# ---------------------------------------------------------------------------------------
# Cartography
# ---------------------------------------------------------------------------------------


@pytest.fixture
def cartography_sample() -> Path:
    """Cartography's own 5 sample epoch files: 10 lines each, 3 classes, guids that differ."""
    shared = os.environ.get("SOI_SHARED_DATA")
    root = Path(shared) if shared else Path(__file__).parents[2] / "shared" / "data"
    folder = root / "cartography" / "sample" / "training_dynamics"
    if not folder.is_dir():
        pytest.skip(
            f"cartography sample folder {folder} is absent; point SOI_SHARED_DATA at the "
            "shared data folder"
        )
    return folder


def test_cartography_round_trip(tmp_path):
    dyn = make_dynamics(num_examples=6)
    paths = export_cartography(dyn, tmp_path / "training_dynamics")
    assert [path.name for path in paths] == [f"dynamics_epoch_{e}.jsonl" for e in range(3)]
    loaded = import_cartography(tmp_path / "training_dynamics")
    np.testing.assert_array_equal(loaded.example_ids, dyn.example_ids)
    np.testing.assert_array_equal(loaded.epochs, dyn.epochs)
    np.testing.assert_array_equal(loaded.gold, dyn.gold)
    np.testing.assert_allclose(loaded.gold_prob, dyn.gold_prob, atol=1e-6)
    np.testing.assert_array_equal(loaded.predicted, dyn.predicted)
    np.testing.assert_array_equal(loaded.logits, dyn.logits)
    assert loaded.gold_prob.dtype == np.float32


def test_cartography_file_lines(tmp_path):
    dyn = make_dynamics(num_examples=2, epochs=(1, 2))
    export_cartography(dyn, tmp_path)
    lines = (tmp_path / "dynamics_epoch_1.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [list(record) for record in records] == [["guid", "logits_epoch_1", "gold"]] * 2
    assert [record["guid"] for record in records] == ["ex-0", "ex-1"]
    assert [record["gold"] for record in records] == dyn.gold.tolist()
    np.testing.assert_array_equal(
        np.array([record["logits_epoch_1"] for record in records], dtype=np.float32),
        dyn.logits[:, 1],
    )


def test_cartography_integer_guids(tmp_path):
    dyn = make_dynamics(num_examples=2, epochs=(1,))
    dyn.example_ids = np.array(["17", "4734364254410"], dtype=object)
    export_cartography(dyn, tmp_path)
    lines = (tmp_path / "dynamics_epoch_0.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [record["guid"] for record in records] == [17, 4734364254410]
    assert import_cartography(tmp_path).example_ids.tolist() == ["17", "4734364254410"]


def test_cartography_export_needs_logits(tmp_path):
    with pytest.raises(ValueError, match=r"record_logits=True"):
        export_cartography(make_dynamics(with_logits=False), tmp_path)


def test_cartography_export_needs_every_cell(tmp_path):
    with pytest.raises(ValueError, match=r"1 cells have no record, for examples \['ex-2'\]"):
        export_cartography(make_dynamics(missing=((2, 1),)), tmp_path)


def test_cartography_export_needs_first_epochs(tmp_path):
    with pytest.raises(ValueError, match=r"soi epochs must be 1..2, got \[2, 3\]"):
        export_cartography(make_dynamics(epochs=(2, 3)), tmp_path)


def test_cartography_export_stale_files(tmp_path):
    export_cartography(make_dynamics(epochs=(1, 2, 3)), tmp_path)
    with pytest.raises(FileExistsError, match="such as dynamics_epoch_2.jsonl; remove them"):
        export_cartography(make_dynamics(epochs=(1, 2)), tmp_path)


def test_cartography_export_failure_cleans_up(tmp_path, monkeypatch):
    def fail_on_second_epoch(file, index, *arguments):
        if index == 1:
            raise OSError("No space left on device")
        original(file, index, *arguments)

    original = dynamics_module._write_cartography_epoch
    monkeypatch.setattr(dynamics_module, "_write_cartography_epoch", fail_on_second_epoch)
    with pytest.raises(OSError, match="No space left on device"):
        export_cartography(make_dynamics(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cartography_import_gap(tmp_path):
    export_cartography(make_dynamics(), tmp_path)
    (tmp_path / "dynamics_epoch_1.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match=r"dynamics_epoch_1.jsonl is missing: .* 0..2"):
        import_cartography(tmp_path)


def test_cartography_import_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="contains no cartography files"):
        import_cartography(tmp_path)


def test_cartography_import_ignores_other_files(tmp_path):
    dyn = make_dynamics()
    export_cartography(dyn, tmp_path)
    (tmp_path / "notes.txt").write_text("training notes\n")
    np.testing.assert_array_equal(import_cartography(tmp_path).predicted, dyn.predicted)


def test_cartography_import_guid_mismatch(tmp_path):
    dyn = make_dynamics(num_examples=4, epochs=(1, 2))
    export_cartography(dyn, tmp_path)
    path = tmp_path / "dynamics_epoch_1.jsonl"
    path.write_text(path.read_text().replace('"ex-3"', '"ex-9"'))
    message = (
        r"dynamics_epoch_1.jsonl and dynamics_epoch_0.jsonl .* differ in 2 guids: "
        r"1 only in dynamics_epoch_0.jsonl, such as \['ex-3'\], and 1 only in "
        r"dynamics_epoch_1.jsonl, such as \['ex-9'\]. All epoch files must come from one "
        r"training run"
    )
    with pytest.raises(ValueError, match=message):
        import_cartography(tmp_path)


def test_cartography_import_aligns_order(tmp_path):
    dyn = make_dynamics(num_examples=5, epochs=(1, 2))
    export_cartography(dyn, tmp_path)
    path = tmp_path / "dynamics_epoch_1.jsonl"
    path.write_text("".join(reversed(path.read_text().splitlines(keepends=True))))
    loaded = import_cartography(tmp_path)
    np.testing.assert_array_equal(loaded.logits, dyn.logits)


def test_cartography_import_conflicting_gold(tmp_path):
    export_cartography(make_dynamics(num_examples=2, epochs=(1, 2)), tmp_path)
    path = tmp_path / "dynamics_epoch_1.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[0]["gold"] = (records[0]["gold"] + 1) % NUM_LABELS
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    with pytest.raises(ValueError, match="gives guid 'ex-0' gold label"):
        import_cartography(tmp_path)


def test_cartography_import_gold_outside_labels(tmp_path):
    (tmp_path / "dynamics_epoch_0.jsonl").write_text(
        '{"guid": 1, "logits_epoch_0": [0.1, 0.2], "gold": 2}\n'
    )
    with pytest.raises(ValueError, match=r"gold label 2, which is outside 0..1"):
        import_cartography(tmp_path)


GOOD_LINE = '{"guid": 1, "logits_epoch_0": [0.1, 0.2], "gold": 0}'


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([GOOD_LINE, '{"guid": 2,'], "line 2 is not valid JSON"),
        (
            [GOOD_LINE, '{"guid": 2, "logits_epoch_0": [0.1], "gold": 0}'],
            "line 2 has 1 logits, but earlier lines have 2",
        ),
        (
            [GOOD_LINE, '{"guid": 2, "logits_epoch_3": [0.1, 0.2], "gold": 0}'],
            "line 2 has logits_epoch_3, but earlier lines have logits_epoch_0",
        ),
        (
            ['{"guid": 1, "logits_epoch_0": [0.1], "gold": "yes"}'],
            "line 1 has gold 'yes', expected an integer",
        ),
        (
            ['{"guid": 1.5, "logits_epoch_0": [0.1], "gold": 0}'],
            "line 1 has guid 1.5, expected a string or an integer",
        ),
        (['{"guid": 1, "gold": 0}'], r"line 1 has logits keys \[\], expected exactly one"),
        (['{"guid": 1, "logits_epoch_0": [], "gold": 0}'], "expected a non-empty list of numbers"),
        (["[1, 2]"], "line 1 is not a JSON object"),
        ([], "has no records"),
    ],
)
def test_cartography_read_malformed(tmp_path, lines, message):
    path = tmp_path / "dynamics_epoch_0.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    with pytest.raises(ValueError, match=message):
        read_cartography_epoch(path)


def test_cartography_read_epoch_mismatch(tmp_path):
    path = tmp_path / "dynamics_epoch_2.jsonl"
    path.write_text('{"guid": 1, "logits_epoch_0": [0.1], "gold": 0}\n')
    message = "contains logits_epoch_0, but its file name gives epoch 2"
    with pytest.raises(ValueError, match=message):
        read_cartography_epoch(path)


def test_cartography_read_mixed_guids(tmp_path):
    path = tmp_path / "dynamics_epoch_0.jsonl"
    path.write_text(
        '{"guid": 1, "logits_epoch_0": [0.1, 1], "gold": 0}\n'
        '{"guid": "b", "logits_epoch_0": [0.3, 0.4], "gold": 1}\n'
        '{"guid": 1180591620717411303424, "logits_epoch_0": [0.5, 0.6], "gold": 1}\n'
    )
    frame = read_cartography_epoch(path)
    assert frame["guid"].tolist() == ["1", "b", "1180591620717411303424"]
    np.testing.assert_array_equal(frame["logits"][0], np.array([0.1, 1.0], dtype=np.float32))


def test_cartography_sample_epochs_parse(cartography_sample):
    paths = sorted(cartography_sample.glob("dynamics_epoch_*.jsonl"))
    assert len(paths) == 5
    for epoch_index, path in enumerate(paths):
        frame = read_cartography_epoch(path)
        assert len(frame) == 10
        assert frame.columns.tolist() == ["guid", "gold", "logits"]
        assert {len(logits) for logits in frame["logits"]} == {3}
        assert frame["gold"].between(0, 2).all()
        assert frame["guid"].map(type).eq(str).all()
        assert frame.attrs["epoch_index"] == epoch_index


def test_cartography_sample_guid_mismatch(cartography_sample):
    message = r"differ in 20 guids: 10 only in dynamics_epoch_0.jsonl.*from one training run"
    with pytest.raises(ValueError, match=message):
        import_cartography(cartography_sample)


# ---------------------------------------------------------------------------------------
# soi.reproducibility
# ---------------------------------------------------------------------------------------


def test_collect_versions_contents():
    versions = collect_versions()
    assert versions["soi"] == soi.__version__
    assert versions["numpy"] == np.__version__
    assert versions["pandas"] == pd.__version__
    assert versions["pyarrow"] == pa.__version__
    assert all(isinstance(version, str) for version in versions.values())


def test_collect_versions_skips_absent(monkeypatch):
    monkeypatch.setattr(
        "soi.reproducibility.VERSIONED_PACKAGES", ("numpy", "a-package-that-is-not-installed")
    )
    assert set(collect_versions()) == {"python", "soi", "numpy"}


def test_set_seed_repeats_draws():
    torch = pytest.importorskip("torch")
    set_seed(5)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_seed(5)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_set_seed_rejects_bad_seed():
    with pytest.raises(ValueError, match=r"seed -1 is outside 0..4294967295"):
        set_seed(-1)
    with pytest.raises(TypeError, match="seed must be an integer, got '5'"):
        set_seed("5")


def test_fingerprint_stable_digest():
    # A fixed digest, so that a change of the encoding cannot pass unnoticed.
    assert fingerprint(["a", "b"], [0, 1]) == (
        "4adedb7689879606265fadaa03016e863b46758f5b8f12e2c7aeed427a01b51b"
    )


def test_fingerprint_equal_values():
    ids = ["ex-0", "ex-1", "ex-2"]
    assert fingerprint(ids) == fingerprint(np.array(ids)) == fingerprint(pd.Series(ids))
    assert fingerprint(np.array([1, 2], dtype=np.int32)) == fingerprint(np.array([1, 2]))
    assert fingerprint(np.array([0.0, np.nan])) == fingerprint(np.array([-0.0, -np.nan]))
    assert fingerprint([None, "a"]) == fingerprint([np.nan, "a"])
    assert fingerprint(pd.Series(["a", None], dtype="string")) == fingerprint(["a", None])


def test_fingerprint_detects_changes():
    assert fingerprint("ab", "c") != fingerprint("a", "bc")
    assert fingerprint([1, 2]) != fingerprint([1.0, 2.0])
    assert fingerprint([[1, 2]]) != fingerprint([1, 2])
    assert fingerprint(["a", "b"]) != fingerprint(["a", "b", ""])
    assert fingerprint("a") != fingerprint(["a"])
    assert fingerprint([1, "a"]) != fingerprint(["1", "a"])
    assert fingerprint([None, "a"]) != fingerprint(["None", "a"])


def test_fingerprint_rejects_objects():
    with pytest.raises(TypeError, match="element of type dict"):
        fingerprint(np.array([{"a": 1}], dtype=object))
