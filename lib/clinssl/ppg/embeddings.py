"""Write the PPG embedding cache (the contract and its reader: :mod:`clinssl.cache`).

Row i of every array = row i of ``windows.npy``. ``z_aug`` is the batch augmented at once
(:mod:`clinssl.ppg.augment`) on the encoder's device (``encoder.device``, CPU when the
encoder has none), then re-encoded; ``next_index`` points at the window with
``window_index + 1`` of the same record.

Arrays are written through memmaps in batches into temporary files renamed at the end, so
memory does not grow with N and a killed job leaves nothing that looks complete.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from typing import Any, Protocol

import numpy as np
import torch

from clinssl.cache import EmbeddingCacheFiles
from clinssl.ppg.augment import AugmentConfig, augment_batch
from clinssl.ppg.windows import TARGET_FS, drop_resident, successor_index
from clinssl.utils.atomic import atomic_path

log = logging.getLogger(__name__)


class FrozenEncoder(Protocol):
    """``encode`` takes a (k, 1250) batch at 125 Hz as a NumPy array or a tensor (on
    ``device`` when the encoder has one) and returns (k, dim) float32 NumPy embeddings."""

    dim: int

    def encode(self, windows: np.ndarray | torch.Tensor) -> np.ndarray: ...


def write_embedding_cache(
    encoder: FrozenEncoder,
    windows: np.ndarray,
    table,
    out: EmbeddingCacheFiles,
    batch_size: int,
    augment: AugmentConfig,
    seed: int,
) -> dict[str, Any]:
    """Encode every window (and its augmented copy) in batches; write ``z``, ``z_aug`` and
    ``next_index``, and return the fields of the cache's ``meta`` (the caller adds its
    provenance and writes ``out.meta``)."""
    n = windows.shape[0]
    started = time.perf_counter()
    encode_seconds = 0.0
    device = torch.device(getattr(encoder, "device", "cpu"))
    with ExitStack() as stack:
        z_tmp = stack.enter_context(atomic_path(out.z))
        za_tmp = stack.enter_context(atomic_path(out.z_aug))
        z = np.lib.format.open_memmap(z_tmp, mode="w+", dtype=np.float32, shape=(n, encoder.dim))
        za = np.lib.format.open_memmap(za_tmp, mode="w+", dtype=np.float32, shape=(n, encoder.dim))
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            x = torch.from_numpy(np.asarray(windows[start:stop], dtype=np.float32)).to(device)
            xa = augment_batch(x, np.arange(start, stop), TARGET_FS, augment, seed)
            t0 = time.perf_counter()
            z[start:stop] = encoder.encode(x)
            za[start:stop] = encoder.encode(xa)
            encode_seconds += time.perf_counter() - t0
            if (start // batch_size) % 20 == 0:
                log.info("encoded %d/%d windows", stop, n)
                for arr in (windows, z, za):  # keep peak RSS flat on large stores
                    drop_resident(arr)
        for arr in (z, za):
            if not np.isfinite(arr).all():
                raise FloatingPointError("encoder produced non-finite embeddings")
            arr.flush()
        del z, za
    nxt = successor_index(table)
    with atomic_path(out.next_index) as tmp:
        np.save(tmp, nxt)
    total = time.perf_counter() - started
    return {
        "n_windows": int(n),
        "dim": int(encoder.dim),
        "n_with_successor": int((nxt >= 0).sum()),
        "encode_windows_per_s": float(2 * n / encode_seconds) if encode_seconds > 0 else None,
        "total_seconds": total,
        "augment": augment.__dict__,
        "seed": seed,
    }
