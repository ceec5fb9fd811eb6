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
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from clinssl.bench.core import Measurement, peak_rss_mib, sync_device
from clinssl.icu.encoders import build_encoder
from clinssl.icu.names import PARADIGM_ENCODER
from clinssl.icu.objectives import build_objective

BATCH = 256
T = 24
DENSITY = 0.25


def _batch(n_features: int, device: torch.device, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(BATCH, T, n_features, generator=gen) < DENSITY
    values = torch.randn(BATCH, T, n_features, generator=gen) * mask
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
