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

:func:`run_device` is this module's part of the one-call GPU benchmark
(:mod:`clinssl.bench.gpu`): on one device, the HiMAE embedding at the default model rate
(62.5 Hz) with the 125 → 62.5 Hz resampling in torch on that device
(:func:`clinssl.nn.resample.resample_to`, SciPy's polyphase filter as one strided
``conv1d``; it equals ``scipy.signal.resample_poly`` to float32 rounding, ≤ 2e-5 · max|x|,
which ``tests/lib/core/test_resample.py`` checks and the run records on its own batch), next
to the same embedding fed by ``resample_poly`` on the CPU (the old path) and the CPU
device's embedding, each as windows/s with the ratios, in the same run.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from clinssl.bench.core import UNLIMITED, Budget, Measurement, device_label, sync_device, timed_rate
from clinssl.ppg.himae import HiMAE, HiMAEConfig, HiMAEEncoder, embed_windows
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


# --------------------------------------------------------------------- one-call device run

#: the store's rate and window, and the default model rate (config ``ppg.himae.input_fs``)
STORE_FS, STORE_LEN, MODEL_FS = 125.0, 1250, 62.5
TARGET_WINDOWS_PER_S = 50_000.0

#: sizes of :func:`run_device` by (device type, scale): ``batch`` and ``windows`` of the
#: timed embedding on the device, ``cpu_*`` of the CPU-device reference, ``scipy_windows``
#: of the resample_poly-fed reference, ``cache_windows`` of the cache writer
DEVICE_SIZES: dict[tuple[str, str], dict[str, int]] = {
    ("cuda", "full"): dict(batch=8192, windows=819_200, cpu_batch=512, cpu_windows=8192,
                           scipy_windows=65_536, cache_windows=65_536),
    ("cuda", "quick"): dict(batch=8192, windows=81_920, cpu_batch=512, cpu_windows=2048,
                            scipy_windows=16_384, cache_windows=16_384),
    ("cpu", "full"): dict(batch=512, windows=16_384, cpu_batch=512, cpu_windows=4096,
                          scipy_windows=4096, cache_windows=4096),
    ("cpu", "quick"): dict(batch=32, windows=64, cpu_batch=32, cpu_windows=32,
                           scipy_windows=64, cache_windows=32),
}  # fmt: skip
#: fractions of the module's budget each timed loop may use
_SHARES = {"torch": 0.3, "scipy": 0.15, "no_resample": 0.1, "cpu": 0.15, "resample": 0.05,
           "augment": 0.05}  # fmt: skip


def _encoder(device: torch.device, fs: float) -> HiMAEEncoder:
    from clinssl.ppg.dataset import model_length

    torch.manual_seed(0)
    model = HiMAE(HiMAEConfig(seq_len=model_length(fs), patch_len=5))
    return HiMAEEncoder(model, fs, device, autocast_dtype(device))


def _windows(batch: int) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(batch, STORE_LEN)).astype(np.float32)


