"""The multi-source chapter run by papermill at a tiny size, then the book built from it."""

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


@pytest.fixture(scope="module")
def executed_chapter(tmp_path_factory):
    import jupytext
    import papermill

    from conftest import build_tiny_model

    folder = tmp_path_factory.mktemp("chapter")
    model_dir = build_tiny_model(folder / "tiny_bert")
    source = folder / "multi_source.ipynb"
    jupytext.write(jupytext.read(ROOT / "book" / "multi_source.md"), source)
    output = folder / "executed.ipynb"
    papermill.execute_notebook(
        str(source),
        str(output),
        parameters={
            "model_name": str(model_dir),
            "train_per_source": 24,
            "test_per_source": 10,
            "ood_per_source": 10,
            "epochs": 2,
            "batch_size": 8,
            "learning_rate": 1e-3,
            "precision": "fp32",
            "output_dir": str(folder / "runs"),
        },
        cwd=str(ROOT / "book"),
        kernel_name="python3",
        progress_bar=False,
    )
    return output


def test_chapter_runs_and_saves_every_run(executed_chapter):
    runs = executed_chapter.parent / "runs"
    names = sorted(path.parent.name for path in runs.glob("*/run.json"))
    assert names == ["airline_tweets", "deflategate_tweets", "imdb", "multi_source"]
    record = json.loads((runs / "multi_source" / "run.json").read_text())
    assert record["num_train_examples"] == 3 * 24
    assert set(record["accuracy"]) == {"imdb", "airline_tweets", "deflategate_tweets", "ood"}
    assert record["versions"]["torch"]


def test_chapter_draws_figures(executed_chapter):
    notebook = json.loads(executed_chapter.read_text())
    images = [
        output
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) >= 3


def test_book_builds_with_warnings_as_errors(executed_chapter, tmp_path):
    book = tmp_path / "book_root"
    (book / "book").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, book / name)
    for page in ("intro.md", "methods.md", "reproducibility.md"):
        shutil.copy(ROOT / "book" / page, book / "book" / page)
    # The executed notebook carries papermill's tiny parameters, so Jupyter Book's own
    # execution of it loads the runs saved above instead of training at full size.
    shutil.copy(executed_chapter, book / "book" / "multi_source.ipynb")

    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", "--warningiserror", "--keep-going", str(book)],
        capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = book / "_build" / "html"
    assert (html / "index.html").is_file()
    page = (html / "book" / "multi_source.html").read_text()
    assert page.count("<img") >= 3
    assert "ood" in page
