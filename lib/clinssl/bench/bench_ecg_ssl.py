"""SimCLR training throughput (samples/s) of the ECG branch, against the seed's pattern.

Three numbers on the same machine, batch 256 of 12 × 250 crops (2.5 s at 100 Hz), SSRL-ECG's
encoder (``cnn1d``, width 64) and projector:

* **clinssl epoch** — what ``ecg_pretrain`` does per step: two views of the batch augmented
  in one batched call each (:func:`clinssl.ecg.augment.augment_batch`), then the SimCLR
  forward, NT-Xent, backward and optimiser step;
* **step alone** — the same without augmentation (the seed's step, which on its own is the
  ceiling of its epoch);
* **per-sample augmentation** — the seed's pattern: two views made one sample at a time (the
  same augmentations called on batches of one), without the step.

The aim: clinssl's whole epoch runs at least as fast as the seed's step alone (its
per-sample augmentation, not the step, capped the seed's epoch). On CUDA the clinssl epoch
is measured again in bf16 autocast.

:func:`run_device` is this module's part of the one-call GPU benchmark
(:mod:`clinssl.bench.gpu`): the clinssl epoch step and the step alone on one device, in
float32 and in bf16 autocast (the per-sample pattern is a CPU question and is left out).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from clinssl.bench.core import UNLIMITED, Budget, Measurement, device_label, sync_device, timed_rate
from clinssl.ecg.augment import ECGAugmentConfig, augment_batch
from clinssl.ecg.encoders import CNN1DEncoder
from clinssl.ecg.objectives import SimCLR

FS, LENGTH, BATCH = 100.0, 250, 256


def _model(device: torch.device) -> tuple[SimCLR, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = SimCLR(CNN1DEncoder(12, 64)).to(device)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def _step(model: SimCLR, opt: torch.optim.Optimizer, v1: torch.Tensor, v2: torch.Tensor,
          amp: bool) -> None:  # fmt: skip
    with torch.autocast(v1.device.type, dtype=torch.bfloat16, enabled=amp):
        loss = model.loss(v1, v2)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def _rate(fn, device: torch.device, steps: int) -> float:
    fn()  # warm-up
    sync_device(device)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    sync_device(device)
    return steps * BATCH / (time.perf_counter() - start)


def _steps(device: torch.device, batch: int, amp: bool):
    """``(epoch_step, step_alone, x, cfg, gen)``: one SimCLR step with both views augmented
    (what an epoch does) and the same step on fixed views, on a fresh model and batch."""
    model, opt = _model(device)
    cfg = ECGAugmentConfig()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 12, LENGTH, device=device)

    def epoch_step() -> None:
        _step(model, opt, augment_batch(x, FS, cfg, gen), augment_batch(x, FS, cfg, gen), amp)

    def step_alone() -> None:
        _step(model, opt, x, x.flip(-1), amp)

    return epoch_step, step_alone, x, cfg, gen


def _measure(device: torch.device, steps: int, amp: bool) -> dict[str, float]:
    epoch_step, step_alone, x, cfg, gen = _steps(device, BATCH, amp)

    def per_sample() -> None:
        for i in range(BATCH):
            one = x[i : i + 1]
            augment_batch(one, FS, cfg, gen)
            augment_batch(one, FS, cfg, gen)

    return {"epoch": _rate(epoch_step, device, steps), "step": _rate(step_alone, device, steps),
            "per_sample": _rate(per_sample, device, max(1, steps // 2))}  # fmt: skip


def run(work_dir: Path, scale: str) -> list[Measurement]:
    steps = 6 if scale == "full" else 2
    cpu = _measure(torch.device("cpu"), steps, amp=False)
    threads = torch.get_num_threads()
    details = {"batch": BATCH, "crop": [12, LENGTH], "threads": threads}
    out = [
        Measurement("simclr_epoch_cpu_samples_per_s", cpu["epoch"], "samples/s",
                    target=">= step alone", passed=cpu["epoch"] >= cpu["step"] * 0.9,
                    details={**details, "note": "within 10 % of the step alone passes: "
                             "augmentation is then not what limits an epoch"}),
        Measurement("simclr_step_alone_cpu_samples_per_s", cpu["step"], "samples/s",
                    details=details),
        Measurement("per_sample_augmentation_cpu_samples_per_s", cpu["per_sample"], "samples/s",
                    details={**details, "pattern": "two views, one sample at a time"}),
        Measurement("epoch_vs_step_ratio", cpu["epoch"] / cpu["step"], "x", details=details),
        Measurement("batched_vs_per_sample_augmentation_ratio",
                    _augment_rate(torch.device("cpu")) / cpu["per_sample"], "x", details=details),
    ]  # fmt: skip
    if torch.cuda.is_available():
        gpu = _measure(torch.device("cuda"), 3 * steps, amp=True)
        name = {"gpu": torch.cuda.get_device_name(0), "amp": "bf16"}
        out += [Measurement("simclr_epoch_gpu_samples_per_s", gpu["epoch"], "samples/s",
                            details=name),
                Measurement("simclr_step_alone_gpu_samples_per_s", gpu["step"], "samples/s",
                            details=name)]  # fmt: skip
    return out


def _augment_rate(device: torch.device, repeats: int = 4) -> float:
    """Two batched views per batch, samples/s (the augmentation part of the clinssl epoch)."""
    cfg, gen = ECGAugmentConfig(), torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, 12, LENGTH, device=device)
    return _rate(lambda: (augment_batch(x, FS, cfg, gen), augment_batch(x, FS, cfg, gen)),
                 device, repeats)  # fmt: skip


# --------------------------------------------------------------------- one-call device run

#: sizes of :func:`run_device` by (device type, scale): batch and timed steps per number
DEVICE_SIZES: dict[tuple[str, str], dict[str, int]] = {
    ("cuda", "full"): dict(batch=BATCH, steps=40),
    ("cuda", "quick"): dict(batch=BATCH, steps=5),
    ("cpu", "full"): dict(batch=BATCH, steps=3),
    ("cpu", "quick"): dict(batch=16, steps=1),
}


def _device_rates(device: torch.device, batch: int, steps: int, amp: bool,
                  max_seconds: float) -> dict[str, tuple[float, int]]:  # fmt: skip
    """(samples/s, timed steps) of the clinssl epoch step and of the step alone."""
    epoch_step, step_alone, *_ = _steps(device, batch, amp)
    return {"epoch": timed_rate(epoch_step, batch, steps, device, max_seconds),
            "step_alone": timed_rate(step_alone, batch, steps, device, max_seconds)}  # fmt: skip


def run_device(work_dir: Path, device: torch.device, scale: str, budget: Budget | None = None
               ) -> list[Measurement]:  # fmt: skip
    """The ECG SimCLR numbers of the one-call benchmark on ``device`` (module docstring)."""
    budget = budget or Budget(UNLIMITED)
    sizes = DEVICE_SIZES[(device.type, scale)]
    batch, steps = sizes["batch"], sizes["steps"]
    label = device_label(device)
    out = []
    for precision, amp in (("fp32", False), ("bf16", True)):
        rates = _device_rates(device, batch, steps, amp, budget.share(0.22))
        details = {"device": label, "precision": precision, "batch": batch,
                   "crop": [12, LENGTH], "encoder": "cnn1d (width 64) + projector"}  # fmt: skip
        for name, (rate, done) in rates.items():
            out.append(Measurement(f"simclr_{name}_{precision}_samples_per_s", rate,
                                   "samples/s", details={**details, "steps": done}))  # fmt: skip
    return out
