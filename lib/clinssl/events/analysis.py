"""Explaining the trained model on held-out stays: attributions, their checks, attention.

:func:`explain_stays` runs the three Captum methods of :mod:`clinssl.events.explain` on the
chosen stays and returns tidy tables plus the correctness checks every attribution must pass,
on any data (they test the method, not a planted truth):

* **completeness** — Integrated Gradients (float64 copy of the model, Gauss-Legendre steps)
  sums to ``f(x) - f(baseline)``: ``|delta| / max(|f(x) - f(baseline)|, MIN_LOGIT_CHANGE)``
  must be ≤ 1 % for every stay (the floor keeps a stay whose logit hardly moves from asking
  for an exact zero);
* **padding** — every attribution at a padding slot is exactly 0 (IG and layer IG);
* **agreement** — the event type with the largest mean per-stay attribution is the same for
  IG (sum over the type's events) and for feature ablation (the type's events removed).

Attention summaries read the learned pooling query's weights in eval mode: per head, the mass
on each event type and each time-before-end bin, next to that group's share of the events
(``enrichment`` = mass / share: > 1 means the head looks at the group more than its count
alone would make it), and one stay's per-layer self-attention maps for the figure.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from clinssl.events.dataset import EventTensors, event_layout
from clinssl.events.evaluation import predict
from clinssl.events.explain import (
    DEFAULT_TIME_BINS_HOURS,
    IntegratedGradientsResult,
    explanation_table,
    feature_ablation,
    integrated_gradients,
    layer_integrated_gradients,
    per_time_bin_attribution,
    per_type_attribution,
    time_bin_labels,
    time_bin_of,
)
from clinssl.events.files import ExplainFiles
from clinssl.events.model import EventSequenceModel, write_npz
from clinssl.utils import atomic_path, write_json

__all__ = ["MIN_LOGIT_CHANGE", "COMPLETENESS_TOLERANCE", "Explanation", "attention_example",
           "attention_summary", "choose_explained_rows", "explain_stays", "time_bin_labels",
           "write_explanation"]  # fmt: skip

#: floor of |f(x) - f(baseline)| in the completeness ratio (logit units)
MIN_LOGIT_CHANGE = 0.05
#: IG completeness: |delta| <= 1 % of |f(x) - f(baseline)|
COMPLETENESS_TOLERANCE = 0.01


def choose_explained_rows(tensors: EventTensors, split: str, max_stays: int, seed: int) -> np.ndarray:
    """Rows of ``split`` to explain: up to half ``max_stays`` deaths (all if fewer), the rest
    survivors, each drawn without replacement from ``seed``; sorted. Deaths are
    over-represented on purpose: attributions towards death are what the tables explain."""
    rows = tensors.rows(split)
    rng = np.random.default_rng(seed)
    died = rows[tensors.label[rows] > 0.5]
    alive = rows[tensors.label[rows] <= 0.5]
    n_died = min(len(died), max_stays // 2)
    n_alive = min(len(alive), max_stays - n_died)
    chosen = np.concatenate([rng.permutation(died)[:n_died], rng.permutation(alive)[:n_alive]])
    return np.sort(chosen.astype(np.int64))


@dataclass(frozen=True)
class Explanation:
    """Tables of one explanation run (see :func:`explain_stays`)."""

    events: pd.DataFrame  # one row per real event of the explained stays
    types: pd.DataFrame  # one row per event type: IG, layer IG, ablation summaries
    time_bins: pd.DataFrame  # one row per (time bin, outcome)
    explanations: pd.DataFrame  # per stay, the top-k events by |IG|
    summary: dict[str, Any]  # checks and settings


def _batches(rows: np.ndarray, size: int) -> list[np.ndarray]:
    return [rows[i : i + size] for i in range(0, len(rows), size)] or [rows]


def _inputs(tensors: EventTensors, rows: np.ndarray, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    seq = torch.from_numpy(tensors.seq[rows]).to(dtype)
    mask = torch.from_numpy(tensors.mask[rows])
    static = torch.from_numpy(tensors.static[rows]).to(dtype)
    return seq, mask, static


def _slot_values(layout: pd.DataFrame, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values (B, L)`` at each layout row of the explained stays (row order of ``layout``)."""
    batch_index = pd.Index(rows).get_indexer(layout["stay_row"].to_numpy())
    return values[batch_index, layout["position"].to_numpy()]