def _embed_rate(enc: HiMAEEncoder, batch: int, windows: int, max_seconds: float
                ) -> tuple[float, int]:  # fmt: skip
    """Windows/s of :meth:`HiMAEEncoder.encode` on host (numpy) windows at 125 Hz: copy to
    the device, resample there, encode, embeddings back to the host."""
    x = _windows(batch)
    rate, steps = timed_rate(lambda: enc.encode(x), batch, -(-windows // batch), enc.device,
                             max_seconds)  # fmt: skip
    return rate, steps * batch


def _scipy_fed_rate(enc: HiMAEEncoder, batch: int, windows: int, max_seconds: float
                    ) -> tuple[float, int]:  # fmt: skip
    """The same embedding with the old resampling: ``resample_poly`` of the batch on the CPU
    (:func:`clinssl.ppg.dataset.resample_rows`), then copy and encode on the device."""
    from clinssl.ppg.dataset import resample_rows

    x = _windows(batch)

    @torch.inference_mode()
    def step() -> None:
        y = torch.from_numpy(resample_rows(x, STORE_FS, enc.fs)).to(enc.device)
        with torch.autocast(enc.device.type, dtype=enc.amp_dtype or torch.float32,
                            enabled=enc.amp_dtype is not None):  # fmt: skip
            z = embed_windows(enc.model, y)
        z.float().cpu().numpy()

    rate, steps = timed_rate(step, batch, -(-windows // batch), enc.device, max_seconds)
    return rate, steps * batch


def _resample_rates(device: torch.device, batch: int, max_seconds: float) -> dict[str, float]:
    """The resampling alone: torch on ``device`` (resident batch) and SciPy on the CPU, in
    windows/s, and the largest difference of the two on this batch."""
    from clinssl.nn.resample import resample_to
    from clinssl.ppg.dataset import model_length, resample_rows

    x = _windows(batch)
    n_out = model_length(MODEL_FS)
    xt = torch.from_numpy(x).to(device)
    torch_rate, _ = timed_rate(lambda: resample_to(xt, STORE_FS, MODEL_FS, n_out), batch, 50,
                               device, max_seconds / 2)  # fmt: skip
    scipy_rate, _ = timed_rate(lambda: resample_rows(x, STORE_FS, MODEL_FS), batch, 5,
                               torch.device("cpu"), max_seconds / 2)  # fmt: skip
    expected = resample_rows(x, STORE_FS, MODEL_FS)
    got = resample_to(xt, STORE_FS, MODEL_FS, n_out).cpu().numpy()
    return {"torch": torch_rate, "scipy": scipy_rate,
            "max_abs_diff": float(np.abs(got - expected).max()),
            "max_abs": float(np.abs(expected).max())}  # fmt: skip


def run_device(work_dir: Path, device: torch.device, scale: str, budget: Budget | None = None
               ) -> list[Measurement]:  # fmt: skip
    """The PPG embedding numbers of the one-call benchmark on ``device`` (module docstring)."""
    budget = budget or Budget(UNLIMITED)
    sizes = DEVICE_SIZES[(device.type, scale)]
    batch, cpu = sizes["batch"], torch.device("cpu")
    label = device_label(device)
    common = {"device": label, "store_fs": STORE_FS, "model_fs": MODEL_FS,
              "amp": str(autocast_dtype(device)).removeprefix("torch."),
              "threads": torch.get_num_threads(), "input": "float32 host (numpy) windows"}  # fmt: skip

    enc = _encoder(device, MODEL_FS)
    wps, done = _embed_rate(enc, batch, sizes["windows"], budget.share(_SHARES["torch"]))
    on_cuda = device.type == "cuda"
    out = [Measurement(
        "himae_embed_62.5hz_torch_resample_windows_per_s", wps, "windows/s",
        target=f">= {TARGET_WINDOWS_PER_S:.0f} (H100)" if on_cuda else None,
        passed=wps >= TARGET_WINDOWS_PER_S if on_cuda else None,
        details={**common, "batch": batch, "windows": done,
                 "resampling": "torch polyphase (conv1d) on the device"})]  # fmt: skip
    scipy_wps, scipy_done = _scipy_fed_rate(enc, batch, sizes["scipy_windows"],
                                            budget.share(_SHARES["scipy"]))  # fmt: skip
    out += [
        Measurement("himae_embed_62.5hz_scipy_resample_windows_per_s", scipy_wps, "windows/s",
                    details={**common, "batch": batch, "windows": scipy_done,
                             "resampling": "scipy.signal.resample_poly on the CPU"}),
        Measurement("himae_embed_torch_over_scipy_resample_ratio", wps / scipy_wps, "x",
                    details=common),
    ]  # fmt: skip
    del enc
    enc125 = _encoder(device, STORE_FS)
    wps125, done125 = _embed_rate(enc125, batch, sizes["windows"],
                                  budget.share(_SHARES["no_resample"]))  # fmt: skip
    del enc125
    out.append(Measurement("himae_embed_125hz_windows_per_s", wps125, "windows/s",
                           details={**common, "model_fs": STORE_FS, "batch": batch,
                                    "windows": done125, "resampling": "none"}))  # fmt: skip
    cpu_enc = _encoder(cpu, MODEL_FS)
    cpu_wps, cpu_done = _embed_rate(cpu_enc, sizes["cpu_batch"], sizes["cpu_windows"],
                                    budget.share(_SHARES["cpu"]))  # fmt: skip
    del cpu_enc
    cpu_details = {**common, "device": "cpu", "amp": "None", "batch": sizes["cpu_batch"],
                   "windows": cpu_done, "resampling": "torch polyphase (conv1d) on the CPU"}
    out += [
        Measurement("himae_embed_62.5hz_cpu_windows_per_s", cpu_wps, "windows/s",
                    details=cpu_details),
        Measurement("himae_embed_device_over_cpu_ratio", wps / cpu_wps, "x", details=common),
    ]  # fmt: skip
    res = _resample_rates(device, batch, budget.share(_SHARES["resample"]))
    tolerance = 2e-5 * res["max_abs"]
    res_details = {**common, "batch": batch, "max_abs_diff_vs_scipy": res["max_abs_diff"],
                   "tolerance": tolerance,
                   "within_tolerance": res["max_abs_diff"] <= tolerance}  # fmt: skip
    out += [
        Measurement("resample_torch_windows_per_s", res["torch"], "windows/s",
                    target="<= 2e-5 * max|x| from resample_poly",
                    passed=res["max_abs_diff"] <= tolerance, details=res_details),
        Measurement("resample_scipy_cpu_windows_per_s", res["scipy"], "windows/s",
                    details={**common, "device": "cpu", "batch": batch}),
    ]  # fmt: skip
    steps = -(-sizes["windows"] // batch)
    aug = _augment_rate(device, batch, steps, budget.share(_SHARES["augment"]))
    out.append(Measurement("augment_windows_per_s", aug, "windows/s",
                           details={**common, "batch": batch}))  # fmt: skip
    cache_n = sizes["cache_windows"]
    out.append(Measurement("embed_cache_himae62.5hz_windows_per_s",
                           _cache_throughput(work_dir, device, cache_n, batch), "windows/s",
                           details={**common, "windows": cache_n, "batch": batch,
                                    "encodings_per_window": 2}))  # fmt: skip
    return out


def _augment_rate(device: torch.device, batch: int, steps: int, max_seconds: float) -> float:
    from clinssl.ppg.augment import AugmentConfig, augment_batch

    x = torch.from_numpy(_windows(batch)).to(device)
    rows = iter(range(10**9))

    def step() -> None:
        start = next(rows) * batch
        augment_batch(x, np.arange(start, start + batch), STORE_FS, AugmentConfig(), 0)

    sync_device(device)
    return timed_rate(step, batch, steps, device, max_seconds)[0]
