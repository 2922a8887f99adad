import json

import datasets
import numpy as np
import pandas as pd
import pytest

from soi.comparisons import Comparison, RunPlan
from soi.dynamics import Dynamics
from soi.experiments import run_setting
from soi.subsets import SOI_CATEGORIES, categories_from_dynamics
from soi.training import TrainingConfig
from soi.two_stage import (
    SELECTION_FILE,
    composition_table,
    count_optimizer_steps,
    format_mean_sd,
    load_selection,
    load_selection_ids,
    random_control,
    run_two_stage,
    save_selection,
    select_stage2,
    stage2_categories,
    stage_transitions,
    subset_train,
    summarize_accuracies,
)
from test_training import toy_dataset

# Correctness sequences over 4 epochs that give each SOI category (split point 2).
PATTERNS = {
    "always_correct": [1, 1, 1, 1],
    "learned_early": [0, 1, 1, 1],
    "learned_late": [0, 0, 1, 1],
    "forgettable": [1, 0, 1, 1],
    "forgotten": [0, 1, 0, 0],
    "unlearned": [0, 0, 0, 0],
}


def synthetic_dynamics(per_category=None, sources=("a", "b")):
    """Dynamics with ``per_category[c]`` examples of category c, alternating labels and sources."""
    per_category = per_category or {name: 6 for name in PATTERNS}
    ids, gold, correct, source = [], [], [], []
    for name, count in per_category.items():
        for i in range(count):
            ids.append(f"{name}:{i}")
            gold.append(i % 2)
            correct.append(PATTERNS[name])
            source.append(sources[(i // 2) % len(sources)])
    correct = np.array(correct, dtype=bool)
    gold = np.array(gold)
    gold_prob = np.where(correct, 0.8, 0.2)
    predicted = np.where(correct, gold[:, None], 1 - gold[:, None])
    return Dynamics(
        example_ids=ids, epochs=[1, 2, 3, 4], gold=gold, gold_prob=gold_prob,
        predicted=predicted, tags=pd.DataFrame({"source": source}),
    )


def source_dataset(source, size, seed, split="train"):
    """A toy sentiment set whose ids name ``source`` and ``split``, tagged with ``source``."""
    return toy_dataset(size, seed=seed).map(
        lambda row: {"example_id": f"{source}:{split}:{row['example_id']}", "source": source}
    )


TOPICS = ["travel", "sport", "film"]
TOPIC_WORDS = {0: ["flight", "plane", "crew", "delay"], 1: ["game", "ball", "fun"],
               2: ["movie", "film", "boring"]}


def topic_dataset(size, seed):
    """A toy 3-label task of its own, tagged ``topic``, for multi-task runs."""
    rng = np.random.default_rng(seed)
    labels = [int(rng.integers(3)) for _ in range(size)]
    texts = ["the " + " ".join(rng.choice(TOPIC_WORDS[label], size=3)) for label in labels]
    return datasets.Dataset.from_dict(
        {
            "example_id": [f"topic:{seed}:{i}" for i in range(size)],
            "text": texts,
            "label": labels,
            "source": ["topic"] * size,
            "task": ["topic"] * size,
            "language": ["en"] * size,
        },
        features=datasets.Features(
            {
                "example_id": datasets.Value("string"),
                "text": datasets.Value("string"),
                "label": datasets.ClassLabel(names=TOPICS),
                "source": datasets.Value("string"),
                "task": datasets.Value("string"),
                "language": datasets.Value("string"),
            }
        ),
    )


def stage1_config(**overrides):
    values = dict(
        epochs=3, batch_size=4, eval_batch_size=16, learning_rate=1e-3, max_length=16,
        precision="fp32", progress=False, seed=5,
    )
    return TrainingConfig(**(values | overrides))


def multi_source_comparison():
    """Two toy sources, their union as the multi-source run, and an OOD set."""
    train = {name: source_dataset(name, 16, seed) for name, seed in (("a", 1), ("b", 2))}
    eval_sets = {
        "a": source_dataset("a", 8, 11, "test"), "b": source_dataset("b", 8, 12, "test"),
        "ood": source_dataset("ood", 8, 13, "test"),
    }
    runs = {name: RunPlan(data, list(eval_sets)) for name, data in train.items()}
    union = datasets.concatenate_datasets(list(train.values()))
    runs["multi_source"] = RunPlan(union, list(eval_sets))
    return Comparison("multi_source", list(train), runs, eval_sets, ["ood"])


def train_stage1(comparison, model_dir, folder):
    plan = comparison.multi
    run_setting(
        comparison.name, model_name=str(model_dir), train=plan.train, config=stage1_config(),
        eval_sets={n: comparison.eval_sets[n] for n in plan.eval_sets}, output_dir=folder,
        save_model=True,
    )
    return folder / comparison.name


# Fast checks on synthetic dynamics and data, without training.


def test_steps_counted_per_task_batches():
    data = toy_dataset(10)
    config = TrainingConfig(batch_size=4, epochs=3)
    assert count_optimizer_steps(data, config) == 9
    # Batches never mix tasks: 5 + 5 examples take 2 + 2 batches, not 3.
    halves = {"x": data.select(range(5)), "y": data.select(range(5, 10))}
    assert count_optimizer_steps(halves, config) == 12
    assert count_optimizer_steps(data, TrainingConfig(batch_size=4, epochs=3, drop_last=True)) == 6


def test_full_arm_capped_at_selected_steps():
    full = toy_dataset(40)
    subset = full.select(range(9))
    config = TrainingConfig(batch_size=4, epochs=3)
    steps = count_optimizer_steps(subset, config)
    assert steps == 9
    capped = TrainingConfig(batch_size=4, epochs=3, max_steps=steps)
    assert count_optimizer_steps(full, capped) == steps
    assert count_optimizer_steps(subset, capped) == steps


def test_selection_takes_default_categories():
    dynamics = synthetic_dynamics()
    selection = select_stage2(dynamics)
    chosen = categories_from_dynamics(dynamics).loc[selection.example_ids]
    assert set(chosen) == {"forgettable", "forgotten", "unlearned"}
    assert len(selection) == 18
    assert selection.record["category_counts"]["forgettable"] == 6
    assert select_stage2(dynamics).example_ids.equals(selection.example_ids)


def test_selection_by_ranking():
    dynamics = synthetic_dynamics()
    selection = select_stage2(dynamics, include=None, rank_by="variability", size=5)
    assert len(selection) == 5
    assert selection.record["method"] == "ranking"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"include": ["forgetable"]}, ValueError, r"unknown SOI categories \['forgetable'\]"),
        ({"include": "forgotten"}, TypeError, r"got the string 'forgotten'; write \['forgotten'\]"),
        ({"include": []}, ValueError, "include is empty"),
        ({"include": None}, ValueError, "which is the full arm"),
        ({"size": 100}, ValueError, "size 100 asks for 100 examples, but only 12 of 20"),
        ({"include": ["learned_late"]}, ValueError, "the selection is empty"),
    ],
)
def test_selection_rejects_bad_input(kwargs, error, message):
    dynamics = synthetic_dynamics({name: 4 for name in PATTERNS} | {"learned_late": 0})
    with pytest.raises(error, match=message):
        select_stage2(dynamics, **kwargs)


