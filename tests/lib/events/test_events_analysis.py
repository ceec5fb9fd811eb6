"""Events analysis on a small synthetic MIMIC-IV: preparation through the persistent cache,
the event layout, the choice of explained stays, attribution checks that can fail, and
attention summaries that add up."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clinssl.events.analysis import (
    COMPLETENESS_TOLERANCE,
    attention_example,
    attention_summary,
    choose_explained_rows,
    explain_stays,
    time_bin_labels,
)
from clinssl.events.dataset import EventTensors, event_layout
from clinssl.events.extract import extract_events
from clinssl.events.files import TensorFiles
from clinssl.events.model import EventSequenceModel
from clinssl.events.prepare import prepare_tensors, text_cache_path
from clinssl.events.synthetic import MIMIC4CohortConfig, write_mimic4
from clinssl.events.training import event_model_config
from clinssl.utils.seeding import torch_seeded

TEXT = {"name": "tfidf", "tfidf": {"dim": 8, "max_features": 500}}
ARCH = dict(d_model=16, n_layers=1, n_heads=2, d_ff=32, dropout=0.0, pool_heads=2, mlp_hidden=(8,),
            norm_first=True)  # fmt: skip


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Extracted tables, prepared tensors and an untrained (seeded) model of 100 stays."""
    base = tmp_path_factory.mktemp("events-analysis")
    write_mimic4(MIMIC4CohortConfig(n_stays=100, n_patients=90, seed=3), base / "raw")
    extract_events(base / "raw", base / "ext", max_events=64)
    events, stays = pd.read_parquet(base / "ext/events.parquet"), pd.read_parquet(base / "ext/stays.parquet")
    out = TensorFiles.under(base / "prep")
    prepared = prepare_tensors(events, stays, out, text_encoder=TEXT, fractions=(0.5, 0.2, 0.3),
                               max_events=24, min_count=1, seed=0, cache_dir=base / "cache")  # fmt: skip
    tensors = EventTensors.load(out.tensors)
    with torch_seeded(0, "test"):
        model = EventSequenceModel(event_model_config(tensors, **ARCH)).eval()
    pre = json.loads(out.preprocessing.read_text())
    return {"base": base, "events": events, "stays": stays, "out": out, "prepared": prepared,
            "tensors": tensors, "model": model, "pre": pre,
            "layout": event_layout(events, stays, 24)}  # fmt: skip


def test_prepare_encodes_each_text_once_and_reruns_from_the_cache(cohort: dict, tmp_path: Path) -> None:
    first = cohort["prepared"]
    n_texts = cohort["events"]["event_text"].nunique()
    assert (first.n_encoded, first.n_cached) == (n_texts, 0) and first.cache_path.is_file()
    out = TensorFiles.under(tmp_path / "again")
    again = prepare_tensors(cohort["events"], cohort["stays"], out, text_encoder=TEXT,
                            fractions=(0.5, 0.2, 0.3), max_events=24, min_count=1, seed=0,
                            cache_dir=cohort["base"] / "cache")  # fmt: skip
    assert (again.n_encoded, again.n_cached) == (0, n_texts) and again.cache_path == first.cache_path
    assert out.tensors.read_bytes() == cohort["out"].tensors.read_bytes()
    assert out.preprocessing.read_bytes() == cohort["out"].preprocessing.read_bytes()
    # another split seed fits another vocabulary: a table of its own
    other = prepare_tensors(cohort["events"], cohort["stays"], TensorFiles.under(tmp_path / "other"),
                            text_encoder=TEXT, fractions=(0.5, 0.2, 0.3), max_events=24, min_count=1,
                            seed=1, cache_dir=cohort["base"] / "cache")  # fmt: skip
    assert other.cache_path != first.cache_path and other.n_cached == 0
    assert text_cache_path("c", "tfidf", "x") == Path("c/tfidf/x.parquet")


def test_prepare_splits_by_patient_and_fits_on_train(cohort: dict) -> None:
    splits = pd.read_parquet(cohort["out"].splits)
    assert splits.groupby("subject_id")["split"].nunique().max() == 1
    pre = cohort["pre"]
    assert sum(pre["split"]["counts"].values()) == len(cohort["stays"])
    assert (cohort["out"].text_encoder / "encoder.json").is_file()
    assert (cohort["out"].text_encoder / "tfidf.json").is_file()


