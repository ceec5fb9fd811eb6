"""The training loop shared by every objective (SSL pretraining, probes, fine-tuning).

Why one loop: paradigms must be compared under the same budget, optimiser, schedule and
early-stopping rule; only the loss differs. A caller supplies

* ``loss_fn(model, batch, device) -> scalar tensor`` — the objective (moves the batch itself),
* optionally ``val_fn(model) -> float`` — the validation metric for early stopping
  (``TrainConfig.maximize`` says its direction; the best epoch's weights are restored at the end),
* optionally ``on_step(model, step, total_steps)`` — called after every optimiser step, e.g. to
  update an EMA target encoder (JEPA, SMART).

Resumability: with ``checkpoint_path`` the full state is written atomically after every epoch;
a rerun after a kill (SIGTERM or SIGKILL) continues from the last completed epoch and, on CPU,
reaches exactly the weights an uninterrupted run reaches (the shuffle order of each epoch is
derived from ``seed`` and the epoch number, and RNG states are restored). The checkpoint
records a fingerprint: the loop's config plus the caller's ``fingerprint``, which for a
workflow job is :func:`clinssl.train.fingerprint.job_fingerprint` (every parameter and a
digest of every input file). A checkpoint whose fingerprint differs — another job, or the
same job after an upstream output changed — is discarded with a log line naming what
changed, and training starts over. The checkpoint is deleted after a successful run, so a
deliberate rerun starts from scratch.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from clinssl.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from clinssl.train.fingerprint import fingerprint_changes
from clinssl.utils.device import autocast_dtype, select_device
from clinssl.utils.seeding import derive_seed

log = logging.getLogger(__name__)

LossFn = Callable[[nn.Module, Any, torch.device], torch.Tensor]
ValFn = Callable[[nn.Module], float]
StepHook = Callable[[nn.Module, int, int], None]


SCHEDULES = ("cosine", "linear", "constant")


@dataclass
class TrainConfig:
    """Optimisation budget and schedule (AdamW, linear warm-up then cosine, linear or no decay)."""

    epochs: int
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_epochs: float = 0.0
    min_lr_ratio: float = 0.0
    schedule: str = "cosine"  # "cosine" | "linear" | "constant"
    grad_clip: float | None = 1.0
    patience: int | None = None  # epochs without val improvement before stopping
    maximize: bool = True  # direction of val_fn
    device: str = "auto"
    amp: bool = True  # bf16/fp16 autocast on CUDA only; CPU stays float32
    seed: int = 0
    drop_last: bool = False
    num_workers: int = 0
    #: split each batch into chunks of this many samples and accumulate their gradients
    #: before the one optimizer step (same batch, same schedule): a big model's activations
    #: of a small chunk stay in CPU cache and take less memory, e.g. SMART's MART trains
    #: ~10 % faster per sample in chunks of 16 than at 32. None = the whole batch at once
    micro_batch_size: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")


def _micro_batches(batch: Any, size: int | None) -> list[tuple[Any, float]]:
    """``[(chunk, share of the batch)]``: the batch itself, or (``size`` set and smaller
    than a batch of tensors) its consecutive chunks, each weighted by its share so that the
    accumulated loss is the batch mean of the chunks' means."""
    n = _batch_size(batch)
    if not size or size >= n or not isinstance(batch, tuple | list):
        return [(batch, 1.0)]
    return [
        (type(batch)(t[start : start + size] for t in batch), min(size, n - start) / n)
        for start in range(0, n, size)
    ]


@dataclass
class TrainResult:
    """What happened: per-epoch history, best epoch/metric, and where the run resumed."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    best_metric: float | None = None
    resumed_from_epoch: int = 0
    stopped_early: bool = False
    #: the last epoch's weights (CPU copies) when the model was reset to a better earlier
    #: epoch, so a caller can keep the latest model next to the best one; else None
    last_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    @property
    def epochs_run(self) -> int:
        return len(self.history)


def lr_factor(
    step: int, total_steps: int, warmup_steps: int, schedule: str, min_ratio: float
) -> float:
    """Multiplier of the base learning rate at ``step`` (linear warm-up, then cosine/constant)."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    if schedule == "linear":
        return min_ratio + (1.0 - min_ratio) * (1.0 - progress)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _epoch_loader(
    dataset: Dataset, config: TrainConfig, epoch: int, collate_fn: Callable | None
) -> DataLoader:
    generator = torch.Generator().manual_seed(derive_seed(config.seed, "epoch", epoch))
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=config.drop_last and len(dataset) > config.batch_size,  # type: ignore[arg-type]
        generator=generator,
        collate_fn=collate_fn,
        num_workers=config.num_workers,
    )


