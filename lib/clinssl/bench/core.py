"""Benchmark records, the registry of benchmark modules, and measurement helpers."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


def discover_benchmarks() -> dict[str, str]:
    """Every ``clinssl.bench.bench_<name>`` module, as {name: module path}.

    A branch adds a benchmark by adding such a module with
    ``run(work_dir: Path, scale: str) -> list[Measurement]``; no registry to edit.
    """
    import pkgutil

    import clinssl.bench as package

    return {
        info.name.removeprefix("bench_"): f"clinssl.bench.{info.name}"
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.startswith("bench_")
    }


BENCHMARKS: dict[str, str] = discover_benchmarks()


@dataclass(frozen=True)
class Measurement:
    """One benchmark number, with the target it is judged against when there is one."""

    metric: str
    value: float | None  # None only with ``details["reason"]`` (not measurable here)
    unit: str
    target: str | None = None
    passed: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / 2**20


def machine_description() -> dict[str, Any]:
    """CPU count, platform and accelerator, so numbers are read against their machine."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        info["gpu"] = None
    return info


def sync_device(device) -> None:
    """Wait for queued CUDA work (timings of GPU steps are otherwise of the launch only)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_label(device) -> str:
    """The GPU's name for a CUDA device (what a reader compares across runs), else "cpu"."""
    import torch

    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


@dataclass
class Budget:
    """Seconds a benchmark may spend (the one-call GPU run gives each module a share of its
    time cap): timing loops stop early, after at least one timed step, once it is spent."""

    seconds: float
    started: float = field(default_factory=time.perf_counter)

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.started)

    def share(self, fraction: float) -> float:
        """Seconds for the next measurement: ``fraction`` of the budget, at most what is left."""
        return max(0.0, min(self.seconds * fraction, self.left()))


UNLIMITED = float("inf")


def timed_rate(step: Callable[[], Any], items_per_step: int, steps: int, device,
               max_seconds: float = UNLIMITED, warmup: int = 1) -> tuple[float, int]:  # fmt: skip
    """Items/s of ``step`` over ``steps`` timed calls after ``warmup`` untimed ones, stopping
    early (after at least one) once ``max_seconds`` have passed; returns (rate, steps timed).

    On CUDA the clock is read after a device synchronisation, so the rate is of the work, not
    of the launches; the early stop may see only launches (a soft cap, which is all it is)."""
    for _ in range(warmup):
        step()
    sync_device(device)
    start = time.perf_counter()
    done = 0
    while done < steps:
        step()
        done += 1
        if time.perf_counter() - start > max_seconds:
            break
    sync_device(device)
    return done * items_per_step / (time.perf_counter() - start), done
