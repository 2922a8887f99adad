import collections
import csv

import datasets
import numpy as np
import pandas as pd
import pytest

from soi.data import (
    SENTIMENT_SOURCES,
    DatasetSpec,
    clean_tweet,
    example_key,
    get_source,
    load_source,
    stratified_sample,
    train_test_split,
    tweet_domains,
)

LABELS = ("negative", "positive")


def write_frame(frame, path):
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    return str(path)


@pytest.fixture
def reviews():
    return pd.DataFrame(
        {
            "review": ["great film", "awful film", "fine", "boring", "loved it", "hated it"],
            "sentiment": ["positive", "negative", "positive", "negative", "positive", "negative"],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".parquet"])
def test_local_files_every_format(tmp_path, reviews, suffix):
    spec = DatasetSpec(
        name="reviews", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        task="sentiment", files={"train": write_frame(reviews, tmp_path / f"train{suffix}")},
    )
    loaded = load_source(spec)["train"]
    assert loaded["example_id"] == [f"reviews:{i}" for i in range(6)]
    assert loaded["text"] == reviews["review"].tolist()
    assert loaded["label"] == [1, 0, 1, 0, 1, 0]
    assert loaded.features["label"].names == list(LABELS)
    assert set(loaded["source"]) == {"reviews"}
    assert set(loaded["task"]) == {"sentiment"}
    assert set(loaded["language"]) == {"en"}


def test_ids_keep_original_rows_after_filtering(tmp_path, reviews):
    reviews.loc[2, "sentiment"] = "neutral"
    spec = DatasetSpec(
        name="r", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        files={"train": write_frame(reviews, tmp_path / "t.csv")}, drop_labels=("neutral",),
    )
    loaded = load_source(spec)["train"]
    assert "r:2" not in loaded["example_id"]
    assert loaded["example_id"][2] == "r:3"


def test_several_splits_prefix_split_name(tmp_path, reviews):
    spec = DatasetSpec(
        name="r", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        files={
            "train": write_frame(reviews, tmp_path / "train.csv"),
            "test": write_frame(reviews.head(2), tmp_path / "test.csv"),
        },
    )
    loaded = load_source(spec)
    assert loaded["test"]["example_id"] == ["r:test:0", "r:test:1"]
    assert set(loaded["train"]["example_id"]).isdisjoint(loaded["test"]["example_id"])


def test_unknown_label_names_it_and_known_ones(tmp_path, reviews):
    reviews.loc[0, "sentiment"] = "mixed"
    spec = DatasetSpec(
        name="r", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        files={"train": write_frame(reviews, tmp_path / "t.csv")},
    )
    with pytest.raises(ValueError, match=r"unknown label 'mixed'.*\['negative', 'positive'\]"):
        load_source(spec)


def test_label_id_out_of_range(tmp_path, reviews):
    reviews["sentiment"] = [0, 1, 2, 0, 1, 0]
    spec = DatasetSpec(
        name="r", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        files={"train": write_frame(reviews, tmp_path / "t.parquet")},
    )
    with pytest.raises(ValueError, match=r"label id 2 of 'r' is outside 0\.\.1"):
        load_source(spec)


def test_missing_column_lists_columns(tmp_path, reviews):
    spec = DatasetSpec(
        name="r", text_columns=("text",), label_column="sentiment", label_names=LABELS,
        files={"train": write_frame(reviews, tmp_path / "t.csv")},
    )
    with pytest.raises(ValueError, match=r"column 'text' is missing.*\['review', 'sentiment'\]"):
        load_source(spec)


def test_empty_split_after_filter(tmp_path, reviews):
    spec = DatasetSpec(
        name="r", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        files={"train": write_frame(reviews, tmp_path / "t.csv")},
        row_filter=lambda frame: frame["review"] == "nothing matches",
    )
    with pytest.raises(ValueError, match="split 'train' of 'r' is empty"):
        load_source(spec)


def test_spec_needs_exactly_one_origin():
    with pytest.raises(ValueError, match="exactly one of hub_id, files, package_file and reader"):
        DatasetSpec(name="r", text_columns=("t",), label_column="l", label_names=LABELS)


def test_hub_options_need_hub_id(tmp_path):
    with pytest.raises(ValueError, match="sets hub_options without hub_id"):
        DatasetSpec(
            name="r", text_columns=("t",), label_column="l", label_names=LABELS,
            files={"train": str(tmp_path / "t.csv")}, hub_options={"revision": "main"},
        )


def test_reader_origin(reviews):
    spec = DatasetSpec(
        name="r", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        reader=lambda: {"train": reviews, "validation": reviews.head(2)},
    )
    loaded = load_source(spec)
    assert loaded["validation"]["example_id"] == ["r:validation:0", "r:validation:1"]
    assert loaded["train"].info.description.startswith("reader")


