"""Readers of real data sets in the file layouts of their original distributions.

Each ``*_spec`` function takes the folder that contains one data set's files, under the names
that its distributors use, and returns a :class:`soi.data.DatasetSpec` that reads them.
:mod:`soi.registry` calls them on the folders of the data home. A spec function raises
``FileNotFoundError`` naming the missing file when a required file is absent.

Split names follow the Hugging Face hub copies (``train``, ``validation``, ``test``), so
that a data set has the same splits whether it is read from local files or from the hub.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
from pathlib import Path

import pandas as pd

from soi.data import SENTIMENT_LABELS, DataFileError, DatasetSpec

logger = logging.getLogger(__name__)

#: GLUE's TSVs contain stray ``"`` characters that are part of the text, so quotes are
#: read as ordinary characters.
GLUE_QUOTING = csv.QUOTE_NONE

ENTAILMENT_LABELS = ("entailment", "not_entailment")
#: Label order of GLUE MRPC on the hub: 0 is not a paraphrase, 1 is a paraphrase.
PARAPHRASE_LABELS = ("not_equivalent", "equivalent")

#: The 60 intents of MASSIVE 1.0 and 1.1, in alphabetical order.
MASSIVE_INTENTS = (
    "alarm_query", "alarm_remove", "alarm_set", "audio_volume_down", "audio_volume_mute",
    "audio_volume_other", "audio_volume_up", "calendar_query", "calendar_remove",
    "calendar_set", "cooking_query", "cooking_recipe", "datetime_convert", "datetime_query",
    "email_addcontact", "email_query", "email_querycontact", "email_sendemail",
    "general_greet", "general_joke", "general_quirky", "iot_cleaning", "iot_coffee",
    "iot_hue_lightchange", "iot_hue_lightdim", "iot_hue_lightoff", "iot_hue_lighton",
    "iot_hue_lightup", "iot_wemo_off", "iot_wemo_on", "lists_createoradd", "lists_query",
    "lists_remove", "music_dislikeness", "music_likeness", "music_query", "music_settings",
    "news_query", "play_audiobook", "play_game", "play_music", "play_podcasts", "play_radio",
    "qa_currency", "qa_definition", "qa_factoid", "qa_maths", "qa_stock",
    "recommendation_events", "recommendation_locations", "recommendation_movies",
    "social_post", "social_query", "takeaway_order", "takeaway_query", "transport_query",
    "transport_taxi", "transport_ticket", "transport_traffic", "weather_query",
)

#: MASSIVE's ``partition`` values and the split names that soi gives them.
MASSIVE_PARTITIONS = {"train": "train", "dev": "validation", "test": "test"}

#: Blitzer et al.'s four product domains.
BLITZER_DOMAINS = ("books", "dvd", "electronics", "kitchen")

#: Sites of the UCI Sentiment Labelled Sentences, as in their file names ``<site>_labelled.txt``.
UCI_SITES = ("amazon_cells", "imdb", "yelp")

_BINARY_LABELS = {"0": "negative", "1": "positive"}


def _require(folder: Path, filename: str, data_set: str) -> Path:
    """Return ``folder / filename``, or raise an error that lists what the folder contains."""
    path = Path(folder) / filename
    if not path.is_file():
        present = sorted(p.name for p in Path(folder).iterdir()) if Path(folder).is_dir() else []
        raise FileNotFoundError(
            f"{data_set}: file {filename!r} not found in {folder} (it contains {present}). Copy "
            f"the file under its original name into that folder, or remove the folder to let "
            f"soi use another origin"
        )
    return path


# --- Entailment and paraphrase ---------------------------------------------------------


def rte_spec(folder: str | Path, name: str = "rte") -> DatasetSpec:
    """Describe GLUE RTE from its ``train.tsv`` and, when present, ``dev.tsv``.

    Columns are ``index, sentence1, sentence2, label`` with the labels ``entailment`` and
    ``not_entailment``; ``dev.tsv`` becomes the ``validation`` split.
    """
    folder = Path(folder)
    files = {"train": str(_require(folder, "train.tsv", name))}
    if (folder / "dev.tsv").is_file():
        files["validation"] = str(folder / "dev.tsv")
    return DatasetSpec(
        name=name,
        text_columns=("sentence1", "sentence2"),
        label_column="label",
        label_names=ENTAILMENT_LABELS,
        task="entailment",
        files=files,
        file_format="tsv",
        quoting=GLUE_QUOTING,
    )


MRPC_TRAIN = "msr_paraphrase_train.txt"
MRPC_TEST = "msr_paraphrase_test.txt"
MRPC_DEV_IDS = "dev_ids.tsv"
_MRPC_ID_COLUMNS = ["#1 ID", "#2 ID"]


def _read_msrp(path: Path) -> pd.DataFrame:
    # The MSRP files start with a byte order mark and may end their lines with CRLF.
    try:
        return pd.read_csv(
            path, sep="\t", quoting=GLUE_QUOTING, dtype=str, keep_default_na=False,
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError as error:
        raise DataFileError(
            f"mrpc: {path} is not valid UTF-8 ({error.reason} at byte {error.start}); copy "
            f"the file again from the MRPC download"
        ) from error


def read_mrpc(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Read MRPC as GLUE splits it: train, validation (the pairs of ``dev_ids.tsv``), test.

    GLUE's validation set is the pairs of the MSRP training file that ``dev_ids.tsv``
    lists; its training set is the remaining pairs, in file order.

    Parameters
    ----------
    folder : str or Path
        Folder holding ``msr_paraphrase_train.txt``, ``dev_ids.tsv`` and, optionally,
        ``msr_paraphrase_test.txt``.

    Returns
    -------
    dict of str to pandas.DataFrame
        Splits with the MSRP columns ``Quality, #1 ID, #2 ID, #1 String, #2 String``.

    Raises
    ------
    ValueError
        When a pair of ``dev_ids.tsv`` is not in the training file.
    """
    folder = Path(folder)
    full_train = _read_msrp(_require(folder, MRPC_TRAIN, "mrpc"))
    dev_ids = pd.read_csv(
        _require(folder, MRPC_DEV_IDS, "mrpc"), sep="\t", header=None, names=_MRPC_ID_COLUMNS,
        dtype=str, keep_default_na=False,
    )
    pairs = pd.MultiIndex.from_frame(full_train[_MRPC_ID_COLUMNS].apply(lambda c: c.str.strip()))
    dev_pairs = pd.MultiIndex.from_frame(dev_ids.apply(lambda c: c.str.strip()))
    missing = dev_pairs.difference(pairs)
    if len(missing):
        raise ValueError(
            f"mrpc: {len(missing)} pairs of {MRPC_DEV_IDS} are not in {MRPC_TRAIN}, for "
            f"example {missing[0]}; both files must come from the same GLUE MRPC download"
        )
    in_dev = pairs.isin(dev_pairs)
    splits = {
        "train": full_train[~in_dev].reset_index(drop=True),
        "validation": full_train[in_dev].reset_index(drop=True),
    }
    if (folder / MRPC_TEST).is_file():
        splits["test"] = _read_msrp(folder / MRPC_TEST)
    return splits


