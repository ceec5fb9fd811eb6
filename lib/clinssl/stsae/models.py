"""The sparse autoencoder behind every ST-SAE variant, and its numpy concept-model wrapper.

Architecture (Gao et al. 2024 for the pre-encoder bias and Top-K)::

    pre   = ((x − b_pre) / s) @ W_encᵀ + b_enc    # (n, K) pre-activations
    codes = relu(pre)  |  topk_relu(pre, k)       # (n, K) sparse concept activations
    x̂     = s · (codes @ W_decᵀ) + b_pre          # (n, d) reconstruction

``W_enc`` is (K, d), ``W_dec`` is (d, K) and its columns are the dictionary atoms. ``s`` (the
buffer ``input_scale``) is the RMS per dimension of the centred training sample, set by
:func:`init_from_data`: the model works in units where the data has unit variance per
dimension on average, so the loss weights (L1, stability, smoothness) mean the same whatever
scale an encoder's embeddings have (a frozen CNN's pooled features can be 100× smaller than
a transformer's). Codes and atoms are in those units; ``decode`` returns embedding units.

Why the decoder is kept at unit-norm columns: the sparsity penalty and the codes' scale are
only meaningful when an atom cannot grow to let its code shrink. Two mechanisms keep it there
inside the shared training loop (:func:`clinssl.train.fit`), which offers no hook between
``backward()`` and ``optimizer.step()``:

1. **during backward** a tensor hook on ``W_dec`` (:func:`decoder_grad_projection`) removes
   from each column's gradient its component along the column, so the step moves atoms along
   the unit sphere to first order. It runs before gradient clipping and before AdamW sees the
   gradient;
2. **after each step** ``on_step`` calls :func:`renormalize_decoder`, because AdamW's
   per-coordinate scaling (and the sphere's curvature) still move the norms slightly.

Dead latents (concepts that have not fired for many steps) are tracked in the buffer
``steps_since_fired`` so the Top-K variant can revive them with the AuxK loss
(:func:`auxk_codes`, :func:`clinssl.stsae.losses.auxk_loss`).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from clinssl.stsae.names import ACTIVATIONS

__all__ = [
    "INIT_METHODS",
    "SAEConceptModel",
    "SAEError",
    "SAEOutput",
    "SparseAutoencoder",
    "auxk_codes",
    "decoder_grad_projection",
    "geometric_median",
    "init_from_data",
    "project_decoder_grad",
    "renormalize_decoder",
    "tangent_projection",
]

#: how the pre-encoder bias is set from a data sample before training
INIT_METHODS: tuple[str, ...] = ("geometric_median", "mean")

_EPS = 1e-12


class SAEError(ValueError):
    """Bad input to the ST-SAE model, loss or training code (the message names the field)."""


class SAEOutput(NamedTuple):
    """One forward pass: sparse ``codes`` (n, K), reconstruction ``x_hat`` (n, d), and the
    ``pre_acts`` (n, K) before the sparsifying activation (AuxK ranks dead latents on them)."""

    codes: torch.Tensor
    x_hat: torch.Tensor
    pre_acts: torch.Tensor


def _positive_int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise SAEError(f"{field}: expected a positive integer, got {value!r}")
    return int(value)


class SparseAutoencoder(nn.Module):
    """A one-layer sparse autoencoder over ``dim``-dimensional embeddings (module docstring).

    Initial weights come from torch's global RNG: build it inside
    ``clinssl.utils.seeding.torch_seeded(seed, "stsae-init")`` so they depend on the seed only.
    """

    def __init__(self, dim: int, n_concepts: int, activation: str = "relu", k: int = 32) -> None:
        super().__init__()
        self.dim = _positive_int(dim, "dim")
        self.n_concepts = _positive_int(n_concepts, "n_concepts")
        if activation not in ACTIVATIONS:
            raise SAEError(f"activation: expected one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        self.k = _positive_int(k, "k")
        if activation == "topk" and self.k > self.n_concepts:
            raise SAEError(f"k: Top-K needs k <= n_concepts ({self.n_concepts}), got {self.k}")
        self.W_enc = nn.Parameter(torch.empty(self.n_concepts, self.dim))
        self.b_enc = nn.Parameter(torch.zeros(self.n_concepts))
        self.W_dec = nn.Parameter(torch.empty(self.dim, self.n_concepts))
        self.b_pre = nn.Parameter(torch.zeros(self.dim))
        self.register_buffer("steps_since_fired", torch.zeros(self.n_concepts, dtype=torch.long))
        self.register_buffer("input_scale", torch.ones(()))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Tied init: random encoder rows of norm ≈ 1, decoder = their unit-normalised transpose.

        Why tied: with ``W_dec ∝ W_encᵀ`` the untrained model already maps an input close to an
        atom back onto that atom, which avoids a phase where many latents die early.
        """
        with torch.no_grad():
            self.W_enc.normal_(0.0, 1.0 / np.sqrt(self.dim))
            self.W_dec.copy_(self.W_enc.T)
            self.W_dec.div_(self.W_dec.norm(dim=0, keepdim=True).clamp_min(_EPS))
            self.b_enc.zero_()
            self.b_pre.zero_()
            self.steps_since_fired.zero_()

    def spec(self) -> dict[str, int | str]:
        """What is needed to rebuild the module before loading its weights."""
        return {
            "dim": self.dim,
            "n_concepts": self.n_concepts,
            "activation": self.activation,
            "k": self.k,
        }

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise SAEError(f"x: expected shape (n, {self.dim}), got {tuple(x.shape)}")

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        """``((x − b_pre) / s) @ W_encᵀ + b_enc``: the (n, K) scores before sparsification."""
        self._check_input(x)
        return ((x - self.b_pre) / self.input_scale) @ self.W_enc.T + self.b_enc

    def sparsify(self, pre_acts: torch.Tensor) -> torch.Tensor:
        """ReLU, or Top-K: keep each row's ``k`` largest pre-activations, ReLU on those."""
        if self.activation == "relu":
            return torch.relu(pre_acts)
        values, index = pre_acts.topk(self.k, dim=1)
        return torch.zeros_like(pre_acts).scatter(1, index, torch.relu(values))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Sparse (n, K) codes of (n, d) embeddings."""
        return self.sparsify(self.pre_activations(x))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """``s · (codes @ W_decᵀ) + b_pre``: (n, K) codes back to (n, d) embeddings."""
        if codes.ndim != 2 or codes.shape[1] != self.n_concepts:
            raise SAEError(
                f"codes: expected shape (n, {self.n_concepts}), got {tuple(codes.shape)}"
            )
        return self.input_scale * (codes @ self.W_dec.T) + self.b_pre

    def forward(self, x: torch.Tensor) -> SAEOutput:
        """Encode and decode ``x``; see :class:`SAEOutput`."""
        pre_acts = self.pre_activations(x)
        codes = self.sparsify(pre_acts)
        return SAEOutput(codes=codes, x_hat=self.decode(codes), pre_acts=pre_acts)

    @torch.no_grad()
    def record_firing(self, codes: torch.Tensor) -> None:
        """Advance the dead-latent clock by one training step: latents that fired (code > 0
        in any row of ``codes``) restart at 0, every other latent counts one step more."""
        if codes.ndim != 2 or codes.shape[1] != self.n_concepts:
            raise SAEError(
                f"codes: expected shape (n, {self.n_concepts}), got {tuple(codes.shape)}"
            )
        fired = (codes > 0).any(dim=0)
        self.steps_since_fired.add_(1).masked_fill_(fired, 0)

    def dead_mask(self, threshold_steps: int) -> torch.Tensor:
        """(K,) bool: latents that have not fired for at least ``threshold_steps`` steps."""
        threshold = _positive_int(threshold_steps, "threshold_steps")
        return self.steps_since_fired >= threshold


def auxk_codes(pre_acts: torch.Tensor, dead_mask: torch.Tensor, k_aux: int) -> torch.Tensor:
    """Codes of the AuxK loss: per row, the ``k_aux`` largest pre-activations among *dead*
    latents, ReLU on those, zeros elsewhere (all zeros when no latent is dead).

    Why: a dead latent gets no gradient from the reconstruction; asking the dead ones to
    explain the main model's residual gives them one (Gao et al. 2024).
    """
    if pre_acts.ndim != 2:
        raise SAEError(f"pre_acts: expected shape (n, K), got {tuple(pre_acts.shape)}")
    if dead_mask.shape != (pre_acts.shape[1],) or dead_mask.dtype != torch.bool:
        raise SAEError(
            f"dead_mask: expected a bool tensor of shape ({pre_acts.shape[1]},), "
            f"got {dead_mask.dtype} {tuple(dead_mask.shape)}"
        )
    k = min(_positive_int(k_aux, "k_aux"), pre_acts.shape[1])
    candidates = pre_acts.masked_fill(~dead_mask, float("-inf"))
    values, index = candidates.topk(k, dim=1)
    return torch.zeros_like(pre_acts).scatter(1, index, torch.relu(values))


def _as_float64(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A detached float64 CPU copy of an array or tensor (init statistics need the precision)."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64)
    return torch.from_numpy(np.array(x, dtype=np.float64))


def geometric_median(
    x: np.ndarray | torch.Tensor, n_iter: int = 200, tol: float = 1e-7
) -> torch.Tensor:
    """The point minimising the summed Euclidean distance to the rows of ``x`` (Weiszfeld).

    Why the pre-encoder bias starts here rather than at the mean: embedding clouds have
    outlying windows (artefacts that passed QC), and the geometric median, unlike the mean,
    is not dragged towards them. Iterates from the mean in float64 until a step is below
    ``tol`` times the cloud's RMS spread; distances are floored so an iterate that lands on a
    data point stays well defined. Returns a float32 (d,) tensor.
    """
    points = _as_float64(x)
    if points.ndim != 2 or points.shape[0] < 1:
        raise SAEError(f"x: expected a non-empty (n, d) array, got shape {tuple(points.shape)}")
    if not torch.isfinite(points).all():
        raise SAEError("x: contains NaN or infinite values")
    median = points.mean(dim=0)
    spread = float(((points - median) ** 2).sum(dim=1).mean().sqrt())
    if spread == 0.0:
        return median.float()
    floor = 1e-12 * spread
    for _ in range(_positive_int(n_iter, "n_iter")):
        weights = 1.0 / (points - median).norm(dim=1).clamp_min(floor)
        updated = (weights[:, None] * points).sum(dim=0) / weights.sum()
        step = float((updated - median).norm())
        median = updated
        if step <= tol * spread:
            break
    return median.float()


def init_from_data(
    model: SparseAutoencoder, x_sample: np.ndarray | torch.Tensor, method: str = "geometric_median"
) -> None:
    """Set ``b_pre`` to the geometric median or the mean of a data sample (n, d), and
    ``input_scale`` to the sample's RMS per dimension around it (module docstring)."""
    if method not in INIT_METHODS:
        raise SAEError(f"method: expected one of {INIT_METHODS}, got {method!r}")
    sample = _as_float64(x_sample)
    if sample.ndim != 2 or sample.shape[0] < 1 or sample.shape[1] != model.dim:
        raise SAEError(
            f"x_sample: expected a non-empty (n, {model.dim}) array, got {tuple(sample.shape)}"
        )
    if not torch.isfinite(sample).all():
        raise SAEError("x_sample: contains NaN or infinite values")
    center = geometric_median(sample) if method == "geometric_median" else sample.mean(dim=0)
    rms = float(((sample - center) ** 2).mean().sqrt())
    with torch.no_grad():
        model.b_pre.copy_(center.to(model.b_pre.device, model.b_pre.dtype))
        model.input_scale.fill_(rms if rms > _EPS else 1.0)


