"""Unit test of the benchmark runner with a throwaway benchmark module."""

from __future__ import annotations

import json

from clinssl.bench import __main__ as bench_main
from clinssl.bench.core import Measurement, peak_rss_mib

DEMO = """
from clinssl.bench.core import Measurement, peak_rss_mib
import numpy as np

def run(work_dir, scale):
    n = 1_000_000 if scale == "full" else 10_000
    a = np.ones(n)
    (work_dir / "x.npy").write_bytes(a.tobytes())
    return [Measurement("elements", float(a.size), "count"),
            Measurement("peak_rss", peak_rss_mib(), "MiB", target="<= 4096", passed=True)]
"""


def test_bench_runner_writes_json_and_summary(tmp_path, monkeypatch) -> None:
    (tmp_path / "demo_bench_mod.py").write_text(DEMO)
    (tmp_path / "broken_bench_mod.py").write_text(
        "def run(w, s):\n    raise RuntimeError('nope')\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr(
        bench_main, "BENCHMARKS", {"demo": "demo_bench_mod", "broken": "broken_bench_mod"}
    )
    out = tmp_path / "bench"
    rc = bench_main.main(["--out", str(out), "--scale", "quick"])
    assert rc == 1  # the broken benchmark makes the run fail, after writing everything else

    demo = json.loads((out / "demo.json").read_text())
    assert demo["measurements"][0] == {
        "metric": "elements",
        "value": 10000.0,
        "unit": "count",
        "target": None,
        "passed": None,
        "details": {},
    }
    assert "nope" in json.loads((out / "broken.json").read_text())["error"]
    summary = json.loads((out / "summary.json").read_text())
    assert [r["metric"] for r in summary["rows"]] == ["elements", "peak_rss"]
    assert summary["machine"]["cpus"] >= 1
    table = (out / "summary.md").read_text()
    assert "| demo | peak_rss |" in table and "MiB" in table


def test_measurement_and_rss() -> None:
    assert peak_rss_mib() > 10
    assert Measurement("m", 1.0, "s").to_dict()["unit"] == "s"
