"""Embedding-extraction throughput (windows/s) of frozen HiMAE (and GPU when available).

Measures :class:`clinssl.ppg.himae.HiMAEEncoder` on random windows in the store's shape
(1250 samples at 125 Hz) with the reference architecture (input at 125 Hz, 16→256
channels), after a warm-up batch. CPU uses all cores torch is given; on CUDA bf16 autocast
is used, as the ``ppg_embed`` rule does. Target on an H100: ≥ 50,000 windows/s.

It also times what the ``ppg_embed`` rule does per batch beyond the encoder: the waveform-level
augmentation of ``z_aug`` alone (:func:`clinssl.ppg.augment.augment_batch`, on the
device that encodes), and the whole cache writer (:func:`write_embedding_cache`: read, augment,
encode ``z`` and ``z_aug``, write) with the default model rate (62.5 Hz), in windows/s of
the store (each window is encoded twice).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from clinssl.bench.core import Measurement
from clinssl.ppg.himae import HiMAE, HiMAEConfig, HiMAEEncoder
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


def _augment_throughput(device: torch.device, n: int, batch: int) -> float:
    from clinssl.ppg.augment import AugmentConfig, augment_batch

    x = torch.from_numpy(np.random.default_rng(0).normal(size=(batch, 1250)).astype(np.float32))
    x = x.to(device)
    augment_batch(x, np.arange(batch), 125.0, AugmentConfig(), 0)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        augment_batch(x, np.arange(start, start + batch), 125.0, AugmentConfig(), 0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def _cache_throughput(work_dir: Path, device: torch.device, n: int, batch: int) -> float:
    import pandas as pd

    from clinssl.cache import EmbeddingCacheFiles
    from clinssl.ppg.augment import AugmentConfig
    from clinssl.ppg.embeddings import write_embedding_cache

    torch.manual_seed(0)
    enc = HiMAEEncoder(HiMAE(HiMAEConfig(seq_len=625, patch_len=5)), 62.5, device,
                       autocast_dtype(device))  # fmt: skip
    windows = np.random.default_rng(0).normal(size=(n, 1250)).astype(np.float32)
    table = pd.DataFrame({"subject_id": "s", "record": "r", "window_index": np.arange(n)})
    enc.encode(windows[:batch])  # warm-up
    t0 = time.perf_counter()
    write_embedding_cache(
        enc, windows, table, EmbeddingCacheFiles.under(work_dir / "cache"), batch, AugmentConfig(), 0
    )
    return n / (time.perf_counter() - t0)


def run(work_dir: Path, scale: str) -> list[Measurement]:
    n = 2048 if scale == "quick" else 16384
    out = []
    cpu = torch.device("cpu")
    out.append(Measurement("augment_cpu", _augment_throughput(cpu, n, 512), "windows/s",
                           details={"threads": torch.get_num_threads(), "windows": n}))  # fmt: skip
    n_cache = n // 4
    out.append(Measurement("embed_cache_cpu_himae62.5hz",
                           _cache_throughput(work_dir, cpu, n_cache, 512), "windows/s",
                           details={"threads": torch.get_num_threads(), "windows": n_cache,
                                    "encodings_per_window": 2}))  # fmt: skip
    for fs in (125.0, 62.5):
        wps = _throughput(torch.device("cpu"), n, 512, fs)
        out.append(Measurement(f"himae_embed_cpu_input{fs:g}hz", wps, "windows/s",
                               details={"threads": torch.get_num_threads(), "windows": n}))  # fmt: skip
    if torch.cuda.is_available():
        wps = _throughput(torch.device("cuda"), 50 * n, 8192, 125.0)
        out.append(Measurement("himae_embed_gpu_input125hz", wps, "windows/s",
                               target=">= 50000 (H100)", passed=wps >= 50000,
                               details={"gpu": torch.cuda.get_device_name(0)}))  # fmt: skip
        gpu = torch.device("cuda")
        out.append(Measurement("augment_gpu", _augment_throughput(gpu, 50 * n, 8192),
                               "windows/s", details={"gpu": torch.cuda.get_device_name(0)}))  # fmt: skip
        out.append(Measurement("embed_cache_gpu_himae62.5hz",
                               _cache_throughput(work_dir, gpu, 4 * n, 8192), "windows/s",
                               details={"gpu": torch.cuda.get_device_name(0),
                                        "encodings_per_window": 2}))  # fmt: skip
    return out
