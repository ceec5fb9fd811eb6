"""Planted-truth checks of the PPG branch on synthetic data (see clinssl.ppg.synthetic).

Why a module: the same numbers are asserted by tests on the tiny config and reported by the
default run (``results/ppg/<dataset>/planted_truth.json``), so they must be computed the
same way. Checks (pass/fail): QC rejects the planted bad windows (all-NaN windows excluded
from the store count as rejected) and spares good ones; HiMAE's PVC probe beats the
random-init floor (paired AUROC margin, patient resampling, CI above 0); and every probe —
each task and feature set, with all labels — stays above chance. At smaller label fractions
the lowest value is reported next to the check, not asserted: with 10 % of 300 subjects a
subject-level task has a handful of positive patients per fold, and a point estimate
below chance there is sampling noise, not a missing signal. Findings (reported, not
asserted): every probe's metrics and margins, and ridge R² of chronological and vascular
age from HiMAE's ``z``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clinssl.ppg.probe import fraction_key
from clinssl.stats.probes import grouped_ridge_r2

QC_TARGETS = {"bad_rejected": ("min", 0.9), "good_rejected": ("max", 0.05)}
KEYS = ["subject_id", "record", "window_index"]


def qc_recovery(table: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """Share of planted bad windows rejected (or excluded) and of good windows rejected."""
    merged = truth[[*KEYS, "bad", "artifact"]].merge(table[[*KEYS, "qc_pass"]], on=KEYS, how="left")
    rejected = merged["qc_pass"].isna() | (merged["qc_pass"] == False)  # noqa: E712
    bad = merged["bad"] == 1
    per_artifact = (
        pd.DataFrame({"artifact": merged["artifact"], "rejected": rejected})
        .groupby("artifact")["rejected"]
        .agg(["mean", "size"])
    )
    return {
        "bad_windows": int(bad.sum()),
        "good_windows": int((~bad).sum()),
        "bad_rejected": float(rejected[bad].mean()) if bad.any() else float("nan"),
        "good_rejected": float(rejected[~bad].mean()),
        "rejected_by_artifact": {
            k: {"share": float(v["mean"]), "n": int(v["size"])} for k, v in per_artifact.iterrows()
        },
    }


def age_recovery(table: pd.DataFrame, z: np.ndarray, truth: pd.DataFrame) -> dict[str, Any]:
    """Ridge R² (grouped CV) of chronological and vascular age from ``z``."""
    rows = np.flatnonzero(table["qc_pass"].to_numpy())
    sub = table.iloc[rows][KEYS].merge(truth[[*KEYS, "age", "vascular_age"]], on=KEYS, how="left")
    x = np.asarray(z[rows], dtype=np.float64)
    groups = sub["subject_id"].to_numpy()
    return {
        "n_windows": int(rows.size),
        "age_r2": grouped_ridge_r2(x, sub["age"].to_numpy(), groups),
        "vascular_age_r2": grouped_ridge_r2(x, sub["vascular_age"].to_numpy(), groups),
    }


def _check(value: float, passed: bool, target: str, **extra: Any) -> dict[str, Any]:
    return {"value": value, "target": target, "passed": bool(passed), **extra}


def probe_checks(probes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``pvc_beats_random_init`` and one ``<task>_above_chance`` per probed task."""
    checks = {}
    pvc = probes.get("pvc")
    if pvc is not None:
        full = pvc["margins"][fraction_key(max(pvc["label_fractions"]))]
        m = full.get("himae - himae_random")
        if m is not None:
            checks["pvc_beats_random_init"] = _check(
                m["delta"], np.isfinite(m["ci_low"]) and m["ci_low"] > 0, "paired margin CI > 0",
                metric=m["metric"], ci_low=m["ci_low"], ci_high=m["ci_high"], p_value=m["p_value"],
            )  # fmt: skip
    for task, metrics in probes.items():
        metric, chance = metrics["margin_metric"], metrics["chance"]
        full = fraction_key(max(metrics["label_fractions"]))
        values = {f"{name} @ {key}": res[metric]["value"]
                  for name, by_fraction in metrics["results"].items()
                  for key, res in by_fraction.items()}  # fmt: skip
        at_full = {k: v for k, v in values.items() if k.endswith(f" @ {full}")}
        worst = min(at_full, key=lambda k: at_full[k] if np.isfinite(at_full[k]) else -np.inf)
        lowest_any = min(values, key=lambda k: values[k] if np.isfinite(values[k]) else -np.inf)
        v = at_full[worst]
        checks[f"{task}_above_chance"] = _check(
            v, np.isfinite(v) and v > chance, f"every {metric} > {chance} with all labels",
            metric=metric, lowest=worst, lowest_any_fraction={lowest_any: values[lowest_any]},
        )  # fmt: skip
    return checks


def planted_truth_report(
    table: pd.DataFrame,
    z: np.ndarray,
    truth: pd.DataFrame,
    probes: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """All checks with their targets and pass/fail, and the findings."""
    qc = qc_recovery(table, truth)
    checks = {}
    for name, (kind, target) in QC_TARGETS.items():
        v = qc[name]
        ok = np.isfinite(v) and (v >= target if kind == "min" else v < target)
        checks[name] = _check(v, ok, f"{'>=' if kind == 'min' else '<'} {target}")
    checks.update(probe_checks(probes))
    return {"checks": checks, "qc": qc, "age": age_recovery(table, z, truth), "probes": probes}
