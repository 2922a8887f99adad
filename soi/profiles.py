"""Named sets of chapter settings: ``cpu`` for a CPU, ``paper`` for the setup of the SOI paper.

Every chapter's parameters cell has a ``profile`` parameter and leaves the other settings at
None. :func:`resolve_profile` fills each None from the profile, so any parameter given to
papermill still wins over its profile.

``cpu`` runs every chapter in minutes on a CPU, offline, with the embedded models and small
samples. ``paper`` follows the setup of Vassef et al., "SOI Matters" (MRL 2025):
bert-base-uncased for English, xlm-roberta-base for the multilingual chapter, 10 epochs,
inputs of up to 128 tokens and the full data sets. It needs a GPU and the Hugging Face hub,
or the data sets in the data home.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

#: Settings shared by the chapters of one profile.
_CPU_TRAINING = {
    "capture": "train_pass",
    "precision": "auto",
    "seed": 42,
    "batch_size": 32,
}
_PAPER_TRAINING = _CPU_TRAINING | {
    "epochs": 10,
    "max_length": 128,
    "learning_rate": 2e-5,
}

#: Settings of every chapter by profile. ``None`` as a size means the whole data set.
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "multi_source": {
        "cpu": _CPU_TRAINING | {
            "model_name": "all-MiniLM-L6-v2",
            "sources": ["imdb", "airline_tweets", "deflategate_tweets"],
            "ood_sources": ["apple_tweets", "self_driving_tweets"],
            "train_per_source": 800,
            "test_per_source": 300,
            "ood_per_source": 500,
            "epochs": 5,
            "max_length": 64,
            "learning_rate": 1e-4,
        },
        "paper": _PAPER_TRAINING | {
            "model_name": "bert-base-uncased",
            "sources": ["imdb", "yelp_polarity", "airline_tweets"],
            "ood_sources": ["uci_amazon", "uci_imdb", "uci_yelp"],
            "train_per_source": 20000,
            "test_per_source": 2000,
            "ood_per_source": None,
        },
    },
    "multi_task": {
        "cpu": _CPU_TRAINING | {
            "model_name": "all-MiniLM-L6-v2",
            "tasks": {"entailment": "rte", "paraphrase": "mrpc", "sentiment": "airline_tweets"},
            "ood": {"entailment": "scitail", "paraphrase": "qqp", "sentiment": "imdb"},
            "train_per_task": 320,
            "test_per_task": 120,
            "ood_per_task": 200,
            "epochs": 5,
            "max_length": 96,
            "learning_rate": 1e-4,
            "sampling": "proportional",
        },
        "paper": _PAPER_TRAINING | {
            "model_name": "bert-base-uncased",
            "tasks": {"entailment": "rte", "paraphrase": "mrpc", "sentiment": "airline_tweets"},
            "ood": {"entailment": "scitail", "paraphrase": "qqp", "sentiment": "imdb"},
            "train_per_task": None,
            "test_per_task": 250,
            "ood_per_task": 2000,
            "sampling": "proportional",
        },
    },
    "multi_lingual": {
        "cpu": _CPU_TRAINING | {
            "model_name": "multilingual-e5-small",
            "languages": {"en": "massive_en", "fr": "massive_fr", "fa": "massive_fa"},
            "train_per_language": 600,
            "test_per_language": 160,
            "epochs": 5,
            "max_length": 32,
            "learning_rate": 2e-4,
        },
        "paper": _PAPER_TRAINING | {
            "model_name": "xlm-roberta-base",
            "languages": {"en": "massive_en", "fr": "massive_fr", "fa": "massive_fa"},
            "train_per_language": None,
            "test_per_language": 2000,
        },
    },
}


def profile_names(chapter: str) -> list[str]:
    """Return the profiles defined for ``chapter``."""
    if chapter not in PROFILES:
        raise ValueError(
            f"no profiles for chapter {chapter!r}; the chapters with profiles are "
            f"{sorted(PROFILES)}"
        )
    return list(PROFILES[chapter])


def resolve_profile(chapter: str, profile: str, **overrides: Any) -> dict[str, Any]:
    """Return the settings of ``profile`` for ``chapter``, with every non-None override applied.

    Parameters
    ----------
    chapter : str
        ``"multi_source"``, ``"multi_task"`` or ``"multi_lingual"``.
    profile : str
        A name from :func:`profile_names`, such as ``"cpu"`` or ``"paper"``.
    **overrides
        Settings to use instead of the profile's; None keeps the profile's value.

    Raises
    ------
    ValueError
        For an unknown chapter, profile or setting name.

    Examples
    --------
    >>> settings = resolve_profile("multi_task", "cpu", epochs=3, model_name=None)
    >>> settings["epochs"], settings["model_name"]
    (3, 'all-MiniLM-L6-v2')
    >>> resolve_profile("multi_task", "paper")["max_length"]
    128
    """
    names = profile_names(chapter)
    if profile not in names:
        raise ValueError(
            f"unknown profile {profile!r} for chapter {chapter!r}; pass one of {names}"
        )
    settings = copy.deepcopy(PROFILES[chapter][profile])
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ValueError(
            f"{unknown[0]!r} is not a setting of chapter {chapter!r}; the settings are "
            f"{sorted(settings)}"
        )
    settings.update({name: value for name, value in overrides.items() if value is not None})
    return settings


def settings_table(settings: Mapping[str, Any]):
    """Return the resolved settings as a one-column table for a chapter to show."""
    import pandas as pd

    return pd.DataFrame(
        {"value": [repr(value) if not isinstance(value, str) else value
                   for value in settings.values()]},
        index=pd.Index(list(settings), name="setting"),
    )
