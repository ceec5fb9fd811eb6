"""Does each ICU SSL objective learn its own pretext task? Checks on held-out stays.

Why: an SSL encoder whose pretext loss does not beat a trivial predictor of the same
targets has learned nothing about the data, however much its loss fell during training (the
first epoch's loss of a random network is an easy bar: a decoder that only learns to output
the mean already lowers it). Each paradigm is therefore scored on **validation** stays with
the same masking as its training loss, next to the best *trivial* predictor of the same
targets, and the check fails when the objective does not beat it by a margin — a check that
can fail, unlike comparing the loss with its first epoch.

Per paradigm (``measure``; lower is better unless said otherwise):

* ``mae`` — ``masked_mse``: reconstruction MSE on the observed entries of masked hours,
  weighted as in the loss, vs imputing each entry with its feature's mean over the observed
  entries of the **training** tensors (:func:`train_feature_mean`; ``train_feature_mean``).
* ``jepa`` — ``masked_mse``: predictor MSE to the LayerNorm-ed target-encoder latents at
  masked valid hours vs predicting one vector, the mean target latent over those same
  validation tokens (``val_mean_latent``, an oracle constant). With ``loss_type="cosine"``
  the measure is ``masked_cosine_distance`` (1 − cosine, the loss itself) against the mean
  target direction.
* ``smart`` — ``masked_mse``: predictor MSE to the target-encoder latents of the masked
  observed (variable, hour) entries vs predicting each variable's mean target latent over
  those same validation entries (``val_variable_mean_latent``: per-feature mean imputation
  in SMART's latent space, an oracle). MSE for both numbers although SMART trains with
  smooth-L1 (with β = 1 and small errors the two agree up to a factor of 2; MSE is the
  quantity whose trivial optimum is the mean).
* ``contrastive`` — ``top1_retrieval`` (higher is better): within each batch of
  ``batch_size`` stays, the fraction of view-1 embeddings whose most similar view-2
  embedding (cosine of the projected, L2-normalised embeddings) is the same stay's, vs the
  ``chance`` of a random ranking. The last, partial batch is **kept** with its own chance:
  a stay in a batch of ``b`` has chance ``1/b``, so chance = ``n_batches / n_stays``. Exact
  ties (a collapsed projection) count as ``1/k`` for a ``k``-way tie at the maximum, so a
  collapsed model scores exactly chance.

The oracle baselines of JEPA and SMART also make representation collapse fail: a target
encoder whose latents are (near) constant gives a (near) zero baseline that no predictor
beats by a relative margin.

Determinism: the masks come from torch's global RNG, so evaluation runs inside
``torch.random.fork_rng`` seeded with ``seed`` (the caller's RNG state is untouched), in eval
mode (no dropout) and without gradients; the modules' training flags are restored after.
The pass/fail judgement of the records over seeds is
:func:`clinssl.icu.benchmark.checks.objective_check` (no torch: the summary job judges).
Each batch is one draw of the objective's own ``pretext`` (the function its training ``loss``
reduces), so the check scores exactly what pretraining optimised.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from clinssl.icu.names import MASKED_COSINE, MASKED_MSE, TOP1_RETRIEVAL
from clinssl.icu.objectives import OBJECTIVES

__all__ = ["evaluate_objective", "train_feature_mean"]


def train_feature_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-feature mean ``(D,)`` over the observed entries of ``values (N, T, D)``.

    0 for a feature that is never observed (the normalised, zero-filled value)."""
    values, mask = np.asarray(values), np.asarray(mask, dtype=bool)
    if values.shape != mask.shape or values.ndim != 3:
        raise ValueError(
            f"values/mask must be equal (N, T, D) arrays, got {values.shape}, {mask.shape}"
        )
    total = np.where(mask, values, 0.0).sum(axis=(0, 1), dtype=np.float64)
    count = mask.sum(axis=(0, 1))
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


# --- accumulators over batches ------------------------------------------------------------


