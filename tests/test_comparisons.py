"""Comparison builders, multi-task runs with saved weights, profiles and starter notices."""

import json
import shutil
import warnings

import datasets
import numpy as np
import pytest
import torch

from soi.comparisons import build_comparison, multi_lingual, multi_task, run_comparison
from soi.experiments import MODEL_FOLDER, load_run_model, run_setting
from soi.profiles import PROFILES, resolve_profile
from soi.registry import StarterDataWarning, recorded_starter_warnings
from soi.training import TrainingConfig, evaluate
from test_heads import task_dataset


def config(**overrides):
    values = dict(
        epochs=2, batch_size=4, learning_rate=1e-3, max_length=24, precision="fp32",
        progress=False,
    )
    return TrainingConfig(**(values | overrides))


def pair_dataset(task, size, seed):
    """A pair task: ``text_pair`` filled, unlike the single-text tasks it is mixed with."""
    single = task_dataset(task, ["yes", "no"], size, seed)
    return single.add_column("text_pair", [f"pair {i} the film" for i in range(size)])


@pytest.fixture
def empty_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SOI_DATA_HOME", str(tmp_path / "no_data_home"))


# --- Builders ---------------------------------------------------------------------------


def test_multi_task_builds_every_combination(empty_home):
    with recorded_starter_warnings() as messages:
        comparison = multi_task(
            {"entailment": "rte", "paraphrase": "mrpc", "sentiment": "airline_tweets"},
            {"entailment": "scitail", "sentiment": "imdb"}, 20, 10, 10, seed=3,
        )
    assert list(comparison.runs) == [
        "entailment", "paraphrase", "sentiment", "entailment+paraphrase",
        "entailment+sentiment", "paraphrase+sentiment", "multi_task",
    ]
    assert comparison.runs["paraphrase+sentiment"].eval_sets == [
        "paraphrase", "sentiment", "sentiment_ood",
    ]
    assert sorted(comparison.multi.train) == ["entailment", "paraphrase", "sentiment"]
    assert comparison.multi.num_examples == 60
    # Offline without a data home, SciTail and RTE both fall back to the same starter set,
    # so the entailment OOD set would overlap its training data and is left out.
    assert comparison.ood == ["sentiment_ood"]
    assert any("'scitail'" in note and "left out" in note for note in comparison.notes)
    assert any("starter_entailment" in message for message in messages)


def test_multi_task_reads_data_home(shared_data, monkeypatch):
    monkeypatch.setenv("SOI_DATA_HOME", str(shared_data))
    with recorded_starter_warnings() as messages:
        comparison = multi_task(
            {"entailment": "rte", "paraphrase": "mrpc"}, {}, 30, 20, None, seed=0,
        )
    assert messages == []
    assert comparison.training_ids("entailment")[0].startswith("rte:")
    assert comparison.training_ids("multi_task")[-1].startswith("mrpc:")


def test_multi_task_rejects_task_key_of_another_task(empty_home):
    with pytest.raises(ValueError, match="tagged with task \\['sentiment'\\], not 'entailment'"):
        multi_task({"entailment": "imdb"}, {}, 10, 10, 10, seed=0)
    with pytest.raises(ValueError, match="ood contains task 'nli'"):
        multi_task({"sentiment": "imdb"}, {"nli": "rte"}, 10, 10, 10, seed=0)


def test_multi_lingual_languages_share_utterances(empty_home):
    with recorded_starter_warnings():
        comparison = multi_lingual(
            {"en": "massive_en", "fr": "massive_fr", "fa": "massive_fa"}, 40, 20, seed=1
        )
    keys = {
        lang: [i.split(":", 1)[1] for i in comparison.runs[lang].train["example_id"]]
        for lang in ("en", "fr", "fa")
    }
    assert keys["en"] == keys["fr"] == keys["fa"]
    assert len(keys["en"]) == 40
    test_keys = {i.split(":", 1)[1] for i in comparison.eval_sets["fa"]["example_id"]}
    assert test_keys.isdisjoint(keys["en"])
    assert comparison.multi.num_examples == 120
    # Translations carry the same intent.
    assert comparison.runs["en"].train["label"] == comparison.runs["fa"].train["label"]


