"""Starter data sets bundled with soi, written for it so that the book builds offline.

They replace GLUE RTE, MRPC and MASSIVE when no local copy and no hub access is
available. They keep the chapters running end to end, but results on them tell nothing
about the real tasks. ``DATA_CARD.md`` beside this file describes how they were made.

The files are made by :mod:`soi.starter.generate` from hand-written templates and word
lists; ``python -m soi.starter.generate`` writes them again, byte for byte.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from soi.data import DatasetSpec
from soi.readers import ENTAILMENT_LABELS, PARAPHRASE_LABELS

#: Intents of the starter utterances, a subset of MASSIVE's intent names.
STARTER_INTENTS = (
    "alarm_set",
    "calendar_set",
    "datetime_query",
    "general_joke",
    "iot_hue_lightoff",
    "news_query",
    "play_music",
    "takeaway_order",
    "transport_ticket",
    "weather_query",
)

#: Language tag of each starter intent file, and the MASSIVE locale that it replaces.
STARTER_LANGUAGES = {"en": "en-US", "fr": "fr-FR", "fa": "fa-IR"}

ENTAILMENT_FILE = "entailment.jsonl"
PARAPHRASE_FILE = "paraphrase.jsonl"


def intents_file(language: str) -> str:
    """Return the file name of the starter intent utterances in ``language``."""
    return f"intents_{language}.jsonl"


def starter_path(filename: str) -> Path:
    """Return the path of a bundled starter file."""
    return Path(str(resources.files(__name__).joinpath(filename)))


def _starter_specs() -> dict[str, DatasetSpec]:
    specs = {
        "starter_entailment": DatasetSpec(
            name="starter_entailment",
            text_columns=("premise", "hypothesis"),
            label_column="label",
            label_names=ENTAILMENT_LABELS,
            task="entailment",
            files={"train": str(starter_path(ENTAILMENT_FILE))},
            id_column="id",
        ),
        "starter_paraphrase": DatasetSpec(
            name="starter_paraphrase",
            text_columns=("sentence1", "sentence2"),
            label_column="label",
            label_names=PARAPHRASE_LABELS,
            task="paraphrase",
            files={"train": str(starter_path(PARAPHRASE_FILE))},
            id_column="id",
        ),
    }
    for language in STARTER_LANGUAGES:
        name = f"starter_intents_{language}"
        specs[name] = DatasetSpec(
            name=name,
            text_columns=("utt",),
            label_column="intent",
            label_names=STARTER_INTENTS,
            task="intent",
            language=language,
            files={"train": str(starter_path(intents_file(language)))},
            id_column="id",
        )
    return specs


#: The bundled starter sets by name. Their example ids are ``"<name>:<id>"``; the intent
#: files share their ids, so ``starter_intents_en:7`` and ``starter_intents_fa:7`` are
#: the same request in two languages.
STARTER_SETS: dict[str, DatasetSpec] = _starter_specs()
