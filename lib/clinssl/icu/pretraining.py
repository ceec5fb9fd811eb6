"""SSL pretraining of an ICU encoder with any registered objective, through the shared loop.

Why one function for every paradigm: the comparison is only fair if data, encoder, optimiser,
schedule and budget are identical; :func:`pretrain` builds the paradigm's encoder and
objective from config and hands them to :func:`clinssl.train.fit` with the same
``TrainConfig`` (SLICES: AdamW lr 1e-3, wd 0.01, warm-up then cosine to 1e-6, clip 1.0,
batch 256, no early stopping; the last epoch's encoder is kept). EMA objectives update
their target encoder through the loop's ``on_step`` hook.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from clinssl.icu.encoders import build_encoder
from clinssl.icu.names import PARADIGM_ENCODER
from clinssl.icu.objectives import build_objective
from clinssl.train import TrainConfig, TrainResult, fit
from clinssl.utils.seeding import derive_seed

log = logging.getLogger(__name__)

__all__ = [
    "PretrainConfig",
    "Pretrained",
    "encoder_spec",
    "fresh_encoder",
    "initial_encoder",
    "pretrain",
    "pretrain_budget",
    "rebuild_encoder",
    "subset_rows",
]


@dataclass
class PretrainConfig:
    """Pretraining budget (config ``icu.ssl.pretrain``), identical for every paradigm."""

    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_epochs: float = 10.0
    min_lr: float = 1e-6
    grad_clip: float = 1.0
    micro_batch_size: int | None = None
    device: str = "auto"


class Pretrained(NamedTuple):
    """What :func:`pretrain` returns (unpacks as ``encoder, result, objective``)."""

    #: the trained encoder, the part kept for downstream use (``objective.encoder``)
    encoder: nn.Module
    #: the loop's result (per-epoch loss history)
    result: TrainResult
    #: the whole trained objective (encoder plus its heads and target encoder), which
    #: :func:`clinssl.icu.objective_checks.evaluate_objective` scores on validation stays
    objective: nn.Module


def encoder_spec(
    paradigm: str, n_features: int, encoders: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """``{"name", "n_features", "kwargs"}`` of the encoder ``paradigm`` trains.

    ``encoders`` maps encoder names to their config kwargs (``icu.ssl.encoders``). The spec
    is stored in the model file so downstream steps rebuild exactly this architecture.
    """
    if paradigm not in PARADIGM_ENCODER:
        raise ValueError(f"unknown SSL paradigm {paradigm!r}; known: {sorted(PARADIGM_ENCODER)}")
    name = PARADIGM_ENCODER[paradigm]
    return {"name": name, "n_features": int(n_features), "kwargs": dict(encoders.get(name, {}))}


def rebuild_encoder(spec: dict[str, Any], state_dict: dict | None = None) -> nn.Module:
    """Build the encoder described by ``spec``; load ``state_dict`` when given."""
    encoder = build_encoder(spec["name"], spec["n_features"], **spec["kwargs"])
    if state_dict is not None:
        encoder.load_state_dict(state_dict)
    return encoder


def initial_encoder(paradigm: str, spec: dict[str, Any], seed: int) -> nn.Module:
    """The encoder :func:`pretrain` starts from: initialised by ``(seed, paradigm)``, so
    paradigms that share an architecture start from different draws (a pretrained
    encoder's change is measured against exactly this)."""
    torch.manual_seed(derive_seed(seed, "init", paradigm))
    return rebuild_encoder(spec)


def pretrain(
    paradigm: str,
    values: np.ndarray,
    mask: np.ndarray,
    spec: dict[str, Any],
    objective_kwargs: dict[str, Any],
    config: PretrainConfig,
    seed: int,
    checkpoint_path: str | Path | None = None,
    job: dict[str, Any] | None = None,
) -> Pretrained:
    """Pretrain the encoder of ``spec`` with objective ``paradigm`` on training stays.

    ``values``/``mask`` are the normalized, zero-filled training tensors ``(N, T, D)``.
    ``job`` (:func:`clinssl.train.fingerprint.job_fingerprint`) ties a checkpoint to the
    workflow job and its inputs, so a stale one is never resumed.
    Returns :class:`Pretrained`: the trained encoder, the loop's result (per-epoch loss
    history) and the trained objective, all on CPU.
    """
    if values.shape != mask.shape or values.ndim != 3:
        raise ValueError(
            f"values/mask must be equal (N, T, D) arrays, got {values.shape}, {mask.shape}"
        )
    if values.shape[2] != spec["n_features"]:
        raise ValueError(
            f"encoder expects {spec['n_features']} features, data has {values.shape[2]}"
        )
    encoder = initial_encoder(paradigm, spec, seed)
    objective = build_objective(paradigm, encoder, **objective_kwargs)
    data = TensorDataset(
        torch.as_tensor(np.asarray(values), dtype=torch.float32),
        torch.as_tensor(np.asarray(mask), dtype=torch.bool),
    )

    def loss_fn(model: nn.Module, batch, device: torch.device) -> torch.Tensor:
        v, m = (t.to(device) for t in batch)
        return model.loss(v, m)

    def on_step(model: nn.Module, step: int, total: int) -> None:
        model.ema_update(step, total)

    train_config = TrainConfig(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        warmup_epochs=config.warmup_epochs,
        min_lr_ratio=config.min_lr / config.lr,
        grad_clip=config.grad_clip,
        device=config.device,
        seed=derive_seed(seed, "pretrain", paradigm),
        micro_batch_size=config.micro_batch_size,
    )
    result = fit(
        objective,
        loss_fn,
        data,
        train_config,
        on_step=on_step,
        checkpoint_path=checkpoint_path,
        fingerprint={
            "paradigm": paradigm,
            "spec": spec,
            "objective": objective_kwargs,
            "n": int(len(values)),
            "job": job or {},
        },
    )
    objective.cpu()
    return Pretrained(objective.encoder, result, objective)


_BUDGET_KEYS = (
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "warmup_epochs",
    "min_lr",
    "grad_clip",
    "micro_batch_size",
)


def pretrain_budget(
    pretrain_config: dict[str, Any], paradigm: str, device: str = "auto"
) -> tuple[PretrainConfig, int | None]:
    """``(PretrainConfig, max_stays)`` of ``paradigm`` from config ``icu.ssl.pretrain``.

    The shared budget applies to every paradigm; ``overrides.<paradigm>`` may change its
    ``epochs``/``max_stays``/``batch_size``/``lr`` (see the schema for why SMART may need that on CPU).
    """
    override = (pretrain_config.get("overrides") or {}).get(paradigm) or {}
    unknown = sorted(set(override) - {"epochs", "max_stays", "batch_size", "lr", "micro_batch_size"})
    if unknown:
        raise ValueError(f"icu.ssl.pretrain.overrides.{paradigm}: unknown keys {unknown}")
    kwargs = {k: pretrain_config[k] for k in _BUDGET_KEYS if k in pretrain_config}
    for key in ("epochs", "batch_size", "lr", "micro_batch_size"):
        if key in override:
            kwargs[key] = override[key]
    max_stays = override.get("max_stays", pretrain_config.get("max_stays"))
    return PretrainConfig(**kwargs, device=device), max_stays


def subset_rows(n: int, max_rows: int | None, seed: int, *keys: str) -> np.ndarray:
    """Sorted seeded subset of ``range(n)`` of size ``min(n, max_rows)`` (all when None)."""
    if max_rows is None or max_rows >= n:
        return np.arange(n)
    rng = np.random.default_rng(derive_seed(seed, "subset", *keys))
    return np.sort(rng.permutation(n)[:max_rows])


def fresh_encoder(spec: dict[str, Any], seed: int) -> nn.Module:
    """A newly initialised encoder of ``spec`` whose weights depend only on ``seed``."""
    torch.manual_seed(derive_seed(seed, "init", spec["name"]))
    return rebuild_encoder(spec)