def test_multi_lingual_parallel_on_massive(shared_data, monkeypatch):
    monkeypatch.setenv("SOI_DATA_HOME", str(shared_data))
    comparison = multi_lingual(
        {"en": "massive_en", "fr": "massive_fr", "fa": "massive_fa"}, 120, 60, seed=0
    )
    en, fr = comparison.runs["en"].train, comparison.runs["fr"].train
    assert [i.split(":")[1] for i in en["example_id"]] == [i.split(":")[1] for i in fr["example_id"]]
    assert en["text"] != fr["text"]
    assert en.features["label"].num_classes == 60


def test_multi_lingual_rejects_mixed_origins(shared_data, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "massive").mkdir(parents=True)
    # Only the English locale is in this data home, so French falls back to its starter set.
    shutil.copytree(shared_data / "massive" / "en-US", home / "massive" / "en-US")
    monkeypatch.setenv("SOI_DATA_HOME", str(home))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarterDataWarning)
        with pytest.raises(ValueError, match="same parallel data set"):
            multi_lingual({"en": "massive_en", "fr": "massive_fr"}, 40, 60, seed=0)


def test_build_comparison_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown comparison 'multi_domain'"):
        build_comparison("multi_domain", {})


# --- Profiles -----------------------------------------------------------------------------


def test_profiles_cover_every_comparison():
    assert set(PROFILES) == {"multi_source", "multi_task", "multi_lingual"}
    for chapter, profiles in PROFILES.items():
        assert set(profiles) == {"cpu", "paper"}
        assert set(profiles["cpu"]) == set(profiles["paper"]), chapter
        paper = profiles["paper"]
        assert (paper["epochs"], paper["max_length"]) == (10, 128)
    assert PROFILES["multi_lingual"]["paper"]["model_name"] == "xlm-roberta-base"
    assert PROFILES["multi_task"]["paper"]["model_name"] == "bert-base-uncased"


def test_resolve_profile_errors_name_the_fix():
    with pytest.raises(ValueError, match="unknown profile 'gpu'.*\\['cpu', 'paper'\\]"):
        resolve_profile("multi_task", "gpu")
    with pytest.raises(ValueError, match="'epoch' is not a setting of chapter 'multi_task'"):
        resolve_profile("multi_task", "cpu", epoch=3)
    with pytest.raises(ValueError, match="no profiles for chapter 'two_stage'"):
        resolve_profile("two_stage", "cpu")


def test_resolve_profile_returns_a_copy():
    settings = resolve_profile("multi_task", "cpu")
    settings["tasks"]["entailment"] = "changed"
    assert PROFILES["multi_task"]["cpu"]["tasks"]["entailment"] == "rte"


def test_recorded_starter_warnings_pass_other_warnings_on():
    with pytest.warns(FutureWarning, match="other"):
        with recorded_starter_warnings() as messages:
            warnings.warn("starter in use", StarterDataWarning)
            warnings.warn("other", FutureWarning)
    assert messages == ["starter in use"]


# --- Multi-task runs, saved weights and a second stage ------------------------------------


def frozen():
    return config(learning_rate=1e-12, capture="epoch_end")


@pytest.fixture
def mixed_tasks():
    return {
        "nli": pair_dataset("nli", 10, 0),
        "sentiment": task_dataset("sentiment", ["negative", "positive"], 8, 1),
    }