def test_event_layout_points_at_the_tensor_slots(cohort: dict) -> None:
    tensors, layout = cohort["tensors"], cohort["layout"]
    assert len(layout) == int((~tensors.mask).sum())
    rows, slots = layout["stay_row"].to_numpy(), layout["position"].to_numpy()
    assert not tensors.mask[rows, slots].any()
    types = np.asarray(tensors.event_types)[tensors.seq[rows, slots, : tensors.n_types].argmax(1)]
    assert (types == layout["event_type"].to_numpy()).all()
    texts = cohort["events"]["event_text"].to_numpy()[layout["event_row"].to_numpy()]
    assert (texts == layout["event_text"].to_numpy()).all()
    assert (np.asarray(tensors.stay_id)[rows] == layout["stay_id"].to_numpy()).all()


def test_choose_explained_rows_over_represents_deaths(cohort: dict) -> None:
    tensors = cohort["tensors"]
    rows = choose_explained_rows(tensors, "test", 8, seed=0)
    assert np.array_equal(rows, np.sort(rows)) and set(rows) <= set(tensors.rows("test"))
    n_deaths = int(tensors.label[tensors.rows("test")].sum())
    assert int(tensors.label[rows].sum()) == min(n_deaths, 4) and len(rows) == 8
    assert np.array_equal(rows, choose_explained_rows(tensors, "test", 8, seed=0))
    everything = choose_explained_rows(tensors, "test", 10_000, seed=0)
    assert np.array_equal(everything, tensors.rows("test"))


def _explain(cohort: dict, rows: np.ndarray, **options):
    return explain_stays(cohort["model"], cohort["tensors"], cohort["layout"], rows,
                         cohort["pre"]["static_groups"], **options)  # fmt: skip


def test_explanation_checks_pass_when_ig_converges(cohort: dict) -> None:
    tensors = cohort["tensors"]
    rows = tensors.rows("test")[:6]
    result = _explain(cohort, rows, n_steps=8, max_steps=512, batch_size=4)
    checks = result.summary
    assert checks["ig_completeness"]["passed"] and checks["ig_completeness"]["value"] <= COMPLETENESS_TOLERANCE
    assert checks["padding_attribution_zero"] == {"value": 0.0, "threshold": 0.0, "passed": True}
    assert sum(checks["ig_steps_used"].values()) == len(rows)
    assert max(int(n) for n in checks["ig_steps_used"]) > 8  # 8 steps were not enough for all
    # the type table is the per-event table summed per stay and averaged
    per_type = result.events.groupby("event_type")["ig"].sum() / len(rows)
    table = result.types.set_index("event_type")
    assert np.allclose(table.loc[per_type.index, "ig_mean"], per_type)
    assert set(table.index) == set(tensors.event_types)
    assert checks["ablation_agrees_with_ig"]["ig_top_type"] == table["ig_mean"].idxmax()
    assert result.events["stay_id"].nunique() == (~tensors.mask[rows]).any(1).sum()
    top = result.explanations
    assert top.groupby("stay_id")["rank"].max().max() <= 5 and "event_text" in top.columns
    assert set(result.time_bins["time_bin"]) <= set(time_bin_labels((0, 6, 24, 72)))


def test_completeness_check_fails_when_steps_cannot_grow(cohort: dict) -> None:
    """The check guards something: two Gauss-Legendre steps with no doubling allowed leave a
    completeness error far above 1 % on an untrained model."""
    rows = cohort["tensors"].rows("test")[:6]
    result = _explain(cohort, rows, n_steps=2, max_steps=2, batch_size=6)
    assert not result.summary["ig_completeness"]["passed"]
    assert result.summary["ig_completeness"]["value"] > COMPLETENESS_TOLERANCE
    assert result.summary["ig_steps_used"] == {"2": len(rows)}


def test_attention_summary_and_example(cohort: dict) -> None:
    tensors, layout = cohort["tensors"], cohort["layout"]
    rows = tensors.rows("test")
    table = attention_summary(cohort["model"], tensors, layout, rows)
    for kind in ("event_type", "time_bin"):
        part = table[(table["kind"] == kind) & (table["outcome"] == "all")]
        assert np.allclose(part.groupby("head")["attention_mass"].sum(), 1.0, atol=1e-5)
        assert np.allclose(part.groupby("head")["event_share"].sum(), 1.0, atol=1e-9)
    assert set(table["head"]) == set(range(ARCH["pool_heads"]))
    example = attention_example(cohort["model"], tensors, layout, rows)
    n = example["event_type_index"].size
    assert example["pooling"].shape == (ARCH["pool_heads"], n) and example["layer0"].shape == (n, n)
    assert np.allclose(example["layer0"].sum(1), 1.0, atol=1e-5)
    row = int(np.flatnonzero(tensors.stay_id == example["stay_id"][0])[0])
    assert row in rows and (tensors.label[row] == 1 or tensors.label[rows].sum() == 0)