def test_id_column_gives_ids_across_splits(tmp_path, reviews):
    frame = reviews.assign(uid=[f"u{i}" for i in range(6)])
    spec = DatasetSpec(
        name="r", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        files={
            "train": write_frame(frame.iloc[:4], tmp_path / "train.jsonl"),
            "validation": write_frame(frame.iloc[4:], tmp_path / "dev.jsonl"),
        },
        id_column="uid",
    )
    loaded = load_source(spec)
    assert loaded["train"]["example_id"] == ["r:u0", "r:u1", "r:u2", "r:u3"]
    assert loaded["validation"]["example_id"] == ["r:u4", "r:u5"]


def test_id_column_repeated_value(tmp_path, reviews):
    frame = reviews.assign(uid=["a", "b", "c", "d", "e", "a"])
    spec = DatasetSpec(
        name="r", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        files={"train": write_frame(frame, tmp_path / "t.csv")}, id_column="uid",
    )
    with pytest.raises(ValueError, match=r"example id 'r:a' of 'r' occurs twice \(split 'train'\)"):
        load_source(spec)


def test_id_column_missing(tmp_path, reviews):
    spec = DatasetSpec(
        name="r", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        files={"train": write_frame(reviews, tmp_path / "t.csv")}, id_column="uid",
    )
    with pytest.raises(ValueError, match="column 'uid' is missing"):
        load_source(spec)


def test_loaded_split_records_origin(tmp_path, reviews):
    path = write_frame(reviews, tmp_path / "t.csv")
    spec = DatasetSpec(
        name="r", text_columns=("review",), label_column="sentiment", label_names=LABELS,
        files={"train": path},
    )
    info = load_source(spec)["train"].info
    assert info.dataset_name == "r"
    assert info.description == f"files train={path}"


def test_example_key_strips_source():
    assert example_key("massive_en:17") == "17"
    assert example_key("rte:validation:3") == "validation:3"
    with pytest.raises(ValueError, match="has no ':'"):
        example_key("plain")


def test_hub_class_label_read_by_name(tmp_path):
    """A hub ClassLabel whose order differs from label_names is matched by name."""
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["pos", "neg"])}
    )
    data = datasets.Dataset.from_dict({"text": ["good", "bad"], "label": [0, 1]}, features=features)
    data.to_parquet(str(tmp_path / "train.parquet"))
    spec = DatasetSpec(
        name="hub", text_columns=("text",), label_column="label", label_names=LABELS,
        hub_id=str(tmp_path), label_map={"neg": "negative", "pos": "positive"},
    )
    assert load_source(spec)["train"]["label"] == [1, 0]


def test_hub_loader_reads_local_folder(tmp_path, reviews):
    """The hub code path, fed a local folder in the hub's layout (no network)."""
    folder = tmp_path / "hub_copy"
    folder.mkdir()
    frame = reviews.assign(label=reviews["sentiment"].map({"negative": 0, "positive": 1}))
    frame[["review", "label"]].to_csv(folder / "train.csv", index=False)
    frame[["review", "label"]].head(2).to_csv(folder / "test.csv", index=False)
    spec = DatasetSpec(
        name="hub", text_columns=("review",), label_column="label", label_names=LABELS,
        hub_id=str(folder),
    )
    loaded = load_source(spec)
    assert set(loaded) == {"train", "test"}
    assert loaded["train"]["label"] == [1, 0, 1, 0, 1, 0]


def test_sentence_pairs(tmp_path):
    frame = pd.DataFrame(
        {"premise": ["a b", "c d"], "hypothesis": ["a", "e"], "label": ["yes", "no"]}
    )
    spec = DatasetSpec(
        name="nli", text_columns=("premise", "hypothesis"), label_column="label",
        label_names=("no", "yes"), files={"train": write_frame(frame, tmp_path / "t.jsonl")},
    )
    loaded = load_source(spec)["train"]
    assert loaded["text_pair"] == ["a", "e"]


def stratified_frame(n_negative, n_positive):
    labels = [0] * n_negative + [1] * n_positive
    return datasets.Dataset.from_dict(
        {"example_id": [f"x:{i}" for i in range(len(labels))], "label": labels},
        features=datasets.Features(
            {"example_id": datasets.Value("string"), "label": datasets.ClassLabel(names=list(LABELS))}
        ),
    )


def test_stratified_sample_keeps_proportions_and_seed():
    data = stratified_frame(800, 200)
    first = stratified_sample(data, 100, seed=3)
    again = stratified_sample(data, 100, seed=3)
    other = stratified_sample(data, 100, seed=4)
    assert collections.Counter(first["label"]) == {0: 80, 1: 20}
    assert first["example_id"] == again["example_id"]
    assert first["example_id"] != other["example_id"]


def test_test_set_independent_of_train_size():
    data = stratified_frame(300, 100)
    small = train_test_split(data, 50, 40, seed=0)
    large = train_test_split(data, 200, 40, seed=0)
    assert small["test"]["example_id"] == large["test"]["example_id"]
    assert len(small["train"]) == 50
    assert len(large["train"]) == 200
    assert set(large["train"]["example_id"]).isdisjoint(large["test"]["example_id"])


