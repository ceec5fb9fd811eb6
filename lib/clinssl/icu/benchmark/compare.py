"""Paired comparisons on the same test stays: each result against supervised training, and
each SSL probe against the probe of a randomly initialised encoder (patients resampled)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinssl.icu.names import RANDOM, SUPERVISED
from clinssl.stats.bootstrap import paired_margin, paired_replicates, percentile_ci
from clinssl.utils.seeding import derive_seed

__all__ = ["paired_versus", "paired_vs_supervised", "probe_vs_random"]

def _paired(
    kind: str, merged: pd.DataFrame, other: str, n_resamples: int, seed: int,
    metric: str | None = None,
) -> tuple[str, float, np.ndarray]:
    """Paired replicates of ``y_score − <other>`` on the merged test stays, resampling
    patients (both models see the same resampled patients)."""
    return paired_replicates(
        kind,
        merged["y_true"].to_numpy(float),
        merged["y_score"].to_numpy(float),
        merged[other].to_numpy(float),
        metric=metric,
        groups=merged["patient_id"].to_numpy(),
        n_resamples=n_resamples,
        seed=seed,
    )  # fmt: skip


def paired_versus(
    predictions: pd.DataFrame,
    tasks: dict[str, str],
    reference_paradigm: str,
    reference_protocol: str,
    n_resamples: int = 1000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Primary-metric difference of every other result against one reference model.

    For each (paradigm, protocol, task, fraction, seed) the same bootstrap resamples of the
    shared test patients are applied to both models (a paired bootstrap); rows report the
    point difference, its CI, and a two-sided bootstrap p-value, averaged over seeds.
    Direction: positive = better than the reference (for MAE the sign is flipped so this
    holds). ``reference`` names the reference (``paradigm/protocol``).
    """
    is_ref = (predictions["paradigm"] == reference_paradigm) & (
        predictions["protocol"] == reference_protocol
    )
    ref_all = predictions[is_ref]
    rows = []
    keys = ["paradigm", "encoder", "protocol", "task", "label_fraction", "seed"]
    for key, other in predictions[~is_ref].groupby(keys):
        paradigm, encoder, protocol, task, fraction, seed = key
        ref = ref_all[
            (ref_all["task"] == task)
            & (ref_all["label_fraction"] == fraction)
            & (ref_all["seed"] == seed)
        ]
        if ref.empty:
            continue
        merged = other.merge(ref[["stay_id", "y_score"]], on="stay_id", suffixes=("", "_ref"))
        metric, diff, boot = _paired(
            tasks[task], merged, "y_score_ref", n_resamples,
            derive_seed(int(seed), "paired", reference_paradigm, reference_protocol, task),
        )  # fmt: skip
        margin = paired_margin(diff, boot, confidence)
        rows.append({
            "paradigm": paradigm, "encoder": encoder, "protocol": protocol, "task": task,
            "label_fraction": fraction, "seed": seed, "metric": metric, "delta": diff,
            "ci_low": margin.ci_low, "ci_high": margin.ci_high, "p_value": margin.p_value,
        })  # fmt: skip
    per_seed = pd.DataFrame(rows)
    if per_seed.empty:
        return per_seed
    agg = per_seed.groupby(["paradigm", "encoder", "protocol", "task", "label_fraction", "metric"])
    out = (
        agg.agg(
            delta_mean=("delta", "mean"),
            delta_sd=("delta", "std"),
            ci_low=("ci_low", "mean"),
            ci_high=("ci_high", "mean"),
            n_seeds=("seed", "nunique"),
            seeds_better=("delta", lambda d: int((d > 0).sum())),
            max_p_value=("p_value", "max"),
        )
        .reset_index()
        .fillna({"delta_sd": 0.0})
    )
    out.insert(0, "reference", f"{reference_paradigm}/{reference_protocol}")
    return out


def paired_vs_supervised(
    predictions: pd.DataFrame,
    tasks: dict[str, str],
    n_resamples: int = 1000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """:func:`paired_versus` supervised training from scratch (the deep-learning baseline)."""
    return paired_versus(predictions, tasks, SUPERVISED, SUPERVISED, n_resamples, confidence)


def probe_vs_random(
    predictions: pd.DataFrame,
    task: str = "mortality_hospital",
    kind: str = "binary",
    metric: str = "auroc",
    n_resamples: int = 1000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Seed-averaged ``metric`` difference of each SSL linear probe against the probe of a randomly
    initialised encoder of the same architecture (full label fraction), with a paired
    bootstrap CI.

    Why: a probe that beats the random-encoder probe by less than the test set's sampling
    noise has not shown that pretraining learned anything. Per seed, both probes are scored
    on the same resamples of the same test patients; replicate ``r`` of the seed-averaged
    difference is the mean over seeds of each seed's replicate ``r``, so the CI covers the
    test-set noise of every seed's split. Columns: paradigm, encoder, metric, delta,
    ci_low, ci_high, n_seeds, seeds_better.
    """
    probes = predictions[
        (predictions["protocol"] == "linear_probe") & (predictions["task"] == task)
    ]
    if probes.empty:
        return pd.DataFrame()
    probes = probes[probes["label_fraction"] == probes["label_fraction"].max()]
    random = probes[probes["paradigm"] == RANDOM]
    rows = []
    for (paradigm, encoder), ssl in probes[probes["paradigm"] != RANDOM].groupby(
        ["paradigm", "encoder"]
    ):
        diffs, boots = [], []
        for seed, own in ssl.groupby("seed"):
            ref = random[(random["encoder"] == encoder) & (random["seed"] == seed)]
            if ref.empty:
                continue
            merged = own.merge(ref[["stay_id", "y_score"]], on="stay_id", suffixes=("", "_r"))
            _, diff, boot = _paired(
                kind, merged, "y_score_r", n_resamples,
                derive_seed(int(seed), "probe_vs_random", task), metric=metric,
            )  # fmt: skip
            diffs.append(diff)
            boots.append(boot)
        if not diffs:
            continue
        lo, hi = percentile_ci(np.mean(boots, axis=0), confidence)
        rows.append({
            "paradigm": paradigm, "encoder": encoder, "metric": metric,
            "delta": float(np.mean(diffs)), "ci_low": lo, "ci_high": hi,
            "n_seeds": len(diffs), "seeds_better": int(sum(d > 0 for d in diffs)),
        })  # fmt: skip
    return pd.DataFrame(rows)
