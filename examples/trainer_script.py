"""Fine-tune a text classifier with ``transformers.Trainer`` and record soi dynamics.

This is a plain Trainer script. The lines marked ``# soi`` are all that soi adds: a
stable id per example, ``DynamicsTrainer`` in place of ``Trainer``, and saving the
recorded dynamics. Analyze them afterwards with ``soi analyze OUTPUT_DIR/dynamics.parquet``.

The training file is a csv with a ``text`` column and a ``label`` column of integer
label ids 0..C-1::

    python examples/trainer_script.py --model distilbert-base-uncased \\
        --train-file train.csv --output-dir runs/trainer_example
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import datasets
import pandas as pd
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    TrainingArguments,
)

from soi.integration import DynamicsTrainer  # soi


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line of this example."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="distilbert-base-uncased",
        help="Hugging Face hub id or local model folder (default: %(default)s)",
    )
    parser.add_argument(
        "--train-file", type=Path, required=True,
        help="csv file with a text column and an integer label column (required)",
    )
    parser.add_argument(
        "--output-dir", type=Path, required=True,
        help="folder for the Trainer's files and dynamics.parquet (required)",
    )

    parser.add_argument(
        "--capture", default="train_pass", choices=("train_pass", "epoch_end"),
        help="when soi records the dynamics (default: %(default)s)",
    )

    parser.add_argument("--epochs", type=int, default=3, help="training epochs (default: 3)")
    parser.add_argument(
        "--batch-size", type=int, default=16, help="examples per device batch (default: 16)"
    )
    parser.add_argument(
        "--learning-rate", type=float, default=5e-5, help="peak learning rate (default: 5e-05)"
    )
    parser.add_argument(
        "--max-length", type=int, default=128, help="maximum tokens per input (default: 128)"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> Path:
    """Train, record the dynamics and return the path of the saved dynamics file."""
    args = parse_args(argv)

    # Data: a csv with text and integer labels.
    train = datasets.Dataset.from_pandas(pd.read_csv(args.train_file))
    num_labels = int(max(train["label"])) + 1
    train = train.add_column("example_id", [f"train:{i}" for i in range(len(train))])  # soi

    # Model and tokenization.
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=num_labels)
    train = train.map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=args.max_length),
        batched=True,
    )

    # Training.
    training_args = TrainingArguments(
        output_dir=str(args.output_dir),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        save_strategy="no",
        report_to="none",
        # Pinned memory only speeds up copies to a GPU; torch warns about it without one.
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    trainer = DynamicsTrainer(  # soi: in place of Trainer
        model=model,
        args=training_args,
        train_dataset=train,
        data_collator=DataCollatorWithPadding(tokenizer),
        capture=args.capture,  # soi
    )
    trainer.train()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    return trainer.dynamics.save(args.output_dir / "dynamics.parquet")  # soi


if __name__ == "__main__":
    print(f"dynamics saved to {main()}")
