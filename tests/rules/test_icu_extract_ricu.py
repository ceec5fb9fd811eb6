"""Rule icu_extract_ricu: the R extraction runs end to end through Snakemake.

The real ricu needs credentialed data (or conda-forge); here a fake ``ricu`` package with the
same API and five MIMIC-IV-shaped stays (workflow_scripts/icu/tests/fake_ricu) is installed
into a temporary R library, so the rule, the script's CLI and its writing run unchanged and
the export is checked with clinssl's reader and ingestion.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clinssl.icu.files import IngestFiles
from clinssl.icu.ingest import IngestOptions, ingest
from clinssl.icu.io.ricu import RicuExport
from snakerunner import REPO_ROOT
from systemtools import require_executables, skip_or_fail

FAKE_RICU = REPO_ROOT / "workflow_scripts" / "icu" / "tests" / "fake_ricu"


@pytest.fixture
def fake_ricu_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    require_executables("R", "Rscript", why="to run the ricu extraction rule")
    lib = tmp_path / "rlib"
    lib.mkdir()
    proc = subprocess.run(
        ["R", "CMD", "INSTALL", "--no-docs", "--no-html", f"--library={lib}", str(FAKE_RICU)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        skip_or_fail(
            f"could not install the fake ricu package (needs R data.table):\n{proc.stderr[-2000:]}"
        )
    monkeypatch.setenv("R_LIBS", str(lib))
    return lib


def test_icu_extract_ricu(runner, fake_ricu_library) -> None:
    runner.config["icu"]["datasets"] = {"demo": {"format": "ricu", "source": "miiv"}}
    runner.config["icu"]["run_datasets"] = ["demo"]
    runner.config["icu"]["ricu"] = {"horizon_hours": 48, "stays_per_part": 2, "blocklist": ["sofa"]}
    runner.write_config(runner.config)
    (export_dir,) = runner.run_rule("icu_extract_ricu", ["results/raw/ricu/demo"])

    log = runner.path("results/logs/icu/extract_ricu_demo.log").read_text()
    assert "concept broken skipped" in log and "wrote" in log
    export = RicuExport(export_dir)  # validates layout, masks and units
    assert export.feature_names == ["abx", "avpu", "broken", "crea", "hr"]
    assert export.metadata["failed_concepts"] == ["broken"]
    assert export.metadata["raw_export_horizon_hours"] == 48
    assert len(export.parts) == 3  # 5 stays, 2 per part
    stays = export.stays()
    assert stays["patient_id"].tolist() == [1, 1, 2, 3, 4]

    out = runner.path("ingested")
    meta = ingest(export, IngestFiles.under(out), IngestOptions())
    static = pd.read_parquet(out / "static.parquet")
    labels = pd.read_parquet(out / "labels.parquet").set_index("stay_id")
    assert static["stay_id"].tolist() == [101, 102, 103, 104]  # 105 is a 10 h stay
    assert meta["exclusions"]["short_stay"]["count"] == 1
    assert meta["exclusions"]["negative_hour_rows"]["count"] == 0  # window starts at 0
    assert (
        labels.loc[101, "aki_kdigo"] == 1 and labels.loc[102, "aki_kdigo"] == 0
    )  # crea 1.0->1.6 / 1.1
    assert labels.loc[103, "mortality_24h"] == 1  # died 36 h after admission
    assert labels.loc[103, "mortality_hospital"] == 1 and labels.loc[104, "mortality_hospital"] == 0
    values = np.load(out / "values.npy")
    hr = meta["feature_names"].index("hr")
    assert values[0, 4, hr] == 85.0 and np.isnan(
        values[0, 3, hr]
    )  # hr = 80 + (101-100) + h, even hours