def mrpc_spec(folder: str | Path, name: str = "mrpc") -> DatasetSpec:
    """Describe MRPC from the MSRP files and GLUE's ``dev_ids.tsv`` (see :func:`read_mrpc`)."""
    folder = Path(folder)
    _require(folder, MRPC_TRAIN, name)
    _require(folder, MRPC_DEV_IDS, name)
    return DatasetSpec(
        name=name,
        text_columns=("#1 String", "#2 String"),
        label_column="Quality",
        label_names=PARAPHRASE_LABELS,
        task="paraphrase",
        reader=functools.partial(read_mrpc, folder),
        label_map={"0": "not_equivalent", "1": "equivalent"},
    )


# --- Multilingual intents --------------------------------------------------------------


def find_massive_files(folder: str | Path, locale: str) -> list[Path]:
    """Return the MASSIVE files of ``locale`` in ``folder``, or an empty list.

    Three layouts are recognised, in this order: ``<locale>.jsonl`` (one file per locale
    with all partitions, as in the MASSIVE release), ``data/<locale>.jsonl`` (the release
    archive unpacked into ``folder``), and ``<locale>/<partition>.jsonl``.
    """
    folder = Path(folder)
    for single in (folder / f"{locale}.jsonl", folder / "data" / f"{locale}.jsonl"):
        if single.is_file():
            return [single]
    return sorted((folder / locale).glob("*.jsonl"))


def read_massive(folder: str | Path, locale: str) -> dict[str, pd.DataFrame]:
    """Read one locale of MASSIVE and split it by its ``partition`` field.

    Parameters
    ----------
    folder : str or Path
        Folder in one of the layouts of :func:`find_massive_files`.
    locale : str
        MASSIVE locale, such as ``"fr-FR"``.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``train``, ``validation`` (MASSIVE's ``dev``) and ``test``, those that occur, each
        with the columns ``id, locale, partition, intent, utt`` among others.

    Raises
    ------
    FileNotFoundError
        When no file of the locale is found.
    ValueError
        When a row names another locale or an unknown partition.
    """
    paths = find_massive_files(folder, locale)
    if not paths:
        raise FileNotFoundError(
            f"no MASSIVE file of locale {locale!r} in {folder}; expected {locale}.jsonl, "
            f"data/{locale}.jsonl or {locale}/<partition>.jsonl"
        )
    frames = []
    for path in paths:
        frame = pd.DataFrame(_read_json_lines(path))
        if "partition" not in frame:
            frame["partition"] = path.stem
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)

    if "locale" in frame:
        other = sorted(set(frame["locale"]) - {locale})
        if other:
            raise ValueError(
                f"MASSIVE files {[str(p) for p in paths]} hold rows of locale {other[0]!r}; "
                f"move them to the files of that locale"
            )
    unknown = sorted(set(frame["partition"]) - set(MASSIVE_PARTITIONS))
    if unknown:
        raise ValueError(
            f"unknown MASSIVE partition {unknown[0]!r} in {[str(p) for p in paths]}; known "
            f"partitions are {list(MASSIVE_PARTITIONS)}"
        )
    return {
        split: frame[frame["partition"] == partition].reset_index(drop=True)
        for partition, split in MASSIVE_PARTITIONS.items()
        if (frame["partition"] == partition).any()
    }


