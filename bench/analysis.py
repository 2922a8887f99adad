"""Time and memory of soi's analysis of large dynamics, and the size of their files.

Run from the repository root:

    .venv/bin/python bench/analysis.py

It generates synthetic dynamics of 1,000,000 examples over 10 epochs and 3 labels
(logits included) and a second run of the same examples in another order, then prints:

- the time of the metrics, the six Subsets of Interest and one transition matrix,
  the median of ``--repeats`` runs, on one core;
- their peak memory, measured twice: by tracemalloc (allocations made during the
  analysis, on top of the dynamics already in memory) and by the process's maximum
  resident set size from ``resource.getrusage`` (everything, including the dynamics);
- the time to draw a data map of every example, with marginal densities, on
  matplotlib's Agg canvas;
- the size of the dynamics as soi Parquet (``save_dynamics``) and as cartography JSON
  Lines (``export_cartography``), with the time to read each back.

The thread-count variables below are set before numpy is imported, so numpy and any
BLAS library it loads run on one thread. torch is not imported. The JSON Lines part
takes several minutes at full size; ``--skip-jsonl`` leaves it out.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from soi.dynamics import (  # noqa: E402
    Dynamics,
    export_cartography,
    import_cartography,
    load_dynamics,
    save_dynamics,
)
from soi.metrics import metrics_from_dynamics  # noqa: E402
from soi.plots import plot_data_map  # noqa: E402
from soi.subsets import categories_from_dynamics  # noqa: E402
from soi.transitions import transition_matrix  # noqa: E402

#: Targets on one core: analysis time, peak memory, JSON Lines to Parquet size ratio,
#: and the time to draw a data map of a million points.
TARGET_SECONDS = 5.0
TARGET_PLOT_SECONDS = 10.0
TARGET_PEAK_BYTES = 3 * 2**30
TARGET_SIZE_RATIO = 5.0

# Examples generated per step, so that the float64 temporaries of the generator stay
# small next to the float32 dynamics.
_GENERATION_BLOCK = 2**17


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1_000_000, help="number of examples")
    parser.add_argument("--epochs", type=int, default=10, help="number of epochs")
    parser.add_argument("--labels", type=int, default=3, help="number of labels")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the analysis")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic dynamics")
    parser.add_argument(
        "--skip-jsonl", action="store_true", help="leave out the cartography JSON Lines part"
    )
    return parser.parse_args()


def synthetic_dynamics(
    num_examples: int, num_epochs: int, num_labels: int, seed: int, shuffle: bool
) -> Dynamics:
    """Generate logits whose gold logit drifts up or down, so that all categories occur.

    Each example has its own starting margin, learning speed and noise level, so the
    categories, from always correct to never learned, are all well populated.
    """
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, num_labels, size=num_examples)
    logits = np.empty((num_examples, num_epochs, num_labels), dtype=np.float32)
    epochs = np.arange(num_epochs, dtype=np.float64)
    for start in range(0, num_examples, _GENERATION_BLOCK):
        stop = min(start + _GENERATION_BLOCK, num_examples)
        count = stop - start
        block = rng.normal(0.0, 1.0, size=(count, num_epochs, num_labels))
        block *= rng.uniform(0.2, 2.0, size=(count, 1, 1))
        start_margin = rng.normal(-0.5, 1.0, size=(count, 1))
        speed = rng.normal(0.4, 0.5, size=(count, 1))
        margin = start_margin + speed * epochs
        block[np.arange(count), :, gold[start:stop]] += margin
        logits[start:stop] = block

    shifted = logits - logits.max(axis=2, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=2, keepdims=True)
    gold_prob = np.take_along_axis(probabilities, gold[:, None, None], axis=2)[:, :, 0]
    del shifted, probabilities
    ids = np.array([f"ex{i}" for i in range(num_examples)], dtype=object)
    order = rng.permutation(num_examples) if shuffle else np.arange(num_examples)
    return Dynamics(
        example_ids=ids[order],
        epochs=np.arange(1, num_epochs + 1),
        gold=gold[order],
        gold_prob=gold_prob[order],
        predicted=logits.argmax(axis=2)[order],
        logits=logits[order],
    )


def analyse(run: Dynamics, other_categories) -> dict[str, float]:
    """Run the timed analysis once and return the seconds of each step."""
    seconds = {}
    start = time.perf_counter()
    metrics_from_dynamics(run)
    seconds["metrics"] = time.perf_counter() - start

    start = time.perf_counter()
    categories = categories_from_dynamics(run)
    seconds["categories"] = time.perf_counter() - start

    start = time.perf_counter()
    transition_matrix(categories, other_categories)
    seconds["transition matrix"] = time.perf_counter() - start
    seconds["total"] = sum(seconds.values())
    return seconds


def traced_peak(function) -> tuple[object, int]:
    """Call ``function`` and return its result and the peak of memory it allocated."""
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    result = function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak - baseline


def max_rss_bytes() -> int:
    # ru_maxrss is in kibibytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.iterdir() if path.is_file())


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def main() -> None:
    args = parse_args()
    shape = f"{args.examples:,} examples x {args.epochs} epochs x {args.labels} labels"
    print(f"Generating synthetic dynamics: {shape}")
    run = synthetic_dynamics(args.examples, args.epochs, args.labels, args.seed, shuffle=False)
    other = synthetic_dynamics(args.examples, args.epochs, args.labels, args.seed + 1, shuffle=True)
    other_categories = categories_from_dynamics(other)
    del other
    shares = categories_from_dynamics(run).value_counts(normalize=True).round(3)
    print(f"Category shares of the first run: {shares.to_dict()}")

    # Timing first, without tracemalloc, whose bookkeeping slows allocations down.
    runs = [analyse(run, other_categories) for _ in range(args.repeats)]
    rss_after_analysis = max_rss_bytes()
    _, analysis_peak = traced_peak(lambda: analyse(run, other_categories))
    median = {step: statistics.median(r[step] for r in runs) for step in runs[0]}

    rows = [("step", "value", "target")]
    for step in ("metrics", "categories", "transition matrix"):
        rows.append((f"time: {step} (median of {args.repeats})", f"{median[step]:.3f} s", ""))
    rows.append(("time: analysis total", f"{median['total']:.3f} s", f"<= {TARGET_SECONDS:g} s"))
    rows.append(("peak memory of the analysis (tracemalloc)", mib(analysis_peak), ""))
    rows.append(
        (
            "peak memory of the process so far (maxrss)",
            mib(rss_after_analysis),
            f"<= {mib(TARGET_PEAK_BYTES)}",
        )
    )

    metrics = metrics_from_dynamics(run)
    categories = categories_from_dynamics(run)
    start = time.perf_counter()
    ax = plot_data_map(metrics, categories, marginals=True)
    ax.figure.canvas.draw()
    rows.append(
        (
            f"data map of all {len(metrics):,} points with marginals, drawn",
            f"{time.perf_counter() - start:.2f} s",
            f"<= {TARGET_PLOT_SECONDS:g} s",
        )
    )
    plt.close(ax.figure)
    del metrics, categories

    with tempfile.TemporaryDirectory() as folder:
        parquet = Path(folder) / "dynamics.parquet"
        start = time.perf_counter()
        save_dynamics(run, parquet)
        rows.append(("Parquet: write", f"{time.perf_counter() - start:.2f} s", ""))
        parquet_size = parquet.stat().st_size
        rows.append(("Parquet: file size, logits included", mib(parquet_size), ""))

        (loaded, load_peak) = traced_peak(lambda: load_dynamics(parquet, columns=[]))
        start = time.perf_counter()
        loaded = load_dynamics(parquet, columns=[])
        rows.append(("Parquet: load without logits", f"{time.perf_counter() - start:.2f} s", ""))
        rows.append(("Parquet: peak memory of that load (tracemalloc)", mib(load_peak), ""))
        del loaded
        start = time.perf_counter()
        loaded = load_dynamics(parquet)
        rows.append(("Parquet: load with logits", f"{time.perf_counter() - start:.2f} s", ""))
        del loaded

        if not args.skip_jsonl:
            jsonl = Path(folder) / "training_dynamics"
            start = time.perf_counter()
            export_cartography(run, jsonl)
            rows.append(("JSON Lines: write", f"{time.perf_counter() - start:.2f} s", ""))
            jsonl_size = folder_size(jsonl)
            rows.append(("JSON Lines: size of the folder", mib(jsonl_size), ""))
            start = time.perf_counter()
            imported = import_cartography(jsonl)
            rows.append(("JSON Lines: import", f"{time.perf_counter() - start:.2f} s", ""))
            del imported
            rows.append(
                (
                    "size ratio JSON Lines / Parquet",
                    f"{jsonl_size / parquet_size:.1f}x",
                    f">= {TARGET_SIZE_RATIO:g}x",
                )
            )
    rows.append(("peak memory of the whole process (maxrss)", mib(max_rss_bytes()), ""))

    widths = [max(len(row[k]) for row in rows) for k in range(3)]
    print(f"\nsoi analysis benchmark, {shape}, one thread")
    for position, row in enumerate(rows):
        print("| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " |")
        if position == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")


if __name__ == "__main__":
    main()
