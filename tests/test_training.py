import datasets
import numpy as np
import pytest
import torch

from soi.models import load_model_and_tokenizer
from soi.training import TrainingConfig, evaluate, fine_tune

LABELS = ["negative", "positive"]
WORDS = ["good", "great", "love", "fun", "bad", "awful", "hate", "boring"]


def toy_dataset(size, seed=0):
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(size):
        label = int(rng.integers(2))
        words = rng.choice(WORDS[:4] if label else WORDS[4:], size=3)
        texts.append("the movie was " + " ".join(words))
        labels.append(label)
    return datasets.Dataset.from_dict(
        {
            "example_id": [f"toy:{i}" for i in range(size)],
            "text": texts,
            "label": labels,
            "source": ["toy"] * size,
            "task": ["sentiment"] * size,
            "language": ["en"] * size,
        },
        features=datasets.Features(
            {
                "example_id": datasets.Value("string"),
                "text": datasets.Value("string"),
                "label": datasets.ClassLabel(names=LABELS),
                "source": datasets.Value("string"),
                "task": datasets.Value("string"),
                "language": datasets.Value("string"),
            }
        ),
    )


def tiny_config(**overrides):
    values = dict(
        epochs=2, batch_size=4, eval_batch_size=8, learning_rate=1e-3, max_length=16,
        precision="fp32", progress=False,
    )
    return TrainingConfig(**(values | overrides))


@pytest.mark.parametrize("capture", ["train_pass", "epoch_end"])
def test_every_example_recorded_once_per_epoch(tiny_model_dir, capture):
    # 9 examples in batches of 4 leave a final batch of a single example.
    train = toy_dataset(9)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    result = fine_tune(model, tokenizer, train, tiny_config(capture=capture))
    dyn = result.dynamics

    assert result.visits.shape == (9, 2)
    assert (result.visits == 1).all()
    assert dyn.example_ids.tolist() == train["example_id"]
    assert dyn.epochs.tolist() == [1, 2]
    assert dyn.gold_prob.dtype == np.float32
    assert not np.isnan(dyn.gold_prob).any()
    assert ((dyn.gold_prob >= 0) & (dyn.gold_prob <= 1)).all()
    assert dyn.recorded.all()
    assert dyn.tags["source"].tolist() == ["toy"] * 9
    assert dyn.metadata["training_config"]["capture"] == capture


def test_same_seed_same_dynamics(tiny_model_dir):
    train = toy_dataset(12)
    results = []
    for _ in range(2):
        model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS, seed=7)
        results.append(fine_tune(model, tokenizer, train, tiny_config(seed=7)).dynamics)
    np.testing.assert_array_equal(results[0].gold_prob, results[1].gold_prob)
    np.testing.assert_array_equal(results[0].predicted, results[1].predicted)


def test_epoch_end_matches_eval_of_final_weights(tiny_model_dir):
    train = toy_dataset(10)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    config = tiny_config(capture="epoch_end")
    result = fine_tune(model, tokenizer, train, config)
    final = evaluate(model, tokenizer, train, config)
    np.testing.assert_allclose(result.dynamics.gold_prob[:, -1], final.predictions["gold_prob"], atol=1e-6)
    np.testing.assert_array_equal(result.dynamics.predicted[:, -1], final.predictions["predicted"])


def test_train_pass_records_before_the_step(tiny_model_dir):
    """With one batch per epoch, epoch 1's record is the output of the untrained model."""
    train = toy_dataset(6)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    config = tiny_config(batch_size=6, warmup_ratio=0.0)
    # The training pass runs in train mode; dropout is off in eval mode only, so compare
    # with dropout disabled in the model itself.
    model.config.hidden_dropout_prob = 0.0
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    torch.manual_seed(0)
    before = evaluate(model, tokenizer, train, config)
    result = fine_tune(model, tokenizer, train, config)
    np.testing.assert_allclose(result.dynamics.gold_prob[:, 0], before.predictions["gold_prob"], atol=1e-5)
    assert not np.allclose(result.dynamics.gold_prob[:, 1], result.dynamics.gold_prob[:, 0])


def test_evaluate_accuracy_and_predictions(tiny_model_dir):
    data = toy_dataset(7)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    result = evaluate(model, tokenizer, data, tiny_config())
    predictions = result.predictions
    assert predictions["example_id"].tolist() == data["example_id"]
    assert result.accuracy == pytest.approx((predictions["predicted"] == predictions["gold"]).mean())


def test_bf16_probabilities_are_fp32(tiny_model_dir):
    train = toy_dataset(8)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    result = fine_tune(model, tokenizer, train, tiny_config(precision="bf16"))
    assert result.precision == "bf16"
    assert result.dynamics.gold_prob.dtype == np.float32


def test_logits_recorded_on_request(tiny_model_dir):
    train = toy_dataset(5)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    dyn = fine_tune(model, tokenizer, train, tiny_config(record_logits=True)).dynamics
    assert dyn.logits.shape == (5, 2, 2)
    probs = torch.tensor(dyn.logits).softmax(-1).numpy()
    gold = probs[np.arange(5), :, dyn.gold]
    np.testing.assert_allclose(gold, dyn.gold_prob, atol=1e-6)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"epochs": 1}, "at least 2 epochs"),
        ({"capture": "every_step"}, "capture 'every_step' is not one of"),
        ({"precision": "fp16"}, "precision 'fp16' is not one of"),
        ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
        ({"learning_rate": 0.0}, "learning_rate must be positive"),
    ],
)
def test_config_rejects_bad_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**overrides)


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match=r"unknown training option\(s\) \['epoch'\]"):
        TrainingConfig.from_dict({"epoch": 3})