def test_control_matches_size_and_labels():
    dynamics = synthetic_dynamics()
    selection = select_stage2(dynamics)
    labels = pd.Series(dynamics.gold, index=dynamics.example_ids)
    sources = pd.Series(dynamics.tags["source"].to_numpy(), index=dynamics.example_ids)
    for seed in (1, 2):
        control = random_control(selection, dynamics, seed=seed)
        assert len(control) == len(selection)
        selected_counts = labels[selection.example_ids].value_counts().sort_index()
        control_counts = labels[control.example_ids].value_counts().sort_index()
        pd.testing.assert_series_equal(selected_counts, control_counts)
        pair_counts = pd.crosstab(labels, sources)
        assert pair_counts.shape == (2, 2)
        selected_pairs = pd.crosstab(labels[selection.example_ids], sources[selection.example_ids])
        control_pairs = pd.crosstab(labels[control.example_ids], sources[control.example_ids])
        pd.testing.assert_frame_equal(selected_pairs, control_pairs)
        assert control.record["matched_on"] == ["label", "source"]
    first = random_control(selection, dynamics, seed=1).example_ids
    assert not first.equals(random_control(selection, dynamics, seed=2).example_ids)


def test_control_can_exclude_selected():
    dynamics = synthetic_dynamics({name: 8 for name in PATTERNS})
    selection = select_stage2(dynamics, include=["forgotten"])
    control = random_control(selection, dynamics, seed=0, exclude_selected=True)
    assert len(control) == len(selection)
    assert not set(control.example_ids) & set(selection.example_ids)


