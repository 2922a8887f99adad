"""Seeds, library versions and data fingerprints that make a run repeatable and checkable."""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import logging
import platform
import random
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from soi import __version__

logger = logging.getLogger(__name__)

#: Distributions whose versions :func:`collect_versions` records, besides Python and soi.
VERSIONED_PACKAGES = (
    "torch",
    "transformers",
    "datasets",
    "accelerate",
    "numpy",
    "pandas",
    "pyarrow",
)

#: Largest seed accepted, because ``numpy.random.seed`` takes seeds in 0..2**32 - 1.
MAX_SEED = 2**32 - 1

# Prefix hashed before any data, so that a future change of the encoding gives new
# digests instead of colliding with old ones.
_FINGERPRINT_VERSION = b"soi-fingerprint-v1"

# Elements of an object array joined into one ``update`` call. Joining is much faster
# than one call per element, and the chunk size bounds the bytes kept at once.
_FINGERPRINT_CHUNK = 4096


def collect_versions() -> dict[str, str]:
    """Collect the versions of Python, soi and the installed libraries that a run uses.

    Library versions come from the installed distribution metadata, so this function
    imports none of them. A library that is not installed is left out.

    Returns
    -------
    dict of str to str
        ``python``, ``soi`` and each installed name of ``VERSIONED_PACKAGES``, mapped
        to its version string.

    Examples
    --------
    >>> versions = collect_versions()
    >>> sorted({"python", "soi", "numpy"} - set(versions))
    []
    """
    versions = {"python": platform.python_version(), "soi": __version__}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch on every device.

    When transformers is installed, its ``set_seed`` does the seeding, which also covers
    the other frameworks it supports. NumPy ``Generator`` objects created with
    ``np.random.default_rng`` keep their own seeds and are not affected.

    Parameters
    ----------
    seed : int
        Seed in 0..``MAX_SEED``.

    Raises
    ------
    TypeError
        If ``seed`` is not an integer.
    ValueError
        If ``seed`` is outside 0..``MAX_SEED``.

    Examples
    --------
    >>> set_seed(13)
    >>> first = random.random(), np.random.rand()
    >>> set_seed(13)
    >>> (random.random(), np.random.rand()) == first
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r} of type {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed {seed} is outside 0..{MAX_SEED}; pick a seed in that range")

    try:
        transformers = importlib.import_module("transformers")
    except ImportError:
        transformers = None
    if transformers is not None:
        transformers.set_seed(seed)
        logger.debug("Seeded random, numpy and torch with %d through transformers", seed)
        return

    random.seed(seed)
    np.random.seed(seed)
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        logger.debug("Seeded random and numpy with %d; torch is not installed", seed)
        return
    # torch.manual_seed also seeds every CUDA device.
    torch.manual_seed(seed)
    logger.debug("Seeded random, numpy and torch with %d", seed)


def fingerprint(*parts: Any) -> str:
    """Compute a stable SHA-256 digest of example ids, labels, texts or other arrays.

    Two calls give the same digest exactly when their parts have the same values in
    the same order, whatever the machine, process or library versions. Each part is
    hashed with its kind and shape, so ``fingerprint("ab", "c")`` differs from
    ``fingerprint("a", "bc")`` and ``[1, 2]`` differs from ``[1.0, 2.0]``. Integer
    arrays of any width give the same digest for the same values, and so do float
    arrays of any width.

    Parameters
    ----------
    *parts : str, bytes, array-like, pd.Series or pd.Index
        Strings, bytes, or arrays (and sequences) of integers, floats, booleans or
        strings. Object arrays may hold ``str``, ``bytes``, ``int``, ``float``,
        ``bool`` and missing values (``None``, NaN, ``pd.NA``), which all hash alike.

    Returns
    -------
    str
        64 hexadecimal digits.

    Raises
    ------
    TypeError
        If a part or an element has a type outside those listed above.

    Examples
    --------
    >>> fingerprint(["a", "b"], [0, 1]) == fingerprint(np.array(["a", "b"]), np.array([0, 1]))
    True
    >>> fingerprint(["a", "b"]) == fingerprint(["b", "a"])
    False
    >>> len(fingerprint("some text"))
    64
    """
    digest = hashlib.sha256(_FINGERPRINT_VERSION)
    for part in parts:
        _hash_part(digest, part)
    return digest.hexdigest()


def _hash_part(digest: Any, part: Any) -> None:
    if isinstance(part, str):
        _hash_framed(digest, b"str", part.encode("utf-8"))
        return
    if isinstance(part, bytes):
        _hash_framed(digest, b"bytes", part)
        return
    array = np.asarray(part)
    if array.dtype.kind in "US" and not isinstance(part, np.ndarray):
        # NumPy turns a list that mixes strings with numbers or None into strings. An
        # object array keeps each element's type, so [1, "a"] and ["1", "a"] differ.
        array = np.asarray(part, dtype=object)
    shape = ",".join(str(size) for size in array.shape).encode("ascii")
    kind = array.dtype.kind
    if kind in "iu":
        # Values that fit int64 hash as int64 whatever their width, so that an int32
        # and an int64 copy of the same labels agree.
        if kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
            _hash_framed(digest, b"uint64[" + shape + b"]", array.astype("<u8").tobytes())
        else:
            _hash_framed(digest, b"int64[" + shape + b"]", array.astype("<i8").tobytes())
    elif kind == "f":
        # Adding 0.0 turns -0.0 into 0.0, and every NaN gets one bit pattern, so that
        # equal values give equal bytes.
        values = array.astype("<f8") + 0.0
        values[np.isnan(values)] = np.nan
        _hash_framed(digest, b"float64[" + shape + b"]", values.tobytes())
    elif kind == "b":
        _hash_framed(digest, b"bool[" + shape + b"]", array.astype(np.uint8).tobytes())
    elif kind in "USO":
        _hash_framed(digest, b"objects[" + shape + b"]", b"")
        _hash_objects(digest, array.ravel())
    else:
        raise TypeError(
            f"cannot fingerprint a part of dtype {array.dtype}; pass strings, bytes, or "
            "arrays of numbers, booleans or strings"
        )


def _hash_framed(digest: Any, tag: bytes, payload: bytes) -> None:
    """Hash a tag and a payload, each preceded by its length, so that no two splits agree."""
    digest.update(len(tag).to_bytes(8, "little") + tag)
    digest.update(len(payload).to_bytes(8, "little"))
    digest.update(payload)


def _hash_objects(digest: Any, values: Iterable[Any]) -> None:
    chunk: list[bytes] = []
    for value in values:
        chunk.append(_encode_element(value))
        if len(chunk) == _FINGERPRINT_CHUNK:
            digest.update(b"".join(chunk))
            chunk.clear()
    digest.update(b"".join(chunk))


def _encode_element(value: Any) -> bytes:
    """Encode one element as a type letter, its length and its bytes."""
    if isinstance(value, str):
        letter, payload = b"s", value.encode("utf-8")
    elif isinstance(value, bytes):
        letter, payload = b"b", value
    elif isinstance(value, (bool, np.bool_)):
        letter, payload = b"?", b"1" if value else b"0"
    elif isinstance(value, (int, np.integer)):
        letter, payload = b"i", str(int(value)).encode("ascii")
    elif _is_missing(value):
        letter, payload = b"n", b""
    elif isinstance(value, (float, np.floating)):
        letter, payload = b"f", float(value).hex().encode("ascii")
    else:
        raise TypeError(
            f"cannot fingerprint an element of type {type(value).__name__} ({value!r}); "
            "convert it to str, bytes, int, float or bool first"
        )
    return letter + len(payload).to_bytes(8, "little") + payload


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    missing = pd.isna(value)
    return isinstance(missing, (bool, np.bool_)) and bool(missing)
