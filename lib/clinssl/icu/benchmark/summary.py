"""Mean ± sd over seeds of the metrics table, and its markdown rendering."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["GROUP_KEYS", "summarize", "summary_markdown"]

GROUP_KEYS = ["paradigm", "encoder", "protocol", "task", "kind", "label_fraction", "metric"]


def summarize(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds (and mean bootstrap CI bounds) per paradigm × task × protocol ×
    label fraction × metric."""
    grouped = metrics.groupby(GROUP_KEYS, sort=True)
    table = grouped.agg(
        mean=("value", "mean"),
        sd=("value", "std"),
        n_seeds=("seed", "nunique"),
        ci_low=("ci_low", "mean"),
        ci_high=("ci_high", "mean"),
    ).reset_index()
    table["sd"] = table["sd"].fillna(0.0)
    return table


def summary_markdown(
    table: pd.DataFrame, metrics: Sequence[str] = ("auroc", "auprc", "mae")
) -> str:
    """Markdown table: one line per paradigm × protocol × fraction, one column per task."""
    sub = table[table["metric"].isin(metrics)].copy()
    sub["cell"] = [
        f"{m:.3f} ± {s:.3f} [{lo:.3f}, {hi:.3f}]"
        for m, s, lo, hi in zip(sub["mean"], sub["sd"], sub["ci_low"], sub["ci_high"], strict=True)
    ]
    sub["column"] = sub["task"] + " " + sub["metric"]
    wide = sub.pivot_table(
        index=["paradigm", "encoder", "protocol", "label_fraction"], columns="column",
        values="cell", aggfunc="first",
    ).reset_index()  # fmt: skip
    columns = list(wide.columns)
    lines = [
        "| " + " | ".join(map(str, columns)) + " |",
        "|" + "---|" * len(columns),
    ]
    for _, row in wide.iterrows():
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |")
    note = (
        "\nValues: mean ± sd over seeds [mean of per-seed bootstrap 95 % CI bounds]; "
        "test set, best validation checkpoint.\n"
    )
    return "\n".join(lines) + "\n" + note
