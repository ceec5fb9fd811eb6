"""Rule synthetic_icu: the synthetic ricu export + YAIB cohorts with planted truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml


def test_synthetic_icu(runner) -> None:
    runner.config["icu"]["synthetic"].update(n_stays=90, n_patients=60, stays_per_part=40)
    runner.config["icu"]["synthetic"]["concepts"] = ["hr", "map", "crea", "lact", "avpu"]
    runner.write_config(runner.config)
    ricu, yaib = runner.run_rule(
        "synthetic_icu", ["results/raw/synthetic/ricu", "results/raw/synthetic/yaib"]
    )

    meta = yaml.safe_load((ricu / "metadata.yaml").read_text())
    assert meta["feature_names"] == ["hr", "map", "crea", "lact", "avpu"]
    assert meta["n_stays"] == 90 and meta["raw_export_horizon_hours"] == 72
    parts = sorted((ricu / "timeseries").glob("part_*.parquet"))
    assert len(parts) == 3  # 90 stays, 40 per part
    ts = pd.concat(pq.read_table(p).to_pandas() for p in parts)
    assert ts["hour"].max() == 71 and not ts.duplicated(["stay_id", "hour"]).any()
    np.testing.assert_array_equal(ts["hr_mask"], ts["hr"].notna())
    stays = pd.read_parquet(ricu / "stays.parquet")
    truth = pd.read_parquet(ricu / "truth.parquet")
    assert stays["patient_id"].nunique() == 60 and len(truth) == 90
    # LOS in stays.parquet is the planted one
    np.testing.assert_allclose(stays["los_days"] * 24, truth["los_hours"], atol=1 / 60)
    # rows stop at the end of the stay (or the 72 h horizon)
    last = ts.groupby("stay_id")["hour"].max()
    expected = np.minimum(np.ceil(truth.set_index("stay_id")["los_hours"]), 72) - 1
    np.testing.assert_array_equal(last.sort_index(), expected.loc[last.sort_index().index])

    dyn = pq.read_schema(yaib / "mortality24" / "synthetic" / "dyn.parquet")
    assert dyn.field("stay_id").type == pa.int32() and pa.types.is_duration(dyn.field("time").type)
    assert dyn.names[2:] == ["crea", "hr", "lact", "map"]  # YAIB's variables among the concepts
    outc = pd.read_parquet(yaib / "aki" / "synthetic" / "outc.parquet")
    assert list(outc.columns) == ["stay_id", "time", "label"]
    assert runner.path("results/logs/synthetic/icu.log").exists()
    assert runner.path("results/benchmarks/synthetic/icu.tsv").exists()
