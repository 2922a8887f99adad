"""Tests of soi.notebooks and ``soi chapter`` on a tiny chapter written into tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from soi import cli
from soi.notebooks import (
    ParameterError,
    check_parameters,
    parse_value,
    read_parameter_cell,
    read_parameters,
    run_chapter,
    type_name,
)

ROOT = Path(__file__).parents[1]

HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# Tiny chapter

"""

#: Line of the tiny chapter's first parameter: after the header and the cell's two
#: opening lines.
FIRST_PARAMETER_LINE = HEADER.count("\n") + 4

PARAMETERS = """\
message = "hello"  # text written to the output file
repeat = 2  # times the text is written
scale = 0.5  # a float written after the text
words = ["a", "b"]  # words written last
output_file = "written.txt"  # file that the chapter writes, relative to its folder
fail = False  # raise an error in the last cell"""

BODY = """
```{code-cell} ipython3
from pathlib import Path

text = " ".join([message] * repeat) + f" {scale} {','.join(words)}"
Path(output_file).write_text(text)
```

```{code-cell} ipython3
if fail:
    raise RuntimeError("the chapter failed on purpose")
```
"""

DEFAULTS = {
    "message": "hello",
    "repeat": 2,
    "scale": 0.5,
    "words": ["a", "b"],
    "output_file": "written.txt",
    "fail": False,
}


def parameters_cell(source: str) -> str:
    return f"```{{code-cell}} ipython3\n:tags: [parameters]\n\n{source}\n```\n"


def write_chapter(folder: Path, parameters: str = PARAMETERS, body: str = BODY) -> Path:
    path = folder / "tiny.md"
    path.write_text(HEADER + parameters_cell(parameters) + body, encoding="utf-8")
    return path


@pytest.fixture
def chapter(tmp_path) -> Path:
    return write_chapter(tmp_path)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """Run ``soi`` with ``argv`` and return its exit status, stdout and stderr."""
    try:
        status = cli.main([str(value) for value in argv])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def leftovers(folder: Path) -> list[str]:
    """Names of temporary files that a write left in ``folder``."""
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


# --- Reading the parameters cell -------------------------------------------------------


def test_read_parameters_defaults(chapter):
    assert read_parameters(chapter) == DEFAULTS


def test_read_parameter_cell_comments_and_lines(chapter):
    parameters = read_parameter_cell(chapter)

    assert [p.name for p in parameters] == list(DEFAULTS)
    assert parameters[0].comment == "text written to the output file"
    assert parameters[0].line == FIRST_PARAMETER_LINE
    assert parameters[-1].line == FIRST_PARAMETER_LINE + len(DEFAULTS) - 1
    lines = chapter.read_text().splitlines()
    assert lines[parameters[2].line - 1].startswith("scale = 0.5")


def test_read_parameters_from_ipynb(chapter, tmp_path):
    import jupytext

    notebook = tmp_path / "tiny.ipynb"
    jupytext.write(jupytext.read(chapter), notebook)

    assert read_parameters(notebook) == DEFAULTS


def test_read_parameters_annotated_assignment(tmp_path):
    path = write_chapter(tmp_path, 'epochs: int = 3  # passes\nname = None  # any value')

    assert read_parameters(path) == {"epochs": 3, "name": None}


def test_real_chapter_parameters_documented():
    parameters = read_parameter_cell(ROOT / "book" / "multi_source.md")

    assert [p.name for p in parameters][:4] == ["profile", "model_name", "sources", "ood_sources"]
    assert all(p.comment for p in parameters), [p.name for p in parameters if not p.comment]


@pytest.mark.parametrize(
    ("source", "line", "fragments"),
    [
        pytest.param(
            'epochs = 5\nroot = os.getcwd()  # folder', 2,
            ["parameter 'root' is not a literal", "root = os.getcwd()"], id="call",
        ),
        pytest.param(
            "epochs = 5\nsteps = epochs * 10", 2,
            ["parameter 'steps' is not a literal", "later cell"], id="derived-value",
        ),
        pytest.param(
            "import os\nepochs = 5", 1,
            ["'import os'", "not a plain assignment"], id="import",
        ),
        pytest.param(
            "a, b = 1, 2", 1, ["not a plain assignment to one name"], id="tuple-target",
        ),
        pytest.param("epochs = = 5", 1, ["not valid Python"], id="syntax-error"),
        pytest.param(
            "epochs = 5\nepochs = 6", 2,
            ["assigns parameter 'epochs' again", f"after line {FIRST_PARAMETER_LINE}"],
            id="assigned-twice",
        ),
    ],
)
def test_parameters_cell_rejects_line(tmp_path, source, line, fragments):
    path = write_chapter(tmp_path, source)

    with pytest.raises(ParameterError) as caught:
        read_parameters(path)
    message = str(caught.value)
    assert f"{path}, line {FIRST_PARAMETER_LINE + line - 1}" in message
    for fragment in fragments:
        assert fragment in message


