"""The synthetic ICU generator: real layout, plausible density, planted truth, determinism."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from clinssl.io.ricu_dictionary import DEFAULT_CONCEPTS, RICU_CONCEPTS
from clinssl.synthetic.icu import SyntheticICUSpec, generate_cohort, write_ricu_export


def test_cohort_prevalences_match_the_design() -> None:
    truth = generate_cohort(SyntheticICUSpec(n_stays=6000, n_patients=4000, seed=1))
    assert truth["patient_id"].nunique() == 4000
    assert truth["stay_id"].is_unique
    assert 0.08 <= truth["died_in_hospital"].mean() <= 0.2
    assert 0.10 <= truth["aki_planted"].mean() <= 0.25
    died = truth[truth["died_in_hospital"]]
    assert 0.15 <= died["death_date_only"].mean() <= 0.35
    # riskier stays die earlier: death time decreases with planted risk
    assert np.corrcoef(died["risk"], died["death_hours"])[0, 1] < -0.2
    elderly = truth["subgroup_elderly_hidden_risk"]
    assert truth.loc[elderly, "hidden_risk"].std() > 3 * truth.loc[~elderly, "hidden_risk"].std()


def test_export_layout_density_and_units(tmp_path: Path) -> None:
    spec = SyntheticICUSpec(n_stays=120, n_patients=90, stays_per_part=50, seed=2)
    write_ricu_export(tmp_path / "ricu", spec)
    root = tmp_path / "ricu"
    parts = sorted((root / "timeseries").glob("part_*.parquet"))
    assert [p.name for p in parts] == [
        "part_0000.parquet",
        "part_0001.parquet",
        "part_0002.parquet",
    ]
    meta = yaml.safe_load((root / "metadata.yaml").read_text())
    assert meta["feature_names"] == list(DEFAULT_CONCEPTS) and meta["n_features"] == 84
    assert all(meta["units"][c] == RICU_CONCEPTS[c].unit for c in DEFAULT_CONCEPTS)
    table = pq.read_table(parts[0])
    assert table.column_names[:2] == ["stay_id", "hour"]
    for c in DEFAULT_CONCEPTS:
        assert f"{c}_mask" in table.column_names
    assert table.schema.field("avpu").type == "string"
    assert table.schema.field("abx").type == "bool"
    masks = [c for c in table.column_names if c.endswith("_mask")]
    density = sum(pc.sum(table[c]).as_py() for c in masks) / (len(masks) * table.num_rows)
    assert 0.12 <= density <= 0.25
    hr = table["hr"].to_numpy(zero_copy_only=False)
    assert np.nanmin(hr) >= 0 and np.nanmax(hr) <= 300
    stays = pd.read_parquet(root / "stays.parquet")
    assert {
        "stay_id",
        "patient_id",
        "hadm_id",
        "intime",
        "outtime",
        "los_days",
        "age",
        "gender",
        "race",
    } <= set(stays.columns)
    assert set(stays["gender"]) == {"M", "F"}
    mort = pd.read_parquet(root / "mortality.parquet")
    assert set(mort["death_time_precision"]) <= {"timestamp", "date", "unknown"}
    truth = pd.read_parquet(root / "truth.parquet")
    assert len(truth) == len(stays) == 120


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_export_is_byte_identical_on_rerun(tmp_path: Path) -> None:
    spec = SyntheticICUSpec(
        n_stays=40, n_patients=30, concepts=("hr", "crea", "avpu"), stays_per_part=15
    )
    write_ricu_export(tmp_path / "a", spec)
    write_ricu_export(tmp_path / "b", spec)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_bad_spec_is_rejected() -> None:
    with pytest.raises(ValueError, match="n_patients"):
        SyntheticICUSpec(n_stays=10, n_patients=20)
    with pytest.raises(ValueError, match="crea"):
        SyntheticICUSpec(concepts=("hr",))
    with pytest.raises(ValueError, match="not in the ricu dictionary"):
        SyntheticICUSpec(concepts=("crea", "heart_rate"))
