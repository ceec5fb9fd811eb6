"""Attributions of the event-sequence mortality model (Captum) and their tidy summaries.

All three methods explain the model's **logit** (log-odds of death; positive = pushes towards
death) and run the model in eval mode (dropout off, restored afterwards):

* :func:`integrated_gradients` — Integrated Gradients on ``(seq, static)``; the key-padding
  mask is an additional forward argument, so it is never interpolated nor attributed. The
  default baseline is all-zero event vectors *with the real mask* (no type, zero text
  embedding, time at the train mean) and zero static features (age at the train mean, no
  category); pass ``(seq_baseline, static_baseline)`` tensors (e.g. train means) to change
  it. Padding attributions are exactly 0: the model zeroes padded inputs (zero gradient),
  and the result is masked once more. ``delta`` is Captum's convergence delta,
  ``sum(attributions) - (f(x) - f(baseline))``.
* :func:`layer_integrated_gradients` — Layer IG on the input projection's output, summed over
  ``d_model``: one number per event. Static features stay at their values.
* :func:`feature_ablation` — Captum ``FeatureAblation`` that removes whole groups: all events
  of one type in a stay are masked out through the padding mask (the clean ablation: the
  model then sees the stay as if those events had never been recorded, and the later events
  are renumbered), and each static group (a categorical's one-hot block, age) is set to its
  baseline. A group's attribution is ``f(x) - f(x without the group)``; a type absent from a
  stay gets exactly 0.

The summaries turn per-event attributions into tidy DataFrames: per event, per event type,
per time-before-end bin, and a per-stay table of the top-k events with their text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from captum.attr import FeatureAblation, IntegratedGradients, LayerIntegratedGradients
from torch import nn

from clinssl.events.model import EVENT_TYPES, EventSequenceModel

__all__ = [
    "DEFAULT_TIME_BINS_HOURS",
    "AblationResult",
    "ExplainInputError",
    "IntegratedGradientsResult",
    "event_type_index",
    "explanation_table",
    "feature_ablation",
    "integrated_gradients",
    "layer_integrated_gradients",
    "per_event_attribution",
    "per_time_bin_attribution",
    "per_type_attribution",
    "time_bin_labels",
    "time_bin_of",
]

DEFAULT_TIME_BINS_HOURS: tuple[float, ...] = (0.0, 6.0, 24.0, 72.0)
"""Lower edges (hours before the end of the stay) of the bins 0-6h, 6-24h, 24-72h, 72h+."""

Baseline = str | tuple[torch.Tensor, torch.Tensor]


class ExplainInputError(ValueError):
    """An argument of an attribution or summary function has the wrong shape or values."""


class IntegratedGradientsResult(NamedTuple):
    """Integrated Gradients of the logit: ``seq (B, L, F)``, ``static (B, S)``, ``delta (B,)``."""

    seq: torch.Tensor
    static: torch.Tensor
    delta: torch.Tensor


@dataclass(frozen=True)
class AblationResult:
    """Group attributions ``values (B, G)``; ``names[g]`` and ``kinds[g]`` ("event_type" or
    "static") describe column ``g``."""

    values: torch.Tensor
    names: tuple[str, ...]
    kinds: tuple[str, ...]

    def to_frame(self, stay_ids: Sequence[Any] | None = None) -> pd.DataFrame:
        """Tidy form: one row per (stay, group) with columns stay_id, group, kind, attribution."""
        stays = _stay_ids(stay_ids, self.values.shape[0])
        values = self.values.detach().cpu().double().numpy()
        n_groups = len(self.names)
        return pd.DataFrame(
            {
                "stay_id": np.repeat(np.asarray(stays, dtype=object), n_groups),
                "group": np.tile(np.asarray(self.names, dtype=object), len(stays)),
                "kind": np.tile(np.asarray(self.kinds, dtype=object), len(stays)),
                "attribution": values.reshape(-1),
            }
        )


class _Logit(nn.Module):
    """``forward(seq, static, mask)``: the order Captum passes inputs then extra arguments."""

    def __init__(self, model: EventSequenceModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, seq: torch.Tensor, static: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model(seq, mask, static)


class _LogitOfKept(nn.Module):
    """``forward(keep, static, seq)``: events whose ``keep`` is ablated to 0 become padding."""

    def __init__(self, model: EventSequenceModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, keep: torch.Tensor, static: torch.Tensor, seq: torch.Tensor) -> torch.Tensor:
        return self.model(seq, keep < 0.5, static)


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Attribution needs a deterministic function: dropout off, then the caller's mode back."""
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            yield
    finally:
        model.train(was_training)


