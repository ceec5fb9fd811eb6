"""A YAIB mortality24 cohort (only hospital-mortality labels) runs the ICU branch end to end
with the default task list: the other tasks are left out at planning time with the reason
in the logs, the splits are stratified on its label, and the report is in real-data mode
(no planted checks; objective checks, findings and the fairness overview still written)."""

from __future__ import annotations

import json

import pandas as pd
import yaml

from snakerunner import REPO_ROOT, WorkflowRunner, load_test_config

RAW = ("results/raw/synthetic/ricu", "results/raw/synthetic/yaib")
ROOT = "results/icu/yaib_mort"


def test_yaib_mortality_cohort_end_to_end(tmp_path, built_branch) -> None:
    config = load_test_config()
    config["branches"] = {b: b == "icu" for b in config["branches"]}
    config["seeds"] = [0]
    config["icu"]["datasets"] = {"yaib_mort": {
        "format": "yaib", "root": "results/raw/synthetic/yaib/mortality24/synthetic",
        "task": "mortality24",
    }}  # fmt: skip
    config["icu"]["run_datasets"] = ["yaib_mort"]
    config["icu"]["ssl"]["paradigms"] = ["mae"]  # one paradigm keeps the test short
    config["icu"]["ssl"]["downstream"].pop("tasks", None)  # the default: all four tasks
    schema = yaml.safe_load((REPO_ROOT / "config/schema/icu_ssl.schema.yaml").read_text())
    default_tasks = schema["properties"]["downstream"]["properties"]["tasks"]["default"]
    assert len(default_tasks) == 4
    runner = WorkflowRunner(tmp_path / "work", config)
    runner.stage(built_branch("icu").workdir, RAW)
    proc = runner.run()
    assert "left out" in proc.stderr and "aki_kdigo" in proc.stderr

    metrics = pd.concat(
        [pd.read_parquet(runner.path(f"{ROOT}/ssl/{p}/seed0/metrics.parquet"))
         for p in ("mae", "supervised", "random")]
        + [pd.read_parquet(runner.path(f"{ROOT}/ssl/classical/metrics.parquet"))],
        ignore_index=True,
    )  # fmt: skip
    assert set(metrics["task"]) == {"mortality_hospital"}
    assert {"linear_probe", "finetune", "supervised", "logistic_regression", "gradient_boosting"} <= set(metrics["protocol"])
    log = runner.path("results/logs/icu/ssl/downstream_yaib_mort_mae_seed0.log").read_text()
    assert "los_remaining left out" in log and "mortality24" in log

    norm = json.loads(runner.path(f"{ROOT}/splits/seed0/normalization.json").read_text())
    assert norm["stratified_by"] == "mortality_hospital"
    assert set(norm["stratum_positives"]) == {"train", "val", "test"}

    report = json.loads(runner.path(f"{ROOT}/ssl/planted_checks.json").read_text())
    assert report["planted"] is False and "checks" not in report
    assert set(report["tasks_left_out"]) == {"mortality_24h", "aki_kdigo", "los_remaining"}
    assert set(report["objective_checks"]) == {"mae_learns_its_objective"}
    assert report["all_passed"] == all(c["passed"] for c in report["objective_checks"].values())
    assert "probe_mae_vs_random_transformer" in report["findings"]["probe_vs_random"]
    assert "mortality_hospital" in report["findings"]["ssl_vs_classical"]
    assert runner.path("results/figures/icu_paradigms_yaib_mort.png").stat().st_size > 0
    manifest = yaml.safe_load(runner.configfile.read_text())
    assert manifest["icu"]["run_datasets"] == ["yaib_mort"]
