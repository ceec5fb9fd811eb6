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

from clinssl.icu.io.ricu_dictionary import DEFAULT_CONCEPTS, RICU_CONCEPTS
from clinssl.icu.synthetic import SyntheticICUSpec, generate_cohort, write_ricu_export


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


def _summary_features(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-feature mean, last value and last-minus-first of the 24 h window (z-scored)."""
    flat = values.reshape(-1, values.shape[2])
    z = np.where(mask, (values - np.nanmean(flat, 0)) / (np.nanstd(flat, 0) + 1e-6), 0)
    hours = np.arange(values.shape[1])[None, :, None]
    last_i = np.where(mask, hours, -1).max(1)
    first_i = np.where(mask, hours, 10_000).min(1)
    last = np.take_along_axis(z, np.maximum(last_i, 0)[:, None, :], 1)[:, 0] * (last_i >= 0)
    first = np.take_along_axis(z, np.minimum(first_i, 23)[:, None, :], 1)[:, 0] * (last_i >= 0)
    mean = z.sum(1) / np.maximum(mask.sum(1), 1)
    return np.concatenate([mean, last, last - first, mask.mean(1)], axis=1)


def test_default_cohort_outcomes_are_learnable_with_a_subgroup_gap(tmp_path: Path) -> None:
    """With the default size (3,000 stays), a plain logistic regression on first-24 h summary
    features reaches AUROC >= 0.75 for hospital mortality and AKI on a patient-level test
    split, and is worse for the planted subgroup (age >= 80) than for the rest."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from clinssl.icu.files import IngestFiles
    from clinssl.icu.ingest import ingest, open_source
    from clinssl.io.splits import patient_level_split

    write_ricu_export(tmp_path / "ricu", SyntheticICUSpec())
    ingest(open_source("synthetic", tmp_path / "ricu"), IngestFiles.under(tmp_path / "out"))
    x = _summary_features(
        np.load(tmp_path / "out" / "values.npy"), np.load(tmp_path / "out" / "mask.npy")
    )
    labels = pd.read_parquet(tmp_path / "out" / "labels.parquet")
    static = pd.read_parquet(tmp_path / "out" / "static.parquet")
    split = patient_level_split(static, seed=0)["split"].to_numpy()
    elderly = static["age"].to_numpy() >= 80
    probs = {}
    for task in ("mortality_hospital", "aki_kdigo"):
        y = labels[task].to_numpy()
        ok = ~np.isnan(y)
        train, test = ok & (split == "train"), ok & (split == "test")
        model = LogisticRegression(C=0.05, max_iter=3000).fit(x[train], y[train])
        probs[task] = model.predict_proba(x)[:, 1]
        auroc = roc_auc_score(y[test], probs[task][test])
        assert auroc >= 0.75, (task, auroc)
    # planted subgroup effect: hidden risk of the elderly makes them harder to predict
    y = labels["mortality_hospital"].to_numpy()
    held_out = ~np.isnan(y) & (split != "train")  # val + test: enough elderly positives
    p = probs["mortality_hospital"]
    young = roc_auc_score(y[held_out & ~elderly], p[held_out & ~elderly])
    old = roc_auc_score(y[held_out & elderly], p[held_out & elderly])
    assert young - old > 0.05, (young, old)