def integrated_gradients(
    model: EventSequenceModel,
    seq: torch.Tensor,
    mask: torch.Tensor,
    static: torch.Tensor,
    baseline: Baseline = "zeros",
    n_steps: int = 64,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
) -> IntegratedGradientsResult:
    """Integrated Gradients of the logit on ``(seq, static)``, padding attributions exactly 0.

    ``baseline`` is ``"zeros"`` or ``(seq_baseline, static_baseline)`` broadcastable to
    ``seq`` and ``static`` (see the module docstring). Completeness holds up to ``delta``:
    ``attr.seq.sum((1, 2)) + attr.static.sum(1) = f(x) - f(baseline) + delta``; more
    ``n_steps`` (and float64) shrink ``delta``.
    """
    _check_batch(model, seq, mask, static)
    seq_base, static_base = _resolve_baselines(baseline, seq, static)
    with_static = static.shape[1] > 0
    inputs = (seq, static) if with_static else (seq,)
    baselines = (seq_base, static_base) if with_static else (seq_base,)
    extra = (mask,) if with_static else (static, mask)
    with _eval_mode(model):
        attributions, delta = IntegratedGradients(_Logit(model)).attribute(
            inputs, baselines=baselines, additional_forward_args=extra, n_steps=n_steps,
            method=method, internal_batch_size=internal_batch_size,
            return_convergence_delta=True,
        )
    attr_seq = attributions[0].masked_fill(mask.unsqueeze(-1), 0.0)
    attr_static = attributions[1] if with_static else torch.zeros_like(static)
    return IntegratedGradientsResult(attr_seq.detach(), attr_static.detach(), delta.detach())