def _relative_delta(delta: torch.Tensor, change: torch.Tensor) -> np.ndarray:
    """``|delta| / max(|f(x) - f(baseline)|, MIN_LOGIT_CHANGE)`` per stay."""
    return np.abs(delta.detach().numpy()) / np.maximum(np.abs(change.numpy()), MIN_LOGIT_CHANGE)


def _complete_ig(model: EventSequenceModel, seq: torch.Tensor, mask: torch.Tensor,
                 static: torch.Tensor, change: torch.Tensor, n_steps: int,
                 max_steps: int) -> tuple[Any, np.ndarray]:  # fmt: skip
    """IG with the steps doubled, per stay, until completeness holds or ``max_steps``."""
    ig = integrated_gradients(model, seq, mask, static, n_steps=n_steps)
    attr_seq, attr_static, delta = ig.seq.detach().clone(), ig.static.detach().clone(), ig.delta.detach().clone()
    steps = np.full(len(seq), n_steps, dtype=np.int64)
    bad = np.flatnonzero(_relative_delta(delta, change) > COMPLETENESS_TOLERANCE)
    while bad.size and steps[bad[0]] * 2 <= max_steps:
        n = int(steps[bad[0]] * 2)
        index = torch.from_numpy(bad)
        redo = integrated_gradients(model, seq[index], mask[index], static[index], n_steps=n)
        attr_seq[index], attr_static[index], delta[index] = redo.seq.detach(), redo.static.detach(), redo.delta.detach()
        steps[bad] = n
        bad = bad[_relative_delta(delta[index], change[index]) > COMPLETENESS_TOLERANCE]
    return IntegratedGradientsResult(attr_seq, attr_static, delta), steps


def explain_stays(
    model: EventSequenceModel,
    tensors: EventTensors,
    layout: pd.DataFrame,
    rows: np.ndarray,
    static_groups: Mapping[str, Sequence[int]],
    *,
    n_steps: int = 32,
    max_steps: int = 256,
    batch_size: int = 32,
    top_k: int = 5,
    time_bins_hours: Sequence[float] = DEFAULT_TIME_BINS_HOURS,
) -> Explanation:
    """IG, layer IG and feature ablation of the stays at ``rows`` (module docstring).

    ``layout`` is :func:`clinssl.events.dataset.event_layout` of the tensors' inputs (it gives
    each slot its text and raw minutes); ``static_groups`` the static encoder's blocks. IG
    starts at ``n_steps`` and doubles the steps of any stay that misses the completeness
    tolerance, up to ``max_steps`` (the steps each stay needed are in the summary).
    """
    model = model.eval()
    model64 = copy.deepcopy(model).double().eval()
    n_rows, width = len(rows), tensors.seq.shape[1]
    ig_event = np.zeros((n_rows, width))
    lig_event = np.zeros((n_rows, width))
    ablation, ig_static, deltas, moved, steps_used = [], [], [], [], []
    padding_max = 0.0
    offset = 0
    for batch in _batches(rows, batch_size):
        seq, mask, static = _inputs(tensors, batch, torch.float64)
        with torch.no_grad():
            change = model64(seq, mask, static) - model64(torch.zeros_like(seq), mask,
                                                          torch.zeros_like(static))  # fmt: skip
        ig, batch_steps = _complete_ig(model64, seq, mask, static, change, n_steps, max_steps)
        steps_used.append(batch_steps)
        lig, _ = layer_integrated_gradients(model64, seq, mask, static, n_steps=n_steps)
        padding_max = max(padding_max, float(np.abs(ig.seq[mask].detach().numpy()).max(initial=0.0)),
                          float(np.abs(lig[mask].detach().numpy()).max(initial=0.0)))  # fmt: skip
        sl = slice(offset, offset + len(batch))
        ig_event[sl] = ig.seq.sum(-1).detach().numpy()
        lig_event[sl] = lig.detach().numpy()
        ig_static.append(ig.static.sum(-1).detach().numpy())
        deltas.append(ig.delta.detach().numpy())
        moved.append(change.numpy())
        seq32, mask32, static32 = _inputs(tensors, batch, torch.float32)
        result = feature_ablation(model, seq32, mask32, static32, static_groups=static_groups,
                                  event_types=tensors.event_types)  # fmt: skip
        ablation.append(result.values.detach().double().numpy())
        offset += len(batch)
    names, kinds = result.names, result.kinds
    ablation_values = np.concatenate(ablation)
    delta, change = np.concatenate(deltas), np.concatenate(moved)

    prob = predict(model, tensors, rows)
    stay_ids = tensors.stay_id[rows]
    label = tensors.label[rows].astype(np.int64)
    explained = layout[layout["stay_row"].isin(rows)].reset_index(drop=True)
    events = explained.drop(columns=["stay_row", "event_row"]).assign(
        time_bin=time_bin_of(explained["minutes_to_end"].to_numpy(), time_bins_hours),
        ig=_slot_values(explained, rows, ig_event),
        layer_ig=_slot_values(explained, rows, lig_event),
    )
    outcome = pd.Series(label, index=stay_ids)
    events.insert(1, "died", outcome.reindex(events["stay_id"]).to_numpy())

    types = _type_table(events, ablation_values, names, kinds, stay_ids, label, tensors.event_types)
    bins = _bin_table(events, stay_ids, label, time_bins_hours)
    top = explanation_table(events.rename(columns={"ig": "attribution"}), k=top_k).rename(
        columns={"attribution": "ig"})
    prob_by_stay = pd.Series(prob, index=stay_ids)
    top.insert(2, "probability", prob_by_stay.reindex(top["stay_id"]).to_numpy())

    summary = _checks(delta, change, padding_max, types)
    summary.update({
        "n_stays": int(n_rows), "n_deaths": int(label.sum()), "n_events": int(len(events)),
        "n_steps": int(n_steps), "max_steps": int(max_steps),
        "ig_steps_used": {str(k): int(v) for k, v in zip(*np.unique(np.concatenate(steps_used),
                                                                    return_counts=True), strict=True)},
        "baseline": "zeros (no type, zero text, train-mean time; "
        "static at zero: age at the train mean, no category)",
        "static_ig_share": float(np.abs(np.concatenate(ig_static)).sum()
                                 / max(np.abs(ig_event).sum() + np.abs(np.concatenate(ig_static)).sum(), 1e-12)),
    })  # fmt: skip
    return Explanation(events=events, types=types, time_bins=bins, explanations=top, summary=summary)


