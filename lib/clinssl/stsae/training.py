"""Training an ST-SAE on cached embeddings with the shared loop (:func:`clinssl.train.fit`).

A training example is a triplet around one QC-passed training window ``r``: its embedding
``z[r]``, the embedding of the same window augmented and re-encoded ``z_aug[r]`` (for the
stability term) and the embedding of the record's next window (for the smoothness term),
when that successor exists *and* is itself a training row — a successor that failed QC or
belongs to another split must not leak into training.

Optimisation (see :func:`train_config_for`): AdamW without weight decay (decay would shrink
the unit-norm atoms the decoder renormalisation restores anyway), no warm-up (the tied init
and the data-centred ``b_pre`` start the model in a sane place), cosine decay to 10 % of the
base rate (so the dictionary settles and seeds are compared at rest, not mid-noise), the
loop's default gradient clipping, and float32 throughout (reconstruction error is the
quantity reported; bf16 autocast would bound it at ~3 significant digits).

Decoder columns stay unit norm: the gradient is projected during backward by a hook
(:func:`clinssl.stsae.models.decoder_grad_projection`, before clipping and AdamW) and the
columns are renormalised after every optimiser step (``on_step``) and once after training.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from clinssl.stsae.losses import LossWeights, loss_terms
from clinssl.stsae.models import (
    INIT_METHODS,
    SAEError,
    SparseAutoencoder,
    decoder_grad_projection,
    init_from_data,
    renormalize_decoder,
)
from clinssl.stsae.names import ACTIVATIONS, VARIANTS
from clinssl.train import TrainConfig, TrainResult, fit, load_model_file, save_model_file
from clinssl.utils.seeding import derive_seed, torch_seeded

__all__ = [
    "MODEL_KIND",
    "SAEConfigError",
    "SAETrainConfig",
    "TripletBatch",
    "TripletDataset",
    "build_model",
    "collate_triplets",
    "evaluate_parts",
    "load_sae",
    "save_sae",
    "train_config_for",
    "train_sae",
    "variant_config",
]

log = logging.getLogger(__name__)

#: metadata ``kind`` of an ST-SAE model file
MODEL_KIND = "stsae"


class SAEConfigError(SAEError):
    """An invalid :class:`SAETrainConfig` value (the message names the field)."""


class TripletBatch(NamedTuple):
    """A batch (or one item) of :class:`TripletDataset`: float32 ``z``, ``z_next`` (zeros
    where there is no usable successor), ``z_aug``, and bool ``has_next``."""

    z: torch.Tensor
    z_next: torch.Tensor
    z_aug: torch.Tensor
    has_next: torch.Tensor


def _integer_vector(values: Any, field: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise SAEError(
            f"{field}: expected a 1-D integer array, got dtype {array.dtype} "
            f"and shape {array.shape}"
        )
    return array.astype(np.int64)


class TripletDataset(Dataset):
    """Triplets ``(z[r], z[next] or zeros, z_aug[r], has_next)`` for the training rows.

    ``z`` and ``z_aug`` are (n, d) float arrays, typically memmaps of the embedding cache;
    they are indexed lazily, one batch at a time (``__getitems__``, which the DataLoader
    calls with a whole batch of indices, gathers each batch with one sorted fancy index).
    ``next_index`` (n,) gives each row's successor in its record (-1: none); ``rows`` are
    the QC-passed training rows, item i being row ``rows[i]``. ``has_next`` is False when the
    successor is missing or not itself among ``rows``.
    """

    def __init__(
        self, z: np.ndarray, z_aug: np.ndarray, next_index: np.ndarray, rows: np.ndarray
    ) -> None:
        _check_embeddings(z, "z")
        _check_embeddings(z_aug, "z_aug")
        if z_aug.shape != z.shape:
            raise SAEError(f"z_aug: expected the shape of z {z.shape}, got {z_aug.shape}")
        n = z.shape[0]
        successors = _integer_vector(next_index, "next_index")
        if successors.shape != (n,):
            raise SAEError(f"next_index: expected shape ({n},), got {successors.shape}")
        if successors.size and (successors.min() < -1 or successors.max() >= n):
            raise SAEError(f"next_index: values must be -1 (no successor) or in [0, {n})")
        self.rows = _integer_vector(rows, "rows")
        if self.rows.size == 0:
            raise SAEError("rows: no training rows")
        if self.rows.min() < 0 or self.rows.max() >= n:
            raise SAEError(
                f"rows: values must be in [0, {n}), got [{self.rows.min()}, {self.rows.max()}]"
            )
        if np.unique(self.rows).size != self.rows.size:
            raise SAEError("rows: contains duplicates (a row would be weighted twice)")
        self.z, self.z_aug = z, z_aug
        in_rows = np.zeros(n, dtype=bool)
        in_rows[self.rows] = True
        successor = successors[self.rows]
        usable = (successor >= 0) & in_rows[np.maximum(successor, 0)]
        #: per item: the successor row used for smoothness, or -1
        self.successor = np.where(usable, successor, -1)

    @property
    def dim(self) -> int:
        return int(self.z.shape[1])

    def __len__(self) -> int:
        return int(self.rows.size)

    def __getitem__(self, index: int) -> TripletBatch:
        batch = self.__getitems__([index])
        return TripletBatch(*(part[0] for part in batch))

    def __getitems__(self, indices: list[int]) -> TripletBatch:
        """The stacked batch of items ``indices`` (what :func:`collate_triplets` passes on)."""
        items = np.asarray(indices, dtype=np.int64)
        if items.ndim != 1 or (
            items.size and (items.min() < -len(self) or items.max() >= len(self))
        ):
            raise IndexError(f"TripletDataset index out of range for {len(self)} items")
        rows, successor = self.rows[items], self.successor[items]
        has_next = successor >= 0
        z_next = np.zeros((items.size, self.dim), dtype=np.float32)
        z_next[has_next] = _gather(self.z, successor[has_next])
        return TripletBatch(
            z=torch.from_numpy(_gather(self.z, rows)),
            z_next=torch.from_numpy(z_next),
            z_aug=torch.from_numpy(_gather(self.z_aug, rows)),
            has_next=torch.from_numpy(has_next),
        )


def _check_embeddings(x: Any, field: str) -> None:
    if not hasattr(x, "ndim") or x.ndim != 2 or not np.issubdtype(x.dtype, np.floating):
        described = (
            f"dtype {getattr(x, 'dtype', type(x).__name__)}, shape {getattr(x, 'shape', '?')}"
        )
        raise SAEError(f"{field}: expected a 2-D float array (n, d), got {described}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise SAEError(f"{field}: expected a non-empty (n, d) array, got shape {x.shape}")


def _gather(x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``x[rows]`` as float32, read in ascending row order (memmap locality), original order
    restored."""
    order = np.argsort(rows, kind="stable")
    out = np.empty((rows.size, x.shape[1]), dtype=np.float32)
    out[order] = np.asarray(x[rows[order]], dtype=np.float32)
    return out


