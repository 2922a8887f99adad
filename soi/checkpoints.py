"""Training checkpoints: everything needed to resume a run and get the same dynamics.

A checkpoint contains the model, optimizer and scheduler states, the random number
generator states of Python, NumPy and PyTorch, the dynamics recorded so far and the
position in the run (epoch and step). It is written to a temporary file and renamed, and
read with ``torch.load(weights_only=True)``, so loading one never runs pickled code.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from soi.files import atomic_file

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_VERSION = 1


def rng_states() -> dict[str, Any]:
    """Return the states of Python's, NumPy's and PyTorch's global generators."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    states = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.copy()), position, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Set the global generators to states returned by :func:`rng_states`."""
    random.setstate(_as_tuples(states["python"]))
    kind, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy(), position, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _as_tuples(value):
    # random.setstate needs the nested tuples that getstate returned.
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuples(item) for item in value)
    return value


def save_checkpoint(folder: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``folder/checkpoint.pt`` through a temporary file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT_FILE
    with atomic_file(path) as file:
        torch.save({"version": CHECKPOINT_VERSION, **state}, file)
    logger.info("Saved checkpoint at epoch %d, step %d to %s", state["epoch"], state["step"], path)
    return path


def load_checkpoint(folder: str | Path) -> dict[str, Any] | None:
    """Return the checkpoint in ``folder``, or None when there is none."""
    path = Path(folder) / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(
            f"checkpoint {path} could not be read ({error}); delete it to start the run afresh"
        ) from error
    if state.get("version") != CHECKPOINT_VERSION:
        raise ValueError(
            f"checkpoint {path} has version {state.get('version')!r}, but this soi reads "
            f"version {CHECKPOINT_VERSION}; delete it to start the run afresh"
        )
    return state
