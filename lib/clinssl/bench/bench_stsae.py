"""ST-SAE training throughput: triplets/s of the real training step, CPU and (when lent) GPU.

One step is what ``stsae_train`` runs per batch: encode z_t, z_t+1 and z_aug_t together,
every loss term (reconstruction, L1, decorrelation, stability, smoothness; AuxK for Top-K),
backward with the decoder-gradient projection, AdamW, decoder renormalisation. Measured on
512-d synthetic triplets:

* **CPU, K = 1,024** (batch 256): the full ST-SAE step, next to a plain SAE step on z alone
  (reconstruction + L1: the obvious alternative, a third of the rows per step) — the ratio
  is what the two extra views and their terms cost;
* **GPU, K = 8,192** (batch 4,096, float32, data resident on the device): the time of one
  epoch over 1,000,000 triplets, extrapolated from timed steps; target ≤ 10 s on an
  H100/H200 (the seed states about 2 minutes on an A100).

:func:`run_device` is this module's part of the one-call GPU benchmark
(:mod:`clinssl.bench.gpu`): the full ST-SAE step on one device (the GPU sizes above on CUDA)
and the extrapolated epoch over 1,000,000 triplets.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from clinssl.bench.core import UNLIMITED, Budget, Measurement, device_label, sync_device, timed_rate
from clinssl.stsae.losses import LossWeights, loss_terms
from clinssl.stsae.models import SparseAutoencoder, decoder_grad_projection, renormalize_decoder

DIM = 512
EPOCH_TRIPLETS = 1_000_000


def _rate(device: torch.device, k: int, batch: int, steps: int, triplets: bool,
          max_seconds: float | None = None) -> float:  # fmt: skip
    """Rows per second of the training step (triplets, or single rows without the terms);
    with ``max_seconds``, the timed steps stop early once it has passed."""
    torch.manual_seed(0)
    model = SparseAutoencoder(DIM, k, "relu").to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    weights = LossWeights() if triplets else LossWeights(sparsity=3.0, diversity=0.0,
                                                         stability=0.0, smoothness=0.0)  # fmt: skip
    gen = torch.Generator(device=device).manual_seed(0)
    z = torch.randn(batch, DIM, device=device, generator=gen)
    batch_data = (z, z.roll(1, 0), z + 0.01, torch.ones(batch, dtype=torch.bool, device=device))

    def step() -> None:
        if triplets:
            loss, _ = loss_terms(model, batch_data, weights, device=device)
        else:
            out = model(z)
            loss = ((out.x_hat - z) ** 2).mean() + 3.0 / DIM * out.codes.abs().sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        renormalize_decoder(model)

    with decoder_grad_projection(model):
        if max_seconds is not None:
            return timed_rate(step, batch, steps, device, max_seconds)[0]
        step()  # warm-up
        sync_device(device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync_device(device)
    return steps * batch / (time.perf_counter() - start)


def run(work_dir: Path, scale: str) -> list[Measurement]:
    steps = 20 if scale == "full" else 4
    threads = torch.get_num_threads()
    cpu = torch.device("cpu")
    full = _rate(cpu, 1024, 256, steps, triplets=True)
    plain = _rate(cpu, 1024, 256, steps, triplets=False)
    details = {"dim": DIM, "n_concepts": 1024, "batch": 256, "threads": threads}
    out = [
        Measurement("stsae_cpu_triplets_per_s", full, "triplets/s", details=details),
        Measurement("plain_sae_cpu_rows_per_s", plain, "rows/s",
                    details={**details, "step": "reconstruction + L1 on z alone"}),
        Measurement("stsae_vs_plain_cost_ratio", plain / full, "x", details=details),
    ]  # fmt: skip
    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        rate = _rate(gpu, 8192, 4096, 5 * steps, triplets=True)
        name = {"gpu": torch.cuda.get_device_name(0), "dim": DIM, "n_concepts": 8192,
                "batch": 4096, "dtype": "float32"}  # fmt: skip
        out += [
            Measurement("stsae_gpu_triplets_per_s", rate, "triplets/s", details=name),
            Measurement("stsae_gpu_epoch_1m_triplets_seconds", EPOCH_TRIPLETS / rate, "s",
                        target="<= 10", passed=EPOCH_TRIPLETS / rate <= 10.0, details=name),
        ]  # fmt: skip
    return out


# --------------------------------------------------------------------- one-call device run

#: sizes of :func:`run_device` by (device type, scale)
DEVICE_SIZES: dict[tuple[str, str], dict[str, int]] = {
    ("cuda", "full"): dict(n_concepts=8192, batch=4096, steps=100),
    ("cuda", "quick"): dict(n_concepts=8192, batch=4096, steps=10),
    ("cpu", "full"): dict(n_concepts=1024, batch=256, steps=20),
    ("cpu", "quick"): dict(n_concepts=128, batch=32, steps=2),
}


def run_device(work_dir: Path, device: torch.device, scale: str, budget: Budget | None = None
               ) -> list[Measurement]:  # fmt: skip
    """The ST-SAE numbers of the one-call benchmark on ``device`` (module docstring)."""
    budget = budget or Budget(UNLIMITED)
    sizes = DEVICE_SIZES[(device.type, scale)]
    rate = _rate(device, sizes["n_concepts"], sizes["batch"], sizes["steps"], triplets=True,
                 max_seconds=budget.share(0.9))  # fmt: skip
    label = device_label(device)
    details = {"device": label, "dim": DIM, **sizes, "dtype": "float32"}
    on_cuda = device.type == "cuda"
    return [
        Measurement("stsae_triplets_per_s", rate, "triplets/s", details=details),
        Measurement("stsae_epoch_1m_triplets_seconds", EPOCH_TRIPLETS / rate, "s",
                    target="<= 10 (H100/H200)" if on_cuda else None,
                    passed=EPOCH_TRIPLETS / rate <= 10.0 if on_cuda else None,
                    details={**details, "extrapolated_from_steps": True}),
    ]  # fmt: skip
