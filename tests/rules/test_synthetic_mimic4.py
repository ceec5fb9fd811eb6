"""Rule synthetic_mimic4: every table in the release layout with its exact columns, the
quirks at their configured rates, and a truth table consistent with the tables."""

from __future__ import annotations

import gzip

import pandas as pd
from eventsinputs import RAW, TABLE_FILES, TRUTH

from clinssl.events.tables import TABLES


def test_synthetic_mimic4(runner) -> None:
    cfg = runner.config["events"]["synthetic"]
    paths = runner.run_rule("synthetic_mimic4", [*TABLE_FILES, TRUTH])
    for spec, path in zip(TABLES.values(), paths, strict=False):
        with gzip.open(path, "rt") as fh:
            header = fh.readline().strip().split(",")
        assert header == list(spec.columns), spec.name
    truth = pd.read_parquet(runner.path(TRUTH))
    assert len(truth) == cfg["n_stays"] and truth["subject_id"].nunique() <= cfg["n_patients"]
    assert truth["stay_id"].is_unique and set(truth["died"].unique()) <= {0, 1}
    icu = pd.read_csv(runner.path(f"{RAW}/icu/icustays.csv.gz"))
    assert sorted(icu["stay_id"]) == sorted(truth["stay_id"])
    # deaths carry higher planted risk than survivors (the signal the branch must find)
    assert truth.loc[truth["died"] == 1, "risk"].mean() > truth.loc[truth["died"] == 0, "risk"].mean()
    labs = pd.read_csv(runner.path(f"{RAW}/hosp/labevents.csv.gz"), dtype=str, keep_default_na=False)
    assert (labs["hadm_id"] == "").any() and (labs["value"] == "___").any()  # real-data quirks
    procedures = pd.read_csv(runner.path(f"{RAW}/icu/procedureevents.csv.gz"), nrows=1)
    assert {"ORIGINALAMOUNT", "ORIGINALRATE"} <= set(procedures.columns)
    assert runner.path("results/logs/synthetic/mimic4.log").read_text().strip()
