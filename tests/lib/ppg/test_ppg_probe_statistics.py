"""PPG probes: grouped CV, label fractions, penalty choice, floors and paired margins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clinssl.ppg.probe import ProbeConfig, probe_rows, run_probe
from clinssl.stats.bootstrap import evaluate
from clinssl.stats.probes import (
    choose_penalty,
    fraction_training_rows,
    grouped_folds,
    grouped_probe_predictions,
    grouped_ridge_r2,
)


def _data(signal: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(40), 10)
    y = (rng.random(400) < 0.15).astype(int)
    x = rng.normal(size=(400, 8)) + rng.normal(size=(40, 8))[groups]  # subject effects
    x[:, 0] += signal * y
    return x, y, groups


def test_probe_recovers_planted_signal_and_not_noise() -> None:
    x, y, g = _data(2.0)
    p, fold = grouped_probe_predictions(x, y, g, n_folds=5, seed=0)
    m = evaluate("binary", y, p, groups=g, n_resamples=200, seed=0)
    assert m["auroc"]["value"] > 0.85
    assert m["auroc"]["ci_low"] <= m["auroc"]["value"] <= m["auroc"]["ci_high"]
    for subject in np.unique(g):  # a subject's windows share one fold
        assert len(set(fold[g == subject])) == 1
    x0, y0, g0 = _data(0.0, seed=1)
    p0, _ = grouped_probe_predictions(x0, y0, g0, n_folds=5, seed=0)
    m0 = evaluate("binary", y0, p0, groups=g0, n_resamples=200, seed=0)
    assert m0["auroc"]["ci_low"] < 0.5 < m0["auroc"]["ci_high"] + 0.05


def test_ridge_r2_and_errors() -> None:
    x, _, g = _data(0.0)
    target = 3 * x[:, 1] + np.random.default_rng(2).normal(0, 0.5, len(x))
    assert grouped_ridge_r2(x, target, g) > 0.9
    with pytest.raises(ValueError, match="single class"):
        grouped_probe_predictions(x, np.zeros(len(x)), g, 5, 0)


def test_label_fraction_draws_whole_patients_of_both_strata() -> None:
    x, y, g = _data(1.0)
    fold = grouped_folds(y, g, 5, seed=0, stratify=True)
    full = fraction_training_rows(fold, g, y == 1, 0, 1.0, seed=0)
    assert np.array_equal(full, np.flatnonzero(fold != 0))
    part = fraction_training_rows(fold, g, y == 1, 0, 0.1, seed=0)
    assert np.array_equal(part, fraction_training_rows(fold, g, y == 1, 0, 0.1, seed=0))
    assert set(part) < set(full)
    patients = np.unique(g[part])
    assert np.isin(np.flatnonzero(np.isin(g, patients) & (fold != 0)), part).all()  # whole
    assert y[part].max() == 1 and y[part].min() == 0  # both strata represented
    train_patients = len(np.unique(g[full]))
    assert len(patients) <= int(np.ceil(0.1 * train_patients)) + 2
    assert not np.array_equal(part, fraction_training_rows(fold, g, y == 1, 0, 0.1, seed=1))
    with pytest.raises(ValueError, match="fraction"):
        fraction_training_rows(fold, g, None, 0, 0.0, seed=0)


def test_penalty_is_strong_for_noise_and_weak_for_a_clear_signal() -> None:
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(30), 4)
    noise = rng.normal(size=(120, 60))
    y = (rng.random(120) < 0.5).astype(int)
    grid = (0.001, 0.01, 0.1, 1.0, 10.0)
    assert choose_penalty("binary", noise, y, groups, grid, seed=0) <= 0.01
    clear = rng.normal(size=(120, 3))
    clear[:, 0] += 3.0 * (2 * y - 1)
    assert choose_penalty("binary", clear, y, groups, grid, seed=0) >= 1.0
    assert choose_penalty("binary", noise, y, groups, (0.5,), seed=0) == 0.5  # fixed


def _table(n_subjects: int = 40, per: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    subject = np.repeat([f"p{i:03d}" for i in range(n_subjects)], per)
    htn = np.repeat((rng.random(n_subjects) < 0.4).astype(int), per)
    return pd.DataFrame({
        "subject_id": subject, "record": "r0", "window_index": np.tile(np.arange(per), n_subjects),
        "qc_pass": rng.random(len(subject)) > 0.05, "pvc": (rng.random(len(subject)) < 0.2).astype(float),
        "htn": htn.astype(float), "age": np.repeat(rng.uniform(20, 90, n_subjects), per),
    })  # fmt: skip


def test_floors_and_paired_margins() -> None:
    table = _table()
    rng = np.random.default_rng(1)
    pvc = table["pvc"].to_numpy()
    good = rng.normal(size=(len(table), 6))
    good[:, 0] += 2.5 * pvc
    weak = rng.normal(size=(len(table), 6))
    weak[:, 0] += 0.7 * pvc
    noise = rng.normal(size=(len(table), 6))
    features = {"himae": good, "himae_random": noise, "classical": weak}
    rows = probe_rows(table, "pvc")
    cfg = ProbeConfig(n_folds=4, n_bootstrap=200, label_fractions=(0.25, 1.0))
    metrics, pred = run_probe(rows, features, cfg, seed=0)
    assert metrics["n_rows"] == int(table["qc_pass"].sum()) and metrics["level"] == "window"
    res = metrics["results"]
    assert set(res) == set(features) and set(res["himae"]) == {"0.25", "1.0"}
    assert res["himae"]["1.0"]["auroc"]["value"] > 0.9
    assert abs(res["himae_random"]["1.0"]["auroc"]["value"] - 0.5) < 0.1
    # the same labelled patients for every feature set at a fraction; fewer at 0.25
    assert res["himae"]["0.25"]["n_train_subjects"] == res["classical"]["0.25"]["n_train_subjects"]
    assert sum(res["himae"]["0.25"]["n_train_subjects"]) < sum(res["himae"]["1.0"]["n_train_subjects"])
    full = metrics["margins"]["1.0"]
    assert set(full) == {"himae - himae_random", "himae - classical"}
    m = full["himae - himae_random"]
    assert m["metric"] == "auroc" and m["ci_low"] > 0 and m["p_value"] < 0.05
    assert m["delta"] == pytest.approx(res["himae"]["1.0"]["auroc"]["value"]
                                       - res["himae_random"]["1.0"]["auroc"]["value"])
    assert full["himae - classical"]["delta"] > 0
    assert len(pred) == metrics["n_rows"] * 3 * 2
    one = pred[pred["label_fraction"] == 1.0]
    folds = one.pivot_table(index=["subject", "window"], columns="encoder", values="fold")
    assert (folds.nunique(axis=1) == 1).all()  # identical folds across feature sets


def test_subject_level_tasks_pool_windows_and_validate() -> None:
    table = _table()
    rows = probe_rows(table, "htn")
    assert rows.level == "subject" and len(rows.y) == table["subject_id"].nunique()
    x = np.arange(len(table), dtype=float)[:, None]
    pooled = rows.features(x)
    first = table["subject_id"].iloc[0]
    ok = (table["subject_id"] == first) & table["qc_pass"]
    assert pooled[0, 0] == pytest.approx(x[ok.to_numpy(), 0].mean())
    mixed = table.copy()
    mixed.loc[0, "htn"] = 1 - mixed.loc[0, "htn"]
    with pytest.raises(ValueError, match="patient attribute"):
        probe_rows(mixed, "htn", "w.parquet")
    with pytest.raises(ValueError, match="w.parquet.*'diabetes'"):
        probe_rows(table, "diabetes", "w.parquet")
    age = probe_rows(table, "age")
    assert age.kind == "regression" and age.level == "window"
    with pytest.raises(ValueError, match="label_fractions"):
        ProbeConfig(label_fractions=(0.0, 1.0))
