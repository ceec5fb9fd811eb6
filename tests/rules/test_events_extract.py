"""Rule events_extract: DuckDB SQL over the csv.gz tables -> events (five sources, recent
first-N), stays with the label and static features, and a report counting every drop."""

from __future__ import annotations

import json

import pandas as pd
from eventsinputs import EXTRACTED, TABLE_FILES, TRUTH, settings

from clinssl.events.tables import EVENT_TYPES


def test_events_extract(runner, built_branch) -> None:
    built = built_branch("events")
    runner.stage(built.workdir, [*TABLE_FILES, TRUTH])
    events_path, stays_path, report_path = runner.run_rule("events_extract", EXTRACTED)
    events, stays = pd.read_parquet(events_path), pd.read_parquet(stays_path)
    truth = pd.read_parquet(runner.path(TRUTH))
    assert list(events.columns)[:6] == ["stay_id", "subject_id", "event_time", "event_type",
                                         "event_text", "minutes_to_end"]  # fmt: skip
    assert set(events["event_type"]) == set(EVENT_TYPES)
    assert (events["minutes_to_end"] >= 0).all() and events["event_text"].str.len().min() > 0
    max_events = settings(built)["extract"]["max_events"]
    assert events.groupby("stay_id").size().max() <= max_events
    # every stay of the truth, with its label
    merged = stays.merge(truth[["stay_id", "died"]], on="stay_id", suffixes=("", "_truth"))
    assert len(merged) == len(truth) == len(stays)
    assert (merged["died"].astype(int) == merged["died_truth"].astype(int)).all()
    report = json.loads(report_path.read_text())
    assert report["stays"]["kept"] == len(stays) and report["settings"]["max_events"] == max_events
    sources = report["events"]["sources"]
    assert sources["lab"]["quirks"]["empty_hadm_id"]["attached"] > 0  # joined by subject + time
    assert sum(s["written"] for s in sources.values()) == report["events"]["written"] == len(events)
    assert report["stays"]["without_events"] == int(truth["empty_stay"].sum())


def test_events_extract_names_a_missing_column_and_writes_nothing(runner, built_branch) -> None:
    """A real export whose labevents lacks ``valuenum``: the job fails naming table and column,
    and leaves no partial output."""
    built = built_branch("events")
    runner.stage(built.workdir, TABLE_FILES)
    real = runner.path("data/mimiciv")
    for rel in TABLE_FILES:
        target = real / rel.removeprefix("results/raw/synthetic/mimic4/")
        target.parent.mkdir(parents=True, exist_ok=True)
        runner.path(rel).rename(target)
    labs = pd.read_csv(real / "hosp/labevents.csv.gz", dtype=str, keep_default_na=False)
    labs.drop(columns=["valuenum"]).to_csv(real / "hosp/labevents.csv.gz", index=False)
    runner.config["events"]["datasets"] = {"real": {"root": "data/mimiciv"}}
    runner.config["events"]["run_datasets"] = ["real"]
    runner.write_config(runner.config)
    proc = runner.run(["results/events/real/events.parquet"], check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "labevents" in out and "valuenum" in out
    assert not runner.path("results/events/real").exists() or not any(runner.path("results/events/real").iterdir())
