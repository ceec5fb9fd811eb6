"""Whole-workflow checks: dry-runs of both configs, lint, fail-fast config validation."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from clinssl.icu.names import BASELINES, CLASSICAL, PARADIGMS
from dagjobs import planned_jobs, scheduled
from snakerunner import REPO_ROOT, WorkflowRunner, load_test_config, snakemake_command


def _repo_config(name: str) -> dict:
    with open(REPO_ROOT / "config" / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.mark.parametrize("config_name", ["config.yaml", "test.yaml"])
def test_full_dag_dry_run(tmp_path, config_name: str) -> None:
    runner = WorkflowRunner(tmp_path, _repo_config(config_name))
    jobs = runner.dry_run()
    assert jobs.get("all") == 1, jobs
    assert jobs.get("write_run_manifest") == 1, jobs
    for branch, enabled in _repo_config(config_name)["branches"].items():
        if not enabled:
            assert not any(rule.startswith(f"{branch}_") for rule in jobs), (branch, jobs)


def test_disabled_branch_contributes_no_jobs(tmp_path) -> None:
    config = load_test_config()
    config["branches"] = {b: False for b in config["branches"]}
    runner = WorkflowRunner(tmp_path, config)
    assert runner.dry_run() == {"all": 1, "write_run_manifest": 1}
    # an explicit target plans only what it needs (targets are not swallowed by options)
    assert runner.dry_run(["results/manifest.json"]) == {"write_run_manifest": 1}


@pytest.mark.parametrize("config_name", ["config.yaml", "test.yaml"])
def test_lint_is_clean(config_name: str) -> None:
    proc = subprocess.run(
        snakemake_command("--lint", "--configfile", REPO_ROOT / "config" / config_name),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Lints for" not in out, out
    assert "Congratulations" in out, out


def test_ruff_is_clean() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "lib", "tests", "workflow_scripts"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"not_a_key": 1}, "not_a_key"),
        ({"seed": "forty-two"}, "seed"),
        ({"branches": {"icu": "yes"}}, "icu"),
        ({"device": "tpu"}, "device"),
        ({"icu": {"no_such_option": True}}, "no_such_option"),
    ],
)
def test_bad_config_fails_fast_naming_the_key(tmp_path, override: dict, named: str) -> None:
    runner = WorkflowRunner(tmp_path, load_test_config(override))
    proc = runner.run(["--dry-run"], check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Error validating config" in out, out
    assert named in out, out
    assert "Job stats" not in out  # failed before planning any job


def test_test_config_runs_end_to_end(built_workspace: WorkflowRunner) -> None:
    """The session-wide test-config run made every output of every job of the default
    target (none empty), left nothing to do, and its headline results exist."""
    jobs = planned_jobs(built_workspace.workdir, built_workspace.configfile)
    config = load_test_config()
    enabled = {b for b, on in config["branches"].items() if on}
    assert {j.rule.split("_")[0] for j in jobs} >= enabled
    for job in jobs:
        for output in job.outputs:
            path = built_workspace.path(output)
            assert path.exists(), f"{job.rule}: {output} missing"
            assert (any(path.iterdir()) if path.is_dir() else path.stat().st_size > 0), output
    assert scheduled(built_workspace) == {}  # nothing left to run
    manifest = json.loads(built_workspace.path("results/manifest.json").read_text())
    assert manifest["config"]["seed"] == config["seed"]
    summary = pd.read_csv(built_workspace.path("results/icu/synthetic/ssl/summary.csv"))
    assert set(summary["paradigm"]) == {*config["icu"]["ssl"].get("paradigms", PARADIGMS),
                                        *BASELINES, CLASSICAL}  # fmt: skip
    probe = json.loads(built_workspace.path("results/ppg/synthetic/probes/pvc/metrics.json").read_text())
    assert set(probe["results"]) == {"himae", "himae_random", "classical"}
    # the tiny config trains HiMAE for one epoch (its probe may sit at chance); the classical
    # features need no training and find the planted PVCs
    assert 0.0 <= probe["results"]["himae"]["1.0"]["auroc"]["value"] <= 1.0
    assert probe["results"]["classical"]["1.0"]["auroc"]["value"] > 0.6


def test_split_fractions_must_sum_to_one_at_start(tmp_path) -> None:
    runner = WorkflowRunner(tmp_path, load_test_config({"icu": {"splits": {"fractions": [0.5, 0.3, 0.3]}}}))
    proc = runner.run(["--dry-run"], check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "icu.splits.fractions" in out and "sum to 1" in out, out
    assert "Job stats" not in out


def test_numbers_written_without_a_dot_are_accepted(tmp_path) -> None:
    """YAML 1.1 reads 1e-3 as a string; where the schema expects a number it is one."""
    (tmp_path / "work").mkdir()
    config = load_test_config()
    runner = WorkflowRunner(tmp_path / "work", config)
    text = runner.configfile.read_text().replace("finetune_lr: 0.001", "finetune_lr: 1e-3")
    assert "finetune_lr: 1e-3" in text
    runner.configfile.write_text(text)
    proc = runner.run(["results/manifest.json"])
    out = proc.stdout + proc.stderr
    assert "icu.ssl.downstream.finetune_lr" in out
    manifest = json.loads(runner.path("results/manifest.json").read_text())
    assert manifest["config"]["icu"]["ssl"]["downstream"]["finetune_lr"] == 0.001


def test_the_paper_config_plans_himae_at_the_reference_shape(tmp_path) -> None:
    """config/ppg_paper.yaml merges over the default and validates; HiMAE gets its sizes."""
    proc = subprocess.run(
        snakemake_command(
            "--directory", tmp_path, "--dry-run", "--quiet", "rules", "--configfile",
            REPO_ROOT / "config" / "config.yaml", REPO_ROOT / "config" / "ppg_paper.yaml",
            "--", "results/ppg/synthetic/himae/model.pt",
        ),
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    paper = yaml.safe_load((REPO_ROOT / "config" / "ppg_paper.yaml").read_text())["ppg"]["himae"]
    assert (paper["input_fs"] * 10, paper["epochs"], paper["batch_size"]) == (1000, 300, 1024)
