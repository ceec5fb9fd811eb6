"""Linear baselines for the concept leaderboard: PCA, ICA and NMF with the SAE's dictionary size.

Why baselines: a sparse autoencoder's concepts are only worth their training cost if they
beat what a linear decomposition of the same embeddings gives for free. Each baseline is
wrapped as a :class:`~clinssl.stsae.concepts.ConceptModel`, so the evaluation suite scores
it with exactly the code that scores the SAE variants.

* **PCA** — orthogonal directions of maximal variance. Codes are the centred projections.
* **ICA** (FastICA, ``whiten="unit-variance"``) — directions whose projections are
  maximally non-Gaussian (independent sources). Atoms are the columns of the mixing matrix
  (where a unit source moves the embedding), normalised; codes are the unit-variance sources.
* **NMF** — parts-based, non-negative codes and atoms. Embeddings are signed, so the inputs
  are shifted: the per-dimension **training minimum** is subtracted (stored as ``shift``),
  the same shift is applied at encode time (values that fall below the training minimum
  on new rows are clipped to 0, since NMF cannot encode a negative input), and decode adds
  it back, so reconstructions live in the original embedding space.

Component caps. PCA and ICA cannot have more components than ``min(d, n_train)`` (and
FastICA's whitening divides by the singular values, so it is further capped at the numerical
rank of the centred training data). A request for an overcomplete dictionary (e.g. K = 512 on
d = 256) is therefore capped: ``requested_concepts`` keeps what was asked, ``n_concepts``
what the model holds. NMF is capped at ``min(K, d)`` too: an overcomplete NMF has no unique
solution (any extra atom can be traded against the others), and its coordinate descent costs
O(n·K²) per iteration — at K = 1,024 on d = 256 over ten minutes on one core for a
factorisation that adds nothing a d-component one cannot represent.

Determinism: PCA is an exact (full) SVD; every random choice of the other estimators (ICA's
unmixing initialisation, NMF's random initialisation when overcomplete) is seeded from
``seed`` via :func:`clinssl.utils.seeding.derive_seed`, so identical calls give identical
atoms.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import NMF, PCA, FastICA
from sklearn.exceptions import ConvergenceWarning

from clinssl.stsae.evaluation import unit_rows
from clinssl.stsae.names import BASELINES
from clinssl.utils.seeding import derive_seed

__all__ = ["BaselineError", "BaselineModel", "capped_components", "fit_baseline"]

#: relative singular-value tolerance below which a direction counts as absent (ICA cap)
_RANK_TOLERANCE = 1e-7


class BaselineError(ValueError):
    """A baseline was asked for with an unknown method or unusable training data."""


@dataclass(frozen=True, eq=False)
class BaselineModel:
    """A fitted linear baseline behind the ConceptModel interface (see the module docstring).

    ``estimator`` is the fitted scikit-learn object; ``shift`` the per-dimension offset
    subtracted before encoding (the NMF training minimum; zeros for PCA and ICA).
    """

    method: str
    requested_concepts: int
    estimator: PCA | FastICA | NMF
    shift: np.ndarray
    atoms_: np.ndarray

    @property
    def n_concepts(self) -> int:
        """The effective number of concepts (after the PCA/ICA cap)."""
        return int(self.atoms_.shape[0])

    @property
    def atoms(self) -> np.ndarray:
        """(K, d) float32 unit-norm component directions in embedding space."""
        return self.atoms_

    def encode(self, x: np.ndarray) -> np.ndarray:
        """(n, d) embeddings → (n, K) float32 codes."""
        x = _as_matrix(x, "x", self.shift.shape[0])
        if self.method == "nmf":
            x = np.clip(x - self.shift, 0.0, None)
        with warnings.catch_warnings():  # NMF's transform solves for codes up to max_iter
            warnings.simplefilter("ignore", ConvergenceWarning)
            codes = self.estimator.transform(x)
        return np.asarray(codes, dtype=np.float32)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """(n, K) codes → (n, d) float32 reconstructions in embedding space."""
        codes = _as_matrix(codes, "codes", self.n_concepts)
        if self.method == "nmf":
            x_hat = codes @ self.estimator.components_ + self.shift
        else:
            x_hat = self.estimator.inverse_transform(codes)
        return np.asarray(x_hat, dtype=np.float32)


def _as_matrix(a: np.ndarray, field: str, width: int | None = None) -> np.ndarray:
    """``a`` as a finite float64 (n, width) matrix, or a BaselineError naming ``field``."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise BaselineError(f"{field} must be a 2-D (n, d) array, got shape {a.shape}")
    if width is not None and a.shape[1] != width:
        raise BaselineError(f"{field} must have {width} columns, got {a.shape[1]}")
    if not np.all(np.isfinite(a)):
        raise BaselineError(f"{field} must be finite (no NaN or inf)")
    return a


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1


