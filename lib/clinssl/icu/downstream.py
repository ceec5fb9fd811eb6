"""Downstream protocols on ICU tasks: linear probe, full fine-tune, supervised from scratch.

SLICES' downstream protocols, with one deliberate change for
CPU budgets: the **linear probe** is fitted on frozen embeddings with scikit-learn
(logistic regression with sqrt-balanced class weights / ridge regression), selecting the
regularisation strength on the validation primary metric — a convex problem, so this is
the optimum the 50-epoch linear-head training of SLICES approaches, reached in a fraction
of the time. **Fine-tuning** (pretrained encoder, MLP head ``[64]``, dropout 0.3) and
**supervised** training (same architecture, fresh weights) use the shared training loop
with 2-logit cross-entropy, label smoothing, sqrt-balanced class weights (MSE on the
standardised target for regression), AdamW + cosine, early stopping on the validation
primary metric (AUPRC, or MAE for LOS) — or on the validation log loss when the validation
split holds too few positive stays for a stable AUPRC (:func:`selection_criterion`; the
probe's C is chosen the same way) — and the best checkpoint is evaluated on test.

Label fractions subsample the *training* stays only (validation and test stay whole), with a
subset that is a pure function of ``(seed, task, fraction)``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import TensorDataset

from clinssl.icu.split_tensors import SplitData
from clinssl.nn.dropout import use_fast_dropout
from clinssl.nn.heads import TaskModel, build_head
from clinssl.stats.metrics import PRIMARY_METRIC, metric_values
from clinssl.train import TrainConfig, fit
from clinssl.utils.device import select_device
from clinssl.utils.seeding import derive_seed

log = logging.getLogger(__name__)

__all__ = [
    "DownstreamConfig",
    "SplitData",
    "TaskResult",
    "embed",
    "finetune",
    "label_fraction_indices",
    "linear_probe",
    "predict",
    "selection_criterion",
    "selection_value",
    "sqrt_balanced_weights",
]


@dataclass
class DownstreamConfig:
    """Budgets and settings of the trained protocols (config ``icu.ssl.downstream``)."""

    epochs: int = 100
    batch_size: int = 64
    finetune_lr: float = 3e-4
    supervised_lr: float = 3e-4
    weight_decay: float = 0.05
    patience: int = 10
    label_smoothing: float = 0.1
    head_hidden: Sequence[int] = (64,)
    head_dropout: float = 0.3
    grad_clip: float = 1.0
    probe_c_grid: Sequence[float] = (0.01, 0.1, 1.0)
    probe_alpha_grid: Sequence[float] = (1.0, 10.0, 100.0)
    probe_max_iter: int = 2000
    selection_min_val_positives: int = 20
    device: str = "auto"


@dataclass
class TaskResult:
    """Test scores (probability of the positive class, or days) and training facts: the
    probe's chosen C (logistic) or alpha (ridge), or the epochs a trained protocol ran."""

    scores: np.ndarray
    val_metric: float
    best_epoch: int | None = None
    n_train: int = 0
    regularization: float | None = None
    epochs_run: int | None = None
    selection: str = ""


def label_fraction_indices(
    y: np.ndarray, fraction: float, seed: int, task: str, kind: str
) -> np.ndarray:
    """Sorted training indices for ``fraction`` of the labeled training stays.

    Deterministic in ``(seed, task, fraction)``; binary subsets are stratified so both
    classes are present (at least one of each) even at small fractions.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"label fraction must be in (0, 1], got {fraction}")
    n = len(y)
    if n == 0:
        raise ValueError(f"task {task!r}: no labelled training stays to sample a label fraction from")
    if fraction >= 1.0:
        return np.arange(n)
    rng = np.random.default_rng(derive_seed(seed, "label_fraction", task, round(fraction * 1e6)))
    if kind != "binary":
        k = max(1, int(round(fraction * n)))
        return np.sort(rng.permutation(n)[:k])
    picked = []
    for cls in (0.0, 1.0):
        members = np.flatnonzero(y == cls)
        if len(members) == 0:
            continue
        k = max(1, int(round(fraction * len(members))))
        picked.append(rng.permutation(members)[:k])
    return np.sort(np.concatenate(picked))


def sqrt_balanced_weights(y: np.ndarray) -> np.ndarray:
    """SLICES' class weights ``sqrt([N/(2·neg), N/(2·pos)])`` (1.0 for an absent class)."""
    n, pos = len(y), float((y == 1).sum())
    neg = n - pos
    return np.sqrt(np.array([n / (2 * neg) if neg else 1.0, n / (2 * pos) if pos else 1.0]))


