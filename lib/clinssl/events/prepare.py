"""Extracted tables -> model inputs, in one step with everything learned on train only.

Order matters and is fixed here: the patient-level split comes first, because the text
encoder (tf-idf vocabulary and SVD), the static encoder and the time scaler are all fitted on
the train stays' rows; then every event text is embedded through the persistent
:class:`~clinssl.events.text.EmbeddingCache` of that fitted encoder (only texts the cache
lacks are encoded), and the stays are laid out as padded tensors.

What is written depends only on the inputs and settings, never on the state of the cache: a
cached text returns the vector it was first encoded to, and the cache counts go to the log,
not to ``preprocessing.json``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from clinssl.events.dataset import build_tensors, fit_preprocessors, split_stays
from clinssl.events.files import TensorFiles
from clinssl.events.text import EmbeddingCache, build_text_encoder, embed_texts
from clinssl.utils import atomic_directory, atomic_path, write_json

__all__ = ["PreparedTensors", "prepare_tensors", "text_cache_path"]


@dataclass(frozen=True)
class PreparedTensors:
    """What :func:`prepare_tensors` did (for the log)."""

    shape: tuple[int, int, int]
    cache_path: Path
    n_encoded: int
    n_cached: int


def text_cache_path(cache_dir: str | os.PathLike[str], encoder_name: str, encoder_id: str) -> Path:
    """``<cache_dir>/<encoder name>/<encoder id>.parquet``: one table per fitted encoder."""
    return Path(cache_dir) / encoder_name / f"{encoder_id}.parquet"


def _encoder_options(settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, options) of config ``events.text_encoder``: the options of the chosen encoder."""
    name = str(settings["name"])
    return name, dict(settings.get(name) or {})


def prepare_tensors(
    events: pd.DataFrame,
    stays: pd.DataFrame,
    out: TensorFiles,
    *,
    text_encoder: Mapping[str, Any],
    fractions: tuple[float, float, float],
    max_events: int,
    min_count: int,
    seed: int,
    cache_dir: str | os.PathLike[str],
) -> PreparedTensors:
    """Split, embed, fit, lay out and write ``out`` (module docstring)."""
    split = split_stays(stays, fractions, seed=seed).to_numpy()
    train_ids = stays["stay_id"].to_numpy()[split == "train"]
    train_texts = events.loc[events["stay_id"].isin(train_ids), "event_text"].tolist()
    name, options = _encoder_options(text_encoder)
    encoder = build_text_encoder(name, train_texts, seed=seed, **options)
    cache_path = text_cache_path(cache_dir, name, encoder.encoder_id)
    cache = EmbeddingCache.open(cache_path, encoder.dim, encoder.encoder_id)
    texts = events["event_text"].tolist()
    n_missing = len(cache.missing(texts))
    n_unique = len(set(texts))
    embeddings = embed_texts(texts, encoder, cache)
    cache.save()
    static_encoder, time_scaler = fit_preprocessors(events, stays, split, min_count=min_count)
    tensors = build_tensors(events, stays, embeddings, static_encoder, time_scaler, max_events,
                            split=split)  # fmt: skip
    tensors.save(out.tensors)
    frame = pd.DataFrame({"stay_id": tensors.stay_id, "subject_id": tensors.subject_id,
                          "split": tensors.split.astype(str)})  # fmt: skip
    with atomic_path(out.splits) as tmp:
        frame.to_parquet(tmp, index=False)
    with atomic_directory(out.text_encoder) as tmp:
        if hasattr(encoder, "save"):
            encoder.save(tmp)
        write_json(Path(tmp) / "encoder.json", {"name": name, "encoder_id": encoder.encoder_id,
                                                "dim": encoder.dim, "options": options})  # fmt: skip
    write_json(out.preprocessing, {
        "split": {"fractions": list(fractions), "seed": seed,
                  "counts": {s: int((split == s).sum()) for s in ("train", "val", "test")}},
        "text_encoder": {"name": name, "encoder_id": encoder.encoder_id, "dim": encoder.dim},
        "max_events": max_events,
        "static_encoder": static_encoder.to_dict(),
        "static_groups": static_encoder.groups(),
        "time_scaler": time_scaler.to_dict(),
        "event_types": list(tensors.event_types),
    })  # fmt: skip
    return PreparedTensors(shape=tuple(tensors.seq.shape), cache_path=cache_path,
                           n_encoded=n_missing, n_cached=n_unique - n_missing)  # fmt: skip