def _type_table(events: pd.DataFrame, ablation: np.ndarray, names: Sequence[str],
                kinds: Sequence[str], stay_ids: np.ndarray, label: np.ndarray,
                event_types: Sequence[str]) -> pd.DataFrame:  # fmt: skip
    """Per event type: mean per-stay IG / layer IG (sum over the type's events) and ablation,
    over all explained stays and over the deaths, plus event counts."""
    died = set(stay_ids[label == 1].tolist())
    rows = []
    ig = per_type_attribution(events.rename(columns={"ig": "attribution"}), event_types, stay_ids)
    lig = per_type_attribution(events.rename(columns={"layer_ig": "attribution"}), event_types, stay_ids)
    for j, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        if kind != "event_type":
            continue
        per_ig = ig[ig["event_type"] == name]
        per_lig = lig[lig["event_type"] == name]
        is_died = per_ig["stay_id"].isin(died).to_numpy()
        rows.append({
            "event_type": name,
            "n_events": int(per_ig["n_events"].sum()),
            "ig_mean": float(per_ig["attribution"].mean()),
            "ig_mean_died": float(per_ig["attribution"][is_died].mean()) if is_died.any() else float("nan"),
            "ig_mean_abs": float(per_ig["attribution"].abs().mean()),
            "layer_ig_mean": float(per_lig["attribution"].mean()),
            "ablation_mean": float(ablation[:, j].mean()),
            "ablation_mean_died": float(ablation[label == 1, j].mean()) if (label == 1).any() else float("nan"),
            "ablation_mean_abs": float(np.abs(ablation[:, j]).mean()),
        })  # fmt: skip
    table = pd.DataFrame(rows)
    for column in ("ig_mean", "ablation_mean"):
        table[f"{column.split('_')[0]}_rank"] = table[column].rank(ascending=False, method="first").astype(int)
    return table


