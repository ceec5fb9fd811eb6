"""Checkpoints and model files, written atomically.

Two kinds of file:

* a **training checkpoint** (``save_checkpoint``): everything needed to continue a killed run
  exactly where the last completed epoch left it (model, optimizer, scheduler, RNG states,
  history, best weights). It lives at a path that is *not* a declared Snakemake output, so
  Snakemake does not delete it when a job is killed; the loop removes it after success.
* a **model file** (``save_model_file``): the final weights plus a small metadata dict (the
  architecture config needed to rebuild the module), which *is* the rule's output.

Both are written to a temporary sibling and renamed, so a kill mid-write never leaves a
truncated file that a later run would trust. Both are serialised in memory first: torch names
the archive's top folder after the file it writes to, and the temporary name is random, so
saving straight to it would give identical content different bytes.

Both are read with ``torch.load(weights_only=True)``: a ``.pt``/``.ckpt`` file found under
``results/`` is data, and unpickling anything but tensors and plain containers could run
code. Everything stored is therefore tensors, numbers, strings, lists, tuples and dicts
(the NumPy RNG state is stored as a list); a file that needs more is refused with its path
named.
"""

from __future__ import annotations

import io
import os
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clinssl.utils.atomic import atomic_path, stale_temporaries


def rng_state() -> dict[str, Any]:
    """Snapshot of every RNG a training epoch draws from."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a snapshot taken by :func:`rng_state`."""
    random.setstate(_python_state(state["python"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _numpy_state() -> tuple[str, list[int], int, int, float]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return kind, keys.tolist(), int(pos), int(has_gauss), float(cached)


def _python_state(state: Any) -> tuple:
    """``random.setstate`` needs tuples; a loaded checkpoint may hold lists."""
    version, internal, gauss = state
    return int(version), tuple(int(v) for v in internal), gauss


def save_torch(path: str | os.PathLike[str], obj: Any) -> None:
    """Atomically write ``obj`` with ``torch.save``; same content gives the same bytes."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


class UnsafeCheckpointError(ValueError):
    """A torch file that holds more than tensors and plain containers (refused unread)."""


def load_torch(path: str | os.PathLike[str], what: str) -> Any:
    """``torch.load(path, weights_only=True)`` with the file named in every failure."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise UnsafeCheckpointError(
            f"{path}: refusing to load this {what}: it holds objects other than tensors and "
            f"plain containers, and loading them could run code (weights_only=True: {err}). "
            "Delete the file if you did not put it there"
        ) from err
    except Exception as err:  # noqa: BLE001 - re-raised with context
        raise ValueError(f"{path}: not a readable {what} ({type(err).__name__}: {err})") from err


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Atomically write a training-checkpoint dict."""
    save_torch(path, state)


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Load a training checkpoint, or ``None`` when there is none.

    A file that cannot be read (e.g. from an incompatible torch) raises with the path named
    rather than silently restarting, so a user notices before hours of work are redone.
    """
    path = Path(path)
    for leftover in stale_temporaries(path):  # a save cut short by SIGKILL: never complete
        leftover.unlink(missing_ok=True)
    if not path.exists():
        return None
    return load_torch(path, "training checkpoint (delete it to start over)")


def save_model_file(
    path: str | os.PathLike[str], model: torch.nn.Module, metadata: dict[str, Any]
) -> None:
    """Atomically write final weights (on CPU) plus ``metadata`` to ``path``."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save_torch(path, {"state_dict": state, "metadata": metadata})


def load_model_file(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Return ``(state_dict, metadata)`` from a file written by :func:`save_model_file`."""
    blob = load_torch(path, "clinssl model file")
    if not isinstance(blob, dict) or "state_dict" not in blob or "metadata" not in blob:
        raise ValueError(f"{path}: expected a clinssl model file with 'state_dict' and 'metadata'")
    return blob["state_dict"], blob["metadata"]


def remove_empty_dirs(directory: str | os.PathLike[str], levels: int = 2) -> None:
    """After a job succeeded: remove its checkpoint directory and up to ``levels − 1``
    parents while they are empty (a later run's checkpoints recreate them)."""
    path = Path(directory)
    for _ in range(levels):
        try:
            path.rmdir()  # only succeeds when empty
        except OSError:
            return
        path = path.parent
