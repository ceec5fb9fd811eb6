"""Planted-truth checks of the PPG branch on synthetic data (see clinssl.ppg.synthetic).

Why a module: the same numbers are asserted by tests on the tiny config and reported by the
default run (``results/ppg/<dataset>/planted_truth.json``), so they must be computed the
same way: QC rejection of planted bad windows (all-NaN windows excluded from the store
count as rejected), ridge R² of chronological and vascular age from ``z`` (subject-grouped
CV on QC-passed windows), and the PVC probe's AUROC.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clinssl.stats.probes import grouped_ridge_r2

TARGETS = {
    "pvc_auroc": ("min", 0.85),
    "age_r2": ("min", 0.5),
    "bad_rejected": ("min", 0.9),
    "good_rejected": ("max", 0.05),
}
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


def planted_truth_report(
    table: pd.DataFrame, z: np.ndarray, truth: pd.DataFrame, probe: dict[str, Any]
) -> dict[str, Any]:
    """All checks with their targets and pass/fail."""
    qc = qc_recovery(table, truth)
    age = age_recovery(table, z, truth)
    values = {
        "pvc_auroc": probe["auroc"]["value"],
        "age_r2": age["age_r2"],
        "bad_rejected": qc["bad_rejected"],
        "good_rejected": qc["good_rejected"],
    }
    checks = {}
    for name, (kind, target) in TARGETS.items():
        v = values[name]
        ok = bool(np.isfinite(v) and (v >= target if kind == "min" else v < target))
        checks[name] = {
            "value": v,
            "target": f"{'>=' if kind == 'min' else '<'} {target}",
            "passed": ok,
        }
    return {"checks": checks, "qc": qc, "age": age, "probe": probe}
