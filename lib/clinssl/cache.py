"""The embedding-cache contract: what a branch that encodes windows writes and another reads.

The PPG branch writes one cache per dataset and frozen encoder; ST-SAE reads it. Neither
imports the other: both use this module. Row ``i`` of every array is row ``i`` of the
window store the cache was encoded from.

* ``z`` float32 (N, d): the frozen-encoder embedding of every window (QC-rejected ones too;
  consumers filter with the window table's ``qc_pass``);
* ``z_aug`` float32 (N, d): the same windows after waveform-level augmentation, re-encoded;
* ``next_index`` int64 (N,): row of the next window of the same record, −1 when none, so
  ``z_next = z[next_index]``;
* ``meta`` (JSON): at least ``n_windows``, ``dim`` and ``encoder``; plus the writer's
  provenance (source paths, augmentation, throughput).

:func:`read_embedding_cache` checks every part against the others and names the file and
field that break the contract.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from clinssl.utils.files import FileSet

__all__ = ["EmbeddingCache", "EmbeddingCacheError", "EmbeddingCacheFiles", "read_embedding_cache"]


class EmbeddingCacheError(ValueError):
    """A cache file that does not satisfy the contract (the message names file and field)."""


@dataclass(frozen=True)
class EmbeddingCacheFiles(FileSet):
    """The four files of one cache (``NAMES`` is the one place their names are written)."""

    NAMES: ClassVar[dict[str, str]] = {
        "z": "z.npy", "z_aug": "z_aug.npy", "next_index": "next_index.npy",
        "meta": "embeddings.json",
    }  # fmt: skip

    z: Path
    z_aug: Path
    next_index: Path
    meta: Path


@dataclass
class EmbeddingCache:
    """An opened cache: arrays are memmapped (nothing is loaded until indexed)."""

    z: np.ndarray
    z_aug: np.ndarray
    next_index: np.ndarray
    meta: dict[str, Any]

    @property
    def dim(self) -> int:
        return int(self.z.shape[1])

    def successors(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows that have a next window, and those next rows (``z[a]`` → ``z[b]``)."""
        rows = np.flatnonzero(self.next_index >= 0)
        return rows, self.next_index[rows]


def _open(path: Path, field: str, dtype: type) -> np.ndarray:
    if not path.is_file():
        raise EmbeddingCacheError(f"{path}: missing (embedding cache field {field!r})")
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise EmbeddingCacheError(f"{path}: not a readable .npy array ({exc})") from exc
    if arr.dtype != dtype:
        raise EmbeddingCacheError(f"{path}: {field} must be {np.dtype(dtype)}, got {arr.dtype}")
    return arr


def read_embedding_cache(files: EmbeddingCacheFiles) -> EmbeddingCache:
    """Open and validate a cache; raises :class:`EmbeddingCacheError` naming what is wrong."""
    z = _open(files.z, "z", np.float32)
    z_aug = _open(files.z_aug, "z_aug", np.float32)
    nxt = _open(files.next_index, "next_index", np.int64)
    if z.ndim != 2:
        raise EmbeddingCacheError(f"{files.z}: z must be (N, d), got shape {z.shape}")
    if z_aug.shape != z.shape:
        raise EmbeddingCacheError(f"{files.z_aug}: z_aug shape {z_aug.shape} != z shape {z.shape}")
    if nxt.shape != (z.shape[0],):
        raise EmbeddingCacheError(
            f"{files.next_index}: next_index must be ({z.shape[0]},), got {nxt.shape}"
        )
    bad = (nxt < -1) | (nxt >= z.shape[0])
    if bad.any():
        raise EmbeddingCacheError(
            f"{files.next_index}: next_index must be -1 or a row in [0, {z.shape[0]}); "
            f"row {int(np.flatnonzero(bad)[0])} holds {int(nxt[bad][0])}"
        )
    try:
        meta = json.loads(files.meta.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EmbeddingCacheError(f"{files.meta}: not a readable JSON file ({exc})") from exc
    for key, expected in (("n_windows", z.shape[0]), ("dim", z.shape[1])):
        if meta.get(key) != expected:
            raise EmbeddingCacheError(
                f"{files.meta}: field {key!r} is {meta.get(key)!r}, the arrays have {expected}"
            )
    if "encoder" not in meta:
        raise EmbeddingCacheError(f"{files.meta}: field 'encoder' is missing")
    return EmbeddingCache(z=z, z_aug=z_aug, next_index=nxt, meta=meta)
