"""Rule events_tensors: patient-level split, train-fitted text encoder through the persistent
cache, padded tensors consistent with the extracted tables; a rerun reads the cache only."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from eventsinputs import EXTRACTED, ROOT, TENSORS, settings

from clinssl.events.dataset import EventTensors
from clinssl.events.prepare import text_cache_path


def test_events_tensors(runner, built_branch) -> None:
    built = built_branch("events")
    st = settings(built)
    runner.stage(built.workdir, EXTRACTED)
    outputs = [str(p) for p in TENSORS.as_dict().values()]
    runner.run_rule("events_tensors", outputs)
    tensors = EventTensors.load(runner.path(TENSORS.tensors))
    stays = pd.read_parquet(runner.path(f"{ROOT}/stays.parquet"))
    events = pd.read_parquet(runner.path(f"{ROOT}/events.parquet"))
    assert np.array_equal(tensors.stay_id, stays["stay_id"].to_numpy())
    assert tensors.seq.shape[1] <= st["model"]["max_events"]
    assert tensors.text_dim == st["text_encoder"]["tfidf"]["dim"]
    lengths = (~tensors.mask).sum(1)
    expected = events.groupby("stay_id").size().reindex(tensors.stay_id).fillna(0).clip(upper=tensors.seq.shape[1])
    assert np.array_equal(lengths, expected.to_numpy())
    splits = pd.read_parquet(runner.path(TENSORS.splits))
    assert splits.groupby("subject_id")["split"].nunique().max() == 1  # patient-level
    assert set(splits["split"]) == {"train", "val", "test"}
    pre = json.loads(runner.path(TENSORS.preprocessing).read_text())
    assert pre["max_events"] == st["model"]["max_events"]
    assert sorted(i for g in pre["static_groups"].values() for i in g) == list(range(tensors.static_dim))
    encoder = json.loads(runner.path(f"{TENSORS.text_encoder}/encoder.json").read_text())
    cache = runner.path(text_cache_path(st["text_encoder"]["cache_dir"], "tfidf", encoder["encoder_id"]))
    assert cache.is_file()
    log = runner.path("results/logs/events/synthetic/tensors.log").read_text()
    assert f"{events['event_text'].nunique()} texts encoded now, 0 read from it" in log
    # rerun: the same bytes, every text from the cache
    before = runner.path(TENSORS.tensors).read_bytes()
    runner.run_rule("events_tensors", outputs)
    assert runner.path(TENSORS.tensors).read_bytes() == before
    log = runner.path("results/logs/events/synthetic/tensors.log").read_text()
    assert f"0 texts encoded now, {events['event_text'].nunique()} read from it" in log
