"""Figures of the ECG branch."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from clinssl.ecg.names import RANDOM
from clinssl.plots.style import plt, save_figure

__all__ = ["plot_label_efficiency"]


def plot_label_efficiency(summary: pd.DataFrame, path: str | os.PathLike[str], title: str) -> None:
    """Test macro AUROC against label fraction per method and protocol (mean over seeds,
    error bars = the per-seed patient-bootstrap 95 % CI averaged over seeds); the random-init
    probe is the dashed floor."""
    sub = summary[summary["metric"] == "auroc"]
    if sub.empty:
        raise ValueError("ECG summary has no 'auroc' rows to plot")
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    for (method, protocol), rows in sub.groupby(["method", "protocol"], sort=True):
        rows = rows.sort_values("label_fraction")
        x, y = rows["label_fraction"].to_numpy(), rows["value"].to_numpy()
        err = np.vstack([y - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - y])
        style = {"ls": "--", "color": "grey"} if method == RANDOM else {}
        ax.errorbar(x, y, yerr=np.clip(err, 0, None), marker="o", capsize=3,
                    label=f"{method} / {protocol}", **style)  # fmt: skip
    ax.set_xscale("log")
    fractions = sorted(sub["label_fraction"].unique())
    ax.set_xticks(fractions, [f"{f:g}" for f in fractions])
    ax.set(xlabel="label fraction of folds 1–8 (log)", ylabel="test macro AUROC (fold 10)",
           title=title)  # fmt: skip
    ax.legend(fontsize=8, loc="lower right")
    save_figure(fig, path)