@torch.no_grad()
def embed(
    encoder: nn.Module,
    values: np.ndarray,
    mask: np.ndarray,
    batch_size: int | None = None,
    device: str = "auto",
) -> np.ndarray:
    """Frozen pooled embeddings ``(N, out_dim)`` in eval mode (no dropout).

    ``batch_size`` None: 512 stays on a GPU, 16 on a CPU — MART's activations are
    ``B·V·(1+T)`` tokens, and at 16 stays they stay in cache: its CPU embedding runs about
    twice as fast as at 512 (the timestep Transformer is indifferent).
    """
    dev = select_device(device)
    if batch_size is None:
        batch_size = 512 if dev.type == "cuda" else 16
    encoder = encoder.to(dev).eval()
    out = []
    for start in range(0, len(values), batch_size):
        v = torch.as_tensor(np.asarray(values[start : start + batch_size]), device=dev)
        m = torch.as_tensor(np.asarray(mask[start : start + batch_size]), device=dev)
        out.append(encoder(v.float(), m.bool()).float().cpu().numpy())
    dim = getattr(encoder, "out_dim", 0)
    return np.concatenate(out) if out else np.zeros((0, dim), np.float32)


def _primary(kind: str, y: np.ndarray, score: np.ndarray) -> float:
    name, _ = PRIMARY_METRIC[kind]
    return float(metric_values(kind, y, score, name)[name][0])


def selection_criterion(kind: str, y_val: np.ndarray, min_positives: int) -> tuple[str, bool]:
    """``(name, maximize)`` of what model selection (early stopping, the probe's C/alpha)
    reads on the validation stays.

    The primary metric (AUPRC; MAE for regression) when the validation split has at least
    ``min_positives`` positive stays, else the validation log loss: an AUPRC over a handful
    of positives jumps by tenths between epochs, and stopping on that noise picks an
    arbitrary epoch.
    """
    name, maximize = PRIMARY_METRIC[kind]
    if kind == "binary" and int((np.asarray(y_val) == 1).sum()) < min_positives:
        return "val_log_loss", False
    return f"val_{name}", maximize


def selection_value(kind: str, criterion: str, y: np.ndarray, score: np.ndarray) -> float:
    """The value of ``criterion`` (:func:`selection_criterion`) for validation scores."""
    if criterion == "val_log_loss":
        p = np.clip(np.asarray(score, dtype=float), 1e-7, 1 - 1e-7)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return _primary(kind, y, score)


def linear_probe(
    kind: str,
    z_train: np.ndarray,
    y_train: np.ndarray,
    z_val: np.ndarray,
    y_val: np.ndarray,
    z_test: np.ndarray,
    config: DownstreamConfig,
    seed: int,
) -> TaskResult:
    """Fit the probe on frozen embeddings; choose C/alpha on the validation primary metric."""
    scaler = StandardScaler().fit(z_train)
    zt, zv, zs = (scaler.transform(z) for z in (z_train, z_val, z_test))
    criterion, maximize = selection_criterion(kind, y_val, config.selection_min_val_positives)
    best: tuple[float, float, object] | None = None
    if kind == "binary":
        w = sqrt_balanced_weights(y_train)
        for c in config.probe_c_grid:
            model = LogisticRegression(
                C=c,
                class_weight={0: w[0], 1: w[1]},
                max_iter=config.probe_max_iter,
                random_state=seed,
            ).fit(zt, y_train.astype(int))
            metric = selection_value(kind, criterion, y_val, model.predict_proba(zv)[:, 1])
            if best is None or (metric > best[0] if maximize else metric < best[0]):
                best = (metric, c, model)
        assert best is not None
        scores = best[2].predict_proba(zs)[:, 1]  # type: ignore[union-attr]
    else:
        mean, std = float(y_train.mean()), float(y_train.std()) or 1.0
        for alpha in config.probe_alpha_grid:
            model = Ridge(alpha=alpha).fit(zt, (y_train - mean) / std)
            metric = selection_value(kind, criterion, y_val, model.predict(zv) * std + mean)
            if best is None or (metric > best[0] if maximize else metric < best[0]):
                best = (metric, alpha, model)
        assert best is not None
        scores = best[2].predict(zs) * std + mean  # type: ignore[union-attr]
    return TaskResult(
        scores=np.asarray(scores, dtype=float),
        val_metric=best[0],
        n_train=len(y_train),
        regularization=float(best[1]),
        selection=criterion,
    )