def _numerical_rank(x: np.ndarray) -> int:
    """Rank of the column-centred ``x`` (singular values above a relative tolerance)."""
    s = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
    if s.size == 0 or s[0] == 0.0:
        return 0
    return int(np.sum(s > _RANK_TOLERANCE * s[0]))


def capped_components(method: str, x_train: np.ndarray, n_components: int) -> int:
    """How many components ``method`` can fit on ``x_train`` when ``n_components`` are asked:
    ``min(K, d, n_train)`` for PCA, additionally the numerical rank for ICA, ``min(K, d)`` for
    NMF (module docstring)."""
    n, d = x_train.shape
    if method == "nmf":
        return min(n_components, d)
    cap = min(n_components, d, n)
    if method == "ica":
        cap = min(cap, _numerical_rank(x_train))
    return cap


def _fit_pca(x: np.ndarray, k: int, seed: int, max_iter: int) -> tuple[PCA, np.ndarray]:
    del max_iter  # PCA is solved exactly; the argument exists for a uniform signature
    pca = PCA(n_components=k, svd_solver="full", random_state=derive_seed(seed, "stsae-pca"))
    pca.fit(x)
    return pca, pca.components_


def _fit_ica(x: np.ndarray, k: int, seed: int, max_iter: int) -> tuple[FastICA, np.ndarray]:
    ica = FastICA(n_components=k, whiten="unit-variance", max_iter=max_iter,
                  random_state=derive_seed(seed, "stsae-ica"))  # fmt: skip
    ica.fit(x)
    return ica, ica.mixing_.T


def _fit_nmf(x: np.ndarray, k: int, seed: int, max_iter: int) -> tuple[NMF, np.ndarray]:
    nmf = NMF(n_components=k, max_iter=max_iter, random_state=derive_seed(seed, "stsae-nmf"))
    nmf.fit(x)
    return nmf, nmf.components_


_FITTERS = {"pca": _fit_pca, "ica": _fit_ica, "nmf": _fit_nmf}


def fit_baseline(
    name: str, x_train: np.ndarray, n_components: int, seed: int, max_iter: int = 200
) -> BaselineModel:
    """Fit baseline ``name`` (one of :data:`~clinssl.stsae.names.BASELINES`) with
    ``n_components`` concepts on the (n, d) ``x_train``; deterministic given ``seed``.

    ``max_iter`` bounds the ICA and NMF solvers (PCA is exact); NMF's ``encode`` solves
    for the codes with the same bound. Cost: NMF's coordinate descent is O(n·K²) per
    iteration (about 5 s single-threaded for n = 9,000, d = 256, K = 512), so a large
    overcomplete NMF is where ``max_iter`` is worth sizing. A solver stopped by
    ``max_iter`` is kept (its atoms are still a usable baseline); the convergence warning is
    silenced so a leaderboard run does not drown in them.
    """
    if name not in BASELINES:
        raise BaselineError(f"name must be one of {BASELINES}, got {name!r}")
    if not _is_positive_int(n_components):
        raise BaselineError(f"n_components must be a positive integer, got {n_components!r}")
    if not _is_positive_int(max_iter):
        raise BaselineError(f"max_iter must be a positive integer, got {max_iter!r}")
    x = _as_matrix(x_train, "x_train")
    if x.shape[0] < 2:
        raise BaselineError(f"x_train needs at least 2 rows, got {x.shape[0]}")
    shift = x.min(axis=0) if name == "nmf" else np.zeros(x.shape[1])
    k = capped_components(name, x, int(n_components))
    if k < 1:
        raise BaselineError(f"x_train has no variance: {name} cannot fit any component")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator, directions = _FITTERS[name](x - shift, k, seed, max_iter)
    atoms = unit_rows(np.asarray(directions, dtype=np.float64)).astype(np.float32)
    return BaselineModel(method=name, requested_concepts=int(n_components),
                         estimator=estimator, shift=shift, atoms_=atoms)  # fmt: skip