def pair_frame(num_premises, seed=0):
    """Pairs in groups of 1 to 4 hypotheses per premise, with mixed labels in a group."""
    rng = np.random.default_rng(seed)
    rows = {"example_id": [], "text": [], "text_pair": [], "label": []}
    for premise in range(num_premises):
        for hypothesis in range(int(rng.integers(1, 5))):
            rows["example_id"].append(f"pairs:{premise}-{hypothesis}")
            rows["text"].append(f"premise {premise}")
            rows["text_pair"].append(f"hypothesis {hypothesis}")
            rows["label"].append(int(rng.integers(2)))
    features = datasets.Features({
        "example_id": datasets.Value("string"), "text": datasets.Value("string"),
        "text_pair": datasets.Value("string"), "label": datasets.ClassLabel(names=["no", "yes"]),
    })
    return datasets.Dataset.from_dict(rows, features=features)


def test_split_keeps_premise_groups_together():
    data = pair_frame(120)
    parts = train_test_split(data, None, 60, seed=1)
    train_premises = set(parts["train"]["text"])
    test_premises = set(parts["test"]["text"])
    assert train_premises.isdisjoint(test_premises)
    assert 60 - 3 <= len(parts["test"]) <= 60
    assert len(parts["train"]) + len(parts["test"]) == len(data)
    share = np.mean(data["label"])
    assert abs(np.mean(parts["test"]["label"]) - share) < 0.1


def test_grouped_split_reproducible_with_seed():
    data = pair_frame(80)
    first = train_test_split(data, 40, 30, seed=5)
    again = train_test_split(data, 40, 30, seed=5)
    other = train_test_split(data, 40, 30, seed=6)
    assert first["test"]["example_id"] == again["test"]["example_id"]
    assert first["train"]["example_id"] == again["train"]["example_id"]
    assert first["test"]["example_id"] != other["test"]["example_id"]
    assert len(first["train"]) == 40


def test_test_size_out_of_range():
    with pytest.raises(ValueError, match="test_size=0 must be between 1 and 9"):
        train_test_split(stratified_frame(5, 5), None, 0, seed=0)


def test_tweet_domains_one_each_or_none():
    texts = pd.Series(
        [
            "@united lost my bag",
            "so much #DeflateGate talk",
            "my @apple phone",
            "driverless cars are scary",
            "@united and #deflategate",
            "nothing here",
        ]
    )
    assert tweet_domains(texts).tolist() == [
        "airline", "deflategate", "apple", "self_driving", None, None,
    ]


def test_clean_tweet_removes_mangled_emoji():
    assert clean_tweet("cars_\ufffd_.no thank you") == "cars .no thank you"
    assert clean_tweet("fine \ufffd\u05b1 day") == "fine day"
    assert clean_tweet("plain text") == "plain text"


def test_unknown_source_lists_registered():
    with pytest.raises(ValueError, match=r"unknown source 'yelp'.*'imdb'"):
        get_source("yelp")


def test_embedded_imdb_reviews():
    loaded = load_source(SENTIMENT_SOURCES["imdb"])["train"]
    assert len(loaded) == 50_000
    assert collections.Counter(loaded["label"]) == {0: 25_000, 1: 25_000}
    assert not any("<br />" in text for text in loaded.select(range(2000))["text"])


def test_embedded_tweet_domains_are_disjoint():
    ids = {}
    for name in ("airline_tweets", "deflategate_tweets", "apple_tweets", "self_driving_tweets"):
        loaded = load_source(SENTIMENT_SOURCES[name])["train"]
        assert set(loaded["label"]) == {0, 1}
        assert not any("\ufffd" in text for text in loaded["text"])
        ids[name] = set(loaded["example_id"])
    assert len(ids["airline_tweets"]) > 10_000
    names = list(ids)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            assert ids[first].isdisjoint(ids[second])


def test_uci_sentences_without_header(shared_data):
    path = shared_data / "sentiment_labelled_sentences" / "yelp_labelled.txt"
    spec = DatasetSpec(
        name="yelp", text_columns=("sentence",), label_column="label", label_names=LABELS,
        files={"train": str(path)}, file_format="tsv", column_names=("sentence", "label"),
        label_map={"0": "negative", "1": "positive"}, quoting=csv.QUOTE_NONE,
    )
    loaded = load_source(spec)["train"]
    assert len(loaded) == 1000
    assert collections.Counter(loaded["label"]) == {0: 500, 1: 500}


def test_glue_rte_pairs(shared_data):
    spec = DatasetSpec(
        name="rte", text_columns=("sentence1", "sentence2"), label_column="label",
        label_names=("entailment", "not_entailment"), task="entailment",
        files={"train": str(shared_data / "rte" / "train.tsv")}, quoting=csv.QUOTE_NONE,
    )
    loaded = load_source(spec)["train"]
    assert len(loaded) == 2490
    assert set(loaded["label"]) == {0, 1}