def test_selection_file_round_trip(tmp_path):
    dynamics = synthetic_dynamics()
    selection = select_stage2(dynamics, size=7, seed=3)
    path = save_selection(selection, tmp_path / "run" / SELECTION_FILE, arm="selected", seed=1)
    assert [p.name for p in path.parent.iterdir()] == [SELECTION_FILE]
    content = json.loads(path.read_text())
    assert content["arm"] == "selected"
    assert content["count"] == 7
    loaded = load_selection(path)
    assert loaded.example_ids.tolist() == selection.example_ids.tolist()
    assert loaded.record == selection.record
    again = select_stage2(dynamics, size=7, seed=3)
    assert load_selection_ids(path).tolist() == again.example_ids.tolist()


def test_unreadable_selection_file_names_fix(tmp_path):
    path = tmp_path / SELECTION_FILE
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="is not a selection file"):
        load_selection(path)
    with pytest.raises(FileNotFoundError, match="run run_two_stage"):
        load_selection(tmp_path / "absent.json")


def test_subset_keeps_order_and_tasks():
    data = toy_dataset(10)
    subset = subset_train(data, ["toy:7", "toy:2"])
    assert subset["example_id"] == ["toy:2", "toy:7"]
    assert subset.features["label"].names == data.features["label"].names
    tasks = {"x": data.select(range(5)), "y": data.select(range(5, 10))}
    parts = subset_train(tasks, ["toy:1", "toy:3"])
    assert list(parts) == ["x"]
    with pytest.raises(ValueError, match=r"1 selected ids are not in the training set"):
        subset_train(data, ["toy:1", "other:1"])


def test_accuracy_summary_over_seeds():
    table = pd.DataFrame(
        {
            "arm": ["selected", "selected", "none"],
            "seed": pd.array([1, 2, pd.NA], dtype="Int64"),
            "eval_set": ["a", "a", "a"],
            "accuracy": [0.5, 0.7, 0.4],
        }
    )
    summary = summarize_accuracies(table)
    assert summary.loc[("selected", "a"), "mean"] == pytest.approx(0.6)
    assert summary.loc[("selected", "a"), "sd"] == pytest.approx(np.std([0.5, 0.7], ddof=1))
    assert summary.loc[("selected", "a"), "n_seeds"] == 2
    assert np.isnan(summary.loc[("none", "a"), "sd"])
    text = format_mean_sd(summary)
    assert text.loc["selected", "a"] == "0.600 ± 0.141"
    assert text.loc["none", "a"] == "0.400"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"stage2_epochs": 1}, r"stage2_epochs=1: .* at least 2 epochs; pass stage2_epochs=2"),
        ({"seeds": []}, "seeds is empty"),
        ({"seeds": [1, 1]}, "seeds repeat values"),
        ({"arms": ["random", "full"]}, "lack 'selected'"),
        ({"arms": ["selected", "half"]}, r"unknown arms \['half'\]"),
        ({"options": {"epochs": 5}}, r"options sets \['epochs'\]"),
    ],
)
def test_two_stage_rejects_bad_options(tmp_path, kwargs, message):
    arguments = dict(train=toy_dataset(4), eval_sets={}, output_dir=tmp_path, seeds=[1])
    with pytest.raises(ValueError, match=message):
        run_two_stage(tmp_path / "absent", **(arguments | kwargs))


# Tiny end-to-end runs.


