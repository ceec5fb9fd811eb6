"""The checks-and-findings report of one dataset's ICU benchmark (``planted_checks.json``).

Why one report with a mode: a real cohort has no planted truth, so the synthetic cohort's
thresholds would call an honest result a failure. Every dataset gets the same sections —

* ``objective_checks`` — does each SSL objective learn its own pretext task on validation
  stays (:mod:`clinssl.icu.objective_checks` scores each seed in its pretraining job;
  :func:`objective_check` judges the seeds here, without torch)? A check of the
  implementation, so it is asserted on every dataset;
* ``findings`` — reported, never gated: each SSL probe's paired margin over the probe of a
  random encoder of the same architecture (SMART's included: it is an external reference,
  judged by what its paper claims, not by our planted signal), and the best SSL result of
  each task against the best classical baseline, with paired CIs;
* ``fairness`` — per attribute, how many groups were compared and which had too few
  patients (with their n), never a failed check;

and only a dataset with planted truth (``planted: true``) adds ``checks``: the planted-truth
checks (:func:`clinssl.icu.benchmark.planted.planted_checks`). ``all_passed`` covers the
checks that were written (objective checks, plus the planted ones where there are any).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from clinssl.icu.names import (
    CLASSICAL,
    EXTERNAL_REFERENCES,
    RANDOM,
    SUPERVISED,
    TOP1_RETRIEVAL,
)

__all__ = [
    "benchmark_report", "fairness_overview", "findings", "objective_check", "versus_classical",
]  # fmt: skip


def _probe_findings(probes: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out = {}
    for _, p in probes.iterrows():
        out[f"probe_{p['paradigm']}_vs_random_{p['encoder']}"] = {
            "metric": p["metric"],
            "paired_margin": float(p["delta"]),
            "paired_margin_ci95": [float(p["ci_low"]), float(p["ci_high"])],
            "seeds_better": f"{int(p['seeds_better'])}/{int(p['n_seeds'])}",
            "clear_of_test_noise": bool(p["ci_low"] > 0),
            "external_reference": p["paradigm"] in EXTERNAL_REFERENCES,
        }
    return out


def versus_classical(
    table: pd.DataFrame, paired_classical: pd.DataFrame
) -> dict[str, dict[str, Any]]:
    """Per task (full label fraction, headline metric): the best SSL result, the best
    classical baseline, and the paired margin of that SSL result over gradient boosting.

    ``paired_classical`` is :func:`~clinssl.icu.benchmark.compare.paired_versus` against the
    classical reference; ``table`` the summary (:func:`~clinssl.icu.benchmark.summarize`).
    """
    out: dict[str, dict[str, Any]] = {}
    if table.empty:
        return out
    full = table[table["label_fraction"] == table["label_fraction"].max()]
    for task, sub in full.groupby("task", sort=True):
        metric = "auroc" if sub["kind"].iloc[0] == "binary" else "mae"
        sub = sub[sub["metric"] == metric]
        higher = metric != "mae"
        classical = sub[sub["paradigm"] == CLASSICAL]
        ssl = sub[~sub["paradigm"].isin([CLASSICAL, RANDOM, SUPERVISED])]
        if classical.empty or ssl.empty:
            continue
        pick = (lambda f: f.loc[f["mean"].idxmax()]) if higher else (lambda f: f.loc[f["mean"].idxmin()])
        best_ssl, best_classical = pick(ssl), pick(classical)
        entry: dict[str, Any] = {
            "metric": metric,
            "best_ssl": f"{best_ssl['paradigm']} {best_ssl['protocol']}",
            "best_ssl_value": float(best_ssl["mean"]),
            "best_classical": str(best_classical["protocol"]),
            "best_classical_value": float(best_classical["mean"]),
        }
        if not paired_classical.empty:
            row = paired_classical[
                (paired_classical["task"] == task)
                & (paired_classical["paradigm"] == best_ssl["paradigm"])
                & (paired_classical["protocol"] == best_ssl["protocol"])
                & (paired_classical["label_fraction"] == best_ssl["label_fraction"])
            ]
            if len(row):
                r = row.iloc[0]
                entry["paired_margin_vs_reference"] = float(r["delta_mean"])
                entry["paired_margin_ci95"] = [float(r["ci_low"]), float(r["ci_high"])]
                entry["reference"] = str(r["reference"])
                entry["ssl_matches_classical"] = bool(r["ci_high"] >= 0)
        out[str(task)] = entry
    return out


def findings(
    table: pd.DataFrame, probes: pd.DataFrame, paired_classical: pd.DataFrame
) -> dict[str, Any]:
    """The reported, ungated numbers (module docstring)."""
    return {
        "probe_vs_random": _probe_findings(probes) if not probes.empty else {},
        "ssl_vs_classical": versus_classical(table, paired_classical),
    }


def fairness_overview(groups: pd.DataFrame) -> dict[str, Any]:
    """Per attribute (over the full-label-fraction prediction sets of the first task):
    groups compared and groups with too few patients, each with its patient count."""
    if groups.empty or "status" not in groups:
        return {"groups_compared": 0, "attributes": {}}
    sub = groups[groups["label_fraction"] == groups["label_fraction"].max()]
    first = sub.sort_values(["task", "paradigm", "protocol", "seed"]).iloc[0]
    keys = ["paradigm", "encoder", "protocol", "task", "seed"]
    one = sub[(sub[keys] == first[keys]).all(axis=1)]
    attributes: dict[str, Any] = {}
    for attribute, frame in one.groupby("attribute", sort=True):
        attributes[str(attribute)] = {
            "compared": {str(g): int(n) for g, n in frame.loc[frame["eligible"], ["group", "n_patients"]].itertuples(index=False)},
            "too_few_patients": {
                str(g): int(n)
                for g, n in frame.loc[~frame["eligible"], ["group", "n_patients"]].itertuples(index=False)
            },
        }
    return {
        "prediction_set": {k: (v.item() if hasattr(v, "item") else v) for k, v in first[keys].items()},
        "groups_compared": int(one["eligible"].sum()),
        "groups_too_few_patients": int((~one["eligible"].astype(bool)).sum()),
        "attributes": attributes,
    }


def benchmark_report(
    *,
    planted: bool,
    planted_checks: Mapping[str, dict] | None,
    objective_checks: Mapping[str, dict],
    table: pd.DataFrame,
    probes: pd.DataFrame,
    paired_classical: pd.DataFrame,
    fairness_groups: pd.DataFrame,
    tasks_left_out: Mapping[str, str] | None = None,
    tasks: Sequence[str] = (),
) -> dict[str, Any]:
    """The JSON of one dataset (module docstring); ``planted_checks`` is ignored unless
    ``planted``."""
    gated = dict(objective_checks)
    report: dict[str, Any] = {
        "planted": bool(planted),
        "tasks": list(tasks),
        "tasks_left_out": dict(tasks_left_out or {}),
        "objective_checks": dict(objective_checks),
    }
    if planted:
        report["checks"] = dict(planted_checks or {})
        gated.update({f"planted:{k}": v for k, v in report["checks"].items()})
    report["findings"] = findings(table, probes, paired_classical)
    report["fairness"] = fairness_overview(fairness_groups)
    report["n_checks"] = len(gated)
    report["all_passed"] = all(c["passed"] for c in gated.values()) if gated else None
    return report


def objective_check(
    records: list[dict[str, Any]],
    min_relative_improvement: float,
    min_retrieval_over_chance: float,
) -> dict[str, Any]:
    """One paradigm's check over its seeds' :func:`evaluate_objective` records.

    An error measure passes when every seed's ``model <= (1 - min_relative_improvement) *
    baseline`` (and the baseline is positive: a zero baseline means collapsed targets);
    retrieval passes when every seed's accuracy ``>= min_retrieval_over_chance * chance``.
    Returns ``measure``, ``baseline_name``, ``model_mean``, ``baseline_mean``, ``per_seed``
    (one ``{model, baseline, passed}`` per record, in order, plus the record's ``seed`` when
    it has one), ``criterion`` (human readable) and ``passed``.
    """
    if not records:
        raise ValueError("objective_check needs at least one record")
    for key in ("paradigm", "measure", "baseline_name"):
        found = sorted({str(r[key]) for r in records})
        if len(found) != 1:
            raise ValueError(f"objective_check: records mix {key} values {found}")
    if not 0.0 <= min_relative_improvement < 1.0:
        raise ValueError(
            f"min_relative_improvement must be in [0, 1), got {min_relative_improvement}"
        )
    if min_retrieval_over_chance <= 0:
        raise ValueError(f"min_retrieval_over_chance must be > 0, got {min_retrieval_over_chance}")
    measure, baseline_name = records[0]["measure"], records[0]["baseline_name"]
    retrieval = measure == TOP1_RETRIEVAL
    per_seed = []
    for record in records:
        model, baseline = float(record["model"]), float(record["baseline"])
        if retrieval:
            passed = model >= min_retrieval_over_chance * baseline
        else:
            passed = baseline > 0 and model <= (1.0 - min_relative_improvement) * baseline
        entry = {"model": model, "baseline": baseline, "passed": bool(passed)}
        if "seed" in record:
            entry = {"seed": record["seed"], **entry}
        per_seed.append(entry)
    if retrieval:
        criterion = (
            f"top-1 retrieval of the other view >= {min_retrieval_over_chance:g} x chance "
            "(1/batch size) on every seed"
        )
    else:
        criterion = (
            f"{measure} <= {1.0 - min_relative_improvement:g} x the {baseline_name} baseline "
            f"(at least {min_relative_improvement:.0%} lower) on every seed"
        )
    return {
        "paradigm": records[0]["paradigm"],
        "measure": measure,
        "baseline_name": baseline_name,
        "model_mean": float(np.mean([e["model"] for e in per_seed])),
        "baseline_mean": float(np.mean([e["baseline"] for e in per_seed])),
        "per_seed": per_seed,
        "criterion": criterion,
        "passed": all(e["passed"] for e in per_seed),
    }
