"""Rule events_planted_checks: every check with its value; pass/fail on the synthetic data
follows its threshold, and the attribution checks are copied from the explanation."""

from __future__ import annotations

import json

import pandas as pd
from eventsinputs import EXPLAIN, EXTRACTED, ROOT, TRUTH

CHECKS = {"mortality_auroc", "planted_risk_events_top_attributed", "planted_risk_types_top_attributed",
          "extraction_recovers_planted_events", "ig_completeness", "padding_attribution_zero",
          "ablation_agrees_with_ig"}  # fmt: skip


def test_events_planted_checks(runner, built_branch) -> None:
    built = built_branch("events")
    runner.stage(built.workdir, [*EXTRACTED, TRUTH, f"{ROOT}/evaluation/metrics.csv",
                                 f"{ROOT}/evaluation/predictions.parquet", str(EXPLAIN.events),
                                 str(EXPLAIN.types), str(EXPLAIN.summary)])  # fmt: skip
    (path,) = runner.run_rule("events_planted_checks", [f"{ROOT}/planted_checks.json"])
    report = json.loads(path.read_text())
    assert report["planted"] is True and set(report["checks"]) == CHECKS
    checks = report["checks"]
    auc = checks["mortality_auroc"]
    metrics = pd.read_csv(runner.path(f"{ROOT}/evaluation/metrics.csv")).set_index(["split", "metric"])
    assert auc["value"] == metrics.loc[("test", "auroc"), "value"]
    assert auc["passed"] == (auc["value"] >= auc["threshold"]) and 0.5 <= auc["planted_risk_auroc"] <= 1.0
    ranked = pd.DataFrame(checks["planted_risk_events_top_attributed"]["ranking"])
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["ig_mean_per_event"].is_monotonic_decreasing
    top = checks["planted_risk_events_top_attributed"]
    assert top["passed"] == (set(top["value"]) == set(top["planted_sources"]))
    explained = json.loads(runner.path(EXPLAIN.summary).read_text())
    assert checks["ig_completeness"] == explained["ig_completeness"]
    recovered = checks["extraction_recovers_planted_events"]
    assert recovered["labels_match"] is True and 0.0 < recovered["value"] <= 1.0
    assert all(c["passed"] in (True, False) for c in checks.values())
