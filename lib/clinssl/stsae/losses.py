"""The ST-SAE objective: reconstruction plus sparsity, diversity, stability, smoothness, AuxK.

Each term is its own small function so it can be checked against a hand formula; the batch
objective :func:`total_loss` combines them with :class:`LossWeights`::

    L = L_rec + λ_sparsity·L_sparsity + λ_diversity·L_diversity
        + λ_stability·L_stability + λ_smoothness·L_smoothness + λ_auxk·L_auxk

Scales, chosen so a weight means the same thing whatever the dictionary size:

* ``L_rec`` is a mean squared error per embedding dimension (mean over rows and dims);
* the code-space terms (sparsity, stability, smoothness) are per-row sums over the K concepts,
  averaged over rows. Codes are sparse, so a mean over K would shrink these penalties as the
  dictionary grows at a fixed number of active concepts; a per-row sum does not;
* ``L_diversity`` is a mean over the K(K−1) atom pairs (a cosine² per pair, in [0, 1]);
* ``L_auxk`` is a normalised MSE (a fraction of the residual's variance).

Every term is computed in float32 (under CUDA autocast the codes may arrive in bfloat16) and
without host synchronisation, so the training loop never waits on the device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import torch

from clinssl.stsae.models import SAEError, SparseAutoencoder, auxk_codes
from clinssl.stsae.names import LOSS_TERMS

__all__ = [
    "AUXK",
    "PART_NAMES",
    "RECONSTRUCTION",
    "LossWeights",
    "auxk_loss",
    "diversity_loss",
    "loss_terms",
    "normalized_mse",
    "reconstruction_loss",
    "smoothness_loss",
    "sparsity_loss",
    "stability_loss",
    "total_loss",
    "unpack_batch",
]

#: name of the AuxK term (Top-K only; not in ``names.LOSS_TERMS``, which lists config terms)
AUXK = "auxk"
#: name of the reconstruction part in the ``parts`` dict
RECONSTRUCTION = "reconstruction"
#: keys of the ``parts`` dict of :func:`total_loss`: every term, the weighted total, and the
#: reporting metrics ``fvu`` (fraction of variance unexplained), ``l0`` (mean active concepts
#: per row) and ``dead_fraction`` (share of latents dead by the AuxK threshold)
PART_NAMES: tuple[str, ...] = (
    RECONSTRUCTION,
    *LOSS_TERMS,
    AUXK,
    "total",
    "fvu",
    "l0",
    "dead_fraction",
)

_EPS = 1e-12


def _check_pair(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str]) -> None:
    if a.ndim != 2 or a.shape != b.shape:
        raise SAEError(
            f"{names[0]}, {names[1]}: expected two (n, m) tensors of one shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def reconstruction_loss(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Mean squared error over rows and dimensions."""
    _check_pair(x, x_hat, ("x", "x_hat"))
    return ((x.float() - x_hat.float()) ** 2).mean()


