"""Embedding-extraction throughput (windows/s) of frozen HiMAE (and GPU when available).

Measures :class:`clinssl.models.himae.HiMAEEncoder` on random windows in the store's shape
(1250 samples at 125 Hz) with the reference architecture (input at 125 Hz, 16→256
channels), after a warm-up batch. CPU uses all cores torch is given; on CUDA bf16 autocast
is used, as the ``ppg_embed`` rule does. Target on an H100: ≥ 50,000 windows/s.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from clinssl.bench.core import Measurement
from clinssl.models.himae import HiMAE, HiMAEConfig, HiMAEEncoder
from clinssl.utils.device import autocast_dtype


def _throughput(device: torch.device, n: int, batch: int, input_fs: float) -> float:
    torch.manual_seed(0)
    seq_len = int(round(10 * input_fs))
    model = HiMAE(HiMAEConfig(seq_len=seq_len, patch_len=5))
    enc = HiMAEEncoder(model, input_fs, device, autocast_dtype(device))
    x = np.random.default_rng(0).normal(size=(batch, 1250)).astype(np.float32)
    enc.encode(x)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    done = 0
    while done < n:
        enc.encode(x)
        done += batch
    if device.type == "cuda":
        torch.cuda.synchronize()
    return done / (time.perf_counter() - t0)


def run(work_dir: Path, scale: str) -> list[Measurement]:
    n = 2048 if scale == "quick" else 16384
    out = []
    for fs in (125.0, 62.5):
        wps = _throughput(torch.device("cpu"), n, 512, fs)
        out.append(Measurement(f"himae_embed_cpu_input{fs:g}hz", wps, "windows/s",
                               details={"threads": torch.get_num_threads(), "windows": n}))  # fmt: skip
    if torch.cuda.is_available():
        wps = _throughput(torch.device("cuda"), 50 * n, 8192, 125.0)
        out.append(Measurement("himae_embed_gpu_input125hz", wps, "windows/s",
                               target=">= 50000 (H100)", passed=wps >= 50000,
                               details={"gpu": torch.cuda.get_device_name(0)}))  # fmt: skip
    return out