def test_training_set_without_ids(tiny_model_dir):
    train = toy_dataset(4).remove_columns("example_id")
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    with pytest.raises(ValueError, match="lacks column 'example_id'"):
        fine_tune(model, tokenizer, train, tiny_config())


def test_bf16_and_fp32_capture_agree(tiny_model_dir):
    train = toy_dataset(96, seed=5)
    dynamics = {}
    for precision in ("fp32", "bf16"):
        model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS, seed=11)
        config = tiny_config(
            precision=precision, batch_size=8, seed=11, epochs=4, learning_rate=3e-3
        )
        dynamics[precision] = fine_tune(model, tokenizer, train, config).dynamics
    fp32, bf16 = dynamics["fp32"], dynamics["bf16"]
    # The comparison means something only if the model learns, so that predictions change.
    assert fp32.correct[:, -1].mean() > fp32.correct[:, 0].mean() + 0.2
    assert fp32.example_ids.tolist() == bf16.example_ids.tolist()
    assert bf16.gold_prob.dtype == np.float32
    agreement = (fp32.correct == bf16.correct).mean()
    assert agreement >= 0.95, f"correctness agrees on {agreement:.1%} of (example, epoch) cells"


def test_max_steps_stops_within_an_epoch(tiny_model_dir, monkeypatch):
    import soi.training
    from soi.dynamics import MISSING_PREDICTION

    schedules = []
    linear_schedule = soi.training.get_linear_schedule_with_warmup

    def recording_schedule(optimizer, warmup_steps, total_steps):
        schedules.append((warmup_steps, total_steps))
        return linear_schedule(optimizer, warmup_steps, total_steps)

    monkeypatch.setattr(soi.training, "get_linear_schedule_with_warmup", recording_schedule)
    # 10 examples in batches of 4 take 3 steps per epoch, so step 4 is the first of epoch 2.
    train = toy_dataset(10)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    result = fine_tune(model, tokenizer, train, tiny_config(epochs=3, max_steps=4))
    dyn = result.dynamics

    assert schedules == [(1, 4)]
    assert [h["steps"] for h in result.history] == [3, 1]
    assert [h["examples"] for h in result.history] == [10, 4]
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert dyn.epochs.tolist() == [1, 2]
    assert result.visits.shape == (10, 2)
    assert (result.visits[:, 0] == 1).all()
    assert result.visits[:, 1].sum() == 4
    assert set(result.visits[:, 1].tolist()) == {0, 1}
    unvisited = result.visits[:, 1] == 0
    assert np.isnan(dyn.gold_prob[unvisited, 1]).all()
    assert not np.isnan(dyn.gold_prob[~unvisited, 1]).any()
    assert (dyn.predicted[unvisited, 1] == MISSING_PREDICTION).all()
    assert dyn.metadata["optimizer_steps"] == 4
    assert result.examples_per_second > 0


def test_max_steps_at_epoch_boundary(tiny_model_dir):
    train = toy_dataset(10)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    result = fine_tune(model, tokenizer, train, tiny_config(epochs=3, max_steps=6))

    assert [h["steps"] for h in result.history] == [3, 3]
    assert result.dynamics.epochs.tolist() == [1, 2]
    assert (result.visits == 1).all()
    assert result.dynamics.recorded.all()


def test_max_steps_beyond_epochs_is_unused(tiny_model_dir):
    train = toy_dataset(10)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS, seed=3)
    limited = fine_tune(model, tokenizer, train, tiny_config(seed=3, max_steps=100))
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS, seed=3)
    unlimited = fine_tune(model, tokenizer, train, tiny_config(seed=3))

    assert [h["steps"] for h in limited.history] == [3, 3]
    assert limited.dynamics.metadata["optimizer_steps"] == 6
    np.testing.assert_array_equal(limited.dynamics.gold_prob, unlimited.dynamics.gold_prob)


def test_max_steps_epoch_end_records_all(tiny_model_dir):
    train = toy_dataset(10)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    config = tiny_config(epochs=3, max_steps=4, capture="epoch_end")
    result = fine_tune(model, tokenizer, train, config)

    assert [h["steps"] for h in result.history] == [3, 1]
    assert (result.visits == 1).all()
    assert result.dynamics.recorded.all()


@pytest.mark.parametrize("max_steps", [-1, 2.5, True, "10"])
def test_config_rejects_bad_max_steps(max_steps):
    import re

    message = f"max_steps must be an integer of at least 0, got {max_steps!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainingConfig(max_steps=max_steps)


def test_max_steps_survives_resume(tiny_model_dir, tmp_path):
    train = toy_dataset(10)
    config = tiny_config(epochs=3, max_steps=4)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    first = fine_tune(model, tokenizer, train, config, checkpoint_dir=tmp_path)
    model, tokenizer = load_model_and_tokenizer(str(tiny_model_dir), LABELS)
    resumed = fine_tune(model, tokenizer, train, config, checkpoint_dir=tmp_path)

    assert [h["steps"] for h in resumed.history] == [3, 1]
    assert resumed.dynamics.metadata["optimizer_steps"] == 4
    np.testing.assert_array_equal(resumed.visits, first.visits)
    np.testing.assert_array_equal(resumed.dynamics.gold_prob, first.dynamics.gold_prob)
