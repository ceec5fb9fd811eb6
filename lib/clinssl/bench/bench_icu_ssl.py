"""ICU SSL pretraining throughput per paradigm, and ObservationTransformer peak memory.

Measured:

* samples/s of one SSL pretraining step (forward, backward, AdamW step, EMA update) per
  paradigm at batch 256 on CPU, and on CUDA when available — the budget question for the
  default run and for real cohorts (75 K MIMIC-IV stays × 100 epochs);
* the ObservationTransformer (one token per observation) on a batch of 256 stays at 25 %
  observation density with SLICES' 84 features: the per-batch token count after the cap and
  its peak memory for a training step (CUDA peak allocation on GPU, process RSS on CPU).
  SLICES dropped this encoder because it ran out of GPU memory; the target is that it fits.

Inputs are random tensors of the contract's shape (T = 24, D = 84): throughput does not
depend on the values. ``quick`` uses fewer steps (and D = 20 on CPU) to keep CI short.

:func:`run_device` is this module's part of the one-call GPU benchmark
(:mod:`clinssl.bench.gpu`): on one device, samples/s per paradigm in float32 and in bf16
autocast, and the ObservationTransformer's peak memory for a training step at batch 256 in
both, from ``torch.cuda.max_memory_allocated`` above what was allocated before the step (on
a CPU device the value is ``null`` with the reason: the process RSS of a run that holds
every other benchmark's memory is not this step's, and ``tracemalloc`` does not see torch's
allocator).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from clinssl.bench.core import (
    UNLIMITED,
    Budget,
    Measurement,
    device_label,
    peak_rss_mib,
    sync_device,
    timed_rate,
)
from clinssl.icu.encoders import build_encoder
from clinssl.icu.names import PARADIGM_ENCODER, PARADIGMS
from clinssl.icu.objectives import build_objective

BATCH = 256
T = 24
DENSITY = 0.25


def _batch(n_features: int, device: torch.device, seed: int = 0, batch: int = BATCH):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(batch, T, n_features, generator=gen) < DENSITY
    values = torch.randn(batch, T, n_features, generator=gen) * mask
    return values.to(device), mask.to(device)


def pretrain_throughput(paradigm: str, n_features: int, device: torch.device, steps: int) -> float:
    """Samples/s of full pretraining steps (after one warm-up step)."""
    torch.manual_seed(0)
    encoder = build_encoder(PARADIGM_ENCODER[paradigm], n_features)
    objective = build_objective(paradigm, encoder).to(device).train()
    optimizer = torch.optim.AdamW([p for p in objective.parameters() if p.requires_grad], lr=1e-3)
    values, mask = _batch(n_features, device)

    def step(i: int) -> None:
        loss = objective.loss(values, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        objective.ema_update(i, steps + 1)

    step(0)
    sync_device(device)
    start = time.perf_counter()
    for i in range(steps):
        step(i + 1)
    sync_device(device)
    return BATCH * steps / (time.perf_counter() - start)


def observation_memory(n_features: int, device: torch.device, max_tokens: int) -> dict:
    """Peak memory (MiB) of one training step of the ObservationTransformer."""
    torch.manual_seed(0)
    encoder = build_encoder("observation", n_features, max_tokens=max_tokens).to(device).train()
    values, mask = _batch(n_features, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _, _, _, keep = encoder.pack(values, mask)
    out = encoder(values, mask)
    out.pow(2).mean().backward()
    sync_device(device)
    peak = (
        torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else peak_rss_mib()
    )
    return {
        "peak_mib": float(peak),
        "tokens_per_stay": int(keep.shape[1]),
        "mean_observations": float(mask.sum(dim=(1, 2)).float().mean()),
    }


def run(work_dir: Path, scale: str) -> list[Measurement]:
    """Throughput per paradigm per device, plus ObservationTransformer memory."""
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    results: list[Measurement] = []
    for device in devices:
        quick_cpu = scale == "quick" and device.type == "cpu"
        n_features = 20 if quick_cpu else 84
        steps = 2 if quick_cpu else (3 if device.type == "cpu" else 20)
        for paradigm in PARADIGM_ENCODER:
            rate = pretrain_throughput(paradigm, n_features, device, steps)
            results.append(
                Measurement(
                    f"pretrain_{paradigm}_{device.type}_samples_per_s",
                    rate,
                    "samples/s",
                    details={
                        "batch": BATCH,
                        "T": T,
                        "D": n_features,
                        "density": DENSITY,
                        "encoder": PARADIGM_ENCODER[paradigm],
                        "steps": steps,
                    },
                )  # fmt: skip
            )
        max_tokens = 512
        mem = observation_memory(n_features, device, max_tokens)
        limit = (
            torch.cuda.get_device_properties(device).total_memory / 2**20
            if device.type == "cuda"
            else None
        )
        results.append(
            Measurement(
                f"observation_transformer_{device.type}_peak_memory",
                mem["peak_mib"],
                "MiB",
                target=f"< device memory ({limit:.0f} MiB)" if limit else None,
                passed=(mem["peak_mib"] < limit) if limit else None,
                details={
                    **mem,
                    "batch": BATCH,
                    "D": n_features,
                    "density": DENSITY,
                    "max_tokens": max_tokens,
                },
            )  # fmt: skip
        )
    return results


# --------------------------------------------------------------------- one-call device run

#: sizes of :func:`run_device` by (device type, scale): features, timed steps per paradigm
#: and precision, the batch of the throughput steps and of the memory step (256 wherever a
#: number comes out of it; the CPU's tiny run only exercises the step)
DEVICE_SIZES: dict[tuple[str, str], dict[str, int]] = {
    ("cuda", "full"): dict(n_features=84, steps=30, batch=BATCH, memory_batch=BATCH,
                           max_tokens=512),
    ("cuda", "quick"): dict(n_features=84, steps=5, batch=BATCH, memory_batch=BATCH,
                            max_tokens=512),
    ("cpu", "full"): dict(n_features=84, steps=3, batch=BATCH, memory_batch=BATCH,
                          max_tokens=512),
    ("cpu", "quick"): dict(n_features=8, steps=1, batch=16, memory_batch=16, max_tokens=64),
}  # fmt: skip
PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16}
NO_CPU_PEAK = (
    "not measured on a CPU device: torch.cuda.max_memory_allocated exists only on CUDA; the "
    "process peak RSS of the one-process run holds every other benchmark's memory, and "
    "tracemalloc does not see torch's CPU allocator"
)


def _pretrain_rate(paradigm: str, n_features: int, device: torch.device, steps: int,
                   batch: int, amp: torch.dtype | None, max_seconds: float
                   ) -> tuple[float, int]:  # fmt: skip
    """Samples/s of full pretraining steps (forward and loss in ``amp`` autocast)."""
    torch.manual_seed(0)
    encoder = build_encoder(PARADIGM_ENCODER[paradigm], n_features)
    objective = build_objective(paradigm, encoder).to(device).train()
    optimizer = torch.optim.AdamW([p for p in objective.parameters() if p.requires_grad], lr=1e-3)
    values, mask = _batch(n_features, device, batch=batch)
    count = iter(range(10**9))

    def step() -> None:
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            loss = objective.loss(values, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.float().backward()
        optimizer.step()
        objective.ema_update(next(count), steps + 1)

    return timed_rate(step, batch, steps, device, max_seconds)


def _observation_peak(n_features: int, device: torch.device, max_tokens: int,
                      amp: torch.dtype | None, batch: int = BATCH) -> dict:  # fmt: skip
    """One ObservationTransformer training step at ``batch``: tokens, and on CUDA the peak
    allocation above what was allocated before it."""
    import gc

    torch.manual_seed(0)
    values, mask = _batch(n_features, device, batch=batch)
    if device.type == "cuda":
        gc.collect()
        torch.cuda.empty_cache()
        sync_device(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
    encoder = build_encoder("observation", n_features, max_tokens=max_tokens).to(device).train()
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-3)
    _, _, _, keep = encoder.pack(values, mask)
    with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
        out = encoder(values, mask)
    out.float().pow(2).mean().backward()
    optimizer.step()
    sync_device(device)
    info = {"tokens_per_stay": int(keep.shape[1]),
            "mean_observations": float(mask.sum(dim=(1, 2)).float().mean())}  # fmt: skip
    if device.type != "cuda":
        return {**info, "peak_mib": None, "reason": NO_CPU_PEAK}
    peak = torch.cuda.max_memory_allocated(device)
    return {**info, "peak_mib": (peak - before) / 2**20, "process_peak_mib": peak / 2**20,
            "allocated_before_mib": before / 2**20,
            "source": "torch.cuda.max_memory_allocated"}  # fmt: skip


def run_device(work_dir: Path, device: torch.device, scale: str, budget: Budget | None = None
               ) -> list[Measurement]:  # fmt: skip
    """The ICU numbers of the one-call benchmark on ``device`` (module docstring)."""
    budget = budget or Budget(UNLIMITED)
    sizes = DEVICE_SIZES[(device.type, scale)]
    n_features, batch = sizes["n_features"], sizes["batch"]
    label = device_label(device)
    share = 0.9 / (len(PARADIGMS) * len(PRECISIONS))
    out: list[Measurement] = []
    for paradigm in PARADIGMS:
        for precision, amp in PRECISIONS.items():
            rate, steps = _pretrain_rate(paradigm, n_features, device, sizes["steps"], batch,
                                         amp, budget.share(share))  # fmt: skip
            out.append(Measurement(
                f"pretrain_{paradigm}_{precision}_samples_per_s", rate, "samples/s",
                details={"device": label, "precision": precision, "batch": batch, "T": T,
                         "D": n_features, "density": DENSITY, "steps": steps,
                         "encoder": PARADIGM_ENCODER[paradigm],
                         "step": "forward, loss, backward, AdamW, EMA update"}))  # fmt: skip
    limit = (torch.cuda.get_device_properties(device).total_memory / 2**20
             if device.type == "cuda" else None)  # fmt: skip
    for precision, amp in PRECISIONS.items():
        mem = _observation_peak(n_features, device, sizes["max_tokens"], amp,
                                sizes["memory_batch"])
        peak = mem["peak_mib"]
        out.append(Measurement(
            f"observation_transformer_{precision}_peak_memory_mib", peak, "MiB",
            target=f"< device memory ({limit:.0f} MiB)" if limit else None,
            passed=(peak < limit) if limit else None,
            details={**mem, "device": label, "precision": precision,
                     "batch": sizes["memory_batch"], "T": T,
                     "D": n_features, "density": DENSITY, "max_tokens": sizes["max_tokens"],
                     "step": "forward, backward, AdamW"}))  # fmt: skip
    return out
