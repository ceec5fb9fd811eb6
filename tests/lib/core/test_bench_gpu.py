"""The one-call GPU benchmark (``python -m clinssl.bench --device cuda``, ``make bench-gpu``),
run on the CPU at tiny sizes: one process writes one JSON with every device benchmark.

Why a CPU test of a GPU benchmark: the real run happens on a lent H100/H200 with minutes of
device time, so a module that was left out of the combined set, a renamed metric, or a device
path that crashes would otherwise be found only there. The keys below are the keys the CUDA
run writes (metric names do not name the device). Numbers are not judged here (targets belong
to the benchmark), only that they are positive and finite.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
import types
from pathlib import Path

import pytest

from clinssl.bench import __main__ as bench_main
from clinssl.bench import gpu

LIB_BENCH = Path(__file__).resolve().parents[3] / "lib" / "clinssl" / "bench"

EXPECTED: dict[str, set[str]] = {
    "ppg_embed": {
        "himae_embed_62.5hz_torch_resample_windows_per_s",
        "himae_embed_62.5hz_scipy_resample_windows_per_s",
        "himae_embed_torch_over_scipy_resample_ratio",
        "himae_embed_125hz_windows_per_s",
        "himae_embed_62.5hz_cpu_windows_per_s",
        "himae_embed_device_over_cpu_ratio",
        "resample_torch_windows_per_s",
        "resample_scipy_cpu_windows_per_s",
        "augment_windows_per_s",
        "embed_cache_himae62.5hz_windows_per_s",
    },
    "icu_ssl": {
        *(f"pretrain_{p}_{prec}_samples_per_s"
          for p in ("mae", "jepa", "contrastive", "smart") for prec in ("fp32", "bf16")),
        "observation_transformer_fp32_peak_memory_mib",
        "observation_transformer_bf16_peak_memory_mib",
    },  # fmt: skip
    "ecg_ssl": {
        "simclr_epoch_fp32_samples_per_s",
        "simclr_step_alone_fp32_samples_per_s",
        "simclr_epoch_bf16_samples_per_s",
        "simclr_step_alone_bf16_samples_per_s",
    },
    "stsae": {"stsae_triplets_per_s", "stsae_epoch_1m_triplets_seconds"},
    "events_train": {"train_samples_per_s"},
}
#: measured on CUDA only; on a CPU device the value is null with the reason
CUDA_ONLY = {"observation_transformer_fp32_peak_memory_mib",
             "observation_transformer_bf16_peak_memory_mib"}  # fmt: skip


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, float]:
    out = tmp_path_factory.mktemp("bench-gpu")
    start = time.perf_counter()
    rc = bench_main.main(["--device", "cpu", "--scale", "quick", "--out", str(out)])
    wall = time.perf_counter() - start
    assert (out / "gpu.md").is_file()
    return rc, json.loads((out / gpu.JSON_NAME).read_text()), wall


def test_one_process_one_json_with_every_module(cpu_run) -> None:
    rc, record, wall = cpu_run
    assert rc == 0, record["failed"]
    assert record["failed"] == []
    assert set(record["modules"]) == set(EXPECTED)  # every module, none missing
    assert record["benchmarks"] == list(EXPECTED)  # in the set's run order
    assert record["device"] == "cpu" and record["device_name"] == "cpu"
    assert record["torch"] and record["machine"]["cpus"] >= 1 and record["scale"] == "quick"
    assert 0 < record["total_wall_s"] <= wall and record["within_time_cap"] is True
    assert record["time_cap_s"] == gpu.TIME_CAP_S
    for name, metrics in EXPECTED.items():
        entry = record["modules"][name]
        assert "error" not in entry, entry.get("error")
        assert entry["wall_s"] > 0 and entry["budget_s"] > 0 and entry["sizes"], name
        got = {m["metric"]: m for m in entry["measurements"]}
        assert set(got) == metrics, name
        for metric, m in got.items():
            if metric in CUDA_ONLY:
                assert m["value"] is None and m["details"]["reason"], m
                assert m["details"]["tokens_per_stay"] > 0
                continue
            assert isinstance(m["value"], float) and math.isfinite(m["value"]), m
            assert m["value"] > 0, m


def test_the_torch_resampler_matches_resample_poly_in_the_run(cpu_run) -> None:
    _, record, _ = cpu_run
    (m,) = [m for m in record["modules"]["ppg_embed"]["measurements"]
            if m["metric"] == "resample_torch_windows_per_s"]  # fmt: skip
    assert m["passed"] is True and m["details"]["within_tolerance"] is True
    assert m["details"]["max_abs_diff_vs_scipy"] <= m["details"]["tolerance"]


def test_every_module_with_a_device_path_is_in_the_combined_set() -> None:
    """A branch that adds ``run_device`` to its benchmark is part of the one-call run."""
    with_device = {
        path.stem.removeprefix("bench_")
        for path in LIB_BENCH.glob("bench_*.py")
        if re.search(r"^def run_device\(", path.read_text(), re.MULTILINE)
    }
    assert with_device == set(gpu.GPU_BENCHMARKS) == set(EXPECTED)
    assert set(gpu.BUDGETS_S) == set(gpu.GPU_BENCHMARKS)
    assert sum(gpu.BUDGETS_S.values()) < gpu.TIME_CAP_S


def test_the_time_cap_interrupts_a_module_and_skips_the_rest(tmp_path, monkeypatch) -> None:
    from clinssl.bench.core import Measurement

    def sleepy(work_dir, device, scale, budget):
        while True:
            time.sleep(0.01)

    def quick(work_dir, device, scale, budget):
        return [Measurement("x", 1.0, "count")]

    for name, fn in (("sleepy", sleepy), ("after", quick)):
        module = types.ModuleType(f"clinssl.bench.bench_{name}")
        module.run_device = fn
        module.DEVICE_SIZES = {("cpu", "quick"): {}}
        monkeypatch.setitem(sys.modules, module.__name__, module)
    import torch

    start = time.perf_counter()
    record = gpu.run_all(tmp_path, torch.device("cpu"), "quick", ("sleepy", "after"), 0.5)
    assert time.perf_counter() - start < 5
    assert record["failed"] == ["sleepy", "after"]
    assert "time cap" in record["modules"]["sleepy"]["error"]
    assert "skipped" in record["modules"]["after"]["error"]
    assert json.loads((tmp_path / gpu.JSON_NAME).read_text())["failed"] == ["sleepy", "after"]


def test_device_names_must_be_device_benchmarks(tmp_path) -> None:
    with pytest.raises(SystemExit):
        bench_main.main(["--device", "cpu", "--out", str(tmp_path), "icu_ingest"])
