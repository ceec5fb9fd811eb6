"""Training of the event-sequence mortality model on :class:`EventTensors`.

The loop is the shared :func:`clinssl.train.fit` (AdamW, cosine schedule, gradient clipping,
resumable per-epoch checkpoint, early stopping): only the loss and the validation metric are
the branch's own.

* **Loss**: :func:`clinssl.events.model.temporal_aware_loss` on each batch, with ``m`` = the
  stay's ``minutes_last``. ``decay_per_day = 0`` (the default) is the plain BCE. A positive
  decay is opt-in because its weights are not independent of the label: a stay that ends in
  death usually has events up to the death, a survivor's last event often comes hours before
  the discharge, so the weighting also up-weights deaths and moves the calibration.
* **Early stopping** on the validation AUROC (fold ``"val"``), ``patience`` epochs without
  improvement; ``fit`` restores the best epoch's weights, so the returned model *is* the best
  model (save it with :func:`save_event_model`). ``fit`` keeps the latest state in
  ``checkpoint_path`` to resume a killed run and deletes it after success. Without any
  validation stay there is no early stopping and the last epoch is returned; when the
  validation AUROC is undefined (one class only) no epoch counts as best and the last
  epoch's weights are returned as well.
* **Initial weights** come from ``torch_seeded(seed, "events-init")`` and dropout from the
  stream ``fit`` seeds from ``seed``: identical calls give identical weights on CPU.
* **Attention** (``attention_every = N > 0``): after every N-th optimiser step of an epoch
  (batch index 0, N, 2N, ...) the batch just trained on is run once more in eval mode
  (no dropout, no gradient, no random draw, so training is unchanged) and its attention
  weights go to an :class:`~clinssl.events.model.AttentionRecorder`, written to
  ``attention_path`` at the end (an empty archive when nothing was recorded). A run resumed
  from a checkpoint records only the epochs it ran itself.

The returned ``history`` dict holds only deterministic quantities (no wall-clock timings), so
a JSON file written from it is byte-identical across reruns.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from clinssl.events.dataset import EventDataset, EventTensors, collate_events
from clinssl.events.evaluation import predict
from clinssl.events.model import (
    AttentionRecorder,
    EventModelConfig,
    EventSequenceModel,
    temporal_aware_loss,
)
from clinssl.stats.metrics import auroc
from clinssl.train import TrainConfig, TrainResult, fit, load_model_file, save_model_file
from clinssl.utils.seeding import torch_seeded

__all__ = [
    "MODEL_FILE_FORMAT",
    "EventModelFileError",
    "EventTrainConfig",
    "EventTrainingError",
    "event_model_config",
    "load_event_model",
    "save_event_model",
    "train_event_model",
]

log = logging.getLogger(__name__)

#: ``format`` entry of the metadata of a saved event model
MODEL_FILE_FORMAT = "clinssl.events.EventSequenceModel/1"


class EventTrainingError(ValueError):
    """A training setting is impossible, or the tensors do not fit the model config."""


class EventModelFileError(ValueError):
    """A saved event model file is not one :func:`save_event_model` wrote."""


def _require_int(name: str, value: Any, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise EventTrainingError(f"{name}: expected an integer >= {minimum}, got {value!r}")


def _require_number(name: str, value: Any, *, positive: bool) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise EventTrainingError(f"{name}: expected a finite number {bound}, got {value!r}")


@dataclass
class EventTrainConfig:
    """Budget and objective of one training run (see the module docstring).

    ``patience`` None = no early stopping; ``attention_every`` 0 = record no attention.
    """

    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.01
    patience: int | None = 5
    decay_per_day: float = 0.0
    seed: int = 0
    device: str = "auto"
    attention_every: int = 0

    def __post_init__(self) -> None:
        _require_int("epochs", self.epochs, 1)
        _require_int("batch_size", self.batch_size, 1)
        _require_number("lr", self.lr, positive=True)
        _require_number("weight_decay", self.weight_decay, positive=False)
        if self.patience is not None:
            _require_int("patience", self.patience, 1)
        _require_number("decay_per_day", self.decay_per_day, positive=False)
        _require_int("seed", self.seed, 0)
        _require_int("attention_every", self.attention_every, 0)
        if not isinstance(self.device, str) or not self.device:
            raise EventTrainingError(
                f"device: expected 'auto', 'cpu' or 'cuda[:i]', got {self.device!r}"
            )

    def loop_config(self) -> TrainConfig:
        """The shared loop's config (maximising the validation AUROC)."""
        return TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay, patience=self.patience, maximize=True,
            device=self.device, seed=self.seed,
        )