class _MeanLatentBaseline:
    """Squared error of predicting each group's mean target (over the weighted tokens).

    ``SSE = Σ w‖t‖² − Σ_g ‖Σ w t‖² / Σ w`` per group, accumulated in float64, so one pass
    gives the error of the oracle mean without storing the targets."""

    def __init__(self) -> None:
        self.sq = 0.0
        self.sums: torch.Tensor | None = None
        self.counts: torch.Tensor | None = None

    def add(self, target: torch.Tensor, weight: torch.Tensor) -> None:
        """``target (B, G, L, d)`` in ``G`` groups (JEPA: one, SMART: the variables) of
        ``L`` tokens, ``weight (B, G, L)``."""
        t, w = target.double(), weight.double()
        self.sq += float((w * (t**2).sum(-1)).sum())
        sums = (w.unsqueeze(-1) * t).sum(dim=(0, 2))  # (G, d)
        counts = w.sum(dim=(0, 2))  # (G,)
        self.sums = sums if self.sums is None else self.sums + sums
        self.counts = counts if self.counts is None else self.counts + counts

    def mse(self, dim: int) -> float:
        n = self.counts.clamp(min=1.0)
        sse = self.sq - float(((self.sums**2).sum(-1) / n).sum())
        return max(sse, 0.0) / (dim * float(self.counts.sum()))


