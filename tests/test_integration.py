"""Tests of soi.integration: dynamics recorded inside a transformers.Trainer run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from transformers import DataCollatorWithPadding, TrainingArguments

from soi.dynamics import MISSING_PREDICTION, load_dynamics
from soi.integration import ROW_COLUMN, DynamicsTrainer
from soi.models import load_model_and_tokenizer

LABELS = ["negative", "positive"]
WORDS = ["good", "great", "love", "fun", "bad", "awful", "hate", "boring"]
MAX_LENGTH = 16
EXAMPLE_SCRIPT = Path(__file__).parents[1] / "examples" / "trainer_script.py"


def toy_dataset(size: int, seed: int = 0) -> datasets.Dataset:
    """Build ``size`` labelled sentences with ids, tags and a column no model accepts."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(size):
        label = int(rng.integers(2))
        words = rng.choice(WORDS[:4] if label else WORDS[4:], size=int(rng.integers(1, 5)))
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
            "note": ["unused by the model"] * size,
        },
        features=datasets.Features(
            {
                "example_id": datasets.Value("string"),
                "text": datasets.Value("string"),
                "label": datasets.ClassLabel(names=LABELS),
                "source": datasets.Value("string"),
                "task": datasets.Value("string"),
                "language": datasets.Value("string"),
                "note": datasets.Value("string"),
            }
        ),
    )


def make_trainer(
    model_dir,
    output_dir,
    size: int = 9,
    trainer_class=DynamicsTrainer,
    dtype: torch.dtype | None = None,
    capture: str = "train_pass",
    record_logits: bool = False,
    evaluate_on_train: bool = False,
    **arguments,
):
    """Build a trainer on a tiny BERT; 9 examples in batches of 4 end with a batch of one."""
    model, tokenizer = load_model_and_tokenizer(str(model_dir), LABELS, seed=0)
    if dtype is not None:
        model = model.to(dtype)
    train = toy_dataset(size).map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=MAX_LENGTH),
        batched=True,
    )
    settings = dict(
        output_dir=str(output_dir),
        num_train_epochs=2,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=8,
        learning_rate=1e-3,
        seed=0,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
    )
    trainer = trainer_class(
        model=model,
        args=TrainingArguments(**(settings | arguments)),
        train_dataset=train,
        eval_dataset=train if evaluate_on_train else None,
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        capture=capture,
        record_logits=record_logits,
    )
    return trainer, train


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