@torch.no_grad()
def predict(
    model: nn.Module,
    values: np.ndarray,
    mask: np.ndarray,
    kind: str,
    target_scale: tuple[float, float] = (0.0, 1.0),
    batch_size: int = 512,
) -> np.ndarray:
    """Positive-class probabilities (binary) or predictions in the task's units (regression)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(values), batch_size):
        v = torch.as_tensor(np.asarray(values[start : start + batch_size]), device=device).float()
        m = torch.as_tensor(np.asarray(mask[start : start + batch_size]), device=device).bool()
        logits = model(v, m).float()
        if kind == "binary":
            out.append(torch.softmax(logits, dim=-1)[:, 1].cpu().numpy())
        else:
            out.append(logits[:, 0].cpu().numpy() * target_scale[1] + target_scale[0])
    return np.concatenate(out).astype(float)


def finetune(
    kind: str,
    encoder: nn.Module,
    train: SplitData,
    val: SplitData,
    test: SplitData,
    config: DownstreamConfig,
    *,
    lr: float,
    seed: int,
    checkpoint_path: str | Path | None = None,
    fingerprint: dict | None = None,
) -> TaskResult:
    """Train ``encoder`` + a fresh MLP head end to end; test with the best val checkpoint.

    Used for both full fine-tuning (a pretrained ``encoder``) and supervised training (a
    freshly initialised one); the caller decides which encoder it passes.
    """
    torch.manual_seed(derive_seed(seed, "head"))
    head = build_head(encoder.out_dim, kind, config.head_hidden, config.head_dropout)
    model = use_fast_dropout(TaskModel(encoder, head))
    if kind == "binary":
        y_fit = torch.as_tensor(train.y, dtype=torch.long)
        scale = (0.0, 1.0)
        weights = torch.as_tensor(sqrt_balanced_weights(train.y), dtype=torch.float32)
    else:
        scale = (float(train.y.mean()), float(train.y.std()) or 1.0)
        y_fit = torch.as_tensor((train.y - scale[0]) / scale[1], dtype=torch.float32)
        weights = None
    data = TensorDataset(
        torch.as_tensor(np.asarray(train.values), dtype=torch.float32),
        torch.as_tensor(np.asarray(train.mask), dtype=torch.bool),
        y_fit,
    )

    def loss_fn(m: nn.Module, batch, device: torch.device) -> torch.Tensor:
        v, msk, y = (t.to(device) for t in batch)
        out = m(v, msk).float()
        if kind == "binary":
            return F.cross_entropy(
                out, y, weight=weights.to(device), label_smoothing=config.label_smoothing
            )
        return F.mse_loss(out[:, 0], y)

    criterion, maximize = selection_criterion(kind, val.y, config.selection_min_val_positives)

    def val_fn(m: nn.Module) -> float:
        return selection_value(
            kind, criterion, val.y, predict(m, val.values, val.mask, kind, scale)
        )

    result = fit(
        model,
        loss_fn,
        data,
        TrainConfig(
            epochs=config.epochs,
            batch_size=config.batch_size,
            lr=lr,
            weight_decay=config.weight_decay,
            min_lr_ratio=1e-6 / lr,
            grad_clip=config.grad_clip,
            patience=config.patience,
            maximize=maximize,
            device=config.device,
            seed=derive_seed(seed, "finetune"),
        ),
        val_fn=val_fn,
        checkpoint_path=checkpoint_path,
        fingerprint=fingerprint,
    )
    scores = predict(model, test.values, test.mask, kind, scale)
    val_metric = result.best_metric if result.best_metric is not None else math.nan
    model.cpu()
    return TaskResult(
        scores=scores,
        val_metric=float(val_metric),
        best_epoch=result.best_epoch,
        n_train=len(train),
        epochs_run=int(result.epochs_run),
        selection=criterion,
    )