@pytest.fixture(scope="module")
def multi_source_two_stage(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("two_stage")
    comparison = multi_source_comparison()
    stage1_dir = train_stage1(comparison, tiny_model_dir, folder / "stage1")
    kwargs = dict(
        train=comparison.multi.train,
        eval_sets={n: comparison.eval_sets[n] for n in comparison.multi.eval_sets},
        output_dir=folder / "stage2",
        seeds=[1, 2],
        include=[c for c in SOI_CATEGORIES if c != "always_correct"],
        size=8,
        stage2_epochs=2,
        stage2_learning_rate=1e-3,
    )
    result = run_two_stage(stage1_dir, **kwargs)
    return comparison, result, kwargs


def test_every_arm_takes_the_same_steps(multi_source_two_stage):
    _, result, _ = multi_source_two_stage
    # 8 examples in batches of 4 for 2 epochs.
    assert result.steps == 4
    assert set(result.runs) == {"selected", "random", "full"}
    for arm, by_seed in result.runs.items():
        assert list(by_seed) == [1, 2]
        for seed, run in by_seed.items():
            steps = sum(entry["steps"] for entry in run.record["history"])
            assert steps == result.steps, f"{arm} seed {seed}"
            assert run.record["training_config"]["max_steps"] == result.steps
            assert run.record["training_config"]["seed"] == seed
            assert run.record["init_from"] == str(result.stage1_dir)
    full = result.runs["full"][1]
    assert full.record["num_train_examples"] == 32
    # The full arm stops within its first epoch, after 4 of its 8 batches.
    assert [entry["steps"] for entry in full.record["history"]] == [4]
    assert int(full.dynamics.recorded.sum()) == 16


def test_selected_arm_trains_on_the_selection(multi_source_two_stage):
    _, result, _ = multi_source_two_stage
    selection = result.selection
    assert len(selection) == 8
    for run in result.runs["selected"].values():
        assert sorted(run.dynamics.example_ids.tolist()) == sorted(selection.example_ids.tolist())
        assert run.dynamics.num_epochs == 2
    stage1_categories = categories_from_dynamics(result.stage1.dynamics)
    assert "always_correct" not in set(stage1_categories.loc[selection.example_ids])


def test_saved_selection_is_reproducible(multi_source_two_stage):
    _, result, kwargs = multi_source_two_stage
    again = select_stage2(result.stage1.dynamics, include=kwargs["include"], size=kwargs["size"])
    for seed in result.seeds:
        saved = load_selection_ids(result.selection_path("selected", seed))
        assert saved.tolist() == again.example_ids.tolist()
        control = load_selection(result.selection_path("random", seed))
        assert control.example_ids.tolist() == result.controls[seed].example_ids.tolist()
        assert control.record["seed"] == seed


def test_random_arm_matches_selection(multi_source_two_stage):
    _, result, _ = multi_source_two_stage
    dynamics = result.stage1.dynamics
    labels = pd.Series(dynamics.gold, index=dynamics.example_ids)
    sources = pd.Series(dynamics.tags["source"].to_numpy(), index=dynamics.example_ids)
    selected = result.selection.example_ids
    for seed, run in result.runs["random"].items():
        ids = pd.Index(run.dynamics.example_ids)
        assert len(ids) == len(selected)
        assert ids.sort_values().equals(result.controls[seed].example_ids.sort_values())
        assert labels[ids].value_counts().to_dict() == labels[selected].value_counts().to_dict()
        assert sources[ids].value_counts().to_dict() == sources[selected].value_counts().to_dict()
    table = composition_table(result)
    assert table.loc[("total", "examples"), "selected"] == 8
    assert table.loc[("total", "examples"), "random (seed 1)"] == 8
    assert table.loc[("total", "examples"), "stage-1 training set"] == 32
    assert table.loc["label", "selected"].tolist() == table.loc["label", "random (seed 2)"].tolist()


def test_accuracies_of_all_arms(multi_source_two_stage):
    comparison, result, _ = multi_source_two_stage
    table = result.accuracies
    assert list(table["arm"].cat.categories) == ["selected", "random", "full", "none"]
    assert len(table) == (3 * 2 + 1) * 3
    assert table["accuracy"].between(0, 1).all()
    none = table[table["arm"] == "none"]
    assert none["seed"].isna().all()
    assert dict(zip(none["eval_set"], none["accuracy"])) == result.stage1.accuracy
    summary = summarize_accuracies(table)
    assert summary["n_seeds"].to_dict()[("selected", "ood")] == 2
    assert summary["n_seeds"].to_dict()[("none", "ood")] == 1
    text = format_mean_sd(summary)
    assert text.index.tolist() == ["selected", "random", "full", "none"]
    assert text.columns.tolist() == list(comparison.eval_sets)


def test_transitions_follow_selected_ids(multi_source_two_stage):
    _, result, _ = multi_source_two_stage
    categories = stage2_categories(result)
    assert categories.index.tolist() == result.selection.example_ids.tolist()
    assert categories.columns.tolist() == [1, 2]
    assert not categories.isna().any().any()
    transitions = stage_transitions(result, n_resamples=50)
    counts = transitions.counts
    assert counts.index.tolist() == list(SOI_CATEGORIES)
    assert int(counts.to_numpy().sum()) == 2 * len(result.selection)
    stage1 = categories_from_dynamics(result.stage1.dynamics).loc[result.selection.example_ids]
    for category, count in stage1.value_counts().items():
        assert counts.loc[category].sum() == 2 * count
    for seed in result.seeds:
        column = categories[seed].value_counts()
        pooled = counts.sum(axis=0)
        assert (column.reindex(pooled.index, fill_value=0) <= pooled).all()


def test_second_call_loads_saved_runs(multi_source_two_stage):
    _, result, kwargs = multi_source_two_stage
    again = run_two_stage(result.stage1_dir, **kwargs)
    assert all(run.from_cache for by_seed in again.runs.values() for run in by_seed.values())
    pd.testing.assert_frame_equal(again.accuracies, result.accuracies)


def test_wrong_training_data_is_rejected(multi_source_two_stage):
    comparison, result, kwargs = multi_source_two_stage
    wrong = kwargs | {"train": comparison.runs["a"].train}
    with pytest.raises(ValueError, match="not the same ids; pass the training data of that run"):
        run_two_stage(result.stage1_dir, **wrong)
    fewer = kwargs | {"eval_sets": {"a": comparison.eval_sets["a"]}}
    with pytest.raises(ValueError, match="differ from the evaluation sets of stage-1 run"):
        run_two_stage(result.stage1_dir, **fewer)


def test_multi_task_arms_split_by_task(tiny_model_dir, tmp_path):
    sentiment = toy_dataset(12, seed=1)
    topic = topic_dataset(12, seed=2)
    train = {"sentiment": sentiment, "topic": topic}
    eval_sets = {"sentiment": toy_dataset(6, seed=3).map(
        lambda row: {"example_id": f"test:{row['example_id']}"}
    ), "topic": topic_dataset(6, seed=4)}
    runs = {"multi_task": RunPlan(train, list(eval_sets))}
    comparison = Comparison("multi_task", ["sentiment", "topic"], runs, eval_sets, [])
    stage1_dir = train_stage1(comparison, tiny_model_dir, tmp_path / "stage1")
    result = run_two_stage(
        stage1_dir, train=train, eval_sets=eval_sets, output_dir=tmp_path / "stage2",
        seeds=[1], include=[c for c in SOI_CATEGORIES if c != "always_correct"], size=6,
        stage2_epochs=2, stage2_learning_rate=1e-3,
    )

    tasks = pd.Series(
        result.stage1.dynamics.tags["task"].to_numpy(), index=result.stage1.dynamics.example_ids
    )
    selected = tasks[result.selection.example_ids].value_counts().to_dict()
    control = tasks[result.controls[1].example_ids].value_counts().to_dict()
    assert control == selected
    expected = count_optimizer_steps(
        subset_train(train, result.selection.example_ids),
        TrainingConfig(batch_size=4, epochs=2),
    )
    assert result.steps == expected
    for arm, by_seed in result.runs.items():
        run = by_seed[1]
        assert sum(entry["steps"] for entry in run.record["history"]) == result.steps, arm
        assert run.record["tasks"] == ([t for t in train if t in selected] if arm != "full"
                                       else ["sentiment", "topic"])
        assert set(run.accuracy) == {"sentiment", "topic"}
    assert stage_transitions(result, n_resamples=20).counts.to_numpy().sum() == 6
