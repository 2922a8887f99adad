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
