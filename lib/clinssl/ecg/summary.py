"""Summary of the ECG evaluation: tables over seeds, paired margins, planted-truth checks.

Paired margins compare two methods on the same test records of the same seed with the same
patient resamples (:func:`clinssl.stats.bootstrap.paired_replicates`): SSL fine-tuning
against the supervised baseline, and each SSL linear probe against the random-init
encoder's probe (the floor). Checks are written only for datasets with planted truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clinssl.ecg.names import (
    FINETUNE,
    LINEAR_PROBE,
    RANDOM,
    SCRATCH,
    SSL_METHODS,
    SUPERCLASSES,
    SUPERVISED,
)
from clinssl.stats.bootstrap import paired_margin, paired_replicates

__all__ = ["COMPARISONS", "paired_table", "planted_checks", "summary_markdown", "summary_table"]

#: (method a, protocol a, method b, protocol b): "a beats b" is what each margin measures
COMPARISONS: tuple[tuple[str, str, str, str], ...] = (
    *[(m, FINETUNE, SUPERVISED, SCRATCH) for m in SSL_METHODS],
    *[(m, LINEAR_PROBE, RANDOM, LINEAR_PROBE) for m in SSL_METHODS],
)
#: planted-truth targets (synthetic data only)
SUPERVISED_FULL_TARGET = 0.85


def summary_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean and SD over seeds per method × protocol × label fraction × metric; ``ci_low`` /
    ``ci_high`` are the per-seed patient-bootstrap bounds averaged over seeds."""
    keys = ["method", "protocol", "label_fraction", "metric"]
    grouped = metrics.groupby(keys, sort=True)
    out = grouped.agg(value=("value", "mean"), sd=("value", "std"), n_seeds=("seed", "nunique"),
                      ci_low=("ci_low", "mean"), ci_high=("ci_high", "mean"),
                      n_train_records=("n_train_records", "mean")).reset_index()  # fmt: skip
    out["sd"] = out["sd"].fillna(0.0)
    return out


def summary_markdown(summary: pd.DataFrame, metric: str = "auroc") -> str:
    """Macro ``metric`` as ``mean ± sd`` per method/protocol (rows) and label fraction (columns)."""
    sub = summary[summary["metric"] == metric]
    fractions = sorted(sub["label_fraction"].unique())
    lines = [f"| method | protocol | {' | '.join(f'{f:g}' for f in fractions)} |",
             "|---|---|" + "---|" * len(fractions)]  # fmt: skip
    for (method, protocol), rows in sub.groupby(["method", "protocol"], sort=True):
        cells = []
        for f in fractions:
            r = rows[rows["label_fraction"] == f]
            cells.append(f"{r['value'].iloc[0]:.3f} ± {r['sd'].iloc[0]:.3f}" if len(r) else "")
        lines.append(f"| {method} | {protocol} | {' | '.join(cells)} |")
    return f"Test macro {metric.upper()} (fold 10), mean ± SD over seeds\n\n" + "\n".join(lines) + "\n"


