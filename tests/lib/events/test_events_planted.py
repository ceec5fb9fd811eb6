"""Events planted checks: the risk categories follow the generator's definitions, thresholds
hold at their edges, and real data gets findings without pass/fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clinssl.events.planted import RISK_SOURCE_TYPES, THRESHOLDS, planted_checks, risk_category
from clinssl.events.synthetic import RISK_SOURCES


def test_risk_category_reads_the_generators_definitions() -> None:
    events = pd.DataFrame({
        "event_type": ["prescription", "ingredient", "lab", "lab", "lab", "microbiology",
                       "microbiology", "procedure", "procedure", "lab"],
        "event_text": ["Norepinephrine 0.1 mcg/kg/min IV DRIP", "Norepinephrine 4 mg",
                       "Lactate 4.1 mmol/L abnormal", "Lactate 4 mmol/L", "Lactate 0.9 mmol/L",
                       "BLOOD CULTURE ESCHERICHIA COLI CEFTRIAXONE S", "BLOOD CULTURE no growth",
                       "Invasive Ventilation 600 min", "Non-invasive Ventilation 120 min",
                       "Sodium 140 mEq/L"],
    })  # fmt: skip
    expected = ["vasopressor", "other_ingredient", "high_lactate", "other_lab", "other_lab",
                "positive_blood_culture", "other_microbiology", "ventilation", "other_procedure",
                "other_lab"]  # fmt: skip
    assert risk_category(events).tolist() == expected
    assert set(RISK_SOURCE_TYPES) == set(RISK_SOURCES)


def _inputs(auroc: float) -> dict:
    """Result tables of four stays: two deaths whose planted events carry the attribution."""
    metrics = pd.DataFrame({"split": ["test"], "metric": ["auroc"], "value": [auroc],
                            "ci_low": [auroc - 0.1], "ci_high": [auroc + 0.05], "n_stays": [4]})  # fmt: skip
    predictions = pd.DataFrame({"stay_id": [1, 2, 3, 4], "split": "test", "label": [1, 1, 0, 0],
                                "probability": [0.9, 0.8, 0.2, 0.1]})  # fmt: skip
    texts = {"prescription": ("Norepinephrine 0.1 mcg/kg/min IV DRIP", "Heparin 5000 UNIT SC"),
             "lab": ("Lactate 6.0 mmol/L abnormal", "Sodium 140 mEq/L"),
             "microbiology": ("BLOOD CULTURE KLEBSIELLA PNEUMONIAE GENTAMICIN S", "URINE no growth"),
             "procedure": ("Invasive Ventilation 600 min", "Chest X-Ray 1 None"),
             "ingredient": (None, "Water 100 mL")}  # fmt: skip
    rows = []
    for stay, died in ((1, 1), (2, 1), (3, 0), (4, 0)):
        for kind, (risky, plain) in texts.items():
            if risky and died:
                rows.append((stay, died, kind, risky, 1.0))
            rows.append((stay, died, kind, plain, -0.1 if kind == "ingredient" else 0.05))
    explained = pd.DataFrame(rows, columns=["stay_id", "died", "event_type", "event_text", "ig"])
    types = explained.groupby("event_type")["ig"].sum().div(4).rename("ig_mean").reset_index()
    died = explained[explained["died"] == 1].groupby("event_type")["ig"].sum().div(2)
    types["ig_mean_died"] = died.reindex(types["event_type"]).to_numpy()
    summary = {name: {"value": 0.0, "passed": True} for name in
               ("ig_completeness", "padding_attribution_zero", "ablation_agrees_with_ig")}  # fmt: skip
    events = explained.assign(event_time=pd.Timestamp("2150-01-01"))[["stay_id", "event_type",
                                                                     "event_text", "event_time"]]  # fmt: skip
    stays = pd.DataFrame({"stay_id": [1, 2, 3, 4], "died": [True, True, False, False]})
    truth = pd.DataFrame({"stay_id": [1, 2, 3, 4], "died": [1, 1, 0, 0], "risk": [2.0, 1.5, 0.1, 0.0],
                          "n_vasopressor": [1, 1, 0, 0], "n_high_lactate": [1, 1, 0, 0],
                          "n_positive_blood_culture": [1, 1, 0, 0], "n_ventilation": [1, 1, 0, 0]})  # fmt: skip
    return dict(metrics=metrics, predictions=predictions, explained=explained, types=types,
                explain_summary=summary, events=events, stays=stays, truth=truth)  # fmt: skip


@pytest.mark.parametrize(("auroc", "passed"), [(THRESHOLDS["auroc"], True),
                                               (np.nextafter(THRESHOLDS["auroc"], 0), False)])
def test_checks_at_the_auroc_threshold(auroc: float, passed: bool) -> None:
    report = planted_checks(**_inputs(auroc))
    checks = report["checks"]
    assert report["planted"] and checks["mortality_auroc"]["passed"] is passed
    assert checks["mortality_auroc"]["planted_risk_auroc"] == 1.0
    assert checks["planted_risk_events_top_attributed"]["passed"]
    assert sorted(checks["planted_risk_events_top_attributed"]["value"]) == sorted(RISK_SOURCES)
    assert checks["planted_risk_types_top_attributed"]["passed"]
    assert checks["extraction_recovers_planted_events"]["value"] == 1.0
    assert checks["extraction_recovers_planted_events"]["passed"]


def test_checks_fail_when_the_truth_disagrees() -> None:
    inputs = _inputs(0.9)
    inputs["truth"].loc[0, "n_vasopressor"] = 2  # one stay's extraction misses a planted start
    inputs["explained"].loc[inputs["explained"]["event_type"] == "ingredient", "ig"] = 5.0
    inputs["types"].loc[inputs["types"]["event_type"] == "ingredient", "ig_mean_died"] = 9.0
    checks = planted_checks(**inputs)["checks"]
    assert checks["extraction_recovers_planted_events"]["value"] == 0.75
    assert not checks["extraction_recovers_planted_events"]["passed"]
    assert not checks["planted_risk_events_top_attributed"]["passed"]
    assert not checks["planted_risk_types_top_attributed"]["passed"]


def test_real_data_gets_findings_without_pass_fail() -> None:
    inputs = _inputs(0.9)
    inputs["truth"] = None
    report = planted_checks(**inputs)
    checks = report["checks"]
    assert report["planted"] is False and "extraction_recovers_planted_events" not in checks
    for name in ("mortality_auroc", "planted_risk_events_top_attributed", "planted_risk_types_top_attributed"):
        assert "passed" not in checks[name] and "value" in checks[name]
    # the attribution checks test the method, not a truth: they keep pass/fail
    assert checks["ig_completeness"]["passed"] is True
