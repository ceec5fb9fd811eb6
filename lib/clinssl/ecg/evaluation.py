"""Label-efficient evaluation of ECG encoders on PTB-XL's superclasses (fold 9 val, fold 10 test).

Protocols (the seed called full fine-tuning a "linear probe"; here they are separate):

* ``linear_probe`` — the encoder is frozen; a logistic layer per superclass is fitted on the
  embeddings of the labelled training records' sliding windows, its L2 strength chosen on
  fold 9;
* ``finetune`` — encoder + linear head trained end to end (BCE) on random crops, the best
  fold-9 epoch kept (a deep copy: the seed saved the last epoch as "best");
* ``scratch`` — the same from a freshly initialised encoder (the supervised baseline).

At every label fraction the labelled records are a stratified, patient-respecting sample of
folds 1–8 (whole patients, stratified by each patient's rarest superclass), the same for
every method at a seed, so paired comparisons are paired. Predictions are made on sliding
windows and aggregated per record (``mean`` or ``max``); test metrics are macro AUROC and
AUPRC (threshold-free) and macro F1 at per-class thresholds chosen on fold 9, with CIs that
resample test **patients**.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from clinssl.ecg.dataset import (
    ECGStore,
    IndexDataset,
    collate_rows,
    crop_length,
    random_crops,
    sliding_windows,
)
from clinssl.ecg.names import LINEAR_PROBE, METHOD_PROTOCOLS, SUPERCLASSES
from clinssl.stats.bootstrap import evaluate, evaluate_macro_f1
from clinssl.stats.metrics import f1_thresholds, metric_values
from clinssl.train import TrainConfig, fit
from clinssl.utils.device import select_device
from clinssl.utils.seeding import derive_seed, torch_seeded

log = logging.getLogger(__name__)

__all__ = ["Classifier", "EvalConfig", "FinetuneConfig", "evaluate_method", "label_subset",
           "window_scores"]


@dataclass
class FinetuneConfig:
    """Budget of fine-tuning and of the supervised baseline (config ``ecg.evaluate.finetune``)."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int | None = 5


@dataclass
class EvalConfig:
    """Evaluation settings (config ``ecg.evaluate``)."""

    label_fractions: tuple[float, ...] = (0.1, 1.0)
    crop_seconds: float = 2.5
    window_stride_seconds: float = 1.25
    val_stride_seconds: float = 2.5
    aggregate: str = "max"
    probe_C_grid: tuple[float, ...] = (0.01, 0.1, 1.0)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    n_bootstrap: int = 1000
    ci_level: float = 0.95
    batch_size: int = 256
    device: str = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.finetune, dict):
            self.finetune = FinetuneConfig(**self.finetune)
        self.label_fractions = tuple(float(f) for f in self.label_fractions)
        self.probe_C_grid = tuple(float(c) for c in self.probe_C_grid)
        if self.aggregate not in ("mean", "max"):
            raise ValueError(f"ecg.evaluate.aggregate must be 'mean' or 'max', got {self.aggregate!r}")
        if not all(0.0 < f <= 1.0 for f in self.label_fractions):
            raise ValueError(f"ecg.evaluate.label_fractions must be in (0, 1]: {self.label_fractions}")


def label_subset(meta: pd.DataFrame, rows: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """The labelled training rows at ``fraction``: whole patients, ``ceil(fraction · n)`` per
    stratum (at least one), strata = each patient's rarest positive superclass."""
    rows = np.asarray(rows)
    if fraction >= 1.0:
        return rows
    sub = meta.iloc[rows]
    labels = sub[list(SUPERCLASSES)].to_numpy()
    frequency = labels.sum(axis=0)
    per_patient = pd.DataFrame(labels, columns=list(SUPERCLASSES)).groupby(
        sub["patient_id"].to_numpy()).max()  # fmt: skip
    rarest = np.where(per_patient.to_numpy().any(axis=1),
                      np.argmin(np.where(per_patient.to_numpy() > 0, frequency, np.inf), axis=1),
                      -1)  # fmt: skip
    rng = np.random.default_rng(derive_seed(seed, "ecg-label-fraction", str(float(fraction))))
    chosen = []
    for stratum in np.unique(rarest):
        patients = per_patient.index.to_numpy()[rarest == stratum]
        k = max(1, int(np.ceil(fraction * patients.size)))
        chosen.append(rng.choice(patients, size=k, replace=False))
    keep = np.isin(sub["patient_id"].to_numpy(), np.concatenate(chosen))
    return rows[keep]


class Classifier(nn.Module):
    """Encoder → global average pool → ``Linear(out_dim, 5)`` (one logit per superclass)."""

    def __init__(self, encoder: nn.Module, n_classes: int = len(SUPERCLASSES)) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.out_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder.embed(x))