def normalized_mse(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """``Σ‖x − x̂‖² / Σ‖x − mean_batch(x)‖²``: the fraction of the batch's variance left
    unexplained (FVU; 1 − explained variance). Comparable across embedding scales, hence
    used for reporting and for AuxK. The denominator is floored for a constant batch."""
    _check_pair(x, x_hat, ("x", "x_hat"))
    x, x_hat = x.float(), x_hat.float()
    error = ((x - x_hat) ** 2).sum()
    variance = ((x - x.mean(dim=0, keepdim=True)) ** 2).sum()
    return error / variance.clamp_min(_EPS)


def sparsity_loss(codes: torch.Tensor, W_dec: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ``Σ_k |c_k|·‖W_dec[:, k]‖``.

    The decoder norm is included because an L1 on codes alone can be lowered for free by
    shrinking a code and growing its atom by the same factor; weighting by the atom's norm
    makes the penalty invariant to that rescaling. With unit-norm columns (as the training
    keeps them) it equals the plain L1."""
    if codes.ndim != 2 or W_dec.ndim != 2 or codes.shape[1] != W_dec.shape[1]:
        raise SAEError(
            f"codes, W_dec: expected (n, K) codes and a (d, K) decoder, "
            f"got {tuple(codes.shape)} and {tuple(W_dec.shape)}"
        )
    return (codes.float().abs() * W_dec.float().norm(dim=0)).sum(dim=1).mean()


def diversity_loss(W_dec: torch.Tensor) -> torch.Tensor:
    """Mean squared off-diagonal entry of the Gram matrix of the unit-normalised decoder
    columns (mean cosine² over the K(K−1) ordered atom pairs; 0 for one atom).

    Why: without it two atoms can share a direction and split one concept's activations
    between them, which makes concepts unstable across seeds and hard to interpret."""
    if W_dec.ndim != 2:
        raise SAEError(f"W_dec: expected a (d, K) tensor, got {tuple(W_dec.shape)}")
    n_atoms = W_dec.shape[1]
    if n_atoms < 2:
        return W_dec.float().sum() * 0.0
    unit = W_dec.float() / W_dec.float().norm(dim=0, keepdim=True).clamp_min(_EPS)
    gram = unit.T @ unit
    off_diagonal = (gram**2).sum() - (torch.diagonal(gram) ** 2).sum()
    return off_diagonal / (n_atoms * (n_atoms - 1))


def stability_loss(codes_z: torch.Tensor, codes_aug: torch.Tensor) -> torch.Tensor:
    """Mean over rows of ``‖c(z) − c(z_aug)‖²`` (squared distance summed over the K
    concepts, not divided by K; see the module docstring).

    Why: a concept should describe the pulse, not the augmentation noise, so a window and
    its augmented re-encoding should activate the same concepts equally."""
    _check_pair(codes_z, codes_aug, ("codes_z", "codes_aug"))
    return ((codes_z.float() - codes_aug.float()) ** 2).sum(dim=1).mean()


def smoothness_loss(
    codes_z: torch.Tensor, codes_next: torch.Tensor, has_next: torch.Tensor
) -> torch.Tensor:
    """Mean over the rows with ``has_next`` of ``‖c(z_t) − c(z_{t+1})‖²``; rows without a
    successor are excluded, and a batch where none has one gives a zero that keeps the graph.

    Why: physiology changes slowly between consecutive windows of a record, so concept
    activations should too; this suppresses concepts that flicker from window to window."""
    _check_pair(codes_z, codes_next, ("codes_z", "codes_next"))
    if has_next.shape != (codes_z.shape[0],):
        raise SAEError(
            f"has_next: expected shape ({codes_z.shape[0]},), got {tuple(has_next.shape)}"
        )
    weight = has_next.to(torch.float32)
    distance = ((codes_z.float() - codes_next.float()) ** 2).sum(dim=1)
    return (distance * weight).sum() / weight.sum().clamp_min(1.0)


def auxk_loss(
    x: torch.Tensor, x_hat: torch.Tensor, aux_codes: torch.Tensor, W_dec: torch.Tensor
) -> torch.Tensor:
    """Normalised MSE of the dead latents' reconstruction ``aux_codes @ W_decᵀ`` (no
    ``b_pre``: it models a residual) against the residual ``x − x̂.detach()``.

    Zero when no aux code is active (no dead latent, or none with a positive
    pre-activation): nothing could lower the term then, and reporting the residual's FVU
    would only add a constant. Selected with ``torch.where`` so there is no host sync."""
    _check_pair(x, x_hat, ("x", "x_hat"))
    if (
        aux_codes.ndim != 2
        or aux_codes.shape[0] != x.shape[0]
        or W_dec.shape != (x.shape[1], aux_codes.shape[1])
    ):
        raise SAEError(
            f"aux_codes, W_dec: expected (n, K) codes and a ({x.shape[1]}, K) decoder for "
            f"n = {x.shape[0]}, got {tuple(aux_codes.shape)} and {tuple(W_dec.shape)}"
        )
    residual = x.float() - x_hat.detach().float()
    aux_hat = aux_codes.float() @ W_dec.float().T
    value = normalized_mse(residual, aux_hat)
    return torch.where((aux_codes != 0).any(), value, torch.zeros_like(value))


@dataclass(frozen=True)
class LossWeights:
    """Weights of the terms besides reconstruction (config ``stsae.loss.<term>``); ``auxk``
    only acts on Top-K models. All must be finite and ≥ 0."""

    sparsity: float = 3.0
    diversity: float = 0.1
    stability: float = 0.5
    smoothness: float = 0.2
    auxk: float = 1.0 / 32.0

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SAEError(f"LossWeights.{item.name}: expected a number, got {value!r}")
            if not (math.isfinite(value) and value >= 0.0):
                message = f"expected a finite value >= 0, got {value!r}"
                raise SAEError(f"LossWeights.{item.name}: {message}")
            object.__setattr__(self, item.name, float(value))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> LossWeights:
        """From a config mapping; an unknown key is an error (a typo would silently be 0)."""
        unknown = sorted(set(values) - {item.name for item in fields(cls)})
        if unknown:
            raise SAEError(
                f"loss weights: unknown term(s) {unknown}; expected {(*LOSS_TERMS, AUXK)}"
            )
        return cls(**dict(values))

    def without(self, terms: Sequence[str]) -> LossWeights:
        """A copy with the named terms' weights set to 0 (an ablation, ``names.VARIANTS``)."""
        if isinstance(terms, str):
            raise SAEError(f"terms: expected a tuple of term names, got the string {terms!r}")
        allowed = (*LOSS_TERMS, AUXK)
        unknown = [term for term in terms if term not in allowed]
        if unknown:
            raise SAEError(f"terms: unknown loss term(s) {unknown}; expected some of {allowed}")
        return replace(self, **{term: 0.0 for term in terms})


def unpack_batch(
    batch: Any, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(z, z_next, z_aug, has_next)`` of a batch given as that tuple (what
    :class:`clinssl.stsae.training.TripletDataset` yields) or as a dict with those keys,
    moved to ``device`` when given."""
    keys = ("z", "z_next", "z_aug", "has_next")
    if isinstance(batch, Mapping):
        missing = [key for key in keys if key not in batch]
        if missing:
            raise SAEError(f"batch: missing key(s) {missing}; expected {keys}")
        parts = [batch[key] for key in keys]
    elif isinstance(batch, Sequence) and len(batch) == len(keys):
        parts = list(batch)
    else:
        raise SAEError(f"batch: expected a dict or a 4-tuple {keys}, got {type(batch).__name__}")
    if device is not None:
        parts = [torch.as_tensor(part).to(device, non_blocking=True) for part in parts]
    z, z_next, z_aug, has_next = parts
    return z, z_next, z_aug, has_next.bool()


def loss_terms(
    model: SparseAutoencoder,
    batch: Any,
    weights: LossWeights,
    *,
    dead_steps: int = 1000,
    k_aux: int = 256,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The objective and every part as tensors (no host sync; what the training loop uses).

    One forward pass encodes ``z``, ``z_next`` and ``z_aug`` together. Reconstruction and
    sparsity are measured on ``z``. For a Top-K model the AuxK term uses the latents that
    the model's ``steps_since_fired`` buffer marks dead (not fired for ``dead_steps``
    steps); in training mode the buffer is then advanced with this batch's codes of ``z``.
    """
    z, z_next, z_aug, has_next = unpack_batch(batch, device)
    n = z.shape[0]
    out = model(torch.cat([z, z_next, z_aug], dim=0))
    codes, x_hat = out.codes[:n], out.x_hat[:n]
    codes_next, codes_aug = out.codes[n : 2 * n], out.codes[2 * n :]
    dead = model.dead_mask(dead_steps)
    # reconstruction and AuxK in the model's unit-variance units (models module docstring),
    # so every weight is relative to a reconstruction term of the same size for any encoder
    scale = model.input_scale
    zs, x_hat_s = z / scale, x_hat / scale
    parts = {
        RECONSTRUCTION: reconstruction_loss(zs, x_hat_s),
        "sparsity": sparsity_loss(codes, model.W_dec),
        "diversity": diversity_loss(model.W_dec),
        "stability": stability_loss(codes, codes_aug),
        "smoothness": smoothness_loss(codes, codes_next, has_next),
    }
    if model.activation == "topk":
        aux = auxk_codes(out.pre_acts[:n], dead, k_aux)
        parts[AUXK] = auxk_loss(zs, x_hat_s, aux, model.W_dec)
    else:
        parts[AUXK] = parts[RECONSTRUCTION].detach() * 0.0
    # the code-space terms are sums over a row's K codes while the reconstruction is a mean
    # over its d dimensions: dividing them by d puts both per embedding dimension (atoms are
    # unit vectors, so a code change of ε moves the reconstruction by about ε), so a weight
    # says how much a unit of code change costs against a unit of reconstruction error
    per_dim = 1.0 / z.shape[1]
    scaled = {"sparsity": per_dim, "stability": per_dim, "smoothness": per_dim}
    loss = parts[RECONSTRUCTION] + sum(
        getattr(weights, term) * scaled.get(term, 1.0) * parts[term]
        for term in (*LOSS_TERMS, AUXK)
    )
    with torch.no_grad():
        parts["total"] = loss.detach()
        parts["fvu"] = normalized_mse(z, x_hat)
        parts["l0"] = (codes > 0).float().sum(dim=1).mean()
        parts["dead_fraction"] = dead.float().mean()
    if model.training:
        model.record_firing(codes)
    return loss, parts


def total_loss(
    model: SparseAutoencoder,
    batch: Any,
    weights: LossWeights,
    *,
    dead_steps: int = 1000,
    k_aux: int = 256,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """:func:`loss_terms` with the parts as floats (keys :data:`PART_NAMES`), for reporting."""
    loss, parts = loss_terms(
        model, batch, weights, dead_steps=dead_steps, k_aux=k_aux, device=device
    )
    return loss, {name: float(value.detach()) for name, value in parts.items()}
