"""Subgroup fairness of downstream predictions (SLICES ``docs/EVAL_FAIRNESS.md``).

Groups: sex, age group (18–44, 45–64, 65–79, 80+) and race. A group enters the comparison
only when it holds at least ``min_group_size`` **unique patients** (small groups give
metrics that are mostly noise). Binary tasks: per-group AUROC/AUPRC/positive rate, the worst
group, the max−min gaps, the demographic-parity difference (spread of the predicted-positive
rate at ``threshold``) and the equalized-odds difference (max of the TPR and FPR spreads).
Regression: per-group MAE/MSE/R², worst group and gaps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from clinssl.stats.metrics import HIGHER_IS_BETTER, metric_values

__all__ = ["AGE_BINS", "age_group", "fairness_report", "group_metrics"]

#: lower edges of the age groups; the last group is open-ended
AGE_BINS: tuple[int, ...] = (18, 45, 65, 80)


def age_group(age: pd.Series, edges: Sequence[int] = AGE_BINS) -> pd.Series:
    """Label ages ``"18-44"``, ``"45-64"``, ``"65-79"``, ``"80+"`` (others: missing)."""
    edges = list(edges)
    labels = [f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    labels.append(f"{edges[-1]}+")
    cut = pd.cut(age.astype(float), [*edges, np.inf], right=False, labels=labels)
    return cut.astype("string")


def group_metrics(
    kind: str, frame: pd.DataFrame, attribute: str, min_group_size: int, threshold: float
) -> pd.DataFrame:
    """One row per group of ``attribute``: n stays, n patients, eligibility (``status``:
    "compared", or "too few patients" under ``min_group_size``) and metrics.

    ``frame`` needs ``y_true``, ``y_score``, ``patient_id`` and the ``attribute`` column.
    """
    rows = []
    for group, sub in frame.dropna(subset=[attribute]).groupby(attribute, sort=True):
        y, s = sub["y_true"].to_numpy(float), sub["y_score"].to_numpy(float)
        row: dict[str, object] = {
            "attribute": attribute,
            "group": str(group),
            "n": len(sub),
            "n_patients": int(sub["patient_id"].nunique()),
        }
        row["eligible"] = row["n_patients"] >= min_group_size
        row["status"] = "compared" if row["eligible"] else "too few patients"
        row.update({m: float(v[0]) for m, v in metric_values(kind, y, s).items()})
        if kind == "binary":
            pred = s >= threshold
            row["positive_rate"] = float(pred.mean())
            row["tpr"] = float(pred[y == 1].mean()) if (y == 1).any() else np.nan
            row["fpr"] = float(pred[y == 0].mean()) if (y == 0).any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _spread(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.max() - values.min()) if len(values) >= 2 else float("nan")


def fairness_report(
    kind: str,
    frame: pd.DataFrame,
    attributes: Sequence[str],
    min_group_size: int = 50,
    threshold: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(per_group, summary)`` over ``attributes`` (see module docstring).

    ``summary`` has one row per attribute: number of eligible groups, worst group and value
    of each gap metric, the gaps, and (binary) the demographic-parity and equalized-odds
    differences — all computed over eligible groups only (NaN when fewer than two).
    """
    missing = [c for c in ("y_true", "y_score", "patient_id", *attributes) if c not in frame]
    if missing:
        raise ValueError(f"fairness input lacks columns {missing}")
    gap_metrics = ("auroc", "auprc") if kind == "binary" else ("mae", "mse", "r2")
    per_group, summary = [], []
    for attribute in attributes:
        groups = group_metrics(kind, frame, attribute, min_group_size, threshold)
        if groups.empty:
            continue
        per_group.append(groups)
        ok = groups[groups["eligible"]]
        row: dict[str, object] = {"attribute": attribute, "n_groups": len(ok)}
        for m in gap_metrics:
            values = ok[m].dropna()
            if len(values) >= 1:
                worst = values.idxmin() if HIGHER_IS_BETTER[m] else values.idxmax()
                row[f"worst_group_{m}"] = ok.loc[worst, "group"]
                row[f"worst_{m}"] = float(values[worst])
            else:
                row[f"worst_group_{m}"], row[f"worst_{m}"] = None, float("nan")
            row[f"{m}_gap"] = _spread(ok[m])
        if kind == "binary":
            row["demographic_parity_diff"] = _spread(ok["positive_rate"])
            row["equalized_odds_diff"] = (
                float(np.nanmax([_spread(ok["tpr"]), _spread(ok["fpr"]), -np.inf]))
                if len(ok) >= 2
                else float("nan")
            )
        summary.append(row)
    per = pd.concat(per_group, ignore_index=True) if per_group else pd.DataFrame()
    return per, pd.DataFrame(summary)
