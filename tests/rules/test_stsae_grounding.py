"""Rule stsae_grounding: morphology of every QC-passed test window, mean pulses of the top
age concepts' extreme windows, concept × morphology correlations with BH q-values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from clinssl.stsae.files import AgingFiles, GroundingFiles, SAEFiles
from clinssl.stsae.names import MORPHOLOGY_FEATURES
from stsaeinputs import INPUTS, PPG, ROOT, settings


def test_stsae_grounding(runner, built_branch) -> None:
    st = settings(built_branch("stsae"))
    model = str(SAEFiles.of(ROOT, "stsae", st["default_n_concepts"], st["seeds"][0]).model)
    runner.stage(built_branch("stsae").workdir, [*INPUTS, model, f"{PPG}/windows.npy",
                                                  str(AgingFiles.under(ROOT).results)])  # fmt: skip
    out = GroundingFiles.under(ROOT)
    runner.run_rule("stsae_grounding", [str(p) for p in out.as_dict().values()])
    table = pd.read_parquet(runner.path(f"{PPG}/windows.parquet"))
    test = np.flatnonzero(table["qc_pass"].to_numpy(bool) & (table["split"] == "test").to_numpy())
    morphology = pd.read_parquet(runner.path(out.morphology))
    assert list(morphology.columns) == ["row", *MORPHOLOGY_FEATURES]
    assert np.array_equal(morphology["row"], test)
    assert morphology["systolic_peak_time"].notna().mean() > 0.5  # clean synthetic pulses
    concepts = [c["concept"] for c in json.loads(runner.path(AgingFiles.under(ROOT).results).read_text())["age_concepts"]]
    corr = pd.read_csv(runner.path(out.correlations))
    assert sorted(set(corr["concept"])) == sorted(concepts) and len(corr) == len(concepts) * len(MORPHOLOGY_FEATURES)
    defined = corr.dropna(subset=["p"])
    assert (defined["q"] >= defined["p"] - 1e-12).all() and (defined["r"].abs() <= 1).all()
    with np.load(runner.path(out.pulses)) as pulses:
        assert pulses["high"].shape == pulses["low"].shape == (len(concepts), st["grounding"]["pulse_samples"])
        assert list(pulses["concepts"]) == concepts
    results = json.loads(runner.path(out.results).read_text())
    assert results["n_windows"] == len(test)
    assert set(results["planted_parameters"]) == {"systolic_time", "reflection_delay",
                                                  "reflection_amplitude", "dicrotic_amplitude"}  # fmt: skip