def test_multi_task_mixes_pairs_and_texts(tiny_model_dir, tmp_path, mixed_tasks):
    eval_sets = {"nli": pair_dataset("nli", 6, 5),
                 "sentiment": task_dataset("sentiment", ["negative", "positive"], 6, 6)}
    run = run_setting(
        "both", model_name=str(tiny_model_dir), train=mixed_tasks, config=config(),
        eval_sets=eval_sets, output_dir=tmp_path, save_model=True,
    )
    assert run.record["tasks"] == ["nli", "sentiment"]
    assert run.record["label_names"] == {"nli": ["yes", "no"], "sentiment": ["negative", "positive"]}
    assert np.isfinite(run.dynamics.gold_prob).all()
    assert set(run.accuracy) == {"nli", "sentiment"}

    # The saved weights give the same predictions as the run's own evaluation.
    model, tokenizer = load_run_model(tmp_path / "both")
    reloaded = evaluate(model, tokenizer, eval_sets["nli"], config(), name="nli")
    saved = run.predictions[run.predictions["eval_set"] == "nli"]
    assert reloaded.predictions["predicted"].tolist() == saved["predicted"].tolist()
    np.testing.assert_allclose(reloaded.predictions["gold_prob"], saved["gold_prob"], atol=1e-5)


def test_saved_run_without_weights_is_trained_again(tiny_model_dir, tmp_path, mixed_tasks):
    kwargs = dict(model_name=str(tiny_model_dir), train=mixed_tasks, config=config(),
                  eval_sets={}, output_dir=tmp_path)
    run_setting("run", **kwargs)
    assert not (tmp_path / "run" / MODEL_FOLDER).exists()
    assert not run_setting("run", save_model=True, **kwargs).from_cache
    assert (tmp_path / "run" / MODEL_FOLDER / "config.json").is_file()
    assert run_setting("run", save_model=True, **kwargs).from_cache
    # Training again with other settings removes the weights of the earlier run.
    run_setting("run", **(kwargs | {"config": config(seed=7)}))
    assert not (tmp_path / "run" / MODEL_FOLDER).exists()


def test_second_stage_starts_from_the_first(tiny_model_dir, tmp_path, mixed_tasks):
    common = dict(model_name=str(tiny_model_dir), eval_sets={}, output_dir=tmp_path)
    run_setting("stage1", train=mixed_tasks, config=config(), save_model=True, **common)
    subset = {"sentiment": mixed_tasks["sentiment"].select(range(4))}
    stage2 = run_setting("stage2", train=subset, config=frozen(),
                         init_from=tmp_path / "stage1", **common)
    assert stage2.record["init_from"] == str(tmp_path / "stage1")

    # With a learning rate near 0 and the eval-mode capture, stage 2 scores its examples
    # with the stage-1 weights.
    model, tokenizer = load_run_model(tmp_path / "stage1")
    expected = evaluate(model, tokenizer, subset["sentiment"], config(), name="s")
    first_epoch = stage2.dynamics.gold_prob[:, 0]
    np.testing.assert_allclose(
        np.sort(first_epoch), np.sort(expected.predictions["gold_prob"].to_numpy()), atol=1e-4
    )

    # A changed first stage trains the second stage again.
    again = dict(train=subset, config=frozen(), init_from=tmp_path / "stage1")
    assert run_setting("stage2", **again, **common).from_cache
    run_setting("stage1", train=mixed_tasks, config=config(seed=3), save_model=True, **common)
    assert not run_setting("stage2", **again, **common).from_cache


def test_init_from_needs_saved_weights(tiny_model_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="save_model=True"):
        run_setting(
            "stage2", model_name=str(tiny_model_dir), train={"t": pair_dataset("t", 4, 0)},
            config=config(), eval_sets={}, output_dir=tmp_path, init_from=tmp_path / "none",
        )


def test_run_comparison_keeps_only_the_multi_run_weights(tiny_model_dir, tmp_path, empty_home):
    with recorded_starter_warnings():
        comparison = multi_lingual({"en": "massive_en", "fr": "massive_fr"}, 12, 20, seed=0)
    runs = run_comparison(
        comparison, model_name=str(tiny_model_dir), config=config(), output_dir=tmp_path
    )
    assert list(runs) == ["en", "fr", "multi_lingual"]
    assert (tmp_path / "multi_lingual" / MODEL_FOLDER).is_dir()
    assert not (tmp_path / "en" / MODEL_FOLDER).exists()
    record = json.loads((tmp_path / "multi_lingual" / "run.json").read_text())
    assert record["num_train_examples"] == 24
    assert torch.get_num_threads() >= 1