@torch.no_grad()
def window_outputs(
    fn: Any, store: ECGStore, rows: np.ndarray, cfg: EvalConfig, device: torch.device
) -> np.ndarray:
    """``fn`` (windows (k, 12, crop) → (k, d)) on every sliding window of ``rows``:
    (n, W, d) float32."""
    length = crop_length(store.fs, cfg.crop_seconds, store.signals.shape[-1])
    stride = max(1, int(round(cfg.window_stride_seconds * store.fs)))
    out = []
    per_batch = max(1, cfg.batch_size // 8)
    for start in range(0, len(rows), per_batch):
        windows = sliding_windows(store.batch(rows[start : start + per_batch]), length, stride)
        b, w = windows.shape[:2]
        values = fn(windows.reshape(b * w, *windows.shape[2:]).to(device))
        out.append(values.float().cpu().numpy().reshape(b, w, -1))
    return np.concatenate(out)


def _aggregate(p: np.ndarray, how: str) -> np.ndarray:
    return p.max(axis=1) if how == "max" else p.mean(axis=1)


def window_scores(model: nn.Module, store: ECGStore, rows: np.ndarray, cfg: EvalConfig,
                  device: torch.device, stride_seconds: float | None = None) -> np.ndarray:  # fmt: skip
    """Per-record probabilities (n, 5): sigmoid of the model's window logits, aggregated
    (windows every ``stride_seconds``, default ``cfg.window_stride_seconds``)."""
    model.eval()
    if stride_seconds is not None:
        cfg = dataclasses.replace(cfg, window_stride_seconds=stride_seconds)
    probs = window_outputs(lambda x: torch.sigmoid(model(x)), store, rows, cfg, device)
    return _aggregate(probs, cfg.aggregate)


def _macro_auroc(y: np.ndarray, p: np.ndarray) -> float:
    """Macro AUROC over the classes present in both values (model selection on fold 9)."""
    return float(metric_values("multilabel", y, p, only="auroc")["auroc"][0])


def fit_logistic_head(x: torch.Tensor, y: torch.Tensor, c: float, max_iter: int = 200) -> nn.Linear:
    """One logistic layer per label column, fitted jointly by full-batch L-BFGS to the
    objective of scikit-learn's ``LogisticRegression(C=c)`` (mean log-loss + ‖W‖² / (2·C·n);
    the columns' losses are separable, so this equals one fit per class) — in torch because
    thousands of window embeddings × 5 classes × a C grid cost seconds with L-BFGS in one
    call and minutes as separate scikit-learn fits."""
    head = nn.Linear(x.shape[1], y.shape[1]).to(device=x.device, dtype=x.dtype)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    optimizer = torch.optim.LBFGS(head.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-9, tolerance_change=1e-12)  # fmt: skip
    penalty = 1.0 / (2.0 * c * x.shape[0])

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(head(x), y) * y.shape[1]
        loss = loss + penalty * head.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return head.eval()


def _embeddings(encoder: nn.Module, store: ECGStore, rows: np.ndarray, cfg: EvalConfig,
                device: torch.device) -> dict[int, torch.Tensor]:  # fmt: skip
    """Frozen window embeddings (W, d) of every row, computed once per encoder (the probe at
    every label fraction reuses them)."""
    encoder = encoder.to(device).eval()
    emb = torch.from_numpy(window_outputs(encoder.embed, store, rows, cfg, device))
    return {int(r): emb[i] for i, r in enumerate(rows)}


def _linear_probe(emb: dict[int, torch.Tensor], store: ECGStore, train: np.ndarray,
                  val: np.ndarray, test: np.ndarray, cfg: EvalConfig, device: torch.device):  # fmt: skip
    def stack(rows: np.ndarray) -> torch.Tensor:
        return torch.stack([emb[int(r)] for r in rows])

    e_train, e_val, e_test = stack(train), stack(val), stack(test)
    n, w, d = e_train.shape
    flat_train = e_train.reshape(n * w, d)
    mean, std = flat_train.mean(dim=0), flat_train.std(dim=0).clamp_min(1e-6)

    def standardise(e: torch.Tensor) -> torch.Tensor:
        return ((e - mean) / std).to(device)

    x_train = standardise(flat_train)
    y_windows = torch.from_numpy(np.repeat(store.labels(train), w, axis=0)).to(device)

    def predict(head: nn.Linear, e: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            p = torch.sigmoid(head(standardise(e.reshape(-1, d)))).cpu().numpy()
        return _aggregate(p.reshape(e.shape[0], e.shape[1], -1), cfg.aggregate)

    best: tuple[float, float, nn.Linear] | None = None
    for c in cfg.probe_C_grid:
        head = fit_logistic_head(x_train, y_windows, c)
        score = _macro_auroc(store.labels(val), predict(head, e_val))
        if best is None or score > best[0]:
            best = (score, c, head)
    assert best is not None
    score, c, head = best
    return predict(head, e_val), predict(head, e_test), {"C": c, "val_macro_auroc": score}


def _train_end_to_end(encoder: nn.Module, store: ECGStore, train: np.ndarray, val: np.ndarray,
                      test: np.ndarray, cfg: EvalConfig, lr: float, seed: int,
                      checkpoint: Path | None, job: dict):  # fmt: skip
    with torch_seeded(seed, "ecg-head-init"):
        model = Classifier(encoder)
    length = crop_length(store.fs, cfg.crop_seconds, store.signals.shape[-1])
    labels = torch.from_numpy(store.labels().copy())
    criterion = nn.BCEWithLogitsLoss()
    device = select_device(cfg.device)
    y_val = store.labels(val)

    def loss_fn(m: nn.Module, batch: torch.Tensor, dev: torch.device) -> torch.Tensor:
        x = random_crops(store.batch(batch.numpy()), length).to(dev)
        return criterion(m(x).float(), labels[batch].to(dev))

    def val_fn(m: nn.Module) -> float:  # epoch selection: non-overlapping windows (cheaper)
        return _macro_auroc(y_val, window_scores(m, store, val, cfg, device, cfg.val_stride_seconds))

    ft = cfg.finetune
    train_cfg = TrainConfig(epochs=ft.epochs, batch_size=ft.batch_size, lr=lr,
                            weight_decay=ft.weight_decay, schedule="constant", patience=ft.patience,
                            maximize=True, device=cfg.device, seed=seed)  # fmt: skip
    result = fit(model, loss_fn, IndexDataset(train), train_cfg, val_fn=val_fn,
                 checkpoint_path=checkpoint, collate_fn=collate_rows,
                 fingerprint={"n_train": int(train.size), "job": job})  # fmt: skip
    p_val = window_scores(model, store, val, cfg, device)
    p_test = window_scores(model, store, test, cfg, device)
    return p_val, p_test, {"best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
                           "val_macro_auroc": result.best_metric}  # fmt: skip


def evaluate_method(
    store: ECGStore,
    method: str,
    encoder: nn.Module,
    cfg: EvalConfig,
    seed: int,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    job: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every protocol of ``method`` at every label fraction: long metrics table (method,
    protocol, label_fraction, seed, metric, value, ci_low, ci_high, ...) and the test
    predictions (one row per test record and run)."""
    train, val, test = store.rows("train"), store.rows("val"), store.rows("test")
    if val.size == 0 or test.size == 0:
        raise ValueError("ECG evaluation needs records in the val (fold 9) and test (fold 10) splits")
    device = select_device(cfg.device)
    y_val, y_test = store.labels(val), store.labels(test)
    groups = store.meta["patient_id"].to_numpy()[test]
    metric_rows, prediction_frames = [], []
    emb = None
    if LINEAR_PROBE in METHOD_PROTOCOLS[method]:
        emb = _embeddings(copy.deepcopy(encoder), store, np.concatenate([train, val, test]), cfg,
                          device)  # fmt: skip
    for protocol in METHOD_PROTOCOLS[method]:
        for fraction in cfg.label_fractions:
            labelled = label_subset(store.meta, train, fraction, seed)
            if protocol == LINEAR_PROBE:
                p_val, p_test, info = _linear_probe(emb, store, labelled, val, test, cfg, device)
            else:
                start = copy.deepcopy(encoder)
                lr = cfg.finetune.lr
                ckpt = (Path(checkpoint_dir) / f"{protocol}_{fraction}.ckpt") if checkpoint_dir else None
                p_val, p_test, info = _train_end_to_end(
                    start, store, labelled, val, test, cfg, lr, seed, ckpt,
                    {**(job or {}), "protocol": protocol, "fraction": fraction})  # fmt: skip
            thresholds = f1_thresholds(y_val, p_val)
            common = {"method": method, "protocol": protocol, "label_fraction": fraction,
                      "seed": seed, "n_train_records": int(labelled.size),
                      "n_train_patients": int(store.meta["patient_id"].iloc[labelled].nunique()),
                      "selected": _selected(info), "epochs_run": info.get("epochs_run", 0),
                      "val_macro_auroc": info.get("val_macro_auroc")}  # fmt: skip
            ci = evaluate("multilabel", y_test, p_test, groups=groups, n_resamples=cfg.n_bootstrap,
                          confidence=cfg.ci_level, seed=seed)  # fmt: skip
            ci["f1"] = evaluate_macro_f1(y_test, p_test, thresholds, groups=groups,
                                         n_resamples=cfg.n_bootstrap, confidence=cfg.ci_level,
                                         seed=seed)  # fmt: skip
            for metric, m in ci.items():
                metric_rows.append({**common, "metric": metric, **m})
            frame = store.meta.iloc[test][["ecg_id", "patient_id"]].reset_index(drop=True)
            frame = frame.assign(method=method, protocol=protocol, label_fraction=fraction, seed=seed)
            for j, name in enumerate(SUPERCLASSES):
                frame[f"label_{name}"] = y_test[:, j].astype(np.int8)
                frame[f"score_{name}"] = p_test[:, j]
            prediction_frames.append(frame)
            log.info("%s %s @ %s: test macro AUROC %.3f [%.3f, %.3f]", method, protocol, fraction,
                     ci["auroc"]["value"], ci["auroc"]["ci_low"], ci["auroc"]["ci_high"])  # fmt: skip
    return pd.DataFrame(metric_rows), pd.concat(prediction_frames, ignore_index=True)


def _selected(info: dict[str, Any]) -> str:
    if "C" in info:
        return f"C={info['C']:g}"
    return f"best_epoch={info.get('best_epoch')}"


