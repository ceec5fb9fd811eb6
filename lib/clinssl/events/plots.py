"""The three figures of the events branch, each drawn from small result files."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from clinssl.plots.style import plt, save_figure

__all__ = ["plot_attention", "plot_attributions", "plot_head_specialization"]

_OUTCOME_COLORS = {"died": "tab:red", "survived": "tab:blue"}


def _check_columns(table: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing or table.empty:
        raise ValueError(f"{name}: expected a non-empty table with columns {list(columns)}; "
                         f"missing {missing}")  # fmt: skip


def plot_attention(attention: pd.DataFrame, example: Mapping[str, np.ndarray], time_bins: Sequence[str],
                   path: str | os.PathLike[str]) -> None:  # fmt: skip
    """(a) Pooling attention mass per time-before-end bin (mean over heads), deaths vs
    survivors, next to the bins' share of events; (b) the last layer's head-averaged
    self-attention of the example stay; (c) its pooling weights along the sequence."""
    _check_columns(attention, ["kind", "group", "outcome", "attention_mass", "event_share"], "attention")
    by_bin = attention[attention["kind"] == "time_bin"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    x = np.arange(len(time_bins))
    for i, outcome in enumerate(("died", "survived")):
        rows = by_bin[by_bin["outcome"] == outcome].groupby("group")[["attention_mass", "event_share"]].mean()
        rows = rows.reindex(time_bins)
        axes[0].bar(x + (i - 0.5) * 0.38, rows["attention_mass"], 0.38, color=_OUTCOME_COLORS[outcome],
                    label=f"attention, {outcome}")  # fmt: skip
        axes[0].plot(x + (i - 0.5) * 0.38, rows["event_share"], "k_", markersize=14,
                     label="share of events" if i == 0 else None)  # fmt: skip
    axes[0].set_xticks(x, time_bins)
    axes[0].set_xlabel("time before the end of the stay")
    axes[0].set_ylabel("pooling attention mass (mean over heads)")
    axes[0].legend(fontsize=8)
    axes[0].set_title("(a) where the pooling query looks")
    layers = sorted((k for k in example if k.startswith("layer")), key=lambda k: int(k[5:]))
    last = np.asarray(example[layers[-1]])
    image = axes[1].imshow(last, cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=axes[1], fraction=0.046)
    axes[1].set_xlabel("key event (oldest → most recent)")
    axes[1].set_ylabel("query event")
    stay = int(np.asarray(example["stay_id"])[0])
    prob = float(np.asarray(example["probability"])[0])
    axes[1].set_title(f"(b) {layers[-1]} self-attention, stay {stay} (p = {prob:.2f})", fontsize=9)
    types = [str(t) for t in np.asarray(example["event_types"])]
    pooling = np.asarray(example["pooling"])
    type_index = np.asarray(example["event_type_index"])
    colors = plt.get_cmap("tab10")(type_index % 10)
    axes[2].bar(np.arange(pooling.shape[1]), pooling.mean(axis=0), color=colors)
    handles = [Patch(color=plt.get_cmap("tab10")(t % 10), label=name) for t, name in enumerate(types)]
    axes[2].legend(handles=handles, fontsize=7)
    axes[2].set_xlabel("event (oldest → most recent)")
    axes[2].set_ylabel("pooling weight (mean over heads)")
    axes[2].set_title("(c) pooling weights of the same stay")
    save_figure(fig, path)


def plot_attributions(types: pd.DataFrame, time_bins: pd.DataFrame, ranking: pd.DataFrame,
                      path: str | os.PathLike[str]) -> None:  # fmt: skip
    """(a) Mean IG per event by risk category (planted sources vs ordinary events; on real
    data: by event type); (b) per event type, mean per-stay IG, layer IG and ablation;
    (c) mean per-stay IG by time before the end, deaths vs survivors."""
    _check_columns(types, ["event_type", "ig_mean", "layer_ig_mean", "ablation_mean"], "types")
    _check_columns(time_bins, ["time_bin", "died", "ig_mean"], "time_bins")
    _check_columns(ranking, ["category", "ig_mean_per_event"], "ranking")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    order = ranking.sort_values("ig_mean_per_event")
    planted = ~order["category"].str.startswith("other_")
    axes[0].barh(order["category"], order["ig_mean_per_event"],
                 color=np.where(planted, "tab:red", "tab:grey"))  # fmt: skip
    axes[0].axvline(0, color="black", linewidth=0.8)
    axes[0].set_xlabel("mean IG per event, deaths (logit)")
    axes[0].set_title("(a) which events push towards death")
    x = np.arange(len(types))
    for i, (column, label) in enumerate((("ig_mean", "IG"), ("layer_ig_mean", "layer IG"),
                                         ("ablation_mean", "ablation"))):  # fmt: skip
        axes[1].bar(x + (i - 1) * 0.27, types[column], 0.27, label=label)
    axes[1].set_xticks(x, types["event_type"], rotation=20)
    axes[1].axhline(0, color="black", linewidth=0.8)
    axes[1].set_ylabel("mean per-stay attribution (logit)")
    axes[1].legend(fontsize=8)
    axes[1].set_title("(b) event types: three methods")
    bins = list(dict.fromkeys(time_bins["time_bin"]))
    xb = np.arange(len(bins))
    for i, (died, name) in enumerate(((1, "died"), (0, "survived"))):
        rows = time_bins[time_bins["died"] == died].set_index("time_bin").reindex(bins)
        axes[2].bar(xb + (i - 0.5) * 0.38, rows["ig_mean"], 0.38, color=_OUTCOME_COLORS[name], label=name)
    axes[2].set_xticks(xb, bins)
    axes[2].axhline(0, color="black", linewidth=0.8)
    axes[2].set_xlabel("time before the end of the stay")
    axes[2].set_ylabel("mean per-stay IG (logit)")
    axes[2].legend(fontsize=8)
    axes[2].set_title("(c) when the evidence occurs")
    save_figure(fig, path)


def plot_head_specialization(attention: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Heat maps of pooling-head enrichment (attention mass / share of events) per event type
    and per time-before-end bin, over all explained stays: a head > 1 on a group reads it
    more than its frequency alone would make it."""
    _check_columns(attention, ["head", "kind", "group", "outcome", "enrichment"], "attention")
    rows = attention[attention["outcome"] == "all"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), constrained_layout=True)
    for ax, kind, title in ((axes[0], "event_type", "event type"), (axes[1], "time_bin", "time before end")):
        part = rows[rows["kind"] == kind]
        groups = list(dict.fromkeys(part["group"]))
        grid = part.pivot(index="head", columns="group", values="enrichment").reindex(columns=groups)
        values = np.log2(grid.to_numpy(dtype=float))
        limit = max(float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0, 0.5)
        image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), v in np.ndenumerate(grid.to_numpy(dtype=float)):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8)
        ax.set_xticks(np.arange(len(groups)), groups, rotation=20)
        ax.set_yticks(np.arange(len(grid.index)), [f"head {h}" for h in grid.index])
        ax.set_title(f"pooling-head enrichment by {title}")
        fig.colorbar(image, ax=ax, fraction=0.046, label="log2 enrichment")
    save_figure(fig, path)