def _batches(
    values: np.ndarray, mask: np.ndarray, batch_size: int, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for start in range(0, len(values), batch_size):
        v = torch.as_tensor(np.asarray(values[start : start + batch_size]), dtype=torch.float32)
        m = torch.as_tensor(np.asarray(mask[start : start + batch_size]), dtype=torch.bool)
        yield v.to(device), m.to(device)


def _masked_mse(
    paradigm: str,
    objective: nn.Module,
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    feature_mean: torch.Tensor,
) -> dict[str, Any]:
    model_se = baseline_se = count = 0.0
    latent = _MeanLatentBaseline()
    dim = 1
    for v, m in batches:
        if paradigm == "mae":
            recon, w = objective.pretext(v, m)
            model_se += float((((recon - v) ** 2) * w).double().sum())
            baseline_se += float((((feature_mean - v) ** 2) * w).double().sum())
            count += float(w.double().sum())
            continue
        if paradigm == "jepa":
            pred, target, w = objective.pretext(v, m)
            grouped_target, grouped_w = target.unsqueeze(1), w.unsqueeze(1)  # one group
        else:
            pred, target, w = objective.pretext(v, m)
            grouped_target, grouped_w = target, w
        dim = target.shape[-1]
        model_se += float((((pred - target) ** 2).mean(-1) * w).double().sum())
        count += float(w.double().sum())
        latent.add(grouped_target, grouped_w)
    if count == 0:
        raise ValueError(f"{paradigm}: the validation stays have no masked observed entries")
    if paradigm == "mae":
        return {"model": model_se / count, "baseline": baseline_se / count, "n_targets": int(count)}
    return {"model": model_se / count, "baseline": latent.mse(dim), "n_targets": int(count)}


def _masked_cosine(
    objective: nn.Module, batches: Iterator[tuple[torch.Tensor, torch.Tensor]]
) -> dict[str, Any]:
    """JEPA with ``loss_type="cosine"``: mean 1 − cos to the target vs to the mean target."""
    model = count = 0.0
    sums = unit_sums = None
    for v, m in batches:
        pred, target, w = objective.pretext(v, m)
        model += float(((1.0 - F.cosine_similarity(pred, target, dim=-1)) * w).double().sum())
        count += float(w.double().sum())
        t, wd = target.double(), w.double().unsqueeze(-1)
        s = (wd * t).sum((0, 1))
        u = (wd * F.normalize(t, dim=-1)).sum((0, 1))
        sums, unit_sums = (s, u) if sums is None else (sums + s, unit_sums + u)
    if count == 0:
        raise ValueError("jepa: the validation stays have no masked valid hours")
    mean_cos = float(F.normalize(sums, dim=0) @ unit_sums) / count  # Σ cos(mean, t) / n
    return {"model": model / count, "baseline": 1.0 - mean_cos, "n_targets": int(count)}


def _retrieval(
    objective: nn.Module, batches: Iterator[tuple[torch.Tensor, torch.Tensor]]
) -> dict[str, Any]:
    correct, n, n_batches = 0.0, 0, 0
    for v, m in batches:
        z1, z2 = objective.pretext(v, m)
        sim = z1 @ z2.T
        at_max = sim == sim.max(dim=1, keepdim=True).values
        correct += float((at_max.diagonal().double() / at_max.sum(dim=1).double()).sum())
        n, n_batches = n + len(v), n_batches + 1
    return {"model": correct / n, "baseline": n_batches / n, "n_targets": n}


def evaluate_objective(
    paradigm: str,
    objective: nn.Module,
    values: np.ndarray,
    mask: np.ndarray,
    *,
    train_feature_mean: np.ndarray,
    batch_size: int,
    seed: int,
) -> dict[str, Any]:
    """Score ``objective`` on its own pretext task over validation stays, next to a trivial
    predictor (module docstring).

    ``values``/``mask`` are the normalised, zero-filled validation tensors ``(N, T, D)``;
    ``train_feature_mean`` the ``(D,)`` per-feature mean of the training tensors' observed
    entries (:func:`train_feature_mean`, MAE's baseline). Runs on the device of the
    objective's parameters. Returns a JSON-serialisable record: ``paradigm``, ``measure``
    (``masked_mse``, ``masked_cosine_distance`` or ``top1_retrieval``), ``model``,
    ``baseline``, ``baseline_name``, ``higher_is_better``, ``n_stays``, ``n_targets``
    (masked entries, tokens or stays scored), ``batch_size`` and ``mask_seed``.
    """
    if paradigm not in OBJECTIVES:
        raise ValueError(f"unknown SSL paradigm {paradigm!r}; known: {sorted(OBJECTIVES)}")
    if not isinstance(objective, OBJECTIVES[paradigm]):
        raise ValueError(
            f"paradigm {paradigm!r} needs a {OBJECTIVES[paradigm].__name__}, "
            f"got {type(objective).__name__}"
        )
    if values.shape != mask.shape or values.ndim != 3 or len(values) == 0:
        raise ValueError(
            f"values/mask must be equal, non-empty (N, T, D) arrays, got {values.shape}, {mask.shape}"
        )
    feature_mean = np.asarray(train_feature_mean, dtype=np.float64)
    if feature_mean.shape != (values.shape[2],):
        raise ValueError(
            f"train_feature_mean must have shape ({values.shape[2]},), got {feature_mean.shape}"
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = next(objective.parameters()).device
    batches = _batches(values, mask, batch_size, device)
    flags = [(module, module.training) for module in objective.modules()]
    rng_devices = [device.index or 0] if device.type == "cuda" else []
    try:
        objective.eval()
        with torch.random.fork_rng(devices=rng_devices), torch.no_grad():
            torch.manual_seed(seed)
            if paradigm == "contrastive":
                measure, baseline_name, scores = TOP1_RETRIEVAL, "chance", _retrieval(objective, batches)
            elif paradigm == "jepa" and objective.loss_type == "cosine":
                measure, baseline_name = MASKED_COSINE, "val_mean_latent"
                scores = _masked_cosine(objective, batches)
            else:
                measure = MASKED_MSE
                baseline_name = {
                    "mae": "train_feature_mean",
                    "jepa": "val_mean_latent",
                    "smart": "val_variable_mean_latent",
                }[paradigm]
                fm = torch.as_tensor(feature_mean, dtype=torch.float32, device=device)
                scores = _masked_mse(paradigm, objective, batches, fm)
    finally:
        for module, training in flags:
            module.training = training
    return {
        "paradigm": paradigm,
        "measure": measure,
        "model": float(scores["model"]),
        "baseline": float(scores["baseline"]),
        "baseline_name": baseline_name,
        "higher_is_better": measure == TOP1_RETRIEVAL,
        "n_stays": int(len(values)),
        "n_targets": int(scores["n_targets"]),
        "batch_size": int(batch_size),
        "mask_seed": int(seed),
    }
