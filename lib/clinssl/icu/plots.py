"""Figure of the ICU paradigm comparison (``results/figures/icu_paradigms_<dataset>.png``).

One panel per task of the summary table, the task's headline metric (AUROC for binary
tasks, MAE in days for LOS) on the y axis, one group of bars per paradigm (supervised and
the SSL paradigms) and one bar per protocol × label fraction; error bars are the sd over
seeds. Reference lines across each panel, at the full label fraction: every classical
baseline (summary features with logistic regression / gradient boosting) and the probe of a
randomly initialised frozen encoder per encoder (the floor SSL must beat). One legend for
the whole figure sits below the panels, off the data. Reads only the summary table, so the
figure rebuilds from cached results in seconds; a table without classical rows (older
summaries) or with a single task (a YAIB cohort) draws too.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from clinssl.icu.names import (
    CLASSICAL,
    CLASSICAL_PROTOCOLS,
    ENCODERS,
    PARADIGMS,
    PROTOCOLS,
    RANDOM,
    SUPERVISED,
)
from clinssl.plots.style import plt, save_figure

__all__ = [
    "HEADLINE_METRIC",
    "icu_paradigms_figure",
    "plot_icu_paradigms",
    "reference_label",
]

HEADLINE_METRIC = {"binary": "auroc", "regression": "mae"}
PARADIGM_ORDER = (SUPERVISED, *PARADIGMS)
PROTOCOL_ORDER = tuple(reversed(PROTOCOLS))  # supervised, finetune, linear_probe
REQUIRED = {"paradigm", "protocol", "task", "kind", "label_fraction", "metric", "mean", "sd"}

#: colour family of each protocol's bars (shade: label fraction)
_BAR_CMAP = {SUPERVISED: "Blues", "finetune": "Oranges", "linear_probe": "Greens"}
#: line style of each reference: classical protocols, then the random floor per encoder
_CLASSICAL_STYLE = {
    "logistic_regression": {"color": "black", "ls": "-."},
    "gradient_boosting": {"color": "tab:purple", "ls": ":"},
}
_RANDOM_STYLE = {
    "transformer": {"color": "dimgray", "ls": "--"},
    "mart": {"color": "tab:red", "ls": (0, (6, 2, 1, 2, 1, 2))},
}
_FALLBACK_STYLES = ({"color": "tab:olive", "ls": "--"}, {"color": "tab:cyan", "ls": "-."})


def _bar_colors(combos: list[tuple[str, float]]) -> list:
    """One colour family per protocol (none of the reference lines' colours), darker for a
    larger label fraction."""
    colors = []
    for protocol, fraction in combos:
        own = sorted(f for p, f in combos if p == protocol)
        shade = np.linspace(0.45, 0.8, len(own))[own.index(fraction)] if len(own) > 1 else 0.7
        colors.append(plt.get_cmap(_BAR_CMAP.get(protocol, "Greys"))(shade))
    return colors


def reference_label(paradigm: str, protocol: str, encoder: str, fraction: float) -> str:
    """Legend label of a reference line (a classical baseline or a random-encoder floor)."""
    if paradigm == CLASSICAL:
        return f"classical {protocol} @ {fraction:g}"
    return f"random {encoder} {protocol} @ {fraction:g}"


def _reference_style(paradigm: str, protocol: str, encoder: str, k: int) -> dict:
    styles = _CLASSICAL_STYLE.get(protocol) if paradigm == CLASSICAL else _RANDOM_STYLE.get(encoder)
    return dict(styles or _FALLBACK_STYLES[k % len(_FALLBACK_STYLES)])


def _references(sub: pd.DataFrame) -> pd.DataFrame:
    """Reference rows of one task × metric: classical protocols and the random floor per
    encoder, each at its largest (full) label fraction, in a stable order."""
    rows = []
    order = {CLASSICAL: ("protocol", CLASSICAL_PROTOCOLS), RANDOM: ("encoder", ENCODERS)}
    for paradigm, (column, known) in order.items():
        own = sub[sub["paradigm"] == paradigm]
        if own.empty:
            continue
        own = own[own["label_fraction"] == own["label_fraction"].max()]
        rank = [(known.index(v) if v in known else len(known), v) for v in own[column]]
        rows.append(own.iloc[sorted(range(len(own)), key=rank.__getitem__)])
    return pd.concat(rows) if rows else sub.iloc[:0]


def icu_paradigms_figure(summary: pd.DataFrame, title: str = "") -> Figure:
    """Build the comparison from a summary table (:func:`clinssl.icu.benchmark.summarize`).

    Returns the (undrawn) figure; :func:`plot_icu_paradigms` writes it. The caller closes
    it (``plt.close(fig)``)."""
    missing = sorted(REQUIRED - set(summary.columns))
    if missing:
        raise ValueError(f"ICU summary table lacks columns {missing}")
    if "encoder" not in summary.columns:
        summary = summary.assign(encoder="")
    tasks = list(dict.fromkeys(summary["task"]))
    if not tasks:
        raise ValueError("ICU summary table is empty: nothing to plot")
    bars = summary[summary["paradigm"].isin(PARADIGM_ORDER)]
    fractions = sorted(bars["label_fraction"].unique())
    combos = [
        (p, f) for p in PROTOCOL_ORDER for f in fractions
        if ((bars["protocol"] == p) & (bars["label_fraction"] == f)).any()
    ]  # fmt: skip
    colors = _bar_colors(combos)
    width_in = max(4.2 * len(tasks), 7.0)
    fig, axes = plt.subplots(
        1, len(tasks), figsize=(width_in, 4.8), squeeze=False, layout="constrained"
    )
    handles: dict[str, object] = {}
    for ax, task in zip(axes[0], tasks, strict=True):
        sub = summary[summary["task"] == task]
        metric = HEADLINE_METRIC[sub["kind"].iloc[0]]
        sub = sub[sub["metric"] == metric]
        paradigms = [p for p in PARADIGM_ORDER if p in set(sub["paradigm"])]
        width = 0.8 / max(len(combos), 1)
        low, high = [], []
        for k, (protocol, fraction) in enumerate(combos):
            heights, errors = [], []
            for paradigm in paradigms:
                row = sub[(sub["paradigm"] == paradigm) & (sub["protocol"] == protocol)
                          & (sub["label_fraction"] == fraction)]  # fmt: skip
                heights.append(row["mean"].iloc[0] if len(row) else np.nan)
                errors.append(row["sd"].iloc[0] if len(row) else 0.0)
            heights, errors = np.asarray(heights, float), np.asarray(errors, float)
            low += list(heights - errors)
            high += list(heights + errors)
            x = np.arange(len(paradigms)) + (k - (len(combos) - 1) / 2) * width
            label = f"{protocol} @ {fraction:g}"
            container = ax.bar(x, heights, width, yerr=errors, color=colors[k], capsize=2,
                               label=label)  # fmt: skip
            handles.setdefault(label, container)
        for k, (_, row) in enumerate(_references(sub).iterrows()):
            paradigm, protocol, encoder = row["paradigm"], row["protocol"], row["encoder"]
            label = reference_label(paradigm, protocol, encoder, row["label_fraction"])
            style = _reference_style(paradigm, protocol, encoder, k)
            line = ax.axhline(row["mean"], lw=1.4, label=label, zorder=3, **style)
            handles.setdefault(label, line)
            low.append(row["mean"])
            high.append(row["mean"])
        ax.set_xticks(np.arange(len(paradigms)), paradigms, rotation=20)
        ax.set_title(task)
        ax.set_ylabel(f"test {metric.upper()}" + (" (days)" if metric == "mae" else ""))
        finite_low = [v for v in low if np.isfinite(v)]
        finite_high = [v for v in high if np.isfinite(v)]
        if metric == "auroc":
            bottom = min([0.45, *finite_low]) - 0.03
            top = max([0.97, *finite_high]) + 0.03
            ax.set_ylim(max(bottom, 0.0), min(top, 1.05))
        elif finite_high:
            ax.set_ylim(0.0, max(finite_high) * 1.08 or 1.0)
    ncol = max(1, min(len(handles), int(width_in // 1.9)))
    fig.legend(list(handles.values()), list(handles.keys()), loc="outside lower center",
               ncol=ncol, fontsize=8, frameon=False)  # fmt: skip
    if title:
        fig.suptitle(title)
    return fig


def plot_icu_paradigms(
    summary: pd.DataFrame, path: str | os.PathLike[str], title: str = ""
) -> None:
    """Draw the comparison from a summary table and write it as PNG to ``path``."""
    save_figure(icu_paradigms_figure(summary, title), path)