def _bin_table(events: pd.DataFrame, stay_ids: np.ndarray, label: np.ndarray,
               edges: Sequence[float]) -> pd.DataFrame:  # fmt: skip
    """Mean per-stay IG by time-before-end bin, for deaths and survivors separately."""
    per = per_time_bin_attribution(events.rename(columns={"ig": "attribution"}), edges, stay_ids)
    per["died"] = pd.Series(label, index=stay_ids).reindex(per["stay_id"]).to_numpy()
    out = per.groupby(["time_bin", "died"], sort=False).agg(
        n_stays=("stay_id", "size"), n_events=("n_events", "sum"), ig_mean=("attribution", "mean"),
    ).reset_index()  # fmt: skip
    order = {b: i for i, b in enumerate(time_bin_labels(edges))}
    return out.sort_values(["died", "time_bin"], key=lambda c: c.map(order) if c.name == "time_bin" else c,
                           kind="stable").reset_index(drop=True)  # fmt: skip


def _checks(delta: np.ndarray, change: np.ndarray, padding_max: float, types: pd.DataFrame) -> dict[str, Any]:
    """Completeness, zero padding and IG-vs-ablation agreement (module docstring)."""
    relative = np.abs(delta) / np.maximum(np.abs(change), MIN_LOGIT_CHANGE)
    worst = float(relative.max(initial=0.0))
    top_ig = str(types.loc[types["ig_mean"].idxmax(), "event_type"])
    top_ablation = str(types.loc[types["ablation_mean"].idxmax(), "event_type"])
    return {
        "ig_completeness": {
            "value": worst, "threshold": COMPLETENESS_TOLERANCE,
            "passed": bool(worst <= COMPLETENESS_TOLERANCE),
            "n_stays": int(relative.size), "max_abs_delta": float(np.abs(delta).max(initial=0.0)),
            "min_logit_change": MIN_LOGIT_CHANGE,
        },
        "padding_attribution_zero": {"value": padding_max, "threshold": 0.0,
                                     "passed": bool(padding_max == 0.0)},
        "ablation_agrees_with_ig": {"value": top_ig == top_ablation, "ig_top_type": top_ig,
                                    "ablation_top_type": top_ablation,
                                    "passed": bool(top_ig == top_ablation)},
    }  # fmt: skip


def _pooling_weights(model: EventSequenceModel, tensors: EventTensors, rows: np.ndarray,
                     batch_size: int) -> tuple[np.ndarray, list[np.ndarray]]:  # fmt: skip
    """Pooling weights ``(B, heads, L)`` of the stays at ``rows`` and the per-layer maps."""
    pooled, layers = [], []
    model.eval()
    with torch.no_grad():
        for batch in _batches(rows, batch_size):
            seq, mask, static = _inputs(tensors, batch, torch.float32)
            _, weights = model(seq, mask, static, return_attention=True)
            pooled.append(weights.pooling.float().numpy())
            layers.append([layer.float().numpy() for layer in weights.layers])
    return np.concatenate(pooled), layers


def attention_summary(model: EventSequenceModel, tensors: EventTensors, layout: pd.DataFrame,
                      rows: np.ndarray, *, time_bins_hours: Sequence[float] = DEFAULT_TIME_BINS_HOURS,
                      batch_size: int = 64) -> pd.DataFrame:  # fmt: skip
    """Per pooling head and group (event type, time-before-end bin), by outcome: the mean
    attention mass per stay, the group's mean share of the stay's events, and enrichment."""
    pooling, _ = _pooling_weights(model, tensors, rows, batch_size)
    explained = layout[layout["stay_row"].isin(rows)].reset_index(drop=True)
    b = pd.Index(rows).get_indexer(explained["stay_row"].to_numpy())
    p = explained["position"].to_numpy()
    label = tensors.label[rows].astype(np.int64)
    groups = {"event_type": explained["event_type"].to_numpy(),
              "time_bin": time_bin_of(explained["minutes_to_end"].to_numpy(), time_bins_hours)}  # fmt: skip
    levels = {"event_type": list(tensors.event_types), "time_bin": time_bin_labels(time_bins_hours)}
    counts = np.bincount(b, minlength=len(rows)).astype(float)
    out = []
    for kind, values in groups.items():
        for level in levels[kind]:
            in_group = values == level
            share = np.bincount(b[in_group], minlength=len(rows)) / np.maximum(counts, 1.0)
            for head in range(pooling.shape[1]):
                mass = np.bincount(b[in_group], weights=pooling[b[in_group], head, p[in_group]],
                                   minlength=len(rows))  # fmt: skip
                for outcome, name in ((None, "all"), (1, "died"), (0, "survived")):
                    sel = (counts > 0) & (True if outcome is None else label == outcome)
                    if not np.any(sel):
                        continue
                    m, s = float(mass[sel].mean()), float(share[sel].mean())
                    out.append({"head": head, "kind": kind, "group": level, "outcome": name,
                                "n_stays": int(np.sum(sel)), "attention_mass": m, "event_share": s,
                                "enrichment": m / s if s > 0 else float("nan")})  # fmt: skip
    return pd.DataFrame(out)


