"""Seeding: every random choice follows a config seed.

Most code draws from generators seeded with :func:`derive_seed` (a stable sub-seed per
purpose: split, mask, initialisation, bootstrap), so steps do not share a stream and no
global state matters. :func:`seed_everything` additionally fixes the global Python, NumPy
and torch generators for steps that call library code relying on them (the PPG embedding
and HiMAE steps call it).

Python's string hashing cannot be seeded from inside a running interpreter
(``PYTHONHASHSEED`` is read at start-up), so this module does not try; no output is meant to
depend on the iteration order of a set of strings.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np


def seed_everything(seed: int, deterministic_torch: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and (when installed) PyTorch; return a NumPy ``Generator``.

    Code should prefer the returned ``Generator`` (or one derived from the same seed) over
    the legacy global NumPy state; the global state is seeded too so that third-party code
    relying on it is reproducible as well.

    ``deterministic_torch`` asks PyTorch for deterministic kernels where available
    (``warn_only`` so that ops without a deterministic variant still run on GPU).
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch
    except ImportError:  # torch is a dependency, but data-only steps should not need it
        return np.random.default_rng(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic_torch:
        torch.use_deterministic_algorithms(True, warn_only=True)
        # read when cuBLAS initialises (first CUDA matmul), so setting it here takes effect
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    return np.random.default_rng(seed)


def derive_seed(seed: int, *keys: str | int) -> int:
    """Derive an independent, stable sub-seed from ``seed`` and a path of keys.

    Used so that e.g. the split of seed 1 and the masks of seed 1 do not share a stream,
    while remaining a pure function of the config (stable across runs and platforms,
    unlike Python's salted ``hash``).
    """
    seq = np.random.SeedSequence([seed, *(_key_to_int(k) for k in keys)])
    return int(seq.generate_state(1, dtype=np.uint32)[0])


def _key_to_int(key: str | int) -> int:
    if isinstance(key, int):
        return key
    import zlib

    return zlib.crc32(key.encode("utf-8"))


@contextlib.contextmanager
def torch_seeded(seed: int, *keys: str | int) -> Iterator[None]:
    """Run the block with torch's global RNG seeded from ``(seed, *keys)``, then restore the
    previous state. Why: a module built outside a seeded block (a projector, a task head)
    draws its initial weights from the process's random default seed, so two runs differ;
    restoring keeps the caller's own stream where it was."""
    import torch

    state = torch.random.get_rng_state()
    torch.manual_seed(derive_seed(seed, *keys))
    try:
        yield
    finally:
        torch.random.set_rng_state(state)