def test_parameters_cell_of_ipynb_names_cell_line(tmp_path):
    import jupytext

    notebook = jupytext.read(write_chapter(tmp_path, "epochs = 5\nsteps = epochs * 10"))
    path = tmp_path / "tiny.ipynb"
    jupytext.write(notebook, path)

    with pytest.raises(ParameterError, match=r"tiny\.ipynb, parameters cell, line 2 \('steps"):
        read_parameters(path)


def test_parameters_cell_missing(tmp_path):
    path = tmp_path / "plain.md"
    path.write_text(HEADER + "```{code-cell} ipython3\nx = 1\n```\n")

    with pytest.raises(ParameterError, match="has 0 code cells tagged 'parameters'"):
        read_parameters(path)


def test_parameters_cell_twice(tmp_path):
    path = write_chapter(tmp_path, body="\n" + parameters_cell("y = 2"))

    with pytest.raises(ParameterError, match="has 2 code cells tagged 'parameters'"):
        read_parameters(path)


def test_read_parameters_wrong_suffix(tmp_path):
    path = tmp_path / "chapter.py"
    path.write_text("x = 1\n")

    with pytest.raises(ValueError, match=r"suffix '\.py'; give a jupytext MyST \.md"):
        read_parameters(path)


# --- Checking new values ---------------------------------------------------------------


def test_check_parameters_accepts_matching_types():
    checked = check_parameters(
        DEFAULTS, {"message": "hi", "repeat": 3, "words": ["x"], "fail": True}
    )

    assert checked == {"message": "hi", "repeat": 3, "words": ["x"], "fail": True}


def test_check_parameters_int_for_float():
    checked = check_parameters(DEFAULTS, {"scale": 2})

    assert checked == {"scale": 2.0}
    assert isinstance(checked["scale"], float)


def test_check_parameters_numpy_numbers():
    checked = check_parameters(DEFAULTS, {"repeat": np.int64(4), "scale": np.float32(0.25)})

    assert checked == {"repeat": 4, "scale": 0.25}
    assert type(checked["repeat"]) is int
    assert type(checked["scale"]) is float


def test_check_parameters_unknown_name_suggests():
    with pytest.raises(ParameterError) as caught:
        check_parameters(DEFAULTS, {"repeats": 3})
    message = str(caught.value)

    assert "unknown parameter 'repeats'; did you mean 'repeat'?" in message
    assert "message, repeat, scale, words, output_file, fail" in message


def test_check_parameters_unknown_name_without_match():
    with pytest.raises(ParameterError, match=r"unknown parameter 'zzz'\. The parameters are"):
        check_parameters(DEFAULTS, {"zzz": 1})


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        pytest.param(
            "repeat", "3", "parameter 'repeat' expects a value of type int, like its default "
            "2, but got '3' of type str", id="string-for-int",
        ),
        pytest.param("repeat", 2.5, "got 2.5 of type float", id="float-for-int"),
        pytest.param("repeat", True, "got True of type bool", id="bool-for-int"),
        pytest.param("fail", 1, "expects a value of type bool", id="int-for-bool"),
        pytest.param("scale", "0.1", "expects a value of type float (or int)", id="str-for-float"),
        pytest.param("message", 5, "expects a value of type str", id="int-for-str"),
        pytest.param("message", None, "got None of type NoneType", id="none-for-str"),
        pytest.param("words", "a", "expects a value of type list of str", id="str-for-list"),
        pytest.param(
            "words", ["a", 3], "element 1 of parameter 'words' expects a value of type str",
            id="list-element",
        ),
        pytest.param("output_file", Path("x"), "of type PosixPath", id="path-for-str"),
    ],
)
def test_check_parameters_rejects_type(name, value, fragment):
    with pytest.raises(ParameterError) as caught:
        check_parameters(DEFAULTS, {name: value})

    assert fragment in str(caught.value)
    assert "pass a value of type" in str(caught.value)


def test_check_parameters_empty_default_list():
    assert check_parameters({"names": []}, {"names": [1, "a"]}) == {"names": [1, "a"]}


def test_check_parameters_none_default():
    assert check_parameters({"limit": None}, {"limit": 10}) == {"limit": 10}


@pytest.mark.parametrize(
    ("text", "default", "expected"),
    [
        ("10", 5, 10),
        ("1e-4", 0.1, 1e-4),
        ("True", False, True),
        ("true", False, True),
        ('["imdb", "apple_tweets"]', [], ["imdb", "apple_tweets"]),
        ("[imdb, apple_tweets]", [], ["imdb", "apple_tweets"]),
        ("null", None, None),
        ("bert-base-uncased", "x", "bert-base-uncased"),
        ("123", "x", "123"),
        ("no", "x", "no"),
        ("three", 5, "three"),
        ("{a: 1", 5, "{a: 1"),
    ],
)
def test_parse_value(text, default, expected):
    assert parse_value(text, default) == expected