def event_model_config(tensors: EventTensors, **architecture: Any) -> EventModelConfig:
    """An :class:`EventModelConfig` whose input widths (``n_types``, ``text_dim``,
    ``static_dim``) are those of ``tensors``; ``architecture`` sets the other fields."""
    widths = {"n_types": tensors.n_types, "text_dim": tensors.text_dim,
              "static_dim": tensors.static_dim}  # fmt: skip
    clash = sorted(k for k in widths if k in architecture and architecture[k] != widths[k])
    if clash:
        raise EventTrainingError(
            f"{', '.join(clash)}: expected the widths of the tensors {widths}, got "
            f"{ {k: architecture[k] for k in clash} }"
        )
    return EventModelConfig(**{**architecture, **widths})


def _check_compatible(tensors: EventTensors, config: EventModelConfig) -> None:
    got = {"n_types": tensors.n_types, "text_dim": tensors.text_dim,
           "static_dim": tensors.static_dim}  # fmt: skip
    bad = {k: v for k, v in got.items() if getattr(config, k) != v}
    if bad:
        raise EventTrainingError(
            f"model config: {', '.join(bad)}: expected the widths of the tensors {bad}, got "
            f"{ {k: getattr(config, k) for k in bad} } (build the config with "
            "event_model_config)"
        )


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


class _AttentionHook:
    """``on_step`` hook: re-runs every N-th batch of an epoch in eval mode and records its
    attention (the loss function leaves the batch in :attr:`last_batch`)."""

    def __init__(self, recorder: AttentionRecorder, steps_per_epoch: int) -> None:
        self.recorder = recorder
        self.steps_per_epoch = steps_per_epoch
        self.last_batch: dict[str, torch.Tensor] | None = None

    def __call__(self, model: nn.Module, step: int, total_steps: int) -> None:
        epoch, batch_index = divmod(step - 1, self.steps_per_epoch)
        if self.last_batch is None or not self.recorder.should_record(batch_index):
            return
        batch = self.last_batch
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                _, weights = model(batch["seq"], batch["mask"], batch["static"],
                                   return_attention=True)  # fmt: skip
        finally:
            model.train(was_training)
        self.recorder.record(weights, batch["mask"], epoch=epoch + 1, batch_index=batch_index)


def _val_auroc(model: nn.Module, tensors: EventTensors, rows: np.ndarray, batch_size: int) -> float:
    prob = predict(model, tensors, rows, batch_size=batch_size)
    return float(auroc(tensors.label[rows], prob)[0])


def _history(result: TrainResult, n_train: int, n_val: int) -> dict[str, Any]:
    records = result.history
    return {
        "epoch": [int(r["epoch"]) for r in records],
        "train_loss": [float(r["train_loss"]) for r in records],
        "lr": [float(r["lr"]) for r in records],
        "val_auroc": [float(r["val_metric"]) if "val_metric" in r else None for r in records],
        "best_epoch": result.best_epoch,
        "best_val_auroc": result.best_metric,
        "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early,
        "resumed_from_epoch": result.resumed_from_epoch,
        "n_train": n_train,
        "n_val": n_val,
    }


