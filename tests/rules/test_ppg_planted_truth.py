"""Rule ppg_planted_truth: the planted-truth report of the tiny synthetic run."""

from __future__ import annotations

import json

OUT = "results/ppg/synthetic"


def test_ppg_planted_truth(runner, built_branch) -> None:
    built = built_branch("ppg")
    runner.stage(built.workdir, [f"{OUT}/windows.parquet", f"{OUT}/embeddings/himae/z.npy",
                                 f"{OUT}/pvc_probe/metrics.json",
                                 "results/raw/synthetic/pulsedb/truth.parquet"])  # fmt: skip
    (path,) = runner.run_rule("ppg_planted_truth", [f"{OUT}/planted_truth.json"])
    report = json.loads(path.read_text())
    checks = report["checks"]
    assert set(checks) == {"pvc_auroc", "age_r2", "bad_rejected", "good_rejected"}
    probe = json.loads(runner.path(f"{OUT}/pvc_probe/metrics.json").read_text())
    assert checks["pvc_auroc"]["value"] == probe["auroc"]["value"]
    # what the tiny config can show: QC and age are recovered even at this size
    assert checks["bad_rejected"]["passed"] and checks["good_rejected"]["passed"]
    assert checks["age_r2"]["value"] >= 0.5 and checks["age_r2"]["passed"]
    assert report["age"]["vascular_age_r2"] >= 0.5
    assert report["qc"]["bad_windows"] > 0
    for artifact, entry in report["qc"]["rejected_by_artifact"].items():
        if artifact != "none":
            assert entry["share"] >= 0.8, artifact