def _is_better(value: float, best: float | None, maximize: bool) -> bool:
    if best is None or math.isnan(best):
        return not math.isnan(value)
    return value > best if maximize else value < best


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    train_data: Dataset,
    config: TrainConfig,
    *,
    val_fn: ValFn | None = None,
    on_step: StepHook | None = None,
    checkpoint_path: str | Path | None = None,
    fingerprint: dict[str, Any] | None = None,
    collate_fn: Callable | None = None,
) -> TrainResult:
    """Train ``model`` in place (see module docstring); return the :class:`TrainResult`.

    The model ends on CPU-or-device as selected, with the best validation epoch's weights
    when ``val_fn`` is given, else the last epoch's.
    """
    device = select_device(config.device)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = len(_epoch_loader(train_data, config, 0, collate_fn))
    if steps_per_epoch == 0:
        raise ValueError("training data is empty")
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = int(round(config.warmup_epochs * steps_per_epoch))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: lr_factor(s, total_steps, warmup_steps, config.schedule, config.min_lr_ratio),
    )
    amp_dtype = autocast_dtype(device, config.amp)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)

    result = TrainResult()
    best_state: dict[str, torch.Tensor] | None = None
    since_improvement = 0
    start_epoch = 0
    full_fingerprint = {"config": asdict(config), "caller": fingerprint or {}}

    ckpt = load_checkpoint(checkpoint_path) if checkpoint_path else None
    if ckpt is not None and ckpt.get("fingerprint") != full_fingerprint:
        changed = fingerprint_changes(ckpt.get("fingerprint") or {}, full_fingerprint)
        log.warning(
            "discarding checkpoint %s: made by another job or on other inputs; changed: %s",
            checkpoint_path,
            ", ".join(changed[:8]) + (f" (+{len(changed) - 8} more)" if len(changed) > 8 else ""),
        )
        Path(checkpoint_path).unlink(missing_ok=True)
        ckpt = None
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"])
        result.history = ckpt["history"]
        result.best_epoch, result.best_metric = ckpt["best_epoch"], ckpt["best_metric"]
        best_state, since_improvement = ckpt["best_state"], ckpt["since_improvement"]
        start_epoch = result.resumed_from_epoch = ckpt["epoch"]
        result.stopped_early = ckpt.get("stopped_early", False)
        log.info("resumed from %s after epoch %d", checkpoint_path, start_epoch)

    else:
        # dropout & co. draw from the global RNG: seed it so a run depends only on config.seed
        torch.manual_seed(derive_seed(config.seed, "fit"))

    step = start_epoch * steps_per_epoch
    for epoch in range(start_epoch, config.epochs):
        if result.stopped_early:
            break
        model.train()
        started, loss_sum, n_batches, n_samples = time.perf_counter(), 0.0, 0, 0
        for batch in _epoch_loader(train_data, config, epoch, collate_fn):
            optimizer.zero_grad(set_to_none=True)
            loss = torch.zeros((), device=device)
            chunks = _micro_batches(batch, config.micro_batch_size)
            for chunk, share in chunks:
                with torch.autocast(
                    device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None
                ):
                    part = loss_fn(model, chunk, device) * share
                if not torch.isfinite(part):
                    raise FloatingPointError(
                        f"non-finite loss {part.item()} at epoch {epoch}, step {step}"
                    )
                scaler.scale(part).backward()
                loss = loss + part.detach()
            if config.grad_clip:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step += 1
            if on_step is not None:
                on_step(model, step, total_steps)
            loss_sum += float(loss.detach())
            n_batches += 1
            n_samples += _batch_size(batch)
        seconds = time.perf_counter() - started
        record = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(1, n_batches),
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": seconds,
            "samples_per_s": n_samples / seconds if seconds > 0 else float("nan"),
        }
        if val_fn is not None:
            model.eval()
            with torch.no_grad():
                metric = float(val_fn(model))
            record["val_metric"] = metric
            if _is_better(metric, result.best_metric, config.maximize):
                result.best_metric, result.best_epoch = metric, epoch + 1
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                since_improvement = 0
            else:
                since_improvement += 1
                if config.patience is not None and since_improvement >= config.patience:
                    result.stopped_early = True
        result.history.append(record)
        log.info("epoch %d/%d %s", epoch + 1, config.epochs, _fmt(record))
        if checkpoint_path:
            save_checkpoint(
                checkpoint_path,
                {
                    "fingerprint": full_fingerprint,
                    "epoch": epoch + 1,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "rng": rng_state(),
                    "history": copy.deepcopy(result.history),
                    "best_epoch": result.best_epoch,
                    "best_metric": result.best_metric,
                    "best_state": best_state,
                    "since_improvement": since_improvement,
                    "stopped_early": result.stopped_early,
                },
            )

    if best_state is not None:
        result.last_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(best_state)
    if checkpoint_path:
        Path(checkpoint_path).unlink(missing_ok=True)
    return result


def _batch_size(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, dict):
        return _batch_size(next(iter(batch.values())))
    if isinstance(batch, list | tuple) and batch:
        return _batch_size(batch[0])
    return 0


def _fmt(record: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "epoch")