def collate_triplets(data: TripletBatch | list[TripletBatch]) -> TripletBatch:
    """Pass a batch built by ``TripletDataset.__getitems__`` through; stack a list of items
    (the path a DataLoader takes with a sampler that yields single indices)."""
    if isinstance(data, TripletBatch) and data.z.ndim == 2:
        return data
    items = list(data)
    return TripletBatch(*(torch.stack(parts) for parts in zip(*items, strict=True)))


@dataclass(frozen=True)
class SAETrainConfig:
    """Architecture, objective and budget of one SAE fit (config ``stsae.train`` plus the
    variant's activation and loss weights)."""

    n_concepts: int
    activation: str = "relu"
    k: int = 32
    weights: LossWeights = field(default_factory=LossWeights)
    epochs: int = 12
    batch_size: int = 256
    lr: float = 4e-3
    seed: int = 0
    init: str = "geometric_median"
    init_rows: int = 4096
    dead_steps: int = 200
    k_aux: int = 128
    device: str = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.weights, dict):
            object.__setattr__(self, "weights", LossWeights.from_dict(self.weights))
        if not isinstance(self.weights, LossWeights):
            raise SAEConfigError(
                f"weights: expected LossWeights or a dict, got {type(self.weights).__name__}"
            )
        for name in ("n_concepts", "k", "epochs", "batch_size", "init_rows", "dead_steps", "k_aux"):
            _require_int(getattr(self, name), name, minimum=1)
        _require_int(self.seed, "seed", minimum=0)
        if self.activation not in ACTIVATIONS:
            raise SAEConfigError(
                f"activation: expected one of {ACTIVATIONS}, got {self.activation!r}"
            )
        if self.activation == "topk" and self.k > self.n_concepts:
            raise SAEConfigError(
                f"k: Top-K needs k <= n_concepts ({self.n_concepts}), got {self.k}"
            )
        if (
            isinstance(self.lr, bool)
            or not isinstance(self.lr, int | float)
            or not (math.isfinite(self.lr) and self.lr > 0)
        ):
            raise SAEConfigError(f"lr: expected a finite number > 0, got {self.lr!r}")
        if self.init not in INIT_METHODS:
            raise SAEConfigError(f"init: expected one of {INIT_METHODS}, got {self.init!r}")
        if not isinstance(self.device, str):
            raise SAEConfigError(f"device: expected a string, got {self.device!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (for model-file metadata and fingerprints)."""
        return asdict(self)


def _require_int(value: Any, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SAEConfigError(f"{name}: expected an integer >= {minimum}, got {value!r}")


def variant_config(base: SAETrainConfig, variant: str) -> SAETrainConfig:
    """``base`` with a variant's activation and its loss terms switched off (``VARIANTS``)."""
    if variant not in VARIANTS:
        raise SAEConfigError(f"variant: expected one of {tuple(VARIANTS)}, got {variant!r}")
    activation, terms_off = VARIANTS[variant]
    return replace(base, activation=activation, weights=base.weights.without(terms_off))


def train_config_for(config: SAETrainConfig) -> TrainConfig:
    """The shared loop's settings for an SAE fit (schedule: see the module docstring)."""
    return TrainConfig(
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=float(config.lr),
        weight_decay=0.0,
        warmup_epochs=0.0,
        min_lr_ratio=0.1,
        schedule="cosine",
        device=config.device,
        amp=False,
        seed=config.seed,
    )


def _init_sample(z: np.ndarray, rows: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Up to ``size`` training rows of ``z`` drawn without replacement (seeded)."""
    rng = np.random.default_rng(derive_seed(seed, "stsae-init-rows"))
    chosen = rows if rows.size <= size else rng.choice(rows, size=size, replace=False)
    return np.asarray(z[np.sort(chosen)], dtype=np.float32)


def build_model(dim: int, config: SAETrainConfig) -> SparseAutoencoder:
    """A freshly initialised SAE whose weights depend only on ``config.seed``."""
    with torch_seeded(config.seed, "stsae-init"):
        return SparseAutoencoder(dim, config.n_concepts, config.activation, config.k)


def train_sae(
    z: np.ndarray,
    z_aug: np.ndarray,
    next_index: np.ndarray,
    train_rows: np.ndarray,
    config: SAETrainConfig,
    *,
    checkpoint_path: str | Path | None = None,
    fingerprint: dict[str, Any] | None = None,
) -> tuple[SparseAutoencoder, TrainResult]:
    """Fit an SAE on the triplets of ``train_rows``; return it (CPU, eval mode) and the loop's
    result. Resumable through ``checkpoint_path`` (the loop's checkpointing; the
    fingerprint covers this config and the data's shape besides the caller's
    ``fingerprint``). The last history record also holds the final loss parts over all
    training rows, as ``final_<part>`` (see :data:`clinssl.stsae.losses.PART_NAMES`).
    """
    dataset = TripletDataset(z, z_aug, next_index, train_rows)
    model = build_model(dataset.dim, config)
    init_from_data(model, _init_sample(z, dataset.rows, config.init_rows, config.seed), config.init)

    def loss_fn(module: torch.nn.Module, batch: Any, device: torch.device) -> torch.Tensor:
        loss, _ = loss_terms(
            module,
            batch,
            config.weights,
            dead_steps=config.dead_steps,
            k_aux=config.k_aux,
            device=device,
        )
        return loss

    def on_step(module: torch.nn.Module, step: int, total: int) -> None:
        renormalize_decoder(module)

    full_fingerprint = {
        "sae": config.to_dict(),
        "data": {"n": int(z.shape[0]), "dim": dataset.dim, "train_rows": len(dataset)},
        "job": fingerprint or {},
    }
    with decoder_grad_projection(model):
        result = fit(
            model,
            loss_fn,
            dataset,
            train_config_for(config),
            on_step=on_step,
            checkpoint_path=checkpoint_path,
            fingerprint=full_fingerprint,
            collate_fn=collate_triplets,
        )
    renormalize_decoder(model)
    final = evaluate_parts(model, dataset, config)
    model.to("cpu").eval()
    if result.history:
        result.history[-1].update({f"final_{name}": value for name, value in final.items()})
    log.info("final parts: %s", " ".join(f"{k}={v:.4g}" for k, v in final.items()))
    return model, result


def evaluate_parts(
    model: SparseAutoencoder,
    dataset: TripletDataset,
    config: SAETrainConfig,
    batch_size: int = 8192,
) -> dict[str, float]:
    """Every loss part averaged over the dataset's rows (batch-size weighted), model in eval
    mode on its current device; the dead-latent buffer is left untouched."""
    device = model.b_pre.device
    was_training = model.training
    model.eval()
    sums: dict[str, float] = {}
    try:
        with torch.no_grad():
            for start in range(0, len(dataset), batch_size):
                batch = dataset.__getitems__(
                    list(range(start, min(len(dataset), start + batch_size)))
                )
                _, parts = loss_terms(
                    model,
                    batch,
                    config.weights,
                    dead_steps=config.dead_steps,
                    k_aux=config.k_aux,
                    device=device,
                )
                size = batch.z.shape[0]
                for name, value in parts.items():
                    sums[name] = sums.get(name, 0.0) + float(value) * size
    finally:
        model.train(was_training)
    return {name: value / len(dataset) for name, value in sums.items()}


def save_sae(path: str | Path, model: SparseAutoencoder, config_dict: dict[str, Any]) -> None:
    """Write the weights plus the spec to rebuild the module and ``config_dict`` (plain
    data only: the file is read back with ``weights_only=True``)."""
    if not isinstance(model, SparseAutoencoder):
        raise SAEError(f"model: expected a SparseAutoencoder, got {type(model).__name__}")
    _check_plain(config_dict, "config_dict")
    save_model_file(path, model, {"kind": MODEL_KIND, "spec": model.spec(), "config": config_dict})


def _check_plain(value: Any, field: str) -> None:
    """Refuse what ``torch.load(weights_only=True)`` could not read back (e.g. a numpy
    scalar or a dataclass), naming where it sits; the top level must be a dict."""
    if field == "config_dict" and not isinstance(value, dict):
        raise SAEError(f"config_dict: expected a dict, got {type(value).__name__}")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SAEError(f"{field}: keys must be strings, got {key!r}")
            _check_plain(item, f"{field}.{key}")
    elif isinstance(value, list | tuple):
        for position, item in enumerate(value):
            _check_plain(item, f"{field}[{position}]")
    elif value is not None and not isinstance(value, bool | int | float | str):
        raise SAEError(
            f"{field}: expected plain data (dict, list, str, number, bool, None), "
            f"got {type(value).__name__}; convert it first (e.g. SAETrainConfig.to_dict())"
        )


def load_sae(path: str | Path) -> SparseAutoencoder:
    """Rebuild the SAE saved by :func:`save_sae` (CPU, eval mode)."""
    state, metadata = load_model_file(path)
    kind = metadata.get("kind") if isinstance(metadata, dict) else None
    spec = metadata.get("spec") if kind == MODEL_KIND else None
    if not isinstance(spec, dict):
        raise SAEError(f"{path}: not an ST-SAE model file (metadata kind {kind!r})")
    with torch_seeded(0, "stsae-load"):  # the weights are overwritten; keep the global stream
        model = SparseAutoencoder(**spec)
    model.load_state_dict(state)
    return model.eval()
