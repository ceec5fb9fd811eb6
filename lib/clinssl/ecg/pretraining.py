"""SimCLR / BYOL pretraining of an ECG encoder through the shared training loop.

Why this shape: both methods see the same data (random 2.5-s crops of the training folds'
records, label-free), the same two batched augmentations per crop, the same optimiser and
budget (config ``ecg.pretrain``), so the comparison is fair; the loop makes the job
resumable after a kill and discards a checkpoint made by another job. The encoder file is
``{"encoder": state_dict, "spec": ...}`` — the spec rebuilds the architecture
(:func:`clinssl.ecg.encoders.encoder_from_spec`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from clinssl.ecg.augment import ECGAugmentConfig, augment_batch
from clinssl.ecg.dataset import ECGStore, IndexDataset, collate_rows, crop_length, random_crops
from clinssl.ecg.encoders import encoder_from_spec, encoder_spec
from clinssl.ecg.objectives import build_objective
from clinssl.train import TrainConfig, fit
from clinssl.train.checkpoint import load_torch, save_torch
from clinssl.utils.seeding import derive_seed, torch_seeded

log = logging.getLogger(__name__)

__all__ = ["PretrainConfig", "encoder_spec", "load_encoder", "pretrain", "save_encoder",
           "seeded_encoder"]


@dataclass
class PretrainConfig:
    """Pretraining budget (config ``ecg.pretrain``), identical for SimCLR and BYOL."""

    epochs: int = 20
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_epochs: float = 0.0
    schedule: str = "constant"
    crop_seconds: float = 2.5
    max_train_records: int | None = None
    device: str = "auto"


def seeded_encoder(spec: dict[str, Any], seed: int, role: str) -> nn.Module:
    """The encoder of ``spec`` initialised from ``(seed, role)`` without touching the global
    RNG's stream afterwards (SimCLR, BYOL, supervised and the random floor start from the
    same initialisation at the same seed: ``role`` is the same for all of them)."""
    with torch_seeded(seed, "ecg-encoder-init", role):
        return encoder_from_spec(spec)


def pretrain(
    store: ECGStore,
    method: str,
    spec: dict[str, Any],
    method_settings: dict[str, Any],
    augment: ECGAugmentConfig,
    cfg: PretrainConfig,
    seed: int,
    checkpoint_path: str | os.PathLike[str] | None = None,
    job: dict | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Pretrain the encoder of ``spec`` with ``method``; return it and the history."""
    rows = store.rows("train")
    if cfg.max_train_records and rows.size > cfg.max_train_records:
        rng = np.random.default_rng(derive_seed(seed, "ecg-pretrain-subsample"))
        rows = np.sort(rng.choice(rows, size=int(cfg.max_train_records), replace=False))
    length = crop_length(store.fs, cfg.crop_seconds, store.signals.shape[-1])
    encoder = seeded_encoder(spec, seed, "init")
    with torch_seeded(seed, "ecg-objective-init", method):  # projector, predictor
        model = build_objective(method, encoder, method_settings)

    def loss_fn(m: nn.Module, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
        x = random_crops(store.batch(batch.numpy()), length).to(device)
        generator = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))
        # batches are normalised by the train SD (mV): amplitudes in mV scale by 1/SD
        scale = 1.0 / store.std
        v1 = augment_batch(x, store.fs, augment, generator, units_per_mv=scale)
        v2 = augment_batch(x, store.fs, augment, generator, units_per_mv=scale)
        return m.loss(v1, v2)

    train_cfg = TrainConfig(
        epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
        warmup_epochs=cfg.warmup_epochs, schedule=cfg.schedule, device=cfg.device, seed=seed,
        drop_last=True,
    )  # fmt: skip
    result = fit(
        model,
        loss_fn,
        IndexDataset(rows),
        train_cfg,
        on_step=lambda m, step, total: m.step_hook(step, total),
        checkpoint_path=checkpoint_path,
        collate_fn=collate_rows,
        fingerprint={"method": method, "spec": spec, "settings": method_settings,
                     "augment": asdict(augment), "n_train": int(rows.size), "job": job or {}},
    )  # fmt: skip
    history = {
        "method": method,
        "spec": spec,
        "n_train_records": int(rows.size),
        "crop_samples": length,
        "config": asdict(cfg),
        "settings": dict(method_settings),
        "epochs": result.history,
        "resumed_from_epoch": result.resumed_from_epoch,
    }
    return model.encoder.cpu(), history


def save_encoder(path: str | os.PathLike[str], encoder: nn.Module, spec: dict[str, Any],
                 method: str) -> None:  # fmt: skip
    """Atomically write ``{"encoder": state_dict, "spec": spec, "method": method}``."""
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    save_torch(path, {"encoder": state, "spec": spec, "method": method})


def load_encoder(path: str | os.PathLike[str]) -> tuple[nn.Module, dict[str, Any], str]:
    """The encoder, its spec and method from a file of :func:`save_encoder` (weights only)."""
    blob = load_torch(path, "clinssl ECG encoder file")
    if not isinstance(blob, dict) or not {"encoder", "spec"} <= set(blob):
        raise ValueError(f"{path}: expected an ECG encoder file with 'encoder' and 'spec'")
    encoder = encoder_from_spec(blob["spec"])
    encoder.load_state_dict(blob["encoder"])
    return encoder, blob["spec"], str(blob.get("method", ""))

