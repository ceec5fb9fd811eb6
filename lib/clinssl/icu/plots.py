"""Figure of the ICU paradigm comparison (``results/figures/icu_paradigms.png``).

One panel per task, the task's headline metric (AUROC for binary tasks, MAE in days for
LOS) on the y axis, one group of bars per paradigm and one bar per protocol × label
fraction; error bars are the sd over seeds. The randomly initialised frozen encoder's probe
(the floor SSL must beat) is drawn as a dashed line. Reads only the summary table, so the
figure rebuilds from cached results in seconds.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from clinssl.icu.names import PARADIGMS, PROTOCOLS, RANDOM, SUPERVISED
from clinssl.plots.style import plt, save_figure

__all__ = ["HEADLINE_METRIC", "plot_icu_paradigms"]

HEADLINE_METRIC = {"binary": "auroc", "regression": "mae"}
PARADIGM_ORDER = (SUPERVISED, *PARADIGMS)
PROTOCOL_ORDER = tuple(reversed(PROTOCOLS))  # supervised, finetune, linear_probe
REQUIRED = {"paradigm", "protocol", "task", "kind", "label_fraction", "metric", "mean", "sd"}


def plot_icu_paradigms(
    summary: pd.DataFrame, path: str | os.PathLike[str], title: str = ""
) -> None:
    """Draw the comparison from a summary table (:func:`clinssl.icu.benchmark.summarize`)."""
    missing = sorted(REQUIRED - set(summary.columns))
    if missing:
        raise ValueError(f"ICU summary table lacks columns {missing}")
    tasks = list(dict.fromkeys(summary["task"]))
    if not tasks:
        raise ValueError("ICU summary table is empty: nothing to plot")
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.8), squeeze=False)
    fractions = sorted(summary["label_fraction"].unique())
    combos = [
        (p, f) for p in PROTOCOL_ORDER for f in fractions
        if ((summary["protocol"] == p) & (summary["label_fraction"] == f)).any()
    ]  # fmt: skip
    colors = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(combos), 2)))
    for ax, task in zip(axes[0], tasks, strict=True):
        sub = summary[summary["task"] == task]
        metric = HEADLINE_METRIC[sub["kind"].iloc[0]]
        sub = sub[sub["metric"] == metric]
        paradigms = [p for p in PARADIGM_ORDER if p in set(sub["paradigm"])]
        width = 0.8 / max(len(combos), 1)
        for k, (protocol, fraction) in enumerate(combos):
            heights, errors = [], []
            for paradigm in paradigms:
                row = sub[(sub["paradigm"] == paradigm) & (sub["protocol"] == protocol)
                          & (sub["label_fraction"] == fraction)]  # fmt: skip
                heights.append(row["mean"].iloc[0] if len(row) else np.nan)
                errors.append(row["sd"].iloc[0] if len(row) else 0.0)
            x = np.arange(len(paradigms)) + (k - (len(combos) - 1) / 2) * width
            ax.bar(x, heights, width, yerr=errors, color=colors[k], capsize=2,
                   label=f"{protocol} @ {fraction:g}")  # fmt: skip
        floor = sub[(sub["paradigm"] == RANDOM) & (sub["label_fraction"] == max(fractions))]
        for _, row in floor.iterrows():
            ax.axhline(row["mean"], ls="--", lw=1, color="grey")
        if len(floor):
            ax.text(0.01, 0.01, "dashed: random frozen encoder probe", transform=ax.transAxes,
                    fontsize=7, color="grey")  # fmt: skip
        ax.set_xticks(np.arange(len(paradigms)), paradigms, rotation=20)
        ax.set_title(task)
        ax.set_ylabel(f"test {metric.upper()}" + (" (days)" if metric == "mae" else ""))
        if metric == "auroc":
            ax.set_ylim(0.4, 1.0)
    axes[0][0].legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