class RowSpyTrainer(DynamicsTrainer):
    """Keep the row positions of every training batch, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches: list[list[int]] = []

    def compute_loss(self, model, inputs, return_outputs=False, **kwargs):
        if model.training:
            self.batches.append(inputs[ROW_COLUMN].tolist())
        return super().compute_loss(model, inputs, return_outputs=return_outputs, **kwargs)


@pytest.mark.parametrize("capture", ["train_pass", "epoch_end"])
def test_capture_modes_record_every_example(tiny_model_dir, tmp_path, capture):
    trainer, train = make_trainer(tiny_model_dir, tmp_path, capture=capture)
    trainer.train()
    dyn = trainer.dynamics

    assert (trainer.visits == 1).all()
    assert dyn.example_ids.tolist() == train["example_id"]
    assert dyn.epochs.tolist() == [1, 2]
    assert dyn.gold.tolist() == train["label"]
    assert dyn.gold_prob.dtype == np.float32
    assert dyn.recorded.all()
    assert ((dyn.gold_prob >= 0) & (dyn.gold_prob <= 1)).all()
    assert dyn.tags.columns.tolist() == ["source", "task", "language"]
    assert dyn.tags["source"].tolist() == ["toy"] * 9
    assert dyn.metadata["capture"] == capture
    assert dyn.metadata["seed"] == 0
    assert dyn.metadata["label_names"] == LABELS
    assert dyn.metadata["training_arguments"]["per_device_train_batch_size"] == 4
    assert {"transformers", "torch", "soi"} <= set(dyn.metadata["versions"])


def test_shuffled_sampler_visits_each_id_once(tiny_model_dir, tmp_path):
    trainer, _ = make_trainer(tiny_model_dir, tmp_path, trainer_class=RowSpyTrainer)
    trainer.train()

    # 9 examples in batches of 4: three batches per epoch, the last of one example.
    epochs = [trainer.batches[:3], trainer.batches[3:]]
    orders = [[row for batch in batches for row in batch] for batches in epochs]
    assert len(trainer.batches) == 6
    assert [len(batch) for batch in epochs[0]] == [4, 4, 1]
    assert [len(batch) for batch in epochs[1]] == [4, 4, 1]
    assert sorted(orders[0]) == list(range(9))
    assert sorted(orders[1]) == list(range(9))
    assert orders[0] != list(range(9))
    assert orders[0] != orders[1]
    assert (trainer.visits == 1).all()


def test_drop_last_marks_missing_cells(tiny_model_dir, tmp_path):
    trainer, train = make_trainer(
        tiny_model_dir, tmp_path, trainer_class=RowSpyTrainer, dataloader_drop_last=True
    )
    trainer.train()
    dyn = trainer.dynamics

    for column, batches in enumerate([trainer.batches[:2], trainer.batches[2:]]):
        seen = sorted(row for batch in batches for row in batch)
        dropped = sorted(set(range(9)) - set(seen))
        assert len(seen) == 8
        assert len(dropped) == 1
        assert trainer.visits[dropped, column].tolist() == [0]
        assert np.isnan(dyn.gold_prob[dropped, column]).all()
        assert dyn.predicted[dropped, column].tolist() == [MISSING_PREDICTION]
        assert dyn.recorded[seen, column].all()
    assert int((~dyn.recorded).sum()) == 2

    loaded = load_dynamics(dyn.save(tmp_path / "dynamics.parquet"))
    np.testing.assert_array_equal(loaded.recorded, dyn.recorded)
    assert loaded.example_ids.tolist() == train["example_id"]


def test_drop_last_epoch_end_scores_every_example(tiny_model_dir, tmp_path):
    trainer, _ = make_trainer(
        tiny_model_dir, tmp_path, capture="epoch_end", dataloader_drop_last=True
    )
    trainer.train()

    assert (trainer.visits == 1).all()
    assert trainer.dynamics.recorded.all()


def test_gradient_accumulation_records_micro_batches(tiny_model_dir, tmp_path):
    # 9 examples in micro-batches of 2 give 5 per epoch; accumulating 3 gives 2 steps.
    trainer, _ = make_trainer(
        tiny_model_dir,
        tmp_path,
        trainer_class=RowSpyTrainer,
        per_device_train_batch_size=2,
        gradient_accumulation_steps=3,
    )
    trainer.train()

    assert [len(batch) for batch in trainer.batches] == [2, 2, 2, 2, 1] * 2
    assert trainer.state.global_step == 4
    assert (trainer.visits == 1).all()
    assert trainer.dynamics.recorded.all()


def test_epoch_end_matches_independent_eval_pass(tiny_model_dir, tmp_path):
    trainer, train = make_trainer(
        tiny_model_dir, tmp_path, capture="epoch_end", record_logits=True
    )
    trainer.train()
    dyn = trainer.dynamics

    # Score each example alone, so that no padding is involved, with the final weights.
    model = trainer.model.eval()
    tokenizer = trainer.processing_class
    expected_prob, expected_predicted = [], []
    with torch.no_grad():
        for text, label in zip(train["text"], train["label"]):
            encoded = tokenizer(text, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
            logits = model(**encoded).logits.float()[0]
            expected_prob.append(float(logits.softmax(-1)[label]))
            expected_predicted.append(int(logits.argmax()))

    np.testing.assert_allclose(dyn.gold_prob[:, -1], expected_prob, atol=1e-5)
    assert dyn.predicted[:, -1].tolist() == expected_predicted
    assert dyn.logits.shape == (9, 2, 2)


def test_ids_survive_remove_unused_columns(tiny_model_dir, tmp_path):
    trainer, train = make_trainer(tiny_model_dir, tmp_path, remove_unused_columns=True)
    trainer.train()
    dyn = trainer.dynamics

    assert dyn.example_ids.tolist() == [f"toy:{i}" for i in range(9)]
    assert dyn.tags["task"].tolist() == ["sentiment"] * 9
    assert "note" not in dyn.tags.columns
    assert trainer.train_dataset.column_names == train.column_names
    assert ROW_COLUMN not in trainer.train_dataset.column_names


def test_ids_kept_without_column_removal(tiny_model_dir, tmp_path):
    trainer, train = make_trainer(tiny_model_dir, tmp_path, remove_unused_columns=False)
    model_columns = ["example_id", "input_ids", "token_type_ids", "attention_mask", "label"]
    trainer.train_dataset = train.select_columns(
        [name for name in model_columns if name in train.column_names]
    )
    trainer.train()
    dyn = trainer.dynamics

    assert dyn.example_ids.tolist() == [f"toy:{i}" for i in range(9)]
    assert dyn.recorded.all()
    assert dyn.tags.columns.tolist() == []


@pytest.mark.parametrize(
    "capture, dtype, bf16",
    [("train_pass", torch.bfloat16, False), ("epoch_end", None, True)],
    ids=["bf16 weights", "bf16 mixed precision"],
)
def test_softmax_in_float32(tiny_model_dir, tmp_path, capture, dtype, bf16):
    trainer, _ = make_trainer(
        tiny_model_dir, tmp_path, dtype=dtype, capture=capture, record_logits=True,
        num_train_epochs=1, bf16=bf16,
    )
    trainer.train()
    dyn = trainer.dynamics

    # bf16 logits, float32 softmax: the stored probability is the float32 softmax of the
    # stored logits, far closer than a bf16 softmax (about 3 significant digits) could be.
    assert dyn.metadata["precision"] == ("bf16" if bf16 else "fp32")
    probabilities = softmax(dyn.logits.astype(np.float64))
    expected = np.take_along_axis(probabilities, dyn.gold[:, None, None], axis=2)[..., 0]
    assert dyn.gold_prob.dtype == np.float32
    np.testing.assert_allclose(dyn.gold_prob, expected, atol=1e-6)


def test_evaluation_is_not_recorded(tiny_model_dir, tmp_path):
    trainer, _ = make_trainer(
        tiny_model_dir, tmp_path, evaluate_on_train=True, eval_strategy="epoch"
    )
    trainer.train()
    metrics = trainer.evaluate()

    assert "eval_loss" in metrics
    assert (trainer.visits == 1).all()
    assert trainer.dynamics.recorded.all()


def test_example_script_records_dynamics(tiny_model_dir, tmp_path):
    spec = importlib.util.spec_from_file_location("trainer_script", EXAMPLE_SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    data = toy_dataset(10).to_pandas()
    data[["text", "label"]].to_csv(tmp_path / "train.csv", index=False)

    path = script.main(
        [
            "--model", str(tiny_model_dir),
            "--train-file", str(tmp_path / "train.csv"),
            "--output-dir", str(tmp_path / "run"),
            "--epochs", "2",
            "--batch-size", "4",
            "--max-length", str(MAX_LENGTH),
        ]
    )
    dyn = load_dynamics(path)

    assert path == tmp_path / "run" / "dynamics.parquet"
    assert dyn.example_ids.tolist() == [f"train:{i}" for i in range(10)]
    assert dyn.gold.tolist() == data["label"].tolist()
    assert dyn.epochs.tolist() == [1, 2]
    assert dyn.recorded.all()
    assert dyn.metadata["capture"] == "train_pass"


def test_unknown_capture_rejected(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match=r"capture 'every_step' is not one of .*'train_pass'"):
        make_trainer(tiny_model_dir, tmp_path, capture="every_step")


def test_dynamics_before_training_rejected(tiny_model_dir, tmp_path):
    trainer, _ = make_trainer(tiny_model_dir, tmp_path)
    with pytest.raises(RuntimeError, match=r"call trainer.train\(\) first"):
        trainer.dynamics


def test_missing_id_column_rejected(tiny_model_dir, tmp_path):
    trainer, train = make_trainer(tiny_model_dir, tmp_path)
    trainer.train_dataset = train.remove_columns("example_id")
    with pytest.raises(ValueError, match=r"no example id column 'example_id'.*add_column"):
        trainer.train()


def test_duplicate_ids_rejected(tiny_model_dir, tmp_path):
    trainer, train = make_trainer(tiny_model_dir, tmp_path)
    ids = ["same"] * 2 + train["example_id"][2:]
    trainer.train_dataset = train.remove_columns("example_id").add_column("example_id", ids)
    with pytest.raises(ValueError, match=r"contains 1 duplicate ids, such as \['same'\]"):
        trainer.train()


def test_float_labels_rejected(tiny_model_dir, tmp_path):
    trainer, train = make_trainer(tiny_model_dir, tmp_path)
    trainer.label_column = "score"
    trainer.train_dataset = train.add_column("score", [0.5] * len(train))
    with pytest.raises(ValueError, match=r"label column 'score' contains float64 values"):
        trainer.train()


def test_row_column_clash_rejected(tiny_model_dir, tmp_path):
    trainer, train = make_trainer(tiny_model_dir, tmp_path)
    trainer.train_dataset = train.add_column(ROW_COLUMN, list(range(len(train))))
    with pytest.raises(ValueError, match=rf"already has a column '{ROW_COLUMN}'"):
        trainer.train()


def test_collator_dropping_rows_rejected(tiny_model_dir, tmp_path):
    trainer, _ = make_trainer(tiny_model_dir, tmp_path)
    pad = trainer.data_collator

    def collate_without_rows(features):
        batch = pad(features)
        del batch[ROW_COLUMN]
        return batch

    trainer.data_collator = collate_without_rows
    message = rf"has no '{ROW_COLUMN}' entry.*DataCollatorWithPadding"
    with pytest.raises(RuntimeError, match=message):
        trainer.train()


def test_shuffling_collator_detected(tiny_model_dir, tmp_path):
    trainer, _ = make_trainer(tiny_model_dir, tmp_path)
    pad = trainer.data_collator

    def collate_with_wrong_rows(features):
        batch = pad(features)
        batch[ROW_COLUMN] = batch[ROW_COLUMN].flip(0)
        return batch

    trainer.data_collator = collate_with_wrong_rows
    with pytest.raises(RuntimeError, match=r"labels in the training batches differ"):
        trainer.train()
