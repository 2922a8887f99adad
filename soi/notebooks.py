"""Read, check and run the parameters of the book's chapters.

Every chapter is a jupytext MyST notebook (``.md``) with one code cell tagged
``parameters`` that contains plain assignments of literals, each with a trailing comment::

    epochs = 5  # training epochs; the categories need at least 2

papermill injects new values after that cell but only logs a warning for an unknown
name and never checks types. :func:`run_chapter` checks the values first: every name must
be a parameter of the chapter, and every value must have the type of its default. It then
runs the chapter with papermill and writes the executed notebook only when every cell
succeeded.

The functions need the ``book`` extra (jupytext and papermill).
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import io
import logging
import numbers
import os
import secrets
import tempfile
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: Tag of the cell that contains a chapter's parameters, as papermill names it.
PARAMETERS_TAG = "parameters"

#: Suffixes of the chapter files that :func:`read_notebook` reads.
NOTEBOOK_SUFFIXES = (".md", ".ipynb")

#: Suffix of executed notebooks; papermill warns about any other output suffix.
OUTPUT_SUFFIX = ".ipynb"

#: Kernel that runs the chapters unless another is named.
DEFAULT_KERNEL = "python3"

# Random bytes in a temporary file name, enough that two writers never collide.
_TEMPORARY_NAME_BYTES = 8

# Number of close matches that an unknown parameter name is offered.
_SUGGESTIONS = 1


class ParameterError(ValueError):
    """A chapter parameter that is unknown, of the wrong type, or not a literal."""


@dataclass(frozen=True)
class NotebookParameter:
    """One assignment of a chapter's parameters cell.

    Parameters
    ----------
    name : str
        Variable name.
    default : object
        The literal value assigned in the cell.
    comment : str
        The trailing comment without its ``#``, or an empty string.
    line : int
        Line of the assignment, counted from 1 in a ``.md`` chapter file, and in the cell
        for an ``.ipynb`` notebook.
    """

    name: str
    default: Any
    comment: str
    line: int


def read_notebook(path: str | os.PathLike[str]) -> Any:
    """Read a chapter, a jupytext ``.md`` file or an ``.ipynb`` notebook, as nbformat cells.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If its suffix is neither ``.md`` nor ``.ipynb``.
    """
    import jupytext

    path = Path(path)
    if path.suffix.lower() not in NOTEBOOK_SUFFIXES:
        raise ValueError(
            f"{path} has the suffix {path.suffix!r}; give a jupytext MyST .md chapter or an "
            f".ipynb notebook"
        )
    if not path.is_file():
        raise FileNotFoundError(f"chapter {path} does not exist; check the path")
    return jupytext.read(path)


def _parameters_cell(notebook: Any, path: Path) -> Any:
    cells = [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.metadata.get("tags", [])
    ]
    if len(cells) != 1:
        raise ParameterError(
            f"{path} has {len(cells)} code cells tagged {PARAMETERS_TAG!r}, expected exactly "
            f"one; tag the cell of plain assignments with :tags: [{PARAMETERS_TAG}]"
        )
    return cells[0]


def _first_line_in_file(path: Path, source: str) -> int | None:
    """Return the file line where the cell's text starts, or None unless it occurs once.

    The text of an ``.ipynb`` cell is stored as escaped JSON, so it is not found there.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    start = text.find(source)
    if not source or start < 0 or text.find(source, start + 1) >= 0:
        return None
    return text.count("\n", 0, start) + 1


def _trailing_comments(source: str) -> dict[int, str]:
    """Map each line of ``source`` that ends in a comment to the comment's text."""
    comments = {}
    with contextlib.suppress(tokenize.TokenError, SyntaxError):
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string.lstrip("#").strip()
    return comments


def read_parameter_cell(path: str | os.PathLike[str]) -> list[NotebookParameter]:
    """Read the assignments of a chapter's ``parameters`` cell, with their comments.

    Every statement of the cell must assign a Python literal (a string, number, bool,
    None, or a list, tuple, dict or set of literals) to one name, optionally with a type
    annotation. Nothing in the cell is executed.

    Parameters
    ----------
    path : str or os.PathLike
        A jupytext MyST ``.md`` chapter or an ``.ipynb`` notebook.

    Returns
    -------
    list of NotebookParameter
        The assignments in the order of the cell.

    Raises
    ------
    ParameterError
        If the notebook has no ``parameters`` cell or several, or a line of the cell is
        not a plain assignment of a literal. The message names the line.

    Examples
    --------
    >>> import tempfile
    >>> cell = "```{code-cell} ipython3\\n:tags: [parameters]\\n\\nepochs = 5  # passes\\n```\\n"
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "chapter.md"
    ...     _ = path.write_text("# Chapter\\n\\n" + cell)
    ...     [parameter] = read_parameter_cell(path)
    >>> parameter.name, parameter.default, parameter.comment, parameter.line
    ('epochs', 5, 'passes', 6)
    """
    path = Path(path)
    return _parameters_of(read_notebook(path), path)