@torch.no_grad()
def renormalize_decoder(model: SparseAutoencoder) -> None:
    """Rescale every column of ``W_dec`` to unit norm (in place; see the module docstring)."""
    model.W_dec.div_(model.W_dec.norm(dim=0, keepdim=True).clamp_min(_EPS))


def tangent_projection(grad: torch.Tensor, W_dec: torch.Tensor) -> torch.Tensor:
    """``grad`` minus, per column k, its component along column k of ``W_dec``:
    ``g_k − (u_k·g_k) u_k`` with ``u_k = w_k / ‖w_k‖`` (= ``w_k`` for unit columns)."""
    direction = W_dec.detach() / W_dec.detach().norm(dim=0, keepdim=True).clamp_min(_EPS)
    direction = direction.to(grad.dtype)
    return grad - direction * (direction * grad).sum(dim=0, keepdim=True)


@torch.no_grad()
def project_decoder_grad(model: SparseAutoencoder) -> None:
    """Apply :func:`tangent_projection` to ``W_dec.grad`` in place (for a hand-written loop;
    inside :func:`clinssl.train.fit` use :func:`decoder_grad_projection`)."""
    if model.W_dec.grad is not None:
        model.W_dec.grad.copy_(tangent_projection(model.W_dec.grad, model.W_dec))


