"""The one-call GPU benchmark: every branch's device benchmark in ONE process, ONE JSON.

``python -m clinssl.bench --device cuda`` (``make bench-gpu``) imports each module of
:data:`GPU_BENCHMARKS` and calls its ``run_device(work_dir, device, scale, budget)`` in this
process, one after the other, and writes ``<out>/gpu.json``::

    {"schema": 1, "device": "cuda", "device_name": "NVIDIA H200", "torch": "2.x",
     "cuda": "12.x", "cudnn": 90100, "tf32_matmul": false, "machine": {...},
     "date": "YYYY-MM-DD", "scale": "full", "time_cap_s": 480, "total_wall_s": ...,
     "within_time_cap": true, "benchmarks": ["ppg_embed", ...], "failed": [],
     "modules": {"ppg_embed": {"module": "clinssl.bench.bench_ppg_embed",
                               "budget_s": ..., "wall_s": ..., "sizes": {...},
                               "measurements": [{"metric", "value", "unit", "target",
                                                 "passed", "details"}, ...]}, ...}}

(a module that raised has ``"error"`` instead of numbers and is listed in ``failed``), plus
``gpu.md``, the same numbers as a table. Metric names do not name the device (the JSON does),
so a CPU run (``--device cpu``, what the tests run at ``--scale quick``) writes the same keys.

Time: the whole run must stay within ``time_cap_s`` (8 minutes by default; the sizes of each
module, ``DEVICE_SIZES`` in its file, are chosen for an H100/H200 to need well under it).
Each module gets a budget (:data:`BUDGETS_S`, scaled down when earlier modules overran) that
its timing loops respect (they stop early, after at least one timed step), and the cap itself
is enforced with ``SIGALRM``: a module still running at the cap is interrupted, recorded as
failed, and the modules after it are skipped (also failed), so the run never exceeds it by
more than the time to write the JSON.
"""

from __future__ import annotations

import importlib
import signal
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clinssl.bench.core import Budget, machine_description
from clinssl.utils import atomic_write_text, write_json

#: the benchmarks with a device path, in run order; each module ``clinssl.bench.bench_<name>``
#: defines ``run_device`` and ``DEVICE_SIZES`` (a new branch adds its name here)
GPU_BENCHMARKS: tuple[str, ...] = ("ppg_embed", "icu_ssl", "ecg_ssl", "stsae", "events_train")
#: seconds each module's timing loops may spend (a soft budget; the cap below is hard)
BUDGETS_S: dict[str, float] = {
    "ppg_embed": 120.0,
    "icu_ssl": 90.0,
    "ecg_ssl": 45.0,
    "stsae": 30.0,
    "events_train": 90.0,
}
TIME_CAP_S = 480.0
JSON_NAME = "gpu.json"


class TimeCapExceeded(RuntimeError):
    """Raised in the running module when the run reaches its time cap."""


def _device_info(device) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"device": str(device), "torch": torch.__version__}
    if device.type == "cuda":
        info.update(
            device_name=torch.cuda.get_device_name(device),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            tf32_matmul=bool(torch.backends.cuda.matmul.allow_tf32),
            memory_mib=torch.cuda.get_device_properties(device).total_memory / 2**20,
        )
    else:
        info.update(device_name="cpu", threads=torch.get_num_threads())
    return info


class _Alarm:
    """SIGALRM at the cap (main thread only; elsewhere the soft budgets are all there is).
    It interrupts only a module's ``run_device`` (``inside`` is set around that call); at any
    other moment the run notices the cap by the clock and skips what is left."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.armed = threading.current_thread() is threading.main_thread()
        self.inside = False

    def __enter__(self) -> _Alarm:
        if self.armed:

            def interrupt(signum, frame):
                if self.inside:
                    self.inside = False
                    cap = f"{self.seconds:.0f} s"
                    raise TimeCapExceeded(f"interrupted at the run's time cap ({cap})")

            self.previous = signal.signal(signal.SIGALRM, interrupt)
            signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 1e-3))
        return self

    def __exit__(self, *exc) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


def run_all(out: Path, device, scale: str = "full", names: tuple[str, ...] = GPU_BENCHMARKS,
            time_cap_s: float = TIME_CAP_S) -> dict[str, Any]:  # fmt: skip
    """Run ``names`` on ``device`` in this process; write and return the combined record."""
    started = time.perf_counter()
    record: dict[str, Any] = {
        "schema": 1,
        **_device_info(device),
        "machine": machine_description(),
        "date": datetime.now(UTC).date().isoformat(),
        "scale": scale,
        "time_cap_s": time_cap_s,
        "benchmarks": list(names),
        "modules": {},
        "failed": [],
    }
    alarm = _Alarm(time_cap_s)
    with alarm, tempfile.TemporaryDirectory(prefix="clinssl-bench-gpu-") as tmp:
        for i, name in enumerate(names):
            entry = record["modules"][name] = {"module": f"clinssl.bench.bench_{name}"}
            left = time_cap_s - (time.perf_counter() - started)
            pending = sum(BUDGETS_S.get(n, 60.0) for n in names[i:])
            budget = BUDGETS_S.get(name, 60.0) * min(1.0, max(left, 0.0) / pending)
            entry["budget_s"] = budget
            t0 = time.perf_counter()
            try:
                if left <= 0:
                    raise TimeCapExceeded("skipped: the run had reached its time cap")
                module = importlib.import_module(entry["module"])
                entry["sizes"] = module.DEVICE_SIZES[(device.type, scale)]
                work = Path(tmp) / name
                work.mkdir()
                alarm.inside = True
                try:
                    results = module.run_device(work, device, scale, Budget(budget))
                finally:
                    alarm.inside = False
                entry["measurements"] = [m.to_dict() for m in results]
            except Exception as exc:  # one module's failure is recorded, the run goes on
                import traceback

                entry["error"] = f"{type(exc).__name__}: {exc}\n" + traceback.format_exc()[-4000:]
                record["failed"].append(name)
            finally:
                entry["wall_s"] = time.perf_counter() - t0
                _release(device)
            print(f"{name}: {len(entry.get('measurements', []))} measurement(s) in "
                  f"{entry['wall_s']:.1f} s" + (" (FAILED)" if "error" in entry else ""),
                  flush=True)  # fmt: skip
    record["total_wall_s"] = time.perf_counter() - started
    record["within_time_cap"] = record["total_wall_s"] <= time_cap_s
    write_json(out / JSON_NAME, record)
    atomic_write_text(out / "gpu.md", markdown(record))
    return record


def _release(device) -> None:
    """Free what a module left cached, so the next one's memory numbers are its own."""
    import gc

    import torch

    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


def markdown(record: dict[str, Any]) -> str:
    """The combined record as a table (one row per measurement)."""
    lines = [
        f"# GPU benchmark: {record['device_name']} ({record['device']}), torch "
        f"{record['torch']}, {record['date']}, scale {record['scale']}: "
        f"{record['total_wall_s']:.0f} s of a {record['time_cap_s']:.0f} s cap\n",
        "| benchmark | metric | value | unit | target | passed |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in record["modules"].items():
        if "error" in entry:
            lines.append(f"| {name} | FAILED | | | | {entry['error'].splitlines()[0]} |")
        for m in entry.get("measurements", []):
            value = "n/a" if m["value"] is None else f"{m['value']:.4g}"
            passed = "" if m["passed"] is None else m["passed"]
            lines.append(f"| {name} | {m['metric']} | {value} | {m['unit']} | "
                         f"{m['target'] or ''} | {passed} |")  # fmt: skip
    return "\n".join(lines) + "\n"
