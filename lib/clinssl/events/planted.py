"""The events branch's planted-truth checks, from its result files.

On the synthetic MIMIC-IV each check has a value, a threshold and ``passed``; on real data the
planted ones are written as findings without ``passed`` (nothing is planted there). The
attribution-correctness checks (completeness, padding, ablation-vs-IG) test the method, not a
truth, and keep ``passed`` on any data. Thresholds are the issue's acceptance criteria.

* ``mortality_auroc``: test AUROC ≥ 0.80 (patient-cluster bootstrap CI alongside, and the
  AUROC of the planted risk itself on the same stays: the ceiling of any model);
* ``planted_risk_events_top_attributed``: classify every explained event as one of the four
  planted risk sources (a vasopressor start, a lactate > 4 mmol/L, a positive blood culture,
  invasive ventilation: :func:`risk_category`) or as an ordinary event of its type; ranked
  by the mean IG per event over the explained deaths, the four sources take the top four;
* ``planted_risk_types_top_attributed``: ranked by mean per-stay IG over the explained deaths,
  every event type that carries a planted source ranks above every type that carries none;
* ``extraction_recovers_planted_events``: per stay, the extracted risk events of each source
  number what the truth says (≥ 99 % of the stays) and the label equals the truth's ``died``;
* ``ig_completeness``, ``padding_attribution_zero``, ``ablation_agrees_with_ig``: from the
  explanation run (:mod:`clinssl.events.analysis`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from clinssl.events.synthetic import BLOOD_CULTURE, HIGH_LACTATE_MMOL_L, RISK_SOURCES, VASOPRESSORS
from clinssl.stats.metrics import auroc

__all__ = ["RISK_SOURCE_TYPES", "THRESHOLDS", "planted_checks", "risk_category"]

THRESHOLDS = {"auroc": 0.80, "recovered_share": 0.99}
#: the event type that carries each planted risk source
RISK_SOURCE_TYPES = {"vasopressor": "prescription", "high_lactate": "lab",
                     "positive_blood_culture": "microbiology", "ventilation": "procedure"}  # fmt: skip
_LACTATE = re.compile(r"^Lactate (\d+(?:\.\d+)?)")
_VENTILATION = "Invasive Ventilation"
_NO_GROWTH = "no growth"


def risk_category(events: pd.DataFrame) -> pd.Series:
    """Per event row: its planted risk source, else ``other_<event_type>`` (the synthetic
    generator's definitions, read from the extracted text)."""
    text = events["event_text"].fillna("").astype(str)
    kind = events["event_type"].astype(str)
    category = "other_" + kind
    lactate = pd.to_numeric(text.str.extract(_LACTATE)[0], errors="coerce")
    rules = {
        "vasopressor": (kind == "prescription") & text.str.startswith(VASOPRESSORS),
        "high_lactate": (kind == "lab") & (lactate > HIGH_LACTATE_MMOL_L),
        "positive_blood_culture": (kind == "microbiology") & text.str.startswith(BLOOD_CULTURE)
        & ~text.str.contains(_NO_GROWTH, regex=False),
        "ventilation": (kind == "procedure") & text.str.startswith(_VENTILATION),
    }  # fmt: skip
    for source, hit in rules.items():
        category = category.where(~hit, source)
    return category.rename("category")


def _check(value: Any, passed: bool, planted: bool, **details: Any) -> dict[str, Any]:
    out = {"value": value, **details}
    if planted:
        out["passed"] = bool(passed)
    return out


def _category_ranking(explained: pd.DataFrame) -> pd.DataFrame:
    died = explained[explained["died"] == 1]
    table = died.groupby("category")["ig"].agg(n_events="size", ig_mean_per_event="mean")
    table = table.sort_values("ig_mean_per_event", ascending=False)
    table["rank"] = np.arange(1, len(table) + 1)
    return table.reset_index()


def _recovered(events: pd.DataFrame, truth: pd.DataFrame, stays: pd.DataFrame) -> dict[str, Any]:
    """Share of stays whose extracted risk events per source match the truth's counts."""
    cats = events.assign(category=risk_category(events))
    counts = {}
    for source in RISK_SOURCES:
        hits = cats[cats["category"] == source]
        # a positive culture is one specimen with a row per organism/antibiotic: count times
        per_stay = (hits.groupby("stay_id")["event_time"].nunique() if source == "positive_blood_culture"
                    else hits.groupby("stay_id").size())  # fmt: skip
        counts[source] = per_stay.reindex(truth["stay_id"]).fillna(0).to_numpy()
    truth_counts = {"vasopressor": "n_vasopressor", "high_lactate": "n_high_lactate",
                    "positive_blood_culture": "n_positive_blood_culture",
                    "ventilation": "n_ventilation"}  # fmt: skip
    same = np.ones(len(truth), dtype=bool)
    per_source = {}
    for source, column in truth_counts.items():
        match = counts[source] == truth[column].to_numpy()
        per_source[source] = float(match.mean())
        same &= match
    label = stays.set_index("stay_id")["died"].astype(int).reindex(truth["stay_id"])
    return {"share": float(same.mean()), "per_source": per_source,
            "labels_match": bool((label.to_numpy() == truth["died"].astype(int).to_numpy()).all())}


def planted_checks(metrics: pd.DataFrame, predictions: pd.DataFrame, explained: pd.DataFrame,
                   types: pd.DataFrame, explain_summary: dict[str, Any], events: pd.DataFrame,
                   stays: pd.DataFrame, truth: pd.DataFrame | None) -> dict[str, Any]:  # fmt: skip
    """The checks of the module docstring. ``truth`` None: real data, findings only."""
    planted = truth is not None
    row = metrics.set_index("metric").loc["auroc"]
    checks: dict[str, Any] = {}
    details: dict[str, Any] = {"ci_low": float(row["ci_low"]), "ci_high": float(row["ci_high"]),
                               "n_stays": int(row["n_stays"]), "threshold": THRESHOLDS["auroc"]}  # fmt: skip
    if planted:
        test = predictions[predictions["split"] == "test"].merge(truth[["stay_id", "risk"]], on="stay_id")
        details["planted_risk_auroc"] = float(auroc(test["label"].to_numpy(), test["risk"].to_numpy())[0])
    checks["mortality_auroc"] = _check(float(row["value"]), row["value"] >= THRESHOLDS["auroc"],
                                       planted, **details)  # fmt: skip

    ranked = _category_ranking(explained.assign(category=risk_category(explained)))
    top = ranked.head(len(RISK_SOURCES))["category"].tolist()
    checks["planted_risk_events_top_attributed"] = _check(
        top, set(top) == set(RISK_SOURCES), planted, planted_sources=list(RISK_SOURCES),
        ranking=ranked.to_dict(orient="records"))  # fmt: skip

    risk_types = set(RISK_SOURCE_TYPES.values())
    by_type = types.sort_values("ig_mean_died", ascending=False)["event_type"].tolist()
    worst_risk = max(by_type.index(t) for t in risk_types if t in by_type)
    best_other = min((by_type.index(t) for t in by_type if t not in risk_types), default=len(by_type))
    checks["planted_risk_types_top_attributed"] = _check(
        by_type, worst_risk < best_other, planted, planted_types=sorted(risk_types))

    if planted:
        rec = _recovered(events, truth, stays)
        checks["extraction_recovers_planted_events"] = _check(
            rec["share"], rec["share"] >= THRESHOLDS["recovered_share"] and rec["labels_match"],
            planted, threshold=THRESHOLDS["recovered_share"], per_source=rec["per_source"],
            labels_match=rec["labels_match"])  # fmt: skip
    for name in ("ig_completeness", "padding_attribution_zero", "ablation_agrees_with_ig"):
        checks[name] = explain_summary[name]
    return {"planted": planted, "checks": checks}
