"""Figures of the PPG branch."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from clinssl.plots.style import plt, save_figure


def plot_pvc_roc(
    predictions: pd.DataFrame, metrics: dict[str, Any], path: str | os.PathLike[str], title: str
) -> None:
    """ROC and precision-recall curves of the PVC probe's out-of-fold predictions, with the
    AUC/AP and their bootstrap CIs in the legend; written atomically as PNG."""
    for col in ("label", "p_pvc"):
        if col not in predictions:
            raise ValueError(f"PVC predictions lack column {col!r}")
    y, p = predictions["label"].to_numpy(), predictions["p_pvc"].to_numpy()
    fpr, tpr, _ = roc_curve(y, p)
    prec, rec, _ = precision_recall_curve(y, p)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)

    def _label(name: str, metric: str) -> str:
        m = metrics[metric]
        ci = f" [{m['ci_low']:.3f}, {m['ci_high']:.3f}]" if np.isfinite(m["ci_low"]) else ""
        return f"{name} {m['value']:.3f}{ci}"

    ax1.plot(fpr, tpr, lw=2, label=_label("AUROC", "auroc"))
    ax1.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="chance")
    ax1.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC")
    ax1.legend(loc="lower right")
    ax2.plot(rec, prec, lw=2, label=_label("AUPRC", "auprc"))
    ax2.axhline(np.mean(y), ls="--", c="grey", lw=1, label=f"prevalence {np.mean(y):.3f}")
    ax2.set(xlabel="recall", ylabel="precision", title="precision-recall", ylim=(0, 1.02))
    ax2.legend(loc="upper right")
    fig.suptitle(
        f"{title}: n={metrics['n_windows']} windows, {metrics['n_subjects']} subjects, "
        "patient-grouped CV"
    )
    save_figure(fig, path)
