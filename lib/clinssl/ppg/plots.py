"""Figures of the PPG branch."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from clinssl.plots.style import plt, save_figure

#: line colour per feature set (pretrained solid, floors dashed)
_STYLE = {"himae": ("C0", "-"), "papagei": ("C3", "-"), "himae_random": ("C1", "--"),
          "classical": ("C2", "--")}  # fmt: skip


def plot_pvc_roc(
    predictions: pd.DataFrame, metrics: dict[str, Any], path: str | os.PathLike[str], title: str
) -> None:
    """ROC and precision-recall curves of the PVC probe's out-of-fold predictions, one curve
    per feature set and label fraction (the full fraction thick, smaller ones thin), with
    AUROC/AUPRC and their bootstrap CIs in the legend; written atomically as PNG."""
    for col in ("encoder", "label_fraction", "label", "score"):
        if col not in predictions:
            raise ValueError(f"PVC predictions lack column {col!r}")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.8), constrained_layout=True)
    full = max(metrics["label_fractions"])

    def _label(name: str, key: str, metric: str) -> str:
        m = metrics["results"][name][key][metric]
        ci = f" [{m['ci_low']:.2f}, {m['ci_high']:.2f}]" if np.isfinite(m["ci_low"]) else ""
        return f"{name} @ {key}: {m['value']:.3f}{ci}"

    for (name, fraction), rows in predictions.groupby(["encoder", "label_fraction"], sort=False):
        key = str(float(fraction))
        if name not in metrics["results"] or key not in metrics["results"][name]:
            raise ValueError(f"PVC metrics lack {name!r} at label fraction {key}")
        colour, ls = _STYLE.get(name, ("C4", "-"))
        lw, alpha = (2.0, 1.0) if float(fraction) == full else (1.0, 0.6)
        y, p = rows["label"].to_numpy(), rows["score"].to_numpy()
        fpr, tpr, _ = roc_curve(y, p)
        prec, rec, _ = precision_recall_curve(y, p)
        kw = {"color": colour, "ls": ls, "lw": lw, "alpha": alpha}
        ax1.plot(fpr, tpr, label=_label(name, key, "auroc"), **kw)
        ax2.plot(rec, prec, label=_label(name, key, "auprc"), **kw)
    ax1.plot([0, 1], [0, 1], ls=":", c="grey", lw=1, label="chance")
    ax1.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC (AUROC)")
    ax1.legend(loc="lower right", fontsize=7)
    prevalence = metrics["prevalence"]
    ax2.axhline(prevalence, ls=":", c="grey", lw=1, label=f"prevalence {prevalence:.3f}")
    ax2.set(xlabel="recall", ylabel="precision", title="precision-recall (AUPRC)",
            ylim=(0, 1.02))  # fmt: skip
    ax2.legend(loc="upper right", fontsize=7)
    fig.suptitle(
        f"{title}: n={metrics['n_rows']} windows, {metrics['n_subjects']} subjects, "
        "subject-grouped CV; solid = pretrained, dashed = floors"
    )
    save_figure(fig, path)
