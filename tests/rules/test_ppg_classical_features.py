"""Rule ppg_classical_features: beat features of every QC-passed window, NaN elsewhere."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from clinssl.ppg.features import FEATURE_NAMES

OUT = "results/ppg/synthetic"


def test_ppg_classical_features(runner, built_branch) -> None:
    runner.stage(built_branch("ppg").workdir, [f"{OUT}/windows.npy", f"{OUT}/windows.parquet"])
    npy, meta_path = runner.run_rule("ppg_classical_features", [
        f"{OUT}/features/classical.npy", f"{OUT}/features/classical.json"])  # fmt: skip
    table = pd.read_parquet(runner.path(f"{OUT}/windows.parquet"))
    features = np.load(npy)
    meta = json.loads(meta_path.read_text())
    assert features.shape == (len(table), len(FEATURE_NAMES)) and features.dtype == np.float32
    ok = table["qc_pass"].to_numpy()
    assert np.isnan(features[~ok]).all()
    hr = features[ok, FEATURE_NAMES.index("hr_mean")]
    assert np.isfinite(hr).mean() > 0.95
    # beat-detected heart rate agrees with the QC's own estimate on clean windows
    assert np.nanmedian(np.abs(hr - table.loc[ok, "hr"].to_numpy())) < 5.0
    # PVC windows are more irregular than the others (the planted ectopy)
    ratio = features[ok, FEATURE_NAMES.index("ibi_min_ratio")]
    pvc = table.loc[ok, "pvc"].to_numpy() == 1
    assert np.nanmedian(ratio[pvc]) < np.nanmedian(ratio[~pvc]) - 0.05
    assert meta["features"] == list(FEATURE_NAMES) and meta["n_computed"] == int(ok.sum())
