"""Rule stsae_planted_checks: each check's value is what the leaderboard, aging and
grounding results say, passed follows its threshold; without truth, findings only."""

from __future__ import annotations

import json

import pandas as pd

from clinssl.stsae.files import AgingFiles, GroundingFiles
from stsaeinputs import ROOT, settings

FILES = [f"{ROOT}/leaderboard.json", str(AgingFiles.under(ROOT).results), str(GroundingFiles.under(ROOT).results)]


def test_stsae_planted_checks(runner, built_branch) -> None:
    built = built_branch("stsae")
    runner.stage(built.workdir, FILES)
    (path,) = runner.run_rule("stsae_planted_checks", [f"{ROOT}/planted_checks.json"])
    report = json.loads(path.read_text())
    assert report["planted"] is True
    checks = report["checks"]
    aging = json.loads(runner.path(FILES[1]).read_text())["headline"]
    delta = checks["delta_tracks_planted_delta"]
    assert delta["value"] == aging["r_delta_corrected_truth"] and delta["passed"] == (delta["value"] >= 0.4)
    age = checks["delta_uncorrelated_with_age"]
    assert age["value"] == aging["r_delta_corrected_age"] and age["passed"] == (abs(age["value"]) <= 0.1)
    board = pd.DataFrame(json.loads(runner.path(FILES[0]).read_text())["rows"])
    k = settings(built)["default_n_concepts"]
    mean = lambda m, c: board[(board["method"] == m) & (board["n_concepts"] == k)][c].mean()  # noqa: E731
    plain = checks["beats_plain_sae"]
    assert abs(plain["value"]["consistency"] - (mean("stsae", "consistency") - mean("plain", "consistency"))) < 1e-12
    assert plain["passed"] == all(v > 0 for v in plain["value"].values())
    stab = checks["beats_pca_seed_stability"]
    assert abs(stab["value"] - (mean("stsae", "seed_stability") - mean("pca", "seed_stability"))) < 1e-12
    assert report["all_passed"] == all(c["passed"] for c in checks.values())


def test_without_truth_the_checks_are_findings(tiny_config, built_branch, tmp_path) -> None:
    from snakerunner import WorkflowRunner

    tiny_config["ppg"]["datasets"]["synthetic"]["truth"] = None
    runner = WorkflowRunner(tmp_path / "work", tiny_config)
    runner.stage(built_branch("stsae").workdir, FILES)
    (path,) = runner.run_rule("stsae_planted_checks", [f"{ROOT}/planted_checks.json"])
    report = json.loads(path.read_text())
    assert report["planted"] is False and "all_passed" not in report
    assert all("passed" not in c and "value" in c for c in report["checks"].values())