def _scores(pred: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred = pred.sort_values("ecg_id")
    y = pred[[f"label_{c}" for c in SUPERCLASSES]].to_numpy(dtype=float)
    s = pred[[f"score_{c}" for c in SUPERCLASSES]].to_numpy(dtype=float)
    return y, s, pred["patient_id"].to_numpy()


def paired_table(predictions: pd.DataFrame, n_resamples: int, confidence: float) -> pd.DataFrame:
    """Paired macro-AUROC margins of :data:`COMPARISONS` per seed and label fraction."""
    rows = []
    keys = ["method", "protocol", "label_fraction", "seed"]
    runs = {k: g for k, g in predictions.groupby(keys, sort=True)}
    for a_method, a_protocol, b_method, b_protocol in COMPARISONS:
        for (method, protocol, fraction, seed), a in runs.items():
            if (method, protocol) != (a_method, a_protocol):
                continue
            b = runs.get((b_method, b_protocol, fraction, seed))
            if b is None:
                continue
            ya, sa, groups = _scores(a)
            yb, sb, _ = _scores(b)
            if not np.array_equal(ya, yb):
                raise ValueError(f"{a_method}/{b_method} seed {seed}: test records differ")
            _, delta, reps = paired_replicates("multilabel", ya, sa, sb, metric="auroc",
                                               groups=groups, n_resamples=n_resamples,
                                               seed=int(seed))  # fmt: skip
            m = paired_margin(delta, reps, confidence)
            rows.append({"a": f"{a_method}/{a_protocol}", "b": f"{b_method}/{b_protocol}",
                         "label_fraction": fraction, "seed": seed, "metric": "auroc",
                         "delta": m.delta, "ci_low": m.ci_low, "ci_high": m.ci_high,
                         "p_value": m.p_value})  # fmt: skip
    return pd.DataFrame(rows, columns=["a", "b", "label_fraction", "seed", "metric", "delta",
                                       "ci_low", "ci_high", "p_value"])  # fmt: skip


def _margins(paired: pd.DataFrame, a: str, b: str, fraction: float) -> dict[str, Any]:
    sub = paired[(paired["a"] == a) & (paired["b"] == b) & np.isclose(paired["label_fraction"], fraction)]
    per_seed = [{k: (int(v) if k == "seed" else float(v)) for k, v in r.items()
                 if k in ("seed", "delta", "ci_low", "ci_high", "p_value")}
                for r in sub.to_dict("records")]  # fmt: skip
    mean = float(sub["delta"].mean()) if len(sub) else float("nan")
    return {"comparison": f"{a} - {b}", "label_fraction": fraction, "mean_delta": mean,
            "clear_of_noise": bool(len(sub)) and bool((sub["ci_low"] > 0).all()),
            "per_seed": per_seed}  # fmt: skip


def planted_checks(summary: pd.DataFrame, paired: pd.DataFrame, fractions: list[float]) -> dict:
    """The planted-truth checks: supervised ≥ 0.85 macro AUROC with all labels; at the
    smallest fraction SimCLR or BYOL fine-tuning beats supervised (mean paired margin over
    seeds > 0); every SSL linear probe beats the random-init probe at every fraction."""
    auroc = summary[summary["metric"] == "auroc"].set_index(["method", "protocol", "label_fraction"])
    checks: dict[str, Any] = {}
    full, low = max(fractions), min(fractions)
    key = (SUPERVISED, SCRATCH, full)
    value = float(auroc.loc[key, "value"]) if key in auroc.index else float("nan")
    checks["supervised_full_labels_auroc"] = {
        "value": value, "target": f">= {SUPERVISED_FULL_TARGET}",
        "passed": bool(np.isfinite(value) and value >= SUPERVISED_FULL_TARGET)}  # fmt: skip
    finetune = [_margins(paired, f"{m}/{FINETUNE}", f"{SUPERVISED}/{SCRATCH}", low)
                for m in SSL_METHODS]  # fmt: skip
    best = max(finetune, key=lambda m: m["mean_delta"] if np.isfinite(m["mean_delta"]) else -np.inf)
    checks["ssl_finetune_beats_supervised_low_labels"] = {
        "value": best["mean_delta"], "target": f"max over SSL methods of the mean paired "
        f"AUROC margin at label fraction {low:g} > 0", "passed": bool(best["mean_delta"] > 0),
        "best": best["comparison"], "margins": finetune}  # fmt: skip
    probes = [_margins(paired, f"{m}/{LINEAR_PROBE}", f"{RANDOM}/{LINEAR_PROBE}", f)
              for m in SSL_METHODS for f in fractions]  # fmt: skip
    worst = min(p["mean_delta"] for p in probes)
    checks["ssl_probe_beats_random_probe"] = {
        "value": worst, "target": "every SSL probe's mean paired AUROC margin over the "
        "random-init probe > 0", "passed": bool(worst > 0), "margins": probes}  # fmt: skip
    return {"checks": checks, "all_passed": all(c["passed"] for c in checks.values())}