def _read_json_lines(path: Path) -> list[dict]:
    """Read a UTF-8 JSON Lines file, naming the file and line of an invalid record."""
    rows = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line.decode("utf-8")))
            except UnicodeDecodeError as error:
                raise DataFileError(
                    f"{path}, line {number} is not valid UTF-8 ({error.reason}); MASSIVE files "
                    f"are UTF-8, so copy the file again from the MASSIVE release"
                ) from error
            except json.JSONDecodeError as error:
                raise DataFileError(
                    f"{path}, line {number} is not valid JSON ({error.msg}); the file may be "
                    f"truncated by an interrupted download or copy, so copy it again"
                ) from error
    return rows


def massive_spec(folder: str | Path, locale: str, name: str, language: str) -> DatasetSpec:
    """Describe one locale of MASSIVE; example ids are ``"<name>:<MASSIVE id>"``.

    MASSIVE's rows are parallel: the same id is the same utterance in every locale, so
    ``massive_en:17`` and ``massive_fa:17`` are translations of each other.

    Raises
    ------
    FileNotFoundError
        When no file of the locale is in ``folder``.
    """
    if not find_massive_files(folder, locale):
        raise FileNotFoundError(
            f"{name}: no MASSIVE file of locale {locale!r} in {folder}; expected "
            f"{locale}.jsonl, data/{locale}.jsonl or {locale}/<partition>.jsonl"
        )
    return DatasetSpec(
        name=name,
        text_columns=("utt",),
        label_column="intent",
        label_names=MASSIVE_INTENTS,
        task="intent",
        language=language,
        reader=functools.partial(read_massive, Path(folder), locale),
        id_column="id",
    )


# --- Sentiment -------------------------------------------------------------------------


def airline_tweets_spec(folder: str | Path, name: str = "airline_tweets") -> DatasetSpec:
    """Describe Twitter US Airline Sentiment from Kaggle's ``Tweets.csv``, without neutral tweets.

    The file needs the columns ``text`` and ``airline_sentiment``; example ids are row
    positions, because the original file repeats some tweet ids.
    """
    return DatasetSpec(
        name=name,
        text_columns=("text",),
        label_column="airline_sentiment",
        label_names=SENTIMENT_LABELS,
        task="sentiment",
        files={"train": str(_require(Path(folder), "Tweets.csv", name))},
        file_format="csv",
        drop_labels=("neutral",),
    )


def blitzer_spec(folder: str | Path, domain: str, name: str | None = None) -> DatasetSpec:
    """Describe one domain of Blitzer et al.'s Amazon reviews from ``<domain>/{train,dev}.tsv``.

    These are the tab-separated files with the header ``sentence, label`` (1 positive,
    0 negative) of the cross-domain sentiment papers, 1,700 training and 300 dev reviews
    per domain. Reviews are quoted and contain newlines and tabs, so quotes are honoured.
    """
    if domain not in BLITZER_DOMAINS:
        raise ValueError(f"unknown Blitzer domain {domain!r}; use one of {BLITZER_DOMAINS}")
    name = name or f"amazon_{domain}"
    domain_folder = Path(folder) / domain
    files = {"train": str(_require(domain_folder, "train.tsv", name))}
    if (domain_folder / "dev.tsv").is_file():
        files["validation"] = str(domain_folder / "dev.tsv")
    return DatasetSpec(
        name=name,
        text_columns=("sentence",),
        label_column="label",
        label_names=SENTIMENT_LABELS,
        task="sentiment",
        files=files,
        file_format="tsv",
        quoting=csv.QUOTE_MINIMAL,
        label_map=_BINARY_LABELS,
    )


def uci_sentences_spec(folder: str | Path, site: str, name: str | None = None) -> DatasetSpec:
    """Describe one site of the UCI Sentiment Labelled Sentences, ``<site>_labelled.txt``.

    Each line is ``sentence<TAB>label`` without a header. Quotes are ordinary characters,
    and a U+0085 inside a sentence of ``imdb_labelled.txt`` does not end the line.
    """
    if site not in UCI_SITES:
        raise ValueError(f"unknown UCI site {site!r}; use one of {UCI_SITES}")
    name = name or f"uci_{site.split('_')[0]}"
    return DatasetSpec(
        name=name,
        text_columns=("sentence",),
        label_column="label",
        label_names=SENTIMENT_LABELS,
        task="sentiment",
        files={"train": str(_require(Path(folder), f"{site}_labelled.txt", name))},
        file_format="tsv",
        column_names=("sentence", "label"),
        quoting=csv.QUOTE_NONE,
        label_map=_BINARY_LABELS,
    )
