"""The five figures of the ST-SAE branch (each drawn from small result files)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from clinssl.plots.style import plt, save_figure
from clinssl.stsae.names import ABLATIONS, BASELINES, PLAIN, STSAE, VARIANTS

__all__ = ["plot_ablation", "plot_concept_pulses", "plot_delta_age", "plot_morphology_corr",
           "plot_pareto"]  # fmt: skip

_SAE_COLOR, _BASE_COLOR = "tab:blue", "tab:grey"


def _numeric(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = table.copy()
    for c in columns:
        out[c] = pd.to_numeric(out[c], errors="coerce")
    return out


def plot_pareto(board: pd.DataFrame, path: str | os.PathLike[str], title: str) -> None:
    """Test EV against L0, mean over seeds per (method, K); frontier members outlined."""
    t = _numeric(board, ["ev", "l0"])
    groups = t.groupby(["method", "n_concepts"], sort=False).agg(
        ev=("ev", "mean"), l0=("l0", "mean"), pareto=("pareto", "max")).reset_index()
    if groups.empty:
        raise ValueError("leaderboard is empty: nothing to plot")
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    markers = {m: "o" for m in VARIANTS} | {m: "s" for m in BASELINES}
    for method, rows in groups.groupby("method", sort=False):
        ax.scatter(rows["l0"], rows["ev"], marker=markers.get(method, "^"), s=40, label=method,
                   edgecolors=["black" if p else "none" for p in rows["pareto"]], linewidths=1.5)  # fmt: skip
        for _, r in rows.iterrows():
            ax.annotate(f"K{int(r['n_concepts'])}", (r["l0"], r["ev"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")  # fmt: skip
    front = groups[groups["pareto"].astype(bool)].sort_values("l0")
    ax.plot(front["l0"], front["ev"], color="black", lw=0.8, ls=":", label="Pareto frontier")
    ax.set_xscale("log")
    ax.set_xlabel("L0 (active concepts per window, log)")
    ax.set_ylabel("explained variance (test)")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path)


_ABLATION_METRICS = ("ev", "consistency", "lag1_autocorr", "seed_stability")


def plot_ablation(board: pd.DataFrame, n_concepts: int, path: str | os.PathLike[str],
                  title: str) -> None:  # fmt: skip
    """Per metric, one bar per method at the default K (mean over seeds, ticks per seed)."""
    t = _numeric(board[board["n_concepts"] == n_concepts], list(_ABLATION_METRICS))
    order = [m for m in (STSAE, *ABLATIONS, PLAIN, *BASELINES) if (t["method"] == m).any()]
    if not order:
        raise ValueError(f"leaderboard has no fits at K = {n_concepts}")
    fig, axes = plt.subplots(1, len(_ABLATION_METRICS), figsize=(13, 4), constrained_layout=True)
    x = np.arange(len(order))
    for ax, metric in zip(axes, _ABLATION_METRICS, strict=True):
        means = [t.loc[t["method"] == m, metric].mean() for m in order]
        colors = [_BASE_COLOR if m in BASELINES else _SAE_COLOR for m in order]
        ax.bar(x, means, color=colors, alpha=0.8)
        for i, m in enumerate(order):
            values = t.loc[t["method"] == m, metric].dropna()
            ax.scatter(np.full(len(values), i), values, color="black", s=8, zorder=3)
        ax.set_xticks(x, order, rotation=60, ha="right", fontsize=8)
        ax.set_title(metric)
    fig.suptitle(title)
    save_figure(fig, path)


def plot_delta_age(subjects: pd.DataFrame, correction: str, path: str | os.PathLike[str],
                   title: str, color_by: str = "htn") -> None:  # fmt: skip
    """Test subjects' Δage against age: uncorrected and bias-corrected, coloured by a label."""
    test = subjects[subjects["split"] == "test"]
    if test.empty:
        raise ValueError("aging subjects table has no test subjects")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, constrained_layout=True)
    color = test[color_by] if color_by in test else pd.Series(np.zeros(len(test)), index=test.index)
    for ax, column, name in ((axes[0], "delta", "uncorrected"),
                             (axes[1], "delta_corrected", f"corrected ({correction})")):  # fmt: skip
        for value, marker_color in ((0, "tab:blue"), (1, "tab:red")):
            rows = test[color.to_numpy() == value]
            ax.scatter(rows["age"], rows[column], s=12, color=marker_color, alpha=0.7,
                       label=f"{color_by} = {value}")  # fmt: skip
        unknown = test[~np.isin(color.to_numpy(), (0, 1))]
        if len(unknown):
            ax.scatter(unknown["age"], unknown[column], s=12, color="grey", label=f"{color_by} unknown")
        ax.axhline(0.0, color="black", lw=0.8)
        r = np.corrcoef(test["age"], test[column])[0, 1] if len(test) > 2 else np.nan
        ax.set_title(f"{name}: r(Δ, age) = {r:.2f}")
        ax.set_xlabel("chronological age (years)")
    axes[0].set_ylabel("Δage = predicted − age (years)")
    axes[1].legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)


def plot_concept_pulses(pulses: dict[str, np.ndarray], concept_r: dict[int, float],
                        path: str | os.PathLike[str], title: str) -> None:  # fmt: skip
    """Per top concept, the mean pulse of its most vs least active test windows."""
    concepts = [int(k) for k in pulses["concepts"]]
    if not concepts:
        raise ValueError("no grounded concepts to plot")
    fs = float(pulses["fs"])
    fig, axes = plt.subplots(1, len(concepts), figsize=(3.2 * len(concepts), 3.2), squeeze=False,
                             sharey=True, constrained_layout=True)  # fmt: skip
    t = np.arange(pulses["high"].shape[1]) / fs
    for ax, k, high, low in zip(axes[0], concepts, pulses["high"], pulses["low"], strict=True):
        ax.plot(t, high, color="tab:red", label="highest activation")
        ax.plot(t, low, color="tab:blue", label="lowest activation")
        ax.set_title(f"concept {k} (r with age {concept_r.get(k, np.nan):+.2f})", fontsize=9)
        ax.set_xlabel("time from onset (s)")
    axes[0][0].set_ylabel("normalised pulse")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title)
    save_figure(fig, path)


def plot_morphology_corr(correlations: pd.DataFrame, path: str | os.PathLike[str],
                         title: str) -> None:  # fmt: skip
    """Heat map of concept × morphology Pearson r; '*' where BH q < 0.05."""
    if correlations.empty:
        raise ValueError("correlation table is empty")
    r = correlations.pivot(index="concept", columns="feature", values="r")
    q = correlations.pivot(index="concept", columns="feature", values="q").reindex_like(r)
    fig, ax = plt.subplots(figsize=(1.1 * r.shape[1] + 2, 0.6 * r.shape[0] + 2), constrained_layout=True)
    image = ax.imshow(r.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    for i in range(r.shape[0]):
        for j in range(r.shape[1]):
            value, sig = r.iat[i, j], q.iat[i, j]
            if np.isfinite(value):
                mark = "*" if np.isfinite(sig) and sig < 0.05 else ""
                ax.text(j, i, f"{value:.2f}{mark}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(r.shape[1]), r.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(r.shape[0]), [f"concept {k}" for k in r.index], fontsize=8)
    fig.colorbar(image, ax=ax, label="Pearson r")
    ax.set_title(title)
    save_figure(fig, path)