def layer_integrated_gradients(
    model: EventSequenceModel,
    seq: torch.Tensor,
    mask: torch.Tensor,
    static: torch.Tensor,
    layer: nn.Module | None = None,
    baseline: str | torch.Tensor = "zeros",
    n_steps: int = 64,
    method: str = "gausslegendre",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Layer IG on ``layer`` (default: the input projection), summed over its last axis.

    Returns ``(attribution (B, L), delta (B,))``; padding positions are exactly 0. The layer
    must output ``(B, L, ...)``; ``baseline`` is ``"zeros"`` or a tensor broadcastable to
    ``seq``; the static features are held at their values.
    """
    _check_batch(model, seq, mask, static)
    if _is_zeros(baseline):
        seq_base = torch.zeros_like(seq)
    else:
        seq_base = _broadcast("baseline", baseline, seq)
    target_layer = model.input_projection if layer is None else layer
    with _eval_mode(model):
        attribution, delta = LayerIntegratedGradients(_Logit(model), target_layer).attribute(
            seq, baselines=seq_base, additional_forward_args=(static, mask), n_steps=n_steps,
            method=method, return_convergence_delta=True,
        )
    if attribution.ndim < 3 or tuple(attribution.shape[:2]) != tuple(mask.shape):
        raise ExplainInputError(
            f"layer: expected an output of shape (B, L, ...) = {tuple(mask.shape)} + (...), "
            f"got {tuple(attribution.shape)}"
        )
    per_event = attribution.flatten(2).sum(-1).masked_fill(mask, 0.0)
    return per_event.detach(), delta.detach()


def feature_ablation(
    model: EventSequenceModel,
    seq: torch.Tensor,
    mask: torch.Tensor,
    static: torch.Tensor,
    static_groups: Mapping[str, Sequence[int]] | None = None,
    static_baseline: torch.Tensor | None = None,
    event_types: Sequence[str] = EVENT_TYPES,
) -> AblationResult:
    """Captum FeatureAblation over event-type groups and static groups (module docstring).

    ``static_groups`` maps a name to its static columns and must cover every column exactly
    once (default: one group per column, named ``static_<j>``); ``static_baseline`` (``(S,)``
    or ``(B, S)``, default zeros) is what an ablated static group is set to. Columns of the
    result: the event types in one-hot order, then the static groups in the given order.
    """
    _check_batch(model, seq, mask, static)
    types = event_type_index(seq, mask, event_types)
    groups = _static_partition(static_groups, static.shape[1])
    n_types = len(event_types)
    keep = (~mask).to(seq.dtype)
    keep_groups = types.clamp(min=0)  # padding is in group 0: already 0, ablating changes nothing
    base = torch.zeros_like(static) if static_baseline is None else _broadcast(
        "static_baseline", static_baseline, static
    )
    with_static = len(groups) > 0
    inputs = (keep, static) if with_static else (keep,)
    baselines = (torch.zeros_like(keep), base) if with_static else (torch.zeros_like(keep),)
    masks = (keep_groups, _static_group_mask(groups, static, n_types)) if with_static else (
        keep_groups,
    )
    extra = (seq,) if with_static else (static, seq)
    with _eval_mode(model), torch.no_grad():
        attributions = FeatureAblation(_LogitOfKept(model)).attribute(
            inputs, baselines=baselines, additional_forward_args=extra, feature_mask=masks,
        )
    columns = [_type_group_value(attributions[0], types, g) for g in range(n_types)]
    columns += [attributions[1][:, cols[0]] for cols in groups.values()]
    names = tuple(event_types) + tuple(groups)
    kinds = ("event_type",) * n_types + ("static",) * len(groups)
    return AblationResult(torch.stack(columns, dim=1).detach(), names, kinds)


def _type_group_value(attr_keep: torch.Tensor, types: torch.Tensor, group: int) -> torch.Tensor:
    """The (position-constant) attribution of type ``group`` per stay; 0 where it is absent."""
    member = (types == group).to(attr_keep.dtype)
    count = member.sum(dim=1)
    return (attr_keep * member).sum(dim=1) / count.clamp(min=1.0)


def _static_partition(
    static_groups: Mapping[str, Sequence[int]] | None, static_dim: int
) -> dict[str, list[int]]:
    """Captum needs a group for every column, and a column in two groups would be ablated
    twice: hence a partition."""
    if static_groups is None:
        return {f"static_{j}": [j] for j in range(static_dim)}
    groups = {str(name): [int(c) for c in cols] for name, cols in static_groups.items()}
    covered = sorted(c for cols in groups.values() for c in cols)
    if covered != list(range(static_dim)) or any(not cols for cols in groups.values()):
        raise ExplainInputError(
            f"static_groups: expected non-empty groups covering each static column "
            f"0..{static_dim - 1} exactly once, got {groups}"
        )
    return groups


def _static_group_mask(
    groups: Mapping[str, Sequence[int]], static: torch.Tensor, offset: int
) -> torch.Tensor:
    """Captum feature mask ``(1, S)``: static group ids follow the ``offset`` type ids."""
    group_of_column = torch.empty(1, static.shape[1], dtype=torch.long, device=static.device)
    for index, cols in enumerate(groups.values()):
        group_of_column[0, list(cols)] = offset + index
    return group_of_column


def event_type_index(
    seq: torch.Tensor, mask: torch.Tensor, event_types: Sequence[str] = EVENT_TYPES
) -> torch.Tensor:
    """Type index ``(B, L)`` of each real event from its one-hot block; -1 at padding."""
    n_types = len(event_types)
    one_hot = seq[..., :n_types]
    real = ~mask
    valid = ((one_hot == 0) | (one_hot == 1)).all(-1) & (one_hot.sum(-1) == 1)
    if bool((real & ~valid).any()):
        raise ExplainInputError(
            f"seq: expected the first {n_types} features of every real event to be a one-hot "
            f"event type ({', '.join(event_types)})"
        )
    return torch.where(real, one_hot.argmax(-1), torch.full_like(mask, -1, dtype=torch.long))


def per_event_attribution(
    attribution: torch.Tensor | np.ndarray,
    seq: torch.Tensor,
    mask: torch.Tensor,
    minutes_to_end: torch.Tensor | np.ndarray,
    event_types: Sequence[str] = EVENT_TYPES,
    texts: Sequence[Sequence[str]] | None = None,
    stay_ids: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """One row per real event: stay_id, position, event_type, minutes_to_end, [text],
    attribution (summed over features when ``attribution`` is ``(B, L, F)``).

    ``minutes_to_end (B, L)`` are raw minutes (not the standardised model input); ``texts[b]``
    holds the event texts of stay ``b`` by position.
    """
    per_event = _per_event_array(attribution, mask)
    minutes = np.asarray(_numpy(minutes_to_end), dtype=np.float64)
    if minutes.shape != tuple(mask.shape):
        raise ExplainInputError(
            f"minutes_to_end: expected shape {tuple(mask.shape)}, got {minutes.shape}"
        )
    types = event_type_index(seq, mask, event_types).cpu().numpy()
    stay_idx, pos = np.nonzero(~mask.cpu().numpy())
    event_minutes = minutes[stay_idx, pos]
    if not np.all(np.isfinite(event_minutes) & (event_minutes >= 0)):
        raise ExplainInputError("minutes_to_end: expected finite values >= 0 at real events")
    stays = np.asarray(_stay_ids(stay_ids, mask.shape[0]), dtype=object)
    frame = pd.DataFrame(
        {
            "stay_id": stays[stay_idx],
            "position": pos.astype(np.int64),
            "event_type": np.asarray(event_types, dtype=object)[types[stay_idx, pos]],
            "minutes_to_end": event_minutes,
        }
    )
    if texts is not None:
        frame["text"] = _event_texts(texts, stay_idx, pos, mask.shape[0])
    frame["attribution"] = per_event[stay_idx, pos]
    return frame


def _per_event_array(attribution: torch.Tensor | np.ndarray, mask: torch.Tensor) -> np.ndarray:
    """IG gives ``(B, L, F)`` (summed here), layer IG already ``(B, L)``."""
    values = np.asarray(_numpy(attribution), dtype=np.float64)
    if values.ndim == 3:
        values = values.sum(axis=-1)
    if values.shape != tuple(mask.shape):
        raise ExplainInputError(
            f"attribution: expected shape (B, L) or (B, L, F) with (B, L) = "
            f"{tuple(mask.shape)}, got {np.shape(attribution)}"
        )
    return values


def _event_texts(
    texts: Sequence[Sequence[str]], stay_idx: np.ndarray, pos: np.ndarray, n_stays: int
) -> list[str]:
    """The caller's text of each real event, checked so a short list cannot misalign rows."""
    if len(texts) != n_stays:
        raise ExplainInputError(f"texts: expected one list per stay ({n_stays}), got {len(texts)}")
    out = []
    for b, p in zip(stay_idx.tolist(), pos.tolist(), strict=True):
        if p >= len(texts[b]):
            raise ExplainInputError(
                f"texts: stay {b} has an event at position {p} but only {len(texts[b])} texts"
            )
        out.append(str(texts[b][p]))
    return out


def per_type_attribution(
    events: pd.DataFrame,
    event_types: Sequence[str] = EVENT_TYPES,
    stay_ids: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Sum of per-event attributions by (stay, event type): stay_id, event_type, n_events,
    attribution; every type appears for every stay (0 where absent). ``stay_ids`` adds
    stays without events (all zeros)."""
    return _complete_sum(events, "event_type", list(event_types), stay_ids)


def per_time_bin_attribution(
    events: pd.DataFrame,
    bin_edges_hours: Sequence[float] = DEFAULT_TIME_BINS_HOURS,
    stay_ids: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Sum of per-event attributions by (stay, time-before-end bin): stay_id, time_bin,
    n_events, attribution. Bins are ``[edge_k, edge_k+1)`` hours, the last one open-ended;
    labels like ``0-6h`` and ``72h+``. Every bin appears for every stay."""
    edges = [float(e) for e in bin_edges_hours]
    if not edges or edges[0] != 0.0 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ExplainInputError(
            f"bin_edges_hours: expected strictly increasing edges starting at 0, got {edges}"
        )
    binned = events.assign(time_bin=time_bin_of(events["minutes_to_end"].to_numpy(), edges))
    return _complete_sum(binned, "time_bin", time_bin_labels(edges), stay_ids)


def time_bin_labels(bin_edges_hours: Sequence[float]) -> list[str]:
    """``0-6h``, ..., ``72h+``: the labels of the bins ``[edge_k, edge_k+1)`` hours."""
    edges = [float(e) for e in bin_edges_hours]
    return [f"{a:g}-{b:g}h" for a, b in zip(edges, edges[1:], strict=False)] + [f"{edges[-1]:g}h+"]


def time_bin_of(minutes_to_end: np.ndarray, bin_edges_hours: Sequence[float]) -> np.ndarray:
    """The :func:`time_bin_labels` label of each ``minutes_to_end`` (object array)."""
    labels = np.asarray(time_bin_labels(bin_edges_hours), dtype=object)
    index = np.searchsorted(np.asarray(bin_edges_hours, dtype=float) * 60.0, minutes_to_end, "right")
    return labels[index - 1]


def _complete_sum(
    events: pd.DataFrame, key: str, levels: list[str], stay_ids: Sequence[Any] | None
) -> pd.DataFrame:
    """Sum by (stay, level) with every level for every stay, so absent ones read as 0."""
    stays = list(pd.unique(events["stay_id"])) if stay_ids is None else list(stay_ids)
    full = pd.MultiIndex.from_product([stays, levels], names=["stay_id", key])
    sums = events.groupby(["stay_id", key], sort=False)["attribution"].agg(["size", "sum"])
    table = sums.reindex(full, fill_value=0).reset_index()
    table = table.rename(columns={"size": "n_events", "sum": "attribution"})
    table["n_events"] = table["n_events"].astype(np.int64)
    table["attribution"] = table["attribution"].astype(np.float64)
    return table


def explanation_table(events: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """Per stay, the ``k`` events with the largest absolute attribution (signed values kept:
    negative = protective), ranked from 1; ties go to the earlier position."""
    if not isinstance(k, int) or k < 1:
        raise ExplainInputError(f"k: expected an integer >= 1, got {k!r}")
    ordered = events.assign(_magnitude=-events["attribution"].abs()).sort_values(
        ["stay_id", "_magnitude", "position"], kind="mergesort"
    )
    top = ordered.groupby("stay_id", sort=False).head(k).drop(columns="_magnitude")
    top = top.reset_index(drop=True)
    top.insert(1, "rank", top.groupby("stay_id", sort=False).cumcount().to_numpy() + 1)
    return top


def _check_batch(
    model: EventSequenceModel, seq: torch.Tensor, mask: torch.Tensor, static: torch.Tensor
) -> None:
    """The model's own shape checks, before Captum multiplies the batch by ``n_steps``."""
    model.check_inputs(seq, mask, static)


def _is_zeros(baseline: Any) -> bool:
    """True for the ``"zeros"`` baseline; any other string is a typo worth an error."""
    if isinstance(baseline, str):
        if baseline != "zeros":
            raise ExplainInputError(f"baseline: expected 'zeros' or tensors, got {baseline!r}")
        return True
    return False


def _resolve_baselines(
    baseline: Baseline, seq: torch.Tensor, static: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    if _is_zeros(baseline):
        return torch.zeros_like(seq), torch.zeros_like(static)
    if not (isinstance(baseline, tuple) and len(baseline) == 2):
        raise ExplainInputError(
            "baseline: expected 'zeros' or a (seq_baseline, static_baseline) tuple"
        )
    return _broadcast("seq baseline", baseline[0], seq), _broadcast(
        "static baseline", baseline[1], static
    )


def _broadcast(name: str, value: Any, like: torch.Tensor) -> torch.Tensor:
    """Captum wants baselines of the input's shape; train means come as ``(F,)``/``(S,)``."""
    tensor = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    try:
        return tensor.expand_as(like).contiguous()
    except RuntimeError as err:
        raise ExplainInputError(
            f"{name}: expected a tensor broadcastable to {tuple(like.shape)}, "
            f"got {tuple(tensor.shape)}"
        ) from err


def _numpy(value: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    return np.asarray(value)


def _stay_ids(stay_ids: Sequence[Any] | None, n_stays: int) -> list[Any]:
    if stay_ids is None:
        return list(range(n_stays))
    stays = list(stay_ids)
    if len(stays) != n_stays:
        raise ExplainInputError(
            f"stay_ids: expected {n_stays} ids (one per stay), got {len(stays)}"
        )
    return stays


