import json

import pytest

from soi.experiments import RUN_RECORD, accuracy_table, load_run, run_setting, speed_table
from soi.training import TrainingConfig
from test_training import toy_dataset


def config(**overrides):
    values = dict(
        epochs=2, batch_size=4, learning_rate=1e-3, max_length=16, precision="fp32",
        progress=False,
    )
    return TrainingConfig(**(values | overrides))


def test_run_is_saved_and_reused(tiny_model_dir, tmp_path):
    train, test = toy_dataset(10, seed=1), toy_dataset(6, seed=2)
    kwargs = dict(
        model_name=str(tiny_model_dir), train=train, eval_sets={"test": test},
        output_dir=tmp_path,
    )
    first = run_setting("toy", config=config(), **kwargs)
    assert not first.from_cache
    record = json.loads((tmp_path / "toy" / RUN_RECORD).read_text())
    assert record["seed"] == 42
    assert record["training_config"]["epochs"] == 2
    assert record["versions"]["transformers"]
    assert set(record["accuracy"]) == {"test"}

    again = run_setting("toy", config=config(), **kwargs)
    assert again.from_cache
    assert again.accuracy == first.accuracy
    assert again.dynamics.example_ids.tolist() == first.dynamics.example_ids.tolist()
    assert (again.dynamics.gold_prob == first.dynamics.gold_prob).all()

    changed = run_setting("toy", config=config(seed=5), **kwargs)
    assert not changed.from_cache
    assert load_run(tmp_path / "toy").record["seed"] == 5


def test_progress_option_does_not_invalidate_run(tiny_model_dir, tmp_path):
    kwargs = dict(
        model_name=str(tiny_model_dir), train=toy_dataset(6), eval_sets={}, output_dir=tmp_path,
    )
    run_setting("toy", config=config(), **kwargs)
    assert run_setting("toy", config=config(progress=True), **kwargs).from_cache


def test_changed_data_trains_again(tiny_model_dir, tmp_path):
    kwargs = dict(model_name=str(tiny_model_dir), eval_sets={}, output_dir=tmp_path, config=config())
    run_setting("toy", train=toy_dataset(6, seed=1), **kwargs)
    assert not run_setting("toy", train=toy_dataset(6, seed=2), **kwargs).from_cache


def test_unfinished_run_folder_is_not_loaded(tmp_path):
    (tmp_path / "toy").mkdir()
    with pytest.raises(FileNotFoundError, match="contains no finished run"):
        load_run(tmp_path / "toy")


def test_accuracy_table_rows_are_runs(tiny_model_dir, tmp_path):
    runs = {
        name: run_setting(
            name, model_name=str(tiny_model_dir), train=toy_dataset(6), config=config(),
            eval_sets={"a": toy_dataset(4, seed=3), "b": toy_dataset(4, seed=4)},
            output_dir=tmp_path,
        )
        for name in ("one", "two")
    }
    table = accuracy_table(runs)
    assert table.index.tolist() == ["one", "two"]
    assert table.columns.tolist() == ["a", "b"]
    assert table.loc["one", "a"] == runs["one"].accuracy["a"]


def test_speed_table_rows_are_runs(tiny_model_dir, tmp_path):
    run = run_setting(
        "one", model_name=str(tiny_model_dir), train=toy_dataset(6), config=config(),
        eval_sets={}, output_dir=tmp_path,
    )
    table = speed_table({"one": run})
    assert table.index.tolist() == ["one"]
    assert table.loc["one", "examples"] == 6
    assert table.loc["one", "precision"] == "fp32"
    assert table.loc["one", "seconds"] == run.record["train_seconds"]
