"""Rule stsae_aging: Δage from concepts, the raw embedding and PCA under both corrections;
the subject table's corrected Δage is the documented correction fitted on the fit fold."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from clinssl.stsae.files import AgingFiles, SAEFiles
from clinssl.stsae.names import AGE_FEATURES, CORRECTIONS
from stsaeinputs import INPUTS, ROOT, settings


def test_stsae_aging(runner, built_branch) -> None:
    st = settings(built_branch("stsae"))
    model = str(SAEFiles.of(ROOT, "stsae", st["default_n_concepts"], st["seeds"][0]).model)
    runner.stage(built_branch("stsae").workdir, [*INPUTS, model])
    out = AgingFiles.under(ROOT)
    results_path, subjects_path = runner.run_rule("stsae_aging", [str(out.results), str(out.subjects)])
    results = json.loads(results_path.read_text())
    assert set(results["feature_sets"]) == set(AGE_FEATURES)
    for features in AGE_FEATURES:
        assert set(results["feature_sets"][features]) == set(CORRECTIONS)
    assert results["correction"] == st["aging"]["correction"] and results["planted"] is True
    subjects = pd.read_parquet(subjects_path)
    # Smith: regress Δ on age on the fit fold, subtract the line
    fit = subjects[subjects["split"] == st["aging"]["fit_fold"]]
    slope, intercept = np.polyfit(fit["age"], fit["delta"], 1)
    expected = subjects["delta"] - (intercept + slope * subjects["age"])
    np.testing.assert_allclose(subjects["delta_corrected_smith"], expected, atol=1e-8)
    test = subjects[subjects["split"] == "test"]
    head = results["headline"]
    assert abs(head["mae_uncorrected"] - test["delta"].abs().mean()) < 1e-9
    assert abs(head["r_delta_corrected_truth"] - np.corrcoef(test["delta_corrected"], test["truth_delta"])[0, 1]) < 1e-9
    assert head["n_test"] == len(test)
    assert len(results["age_concepts"]) == st["grounding"]["top_concepts"]
    r = [abs(c["r"]) for c in results["age_concepts"]]
    assert r == sorted(r, reverse=True)
    ors = results["feature_sets"]["concepts"][results["correction"]]["odds_ratios"]
    assert [o["label"] for o in ors] == st["aging"]["labels"]
