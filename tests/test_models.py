import pytest
import torch

from soi.models import EMBEDDED_MODELS, load_model_and_tokenizer, resolve_model_path


def test_hub_name_passes_through():
    assert resolve_model_path("bert-base-uncased") == "bert-base-uncased"


def test_embedded_minilm_loads_with_new_head():
    path = resolve_model_path("all-MiniLM-L6-v2")
    assert path != "all-MiniLM-L6-v2"
    model, tokenizer = load_model_and_tokenizer("all-MiniLM-L6-v2", ["negative", "positive"], seed=0)
    assert model.config.num_labels == 2
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.hidden_size == 384
    inputs = tokenizer(["a fine film"], return_tensors="pt")
    with torch.no_grad():
        assert model(**inputs).logits.shape == (1, 2)


def test_head_initialisation_follows_seed(tiny_model_dir):
    first, _ = load_model_and_tokenizer(str(tiny_model_dir), ["a", "b"], seed=3)
    again, _ = load_model_and_tokenizer(str(tiny_model_dir), ["a", "b"], seed=3)
    other, _ = load_model_and_tokenizer(str(tiny_model_dir), ["a", "b"], seed=4)
    assert torch.equal(first.classifier.weight, again.classifier.weight)
    assert not torch.equal(first.classifier.weight, other.classifier.weight)


def test_hub_id_offline_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match=r"(?s)could not load model 'no-such-org/no-such-model'.*local folder"):
        load_model_and_tokenizer("no-such-org/no-such-model", ["a", "b"])


def test_embedded_names_listed():
    assert "all-MiniLM-L6-v2" in EMBEDDED_MODELS
    assert "multilingual-e5-small" in EMBEDDED_MODELS


def test_embedded_e5_loads_with_new_head():
    path = resolve_model_path("multilingual-e5-small")
    assert path != "multilingual-e5-small"
    labels = ["alarm_set", "weather_query", "restaurant_booking"]
    model, tokenizer = load_model_and_tokenizer("multilingual-e5-small", labels, seed=0)
    assert model.config.model_type == "bert"
    assert model.config.num_labels == 3
    assert model.config.id2label == dict(enumerate(labels))
    assert model.config.hidden_size == 384
    assert model.config.vocab_size == 250037
    texts = ["Wake me up at seven.", "Réveille-moi à sept heures.", "ساعت هفت بیدارم کن."]
    inputs = tokenizer(texts, padding=True, return_tensors="pt")
    assert int(inputs["input_ids"].max()) < model.config.vocab_size
    with torch.no_grad():
        assert model(**inputs).logits.shape == (3, 3)


def test_embedded_e5_keeps_converted_weights():
    from safetensors.torch import load_file

    model, _ = load_model_and_tokenizer("multilingual-e5-small", ["a", "b"], seed=0)
    saved = load_file(f"{resolve_model_path('multilingual-e5-small')}/model.safetensors")
    loaded = model.bert.state_dict()
    assert set(saved) <= set(loaded)
    for name, tensor in saved.items():
        assert torch.equal(loaded[name], tensor), name