def _parameters_of(notebook: Any, path: Path) -> list[NotebookParameter]:
    """Read the parameters cell of a notebook already read from ``path``."""
    source = _parameters_cell(notebook, path).source
    first_line = _first_line_in_file(path, source)
    lines = source.splitlines()

    def line_number(line: int) -> int:
        return line if first_line is None else first_line + line - 1

    def where(line: int) -> str:
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        place = "line" if first_line is not None else "parameters cell, line"
        return f"{path}, {place} {line_number(line)} ({text!r})"

    try:
        module = ast.parse(source)
    except SyntaxError as error:
        raise ParameterError(
            f"{where(error.lineno or 1)} is not valid Python ({error.msg}); write one "
            f"assignment 'name = value  # comment' per line"
        ) from error

    comments = _trailing_comments(source)
    parameters: dict[str, NotebookParameter] = {}
    for statement in module.body:
        name, value_node = _assignment(statement, where)
        try:
            value = ast.literal_eval(value_node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise ParameterError(
                f"{where(statement.lineno)}: the value of parameter {name!r} is not a "
                f"literal; write the value itself (a string, number, bool, None, or a list, "
                f"tuple, dict or set of them) and compute derived values in a later cell"
            ) from None
        if name in parameters:
            raise ParameterError(
                f"{where(statement.lineno)} assigns parameter {name!r} again, after line "
                f"{parameters[name].line}; keep one assignment per parameter"
            )
        comment = comments.get(statement.end_lineno or statement.lineno, "")
        parameters[name] = NotebookParameter(name, value, comment, line_number(statement.lineno))
    return list(parameters.values())


def _assignment(statement: ast.stmt, where) -> tuple[str, ast.expr]:
    """Return the name and value of ``name = value`` or ``name: type = value``."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        target, value = None, None
    if not isinstance(target, ast.Name):
        raise ParameterError(
            f"{where(statement.lineno)} is not a plain assignment to one name; the "
            f"parameters cell may only contain lines 'name = value  # comment', where value "
            f"is a literal"
        )
    return target.id, value


def read_parameters(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read the default value of every parameter of a chapter.

    Parameters
    ----------
    path : str or os.PathLike
        A jupytext MyST ``.md`` chapter or an ``.ipynb`` notebook.

    Returns
    -------
    dict of str to object
        Parameter names and their literal values, in the order of the cell.

    Raises
    ------
    ParameterError
        As :func:`read_parameter_cell`.

    Examples
    --------
    >>> read_parameters(Path(__file__).parents[1] / "book" / "multi_source.md")["profile"]
    'cpu'
    """
    return {parameter.name: parameter.default for parameter in read_parameter_cell(path)}


def type_name(value: object) -> str:
    """Name the type of a parameter value, with the element type of a uniform list.

    Examples
    --------
    >>> type_name(5), type_name(["imdb", "apple_tweets"]), type_name([1, "a"]), type_name([])
    ('int', 'list of str', 'list', 'list')
    """
    name = type(value).__name__
    if isinstance(value, (list, tuple)) and value:
        element_type = _element_type(value)
        if element_type is not None:
            return f"{name} of {element_type.__name__}"
    return name


def _element_type(default: list | tuple) -> type | None:
    """Return the type shared by the elements of a default list, or None if there is none."""
    types = {type(element) for element in default}
    if types == {int, float}:
        return float
    return types.pop() if len(types) == 1 else None


def _checked_value(expected: object, value: object, what: str) -> object:
    """Return ``value`` converted to the type of ``expected``, or raise ParameterError.

    An int is accepted where the default is a float; NumPy numbers are converted to
    Python numbers, which papermill writes as literals.
    """
    if expected is None:
        return value
    if isinstance(expected, bool):
        accepted = isinstance(value, (bool, np.bool_))
        converted = bool(value) if accepted else None
    elif isinstance(expected, int):
        accepted = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        converted = int(value) if accepted else None
    elif isinstance(expected, float):
        accepted = isinstance(value, numbers.Real) and not isinstance(value, bool)
        converted = float(value) if accepted else None
    else:
        accepted = isinstance(value, type(expected))
        converted = value
    if not accepted:
        expected_name = type_name(expected)
        if isinstance(expected, float):
            expected_name = "float (or int)"
        raise ParameterError(
            f"{what} expects a value of type {expected_name}, like its default "
            f"{expected!r}, but got {value!r} of type {type_name(value)}; pass a value of "
            f"type {expected_name}"
        )
    return converted


def check_parameters(
    defaults: Mapping[str, object],
    overrides: Mapping[str, object],
    nullable: frozenset[str] | set[str] = frozenset(),
) -> dict[str, object]:
    """Check new values for a chapter's parameters against the defaults.

    Parameters
    ----------
    defaults : mapping of str to object
        The chapter's parameters and default values, as :func:`read_parameters` returns.
    overrides : mapping of str to object
        New values by parameter name.
    nullable : set of str
        Parameters that also accept None, such as those whose value comes from a profile
        when left at None (see :func:`profile_typed_defaults`).

    Returns
    -------
    dict of str to object
        ``overrides`` with ints converted to float where the default is a float.

    Raises
    ------
    ParameterError
        If a name is not a parameter of the chapter (the message lists the valid ones
        and the closest match), or a value's type differs from its default's. A list is
        also checked element by element against the type of the default's elements,
        when the default is a non-empty list of one type. A default of None accepts
        any value.

    Examples
    --------
    >>> defaults = {"epochs": 5, "learning_rate": 1e-4, "sources": ["imdb"]}
    >>> check_parameters(defaults, {"learning_rate": 1, "sources": ["imdb", "apple_tweets"]})
    {'learning_rate': 1.0, 'sources': ['imdb', 'apple_tweets']}
    >>> check_parameters(defaults, {"epoch": 3})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    soi.notebooks.ParameterError: unknown parameter 'epoch'; did you mean 'epochs'? ...
    """
    checked = {}
    for name, value in overrides.items():
        if name not in defaults:
            close = difflib.get_close_matches(name, list(defaults), n=_SUGGESTIONS)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise ParameterError(
                f"unknown parameter {name!r}{hint} The parameters are "
                f"{', '.join(defaults)}"
            )
        default = defaults[name]
        what = f"parameter {name!r}"
        if value is None and name in nullable:
            checked[name] = value
            continue
        value = _checked_value(default, value, what)
        if isinstance(default, (list, tuple)) and default:
            element_type = _element_type(default)
            if element_type is not None:
                example = next(e for e in default if isinstance(e, element_type))
                value = type(value)(
                    _checked_value(example, element, f"element {index} of {what}")
                    for index, element in enumerate(value)
                )
        checked[name] = value
    return checked


def profile_typed_defaults(
    path: str | os.PathLike[str], defaults: Mapping[str, object]
) -> tuple[dict[str, object], set[str]]:
    """Give the None parameters of a chapter with a profile the type of the profile's value.

    The chapters of :mod:`soi.profiles` leave most parameters at None, which takes the
    value of the chosen profile. For checking new values, each such None is replaced by
    the value of the chapter's default profile, so that ``epochs`` must still be an int.

    Returns
    -------
    defaults : dict
        The defaults used for checking.
    nullable : set of str
        The parameters that were None, which also accept None.
    """
    from soi.profiles import PROFILES

    chapter = Path(path).stem
    profile = defaults.get("profile")
    if chapter not in PROFILES or profile not in PROFILES[chapter]:
        return dict(defaults), set()
    values = PROFILES[chapter][profile]
    typed = {
        name: values[name] if default is None and values.get(name) is not None else default
        for name, default in defaults.items()
    }
    nullable = {name for name, default in defaults.items() if default is None}
    return typed, nullable


def parse_value(text: str, default: object = None) -> object:
    """Parse a parameter value given on the command line.

    A parameter whose default is a string takes ``text`` as it is. Otherwise ``text``
    is read as a Python literal (``10``, ``1e-4``, ``True``, ``["imdb", "apple_tweets"]``),
    else as YAML (``[imdb, apple_tweets]``, ``true``, ``null``), else kept as a string.

    Examples
    --------
    >>> parse_value("10", 5), parse_value("1e-4", 0.1), parse_value("[imdb, apple]", [])
    (10, 0.0001, ['imdb', 'apple'])
    >>> parse_value("123", "all-MiniLM-L6-v2")
    '123'
    """
    if isinstance(default, str):
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _temporary_path(path: Path) -> Path:
    # The name ends in .ipynb, because papermill warns about any other output suffix.
    token = secrets.token_hex(_TEMPORARY_NAME_BYTES)
    return path.with_name(f".{path.name}.{token}.tmp{OUTPUT_SUFFIX}")


def run_chapter(
    path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    parameters: Mapping[str, object] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    kernel_name: str = DEFAULT_KERNEL,
    *,
    log_output: bool = False,
) -> Path:
    """Run a chapter with papermill after checking its parameters.

    The chapter is converted with jupytext to a temporary ``.ipynb``, its parameters are
    checked with :func:`check_parameters`, and papermill executes it. papermill writes
    the executed notebook to a temporary name beside ``output_path``, which is renamed to
    ``output_path`` only when every cell succeeded. On any failure the temporary file and
    the folders created for the output are removed, and an existing ``output_path`` keeps
    its content.

    Parameters
    ----------
    path : str or os.PathLike
        A jupytext MyST ``.md`` chapter or an ``.ipynb`` notebook.
    output_path : str or os.PathLike
        Executed notebook to write; it must end in ``.ipynb``. Missing folders are created.
    parameters : mapping of str to object, optional
        New values of the chapter's parameters; None runs it with its defaults.
    cwd : str or os.PathLike, optional
        Working folder of the kernel. None uses the chapter's folder, as Jupyter Book
        does, so that paths in the chapter are relative to it.
    kernel_name : str
        Jupyter kernel that runs the chapter.
    log_output : bool
        Log every cell's output through the ``papermill`` logger at INFO level.

    Returns
    -------
    Path
        ``output_path``.

    Raises
    ------
    ParameterError
        If a parameter is unknown, of the wrong type, or the parameters cell is invalid.
    ValueError
        If ``output_path`` does not end in ``.ipynb``.
    FileNotFoundError
        If the chapter or ``cwd`` does not exist.
    papermill.PapermillExecutionError
        If a cell raised; the message names the cell and shows the traceback.
    """
    import jupytext
    import papermill

    path, output_path = Path(path), Path(output_path)
    if output_path.suffix.lower() != OUTPUT_SUFFIX:
        raise ValueError(
            f"output {output_path} has the suffix {output_path.suffix!r}; papermill writes "
            f"notebooks, so end the name with {OUTPUT_SUFFIX}"
        )
    folder = Path(cwd) if cwd is not None else path.resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(f"working folder {folder} does not exist; give an existing cwd")
    notebook = read_notebook(path)
    defaults = {parameter.name: parameter.default for parameter in _parameters_of(notebook, path)}
    typed, nullable = profile_typed_defaults(path, defaults)
    checked = check_parameters(typed, parameters or {}, nullable)

    created = [parent for parent in (output_path.parent, *output_path.parent.parents)
               if not parent.exists()]
    output_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_path(output_path)
    try:
        with tempfile.TemporaryDirectory(prefix="soi-chapter-") as scratch:
            source = Path(scratch) / f"{path.stem}{OUTPUT_SUFFIX}"
            jupytext.write(notebook, source, fmt="ipynb")
            logger.info("Running %s with parameters %s in %s", path, checked, folder)
            papermill.execute_notebook(
                str(source),
                str(temporary),
                parameters=checked,
                cwd=str(folder),
                kernel_name=kernel_name,
                progress_bar=False,
                log_output=log_output,
            )
        os.replace(temporary, output_path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        # Deepest first, so that each folder is empty when it is removed.
        for parent in created:
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise
    logger.info("Wrote the executed chapter to %s", output_path)
    return output_path


def data_notice(starter_messages: list[str], notes: list[str] | tuple[str, ...] = ()) -> str:
    """Return a MyST warning box listing starter sets in use and other data notes.

    A chapter displays it with ``IPython.display.Markdown``, so that a rendered page states
    plainly when a starter set replaced real data. Returns an empty string when there
    are no messages and no notes.

    Examples
    --------
    >>> print(data_notice(["starter set 'a' standing in for 'b'"]))
    :::{warning}
    A bundled starter set stood in for each data set below, which soi could not find.
    Numbers computed on a starter set are not results on the real data.
    <BLANKLINE>
    - starter set 'a' standing in for 'b'
    :::
    >>> data_notice([])
    ''
    """
    parts = []
    if starter_messages:
        parts.append(
            "A bundled starter set stood in for each data set below, which soi could not "
            "find.\nNumbers computed on a starter set are not results on the real data.\n\n"
            + "\n".join(f"- {message}" for message in starter_messages)
        )
    if notes:
        parts.append("\n".join(f"- {note}" for note in notes))
    if not parts:
        return ""
    return ":::{warning}\n" + "\n\n".join(parts) + "\n:::"
