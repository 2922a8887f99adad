"""Compare soi's training loop with and without capture, with the Trainer, in fp32 and bf16.

Run from the repository root after `make assets`:

    OMP_NUM_THREADS=2 .venv/bin/python bench/training.py

It fine-tunes all-MiniLM-L6-v2 for one epoch on 1,024 IMDB reviews (length 64, batch 32)
in every configuration, one after another in this process, and prints a table of
throughputs and the ratios that the targets in bench/README.md refer to. It takes about
ten minutes on a 2-core CPU.

soi's throughput counts the training steps of the epoch; the Trainer's counts the whole
``trainer.train()`` call, its set-up included.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import datasets  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

from soi.batching import tokenize  # noqa: E402
from soi.data import get_source, load_source, train_test_split  # noqa: E402
from soi.models import load_model_and_tokenizer  # noqa: E402
from soi.training import TrainingConfig, evaluate, fine_tune, resolve_precision  # noqa: E402

LABELS = ["negative", "positive"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1024, help="training examples")
    parser.add_argument("--test", type=int, default=512, help="held-out examples for accuracy")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per precision for accuracy")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="peak learning rate")
    return parser.parse_args()


def soi_run(train, test, precision, capture, seed, args):
    config = TrainingConfig(
        epochs=2, batch_size=32, eval_batch_size=128, max_length=64, seed=seed,
        learning_rate=args.learning_rate, capture=capture, precision=precision, progress=False,
    )
    # The benchmark times one epoch. TrainingConfig requires two, which the categories need,
    # so the field is changed after its validation.
    config.epochs = 1
    model, tokenizer = load_model_and_tokenizer("all-MiniLM-L6-v2", LABELS, seed=seed)
    result = fine_tune(model, tokenizer, train, config)
    epoch = result.history[0]
    accuracy = evaluate(model, tokenizer, test, config).accuracy
    return {
        "examples_per_second": epoch["examples_per_second"],
        "train_seconds": epoch["train_seconds"],
        "capture_seconds": epoch["seconds"] - epoch["train_seconds"],
        "accuracy": accuracy,
    }


def trainer_run(train, precision, seed, args, output_dir):
    """Time one epoch of transformers.Trainer with the same data, schedule and batch size."""
    model, tokenizer = load_model_and_tokenizer("all-MiniLM-L6-v2", LABELS, seed=seed)
    model_inputs = tokenize(train, tokenizer, 64).remove_columns("row")
    arguments = transformers.TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=32,
        num_train_epochs=1,
        learning_rate=args.learning_rate,
        weight_decay=0.01,
        warmup_steps=math.ceil(0.1 * math.ceil(len(train) / 32)),
        max_grad_norm=1.0,
        lr_scheduler_type="linear",
        bf16=precision == "bf16",
        use_cpu=not torch.cuda.is_available(),
        seed=seed,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    trainer = transformers.Trainer(
        model=model,
        args=arguments,
        train_dataset=model_inputs,
        data_collator=transformers.DataCollatorWithPadding(tokenizer),
    )
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    return {"examples_per_second": len(train) / seconds, "train_seconds": seconds}


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()

    reviews = load_source(get_source("imdb"))["train"]
    splits = train_test_split(reviews, args.examples, args.test, seed=0)
    train, test = splits["train"], splits["test"]
    native = resolve_precision("auto", torch.device("cpu"))
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{torch.get_num_threads()} threads, auto precision here: {native}")
    print(f"{len(train)} training and {len(test)} held-out IMDB reviews, length 64, batch 32\n")

    # A short warm-up run, so that the first measured run does not pay for lazy set-up.
    soi_run(train.select(range(64)), test.select(range(32)), "fp32", "none", 0, args)

    rows = []
    results = {}
    for precision in ("fp32", "bf16"):
        # Runs with and without capture alternate, so that drifts of the machine's speed
        # over time affect both alike.
        results[precision, "train_pass"], results[precision, "none"] = [], []
        for seed in range(args.seeds):
            for capture in ("none", "train_pass"):
                run = soi_run(train, test, precision, capture, seed, args)
                results[precision, capture].append(run)
        results[precision, "epoch_end"] = [soi_run(train, test, precision, "epoch_end", 0, args)]
        results[precision, "trainer"] = [trainer_run(train, precision, 0, args, Path("/tmp/soi-bench"))]

    print(f"{'loop':<12}{'precision':<11}{'capture':<12}{'runs':>5}{'ex/s':>9}{'accuracy':>17}")
    for (precision, mode), runs in results.items():
        speed = statistics.mean(r["examples_per_second"] for r in runs)
        accuracies = [r["accuracy"] for r in runs if "accuracy" in r]
        accuracy = (
            f"{statistics.mean(accuracies):.3f} ± {statistics.pstdev(accuracies):.3f}"
            if accuracies else "-"
        )
        loop = "Trainer" if mode == "trainer" else "soi"
        capture = "none" if mode == "trainer" else mode
        print(f"{loop:<12}{precision:<11}{capture:<12}{len(runs):>5}{speed:>9.1f}{accuracy:>17}")
        rows.append((precision, mode, speed))

    print("\nratios (targets in bench/README.md)")
    for precision in ("fp32", "bf16"):
        speed = {mode: s for p, mode, s in rows if p == precision}
        overhead = speed["none"] / speed["train_pass"] - 1
        epoch_end = results[precision, "epoch_end"][0]
        extra = epoch_end["capture_seconds"] / epoch_end["train_seconds"]
        print(f"{precision}: train_pass capture overhead {overhead:+.1%} of step time (target ≤ 2%)")
        print(f"{precision}: epoch_end pass {extra:.1%} of the epoch's training time (target ≤ 35%)")
        print(f"{precision}: soi with capture / Trainer = "
              f"{speed['train_pass'] / speed['trainer']:.2f}x (target ≥ 1.0x)")
    fp32 = statistics.mean(r["examples_per_second"] for r in results["fp32", "train_pass"])
    bf16 = statistics.mean(r["examples_per_second"] for r in results["bf16", "train_pass"])
    print(f"bf16 / fp32 throughput with capture: {bf16 / fp32:.2f}x")
    accuracy_gap = [
        statistics.mean(r["accuracy"] for r in results[p, "train_pass"]) for p in ("fp32", "bf16")
    ]
    print(f"accuracy fp32 - bf16 over {args.seeds} seeds: {accuracy_gap[0] - accuracy_gap[1]:+.3f}")


if __name__ == "__main__":
    main()
