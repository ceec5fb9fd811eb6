"""Rule events_explain: attributions of the explained test stays — IG completeness, zero
padding, per-type tables consistent with the per-event table, top events with their text,
pooling-attention summaries that add up."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from eventsinputs import EXPLAIN, EXTRACTED, MODEL, TENSORS, settings


def test_events_explain(runner, built_branch) -> None:
    built = built_branch("events")
    st = settings(built)["explain"]
    runner.stage(built.workdir, [*EXTRACTED, str(TENSORS.tensors), str(TENSORS.preprocessing),
                                 str(MODEL.model)])  # fmt: skip
    runner.run_rule("events_explain", [str(p) for p in EXPLAIN.as_dict().values()])
    summary = json.loads(runner.path(EXPLAIN.summary).read_text())
    assert summary["padding_attribution_zero"]["passed"] and summary["padding_attribution_zero"]["value"] == 0.0
    completeness = summary["ig_completeness"]
    assert completeness["passed"] == (completeness["value"] <= completeness["threshold"])
    assert set(summary["ig_steps_used"]) <= {str(st["n_steps"] * 2**i) for i in range(8)}
    assert summary["n_stays"] <= st["max_stays"] and summary["split"] == st["split"]
    events = pd.read_parquet(runner.path(EXPLAIN.events))
    assert events["stay_id"].nunique() == summary["n_stays"] and len(events) == summary["n_events"]
    assert {"event_text", "ig", "layer_ig", "time_bin", "died"} <= set(events.columns)
    types = pd.read_csv(runner.path(EXPLAIN.types))
    per_type = events.groupby("event_type")["ig"].sum() / summary["n_stays"]
    merged = types.set_index("event_type")["ig_mean"]
    assert np.allclose(merged.reindex(per_type.index), per_type)
    agree = summary["ablation_agrees_with_ig"]
    assert agree["ig_top_type"] == merged.idxmax() and agree["passed"] == (agree["ig_top_type"] == agree["ablation_top_type"])
    top = pd.read_csv(runner.path(EXPLAIN.explanations))
    assert top.groupby("stay_id")["rank"].max().max() <= st["top_k"] and top["event_text"].notna().all()
    attention = pd.read_csv(runner.path(EXPLAIN.attention))
    everyone = attention[(attention["outcome"] == "all") & (attention["kind"] == "event_type")]
    assert np.allclose(everyone.groupby("head")["attention_mass"].sum(), 1.0, atol=1e-4)
    with np.load(runner.path(EXPLAIN.attention_example), allow_pickle=False) as example:
        n = example["event_type_index"].size
        assert example["layer0"].shape == (n, n) and np.allclose(example["pooling"].sum(1), 1.0, atol=1e-4)
