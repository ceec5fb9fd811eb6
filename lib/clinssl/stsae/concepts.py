"""What every concept model of the branch offers: ST-SAE variants and the PCA/ICA/NMF baselines.

The evaluation suite, the aging analysis and the waveform grounding only ever see this
interface, so a baseline and an SAE are scored by exactly the same code.

* ``encode(x)``: float32 (n, d) embeddings → float32 (n, K) concept activations;
* ``decode(codes)``: (n, K) → (n, d) reconstructions in embedding space;
* ``atoms``: float32 (K, d) dictionary directions, unit-norm rows (what seed and subsample
  stability match across fits).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["ConceptModel", "reconstruct"]


@runtime_checkable
class ConceptModel(Protocol):
    """A fitted dictionary: embeddings ↔ concept activations (see the module docstring)."""

    @property
    def n_concepts(self) -> int: ...

    @property
    def atoms(self) -> np.ndarray: ...

    def encode(self, x: np.ndarray) -> np.ndarray: ...

    def decode(self, codes: np.ndarray) -> np.ndarray: ...


def reconstruct(model: ConceptModel, x: np.ndarray) -> np.ndarray:
    """``decode(encode(x))``."""
    return model.decode(model.encode(x))
