"""Checkpoints and model files, written atomically.

Two kinds of file:

* a **training checkpoint** (``save_checkpoint``): everything needed to continue a killed run
  exactly where the last completed epoch left it (model, optimizer, scheduler, RNG states,
  history, best weights). It lives at a path that is *not* a declared Snakemake output, so
  Snakemake does not delete it when a job is killed; the loop removes it after success.
* a **model file** (``save_model_file``): the final weights plus a small metadata dict (the
  architecture config needed to rebuild the module), which *is* the rule's output.

Both are written to a temporary sibling and renamed, so a kill mid-write never leaves a
truncated file that a later run would trust.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clinssl.utils.atomic import atomic_path


def rng_state() -> dict[str, Any]:
    """Snapshot of every RNG a training epoch draws from."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a snapshot taken by :func:`rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Atomically write a training-checkpoint dict."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Load a training checkpoint, or ``None`` when there is none.

    A file that cannot be read (e.g. from an incompatible torch) raises with the path named
    rather than silently restarting, so a user notices before hours of work are redone.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - re-raised with context
        raise RuntimeError(
            f"{path}: cannot read training checkpoint ({err}); delete it to start over"
        ) from err


def save_model_file(
    path: str | os.PathLike[str], model: torch.nn.Module, metadata: dict[str, Any]
) -> None:
    """Atomically write final weights (on CPU) plus ``metadata`` to ``path``."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": state, "metadata": metadata}, tmp)


def load_model_file(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Return ``(state_dict, metadata)`` from a file written by :func:`save_model_file`."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - re-raised with context
        raise ValueError(f"{path}: not a readable clinssl model file ({err})") from err
    if not isinstance(blob, dict) or "state_dict" not in blob or "metadata" not in blob:
        raise ValueError(f"{path}: expected a clinssl model file with 'state_dict' and 'metadata'")
    return blob["state_dict"], blob["metadata"]
