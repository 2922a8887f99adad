"""The chapters run by papermill at a tiny size, then the book built from them."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow

TRAINING = {"epochs": 2, "batch_size": 8, "learning_rate": 1e-3, "precision": "fp32"}
#: Tiny settings of each comparison chapter, on top of its cpu profile.
TINY = {
    "multi_source": {"train_per_source": 24, "test_per_source": 10, "ood_per_source": 10},
    "multi_task": {"train_per_task": 24, "test_per_task": 10, "ood_per_task": 10},
    "multi_lingual": {"train_per_language": 30, "test_per_language": 20},
}
#: Runs each comparison chapter saves, by folder name.
EXPECTED_RUNS = {
    "multi_source": ["airline_tweets", "deflategate_tweets", "imdb", "multi_source"],
    "multi_task": [
        "entailment", "entailment+paraphrase", "entailment+sentiment", "multi_task",
        "paraphrase", "paraphrase+sentiment", "sentiment",
    ],
    "multi_lingual": ["en", "fa", "fr", "multi_lingual"],
}


def execute(chapter, folder, parameters):
    import jupytext
    import papermill

    source = folder / f"{chapter}_source.ipynb"
    jupytext.write(jupytext.read(ROOT / "book" / f"{chapter}.md"), source)
    output = folder / f"{chapter}.ipynb"
    papermill.execute_notebook(
        str(source), str(output), parameters=parameters, cwd=str(ROOT / "book"),
        kernel_name="python3", progress_bar=False,
    )
    return output


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run every comparison chapter and the summary at a tiny size, offline, without a data home."""
    from conftest import build_tiny_model

    folder = tmp_path_factory.mktemp("chapters")
    model_dir = build_tiny_model(folder / "tiny_bert")
    runs = folder / "runs"
    settings = {
        chapter: {"model_name": str(model_dir)} | TRAINING | sizes
        for chapter, sizes in TINY.items()
    }
    previous = os.environ.get("SOI_DATA_HOME")
    os.environ["SOI_DATA_HOME"] = str(folder / "empty_data_home")
    try:
        notebooks = {
            chapter: execute(chapter, folder, values | {"output_dir": str(runs / chapter)})
            for chapter, values in settings.items()
        }
        notebooks["summary"] = execute(
            "summary", folder, {"runs_dir": str(runs), "overrides": settings}
        )
        notebooks["two_stage"] = execute(
            "two_stage", folder,
            {"stage1_overrides": settings["multi_source"], "seeds": [1, 2], "stage2_epochs": 2,
             "stage2_learning_rate": 1e-3, "stage1_output_dir": str(runs / "multi_source"),
             "output_dir": str(runs / "two_stage")},
        )
    finally:
        if previous is None:
            os.environ.pop("SOI_DATA_HOME")
        else:
            os.environ["SOI_DATA_HOME"] = previous
    return folder, notebooks


def outputs(notebook, kind):
    cells = json.loads(notebook.read_text())["cells"]
    return [o for c in cells for o in c.get("outputs", []) if kind in o.get("data", {})]


@pytest.mark.parametrize("chapter", sorted(EXPECTED_RUNS))
def test_chapter_saves_every_run(executed, chapter):
    folder, _ = executed
    runs = folder / "runs" / chapter
    names = sorted(path.parent.name for path in runs.glob("*/run.json"))
    assert names == EXPECTED_RUNS[chapter]
    record = json.loads((runs / chapter / "run.json").read_text())
    assert record["versions"]["torch"]
    # The multi-setting run keeps its weights for a second fine-tuning stage.
    assert (runs / chapter / "model" / "config.json").is_file()
    assert not (runs / EXPECTED_RUNS[chapter][0] / "model").exists()


def test_multi_task_runs_score_only_their_tasks(executed):
    folder, _ = executed
    runs = folder / "runs" / "multi_task"
    pair = json.loads((runs / "entailment+sentiment" / "run.json").read_text())
    assert pair["tasks"] == ["entailment", "sentiment"]
    assert set(pair["accuracy"]) == {"entailment", "sentiment", "sentiment_ood"}
    full = json.loads((runs / "multi_task" / "run.json").read_text())
    assert full["num_train_examples"] == 3 * 24
    assert set(full["label_names"]) == {"entailment", "paraphrase", "sentiment"}


def test_multi_lingual_languages_are_parallel(executed):
    import pandas as pd

    folder, _ = executed
    runs = folder / "runs" / "multi_lingual"
    ids = {
        lang: pd.read_parquet(runs / lang / "dynamics.parquet", columns=["example_id"])
        for lang in ("en", "fr", "fa")
    }
    keys = {lang: sorted(i.split(":", 1)[1] for i in frame["example_id"].unique())
            for lang, frame in ids.items()}
    assert keys["en"] == keys["fr"] == keys["fa"]
    assert len(keys["en"]) == 30


@pytest.mark.parametrize("chapter", ["multi_task", "multi_lingual"])
def test_starter_sets_are_announced_in_the_output(executed, chapter):
    _, notebooks = executed
    markdown = "".join(
        "".join(o["data"]["text/markdown"]) for o in outputs(notebooks[chapter], "text/markdown")
    )
    assert ":::{warning}" in markdown
    assert "starter set" in markdown


def test_two_stage_reuses_the_multi_source_run(executed):
    folder, notebooks = executed
    stage1 = folder / "runs" / "multi_source" / "multi_source"
    assert (stage1 / "model" / "config.json").is_file()
    # Only the comparison chapter trained stage 1, so the chapter's table shows it as loaded.
    cells = json.loads(notebooks["two_stage"].read_text())["cells"]
    stage1_table = next(
        "".join(o["data"]["text/plain"]) for c in cells for o in c.get("outputs", [])
        if "loaded from disk" in "".join(o.get("data", {}).get("text/plain", ""))
    )
    assert "True" in stage1_table
    arms = sorted(p.parent.name for p in (folder / "runs" / "two_stage").rglob("run.json"))
    assert arms == sorted(f"{arm}_seed{seed}" for arm in ("full", "random", "selected")
                          for seed in (1, 2))


@pytest.mark.parametrize("chapter", [*EXPECTED_RUNS, "summary", "two_stage"])
def test_chapter_draws_figures(executed, chapter):
    _, notebooks = executed
    assert len(outputs(notebooks[chapter], "image/png")) >= 2


def test_book_builds_with_warnings_as_errors(executed, tmp_path):
    folder, notebooks = executed
    book = tmp_path / "book_root"
    (book / "book").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, book / name)
    for page in ("intro.md", "methods.md", "reproducibility.md", "bibliography.md",
                 "references.bib"):
        shutil.copy(ROOT / "book" / page, book / "book" / page)
    # The executed notebooks carry papermill's tiny parameters, so Jupyter Book's own
    # execution of them loads the runs saved above instead of training at full size.
    for chapter, notebook in notebooks.items():
        shutil.copy(notebook, book / "book" / f"{chapter}.ipynb")

    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", "--warningiserror", "--keep-going", str(book)],
        capture_output=True, text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT), "SOI_DATA_HOME": str(folder / "empty")},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = book / "_build" / "html"
    assert (html / "index.html").is_file()
    for chapter in notebooks:
        page = (html / "book" / f"{chapter}.html").read_text()
        assert page.count("<img") >= 2, chapter
    # The starter warning is rendered as an admonition, not as raw MyST.
    page = (html / "book" / "multi_task.html").read_text()
    assert "admonition warning" in page
    assert ":::{warning}" not in page
    # Citations resolve to the bibliography.
    assert "bibliography.html#id" in page or "bibliography.html" in page