def test_type_name_of_lists():
    assert type_name([1, 2.5]) == "list of float"
    assert type_name((1, 2)) == "tuple of int"


# --- Running a chapter -----------------------------------------------------------------


def test_run_chapter_rejects_parameter_before_running(chapter, tmp_path):
    output = tmp_path / "out" / "tiny.ipynb"

    with pytest.raises(ParameterError, match="unknown parameter 'repeats'"):
        run_chapter(chapter, output, {"repeats": 3})
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "written.txt").exists()


def test_run_chapter_needs_ipynb_output(chapter, tmp_path):
    with pytest.raises(ValueError, match=r"suffix '\.md'; .* end the name with \.ipynb"):
        run_chapter(chapter, tmp_path / "out.md")


@pytest.mark.slow
def test_run_chapter_end_to_end(chapter, tmp_path):
    output = tmp_path / "executed" / "tiny.ipynb"

    result = run_chapter(
        chapter, output, {"message": "hi", "repeat": 3, "scale": 2, "words": ["x", "y"]}
    )

    assert result == output
    assert (tmp_path / "written.txt").read_text() == "hi hi hi 2.0 x,y"
    notebook = json.loads(output.read_text())
    injected = [
        cell for cell in notebook["cells"]
        if "injected-parameters" in cell["metadata"].get("tags", [])
    ]
    assert len(injected) == 1
    assert "repeat = 3" in "".join(injected[0]["source"])
    assert leftovers(output.parent) == []


@pytest.mark.slow
def test_cli_chapter_runs_in_cwd(capsys, chapter, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    output = tmp_path / "out.ipynb"

    status, out, err = run_cli(
        capsys, "chapter", chapter, output, "-p", "words", "[x, y]", "-p", "message", "123",
        "--cwd", work,
    )

    assert status == 0, err
    assert f"wrote {output}" in out
    assert (work / "written.txt").read_text() == "123 123 0.5 x,y"
    assert output.is_file()


@pytest.mark.slow
def test_cli_chapter_failure_writes_nothing(capsys, chapter, tmp_path):
    output = tmp_path / "new" / "out.ipynb"

    status, _, err = run_cli(capsys, "chapter", chapter, output, "-p", "fail", "True")

    assert status == cli.EXIT_FAILURE
    assert "the chapter failed on purpose" in err
    assert f"{output} was not written" in err
    assert not (tmp_path / "new").exists()
    assert leftovers(tmp_path) == []


def test_cli_chapter_list(capsys, chapter):
    status, out, _ = run_cli(capsys, "chapter", chapter, "--list")

    assert status == 0
    assert "message: str = 'hello'\n    text written to the output file\n" in out
    assert "words: list of str = ['a', 'b']\n" in out
    assert "scale: float = 0.5\n" in out


def test_cli_chapter_list_real_chapter(capsys):
    status, out, _ = run_cli(capsys, "chapter", ROOT / "book" / "multi_source.md", "--list")

    assert status == 0
    assert (
        "epochs: int = None (cpu profile: 5)\n    training epochs; the categories need at least 2\n"
        in out
    )


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        pytest.param(
            ["-p", "repeat", "three"],
            ["parameter 'repeat' expects a value of type int", "got 'three' of type str"],
            id="wrong-type",
        ),
        pytest.param(
            ["-p", "mesage", "x"], ["unknown parameter 'mesage'; did you mean 'message'?"],
            id="unknown-name",
        ),
        pytest.param(
            ["-p", "repeat", "3", "-p", "repeat", "4"], ["-p repeat is given twice"],
            id="given-twice",
        ),
    ],
)
def test_cli_chapter_rejects_parameter(capsys, chapter, tmp_path, argv, fragments):
    output = tmp_path / "out.ipynb"

    status, _, err = run_cli(capsys, "chapter", chapter, output, *argv)

    assert status == cli.EXIT_USAGE
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err
    assert not output.exists()


def test_cli_chapter_needs_output(capsys, chapter):
    status, _, err = run_cli(capsys, "chapter", chapter)

    assert status == cli.EXIT_USAGE
    assert "needs OUTPUT" in err


@pytest.mark.parametrize("chapter", ["multi_source", "multi_task", "multi_lingual"])
def test_profile_parameters_keep_their_types(capsys, chapter, tmp_path):
    # A parameter left at None in the chapter still takes only values of its profile's type.
    output = tmp_path / "out.ipynb"

    status, _, err = run_cli(
        capsys, "chapter", ROOT / "book" / f"{chapter}.md", output, "-p", "epochs", "five"
    )

    assert status == cli.EXIT_USAGE
    assert "parameter 'epochs' expects a value of type int" in err
    assert not output.exists()