@contextlib.contextmanager
def decoder_grad_projection(model: SparseAutoencoder) -> Iterator[None]:
    """While active, every backward pass projects ``W_dec``'s gradient onto the tangent of
    the unit sphere of each column (a tensor hook, so it runs during backward: before
    gradient clipping and the optimiser step). The hook reads ``model.W_dec`` when it fires,
    i.e. the current (unit-norm) columns, and is removed on exit."""

    def hook(grad: torch.Tensor) -> torch.Tensor:
        return tangent_projection(grad, model.W_dec)

    handle = model.W_dec.register_hook(hook)
    try:
        yield
    finally:
        handle.remove()


class SAEConceptModel:
    """A trained :class:`SparseAutoencoder` as a numpy ``ConceptModel`` (``stsae.concepts``).

    Works on a CPU copy in eval mode (the caller's module is left as it is) and encodes in
    batches of ``batch_size`` rows, so a memmapped embedding cache is never materialised as
    one float tensor. Outputs are float32.
    """

    def __init__(self, model: SparseAutoencoder, batch_size: int = 8192) -> None:
        if not isinstance(model, SparseAutoencoder):
            raise SAEError(f"model: expected a SparseAutoencoder, got {type(model).__name__}")
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.model = copy.deepcopy(model).to("cpu").eval()
        atoms = self.model.W_dec.detach().T.double()
        atoms = atoms / atoms.norm(dim=1, keepdim=True).clamp_min(_EPS)
        self._atoms = atoms.float().numpy()

    @property
    def n_concepts(self) -> int:
        return self.model.n_concepts

    @property
    def atoms(self) -> np.ndarray:
        """(K, d) float32 unit-norm dictionary directions (the decoder's columns)."""
        return self._atoms.copy()

    def _batched(
        self,
        x: np.ndarray,
        field: str,
        widths: tuple[int, int],
        fn: Callable[[torch.Tensor], torch.Tensor],
    ) -> np.ndarray:
        """Apply ``fn`` batch by batch to (n, widths[0]) ``x``; return (n, widths[1]) float32."""
        width, out_width = widths
        if not hasattr(x, "ndim") or x.ndim != 2 or x.shape[1] != width:
            shape = tuple(getattr(x, "shape", ()))
            raise SAEError(f"{field}: expected an array of shape (n, {width}), got {shape}")
        out = np.empty((x.shape[0], out_width), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, x.shape[0], self.batch_size):
                chunk = np.asarray(x[start : start + self.batch_size], dtype=np.float32)
                out[start : start + len(chunk)] = fn(torch.from_numpy(chunk)).numpy()
        return out

    def encode(self, x: np.ndarray) -> np.ndarray:
        """(n, d) embeddings → (n, K) float32 concept activations."""
        widths = (self.model.dim, self.model.n_concepts)
        return self._batched(x, "x", widths, self.model.encode)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """(n, K) concept activations → (n, d) float32 reconstructions (with ``b_pre``)."""
        widths = (self.model.n_concepts, self.model.dim)
        return self._batched(codes, "codes", widths, self.model.decode)
