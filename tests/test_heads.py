import datasets
import numpy as np
import pytest
import torch

from soi.heads import MultiTaskModel, concatenate_tasks, load_multitask_model
from soi.training import TrainingConfig, evaluate, fine_tune


def task_dataset(task, labels, size, seed):
    rng = np.random.default_rng(seed)
    label_ids = rng.integers(len(labels), size=size).tolist()
    return datasets.Dataset.from_dict(
        {
            "example_id": [f"{task}:{i}" for i in range(size)],
            "text": [f"the {labels[y]} example {i}" for i, y in enumerate(label_ids)],
            "label": label_ids,
            "source": [task] * size,
            "task": [task] * size,
            "language": ["en"] * size,
        },
        features=datasets.Features(
            {
                "example_id": datasets.Value("string"),
                "text": datasets.Value("string"),
                "label": datasets.ClassLabel(names=labels),
                "source": datasets.Value("string"),
                "task": datasets.Value("string"),
                "language": datasets.Value("string"),
            }
        ),
    )


@pytest.fixture
def two_tasks():
    return {
        "nli": task_dataset("nli", ["entailment", "neutral", "contradiction"], 11, 0),
        "sentiment": task_dataset("sentiment", ["negative", "positive"], 7, 1),
    }


def config(**overrides):
    values = dict(
        epochs=2, batch_size=4, learning_rate=1e-3, max_length=16, precision="fp32",
        progress=False,
    )
    return TrainingConfig(**(values | overrides))


def test_concatenate_tasks_keeps_label_spaces(two_tasks):
    train, task_labels = concatenate_tasks(two_tasks)
    assert len(train) == 18
    assert task_labels == {
        "nli": ["entailment", "neutral", "contradiction"],
        "sentiment": ["negative", "positive"],
    }
    assert max(train["label"]) == 2


def test_concatenate_tasks_rejects_mixed_tags(two_tasks):
    with pytest.raises(ValueError, match="data set given for task 'other' has task tags"):
        concatenate_tasks({"other": two_tasks["nli"]})


def test_multitask_training_records_every_task(tiny_model_dir, two_tasks):
    train, task_labels = concatenate_tasks(two_tasks)
    model, tokenizer = load_multitask_model(str(tiny_model_dir), task_labels, seed=0)
    result = fine_tune(model, tokenizer, train, config())
    dyn = result.dynamics

    assert (result.visits == 1).all()
    assert dyn.tags["task"].tolist() == train["task"]
    assert dyn.metadata["label_names"] == task_labels
    sentiment = dyn.tags["task"].to_numpy() == "sentiment"
    assert dyn.predicted[sentiment].max() <= 1
    assert dyn.predicted[~sentiment].max() <= 2


def test_one_training_step_moves_only_batch_head(tiny_model_dir, two_tasks):
    train, task_labels = concatenate_tasks({"sentiment": two_tasks["sentiment"]})
    model, tokenizer = load_multitask_model(
        str(tiny_model_dir), {"sentiment": task_labels["sentiment"], "nli": ["a", "b", "c"]}, seed=0
    )
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    fine_tune(model, tokenizer, train, config(batch_size=8, warmup_ratio=0.0))
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert any(name.startswith("heads.sentiment") for name in changed)
    assert not any(name.startswith("heads.nli") for name in changed)
    assert any(name.startswith("encoder.") for name in changed)


def test_multitask_evaluate_groups_by_task(tiny_model_dir, two_tasks):
    train, task_labels = concatenate_tasks(two_tasks)
    model, tokenizer = load_multitask_model(str(tiny_model_dir), task_labels, seed=0)
    result = evaluate(model, tokenizer, train, config())
    assert result.predictions["example_id"].tolist() == train["example_id"]
    assert result.predictions["task"].tolist() == train["task"]


def test_unknown_task_names_heads(tiny_model_dir, two_tasks):
    train, _ = concatenate_tasks(two_tasks)
    model, tokenizer = load_multitask_model(str(tiny_model_dir), {"nli": ["a", "b", "c"]}, seed=0)
    with pytest.raises(ValueError, match=r"task 'sentiment' of the data has no head.*\['nli'\]"):
        fine_tune(model, tokenizer, train, config())


def test_uniform_sampling_needs_epoch_end_capture():
    with pytest.raises(ValueError, match="use capture='epoch_end'"):
        config(sampling="uniform")
    assert config(sampling="uniform", capture="epoch_end").sampling == "uniform"


def test_uniform_sampling_with_epoch_end(tiny_model_dir, two_tasks):
    train, task_labels = concatenate_tasks(two_tasks)
    model, tokenizer = load_multitask_model(str(tiny_model_dir), task_labels, seed=0)
    result = fine_tune(model, tokenizer, train, config(sampling="uniform", capture="epoch_end"))
    assert result.dynamics.recorded.all()


def test_head_needs_two_labels(tiny_model_dir):
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(str(tiny_model_dir))
    with pytest.raises(ValueError, match="task 'x' needs at least two labels"):
        MultiTaskModel(encoder, {"x": ["only"]})