def train_event_model(
    tensors: EventTensors,
    model_config: EventModelConfig,
    train_config: EventTrainConfig,
    *,
    checkpoint_path: str | os.PathLike[str] | None = None,
    fingerprint: dict[str, Any] | None = None,
    attention_path: str | os.PathLike[str] | None = None,
) -> tuple[EventSequenceModel, TrainResult, dict[str, Any]]:
    """Train on the ``"train"`` rows, select the epoch by ``"val"`` AUROC; return the model
    (best epoch's weights, eval mode), the loop's :class:`TrainResult` and a JSON-able
    history (see the module docstring)."""
    _check_compatible(tensors, model_config)
    train_rows, val_rows = tensors.rows("train"), tensors.rows("val")
    if not train_rows.size:
        raise EventTrainingError("split: expected at least one 'train' stay to train on")
    if not val_rows.size:
        log.warning("no 'val' stays: training without early stopping (last epoch kept)")
    with torch_seeded(train_config.seed, "events-init"):
        model = EventSequenceModel(model_config)

    steps_per_epoch = math.ceil(train_rows.size / train_config.batch_size)
    recorder = AttentionRecorder(max(1, train_config.attention_every))
    hook = _AttentionHook(recorder, steps_per_epoch) if train_config.attention_every else None
    decay = float(train_config.decay_per_day)

    def loss_fn(net: nn.Module, batch: dict[str, torch.Tensor], device: torch.device):
        batch = _to_device(batch, device)
        if hook is not None:
            hook.last_batch = batch
        logit = net(batch["seq"], batch["mask"], batch["static"])
        return temporal_aware_loss(logit.float(), batch["label"], batch["minutes_last"], decay)

    def val_fn(net: nn.Module) -> float:
        return _val_auroc(net, tensors, val_rows, max(256, train_config.batch_size))

    caller = {
        "caller": fingerprint or {},
        "model": model_config.to_dict(),
        "events_train": asdict(train_config),
        "tensors": {"shape": list(tensors.seq.shape), "n_train": int(train_rows.size),
                    "n_val": int(val_rows.size)},
    }  # fmt: skip
    result = fit(
        model, loss_fn, EventDataset(tensors, train_rows), train_config.loop_config(),
        val_fn=val_fn if val_rows.size else None, on_step=hook,
        checkpoint_path=checkpoint_path, fingerprint=caller, collate_fn=collate_events,
    )
    if hook is not None:
        hook.last_batch = None
    if attention_path is not None:
        recorder.save(attention_path)
    model.eval()
    return model, result, _history(result, int(train_rows.size), int(val_rows.size))


def save_event_model(
    path: str | os.PathLike[str], model: EventSequenceModel, config: EventModelConfig
) -> None:
    """Write the weights (on CPU) and the architecture atomically (a model file of
    :func:`clinssl.train.save_model_file`; same weights give the same bytes)."""
    if config.to_dict() != model.config.to_dict():
        raise EventTrainingError(
            f"{path}: config: expected the model's own architecture {model.config.to_dict()}, "
            f"got {config.to_dict()}"
        )
    save_model_file(path, model, {"format": MODEL_FILE_FORMAT, "model_config": config.to_dict()})


def load_event_model(path: str | os.PathLike[str]) -> EventSequenceModel:
    """Rebuild a model written by :func:`save_event_model` (read with ``weights_only``),
    on CPU in eval mode."""
    state, metadata = load_model_file(path)
    if metadata.get("format") != MODEL_FILE_FORMAT or "model_config" not in metadata:
        raise EventModelFileError(
            f"{path}: metadata field format: expected {MODEL_FILE_FORMAT!r} with a "
            f"model_config, got {metadata.get('format')!r}"
        )
    try:
        config = EventModelConfig(**metadata["model_config"])
        model = EventSequenceModel(config)
        model.load_state_dict(state)
    except (TypeError, ValueError, RuntimeError) as err:
        raise EventModelFileError(
            f"{path}: model_config/state_dict: expected a consistent event model ({err})"
        ) from err
    return model.eval()