def attention_example(model: EventSequenceModel, tensors: EventTensors, layout: pd.DataFrame,
                      rows: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """Attention arrays of one stay for the figure: of ``rows``, the death with the highest
    predicted risk (else the highest-risk stay). ``layer<i>`` is its head-averaged
    self-attention ``(n, n)`` over its ``n`` real events, ``pooling`` ``(heads, n)``, with the
    events' type index and minutes to the end."""
    prob = predict(model, tensors, rows)
    died = tensors.label[rows] > 0.5
    candidates = np.flatnonzero(died) if died.any() else np.arange(len(rows))
    row = int(rows[candidates[np.argmax(prob[candidates])]])
    pooling, layers = _pooling_weights(model, tensors, np.array([row]), 1)
    n = int((~tensors.mask[row]).sum())
    own = layout[layout["stay_row"] == row].sort_values("position")
    types = pd.Index(tensors.event_types).get_indexer(own["event_type"])
    arrays = {"pooling": pooling[0][:, :n].astype(np.float32),
              "event_type_index": types.astype(np.int64),
              "minutes_to_end": own["minutes_to_end"].to_numpy(dtype=np.float64),
              "stay_id": np.array([tensors.stay_id[row]], dtype=np.int64),
              "probability": np.array([prob[candidates].max()], dtype=np.float64),
              "event_types": np.asarray(tensors.event_types, dtype=str)}  # fmt: skip
    for i, layer in enumerate(layers[0]):
        arrays[f"layer{i}"] = layer[0].mean(axis=0)[:n, :n].astype(np.float32)
    return arrays


def write_explanation(
    model: EventSequenceModel,
    tensors: EventTensors,
    events: pd.DataFrame,
    stays: pd.DataFrame,
    preprocessing: Mapping[str, Any],
    out: ExplainFiles,
    *,
    settings: Mapping[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Explain the chosen test stays and write ``out``; returns the summary (checks).

    ``preprocessing`` is the tensors step's ``preprocessing.json`` (max events and static
    groups, so the layout and ablation groups are those the tensors were built with);
    ``settings`` config ``events.explain``."""
    layout = event_layout(events, stays, int(preprocessing["max_events"]))
    rows = choose_explained_rows(tensors, settings["split"], int(settings["max_stays"]), seed)
    if not rows.size:
        raise ValueError(f"explain: split {settings['split']!r} has no stay to explain")
    bins = [float(b) for b in settings["time_bins_hours"]]
    explanation = explain_stays(
        model, tensors, layout, rows, preprocessing["static_groups"], n_steps=int(settings["n_steps"]),
        max_steps=int(settings["max_steps"]), batch_size=int(settings["batch_size"]), top_k=int(settings["top_k"]), time_bins_hours=bins,
    )  # fmt: skip
    attention = attention_summary(model, tensors, layout, rows, time_bins_hours=bins)
    example = attention_example(model, tensors, layout, rows)
    with atomic_path(out.events) as tmp:
        explanation.events.to_parquet(tmp, index=False)
    for path, table in ((out.types, explanation.types), (out.time_bins, explanation.time_bins),
                        (out.explanations, explanation.explanations), (out.attention, attention)):  # fmt: skip
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
    write_npz(out.attention_example, example)
    summary = {**explanation.summary, "split": settings["split"], "seed": seed,
               "time_bins_hours": bins}  # fmt: skip
    write_json(out.summary, summary)
    return summary
