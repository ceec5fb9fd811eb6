"""Rule write_run_manifest: provenance record of the run."""

from __future__ import annotations

import json

from clinssl.provenance import config_digest


def test_write_run_manifest(runner) -> None:
    runner.config["seed"] = 1234
    runner.write_config(runner.config)
    (manifest_path,) = runner.run_rule("write_run_manifest", ["results/manifest.json"])

    manifest = json.loads(manifest_path.read_text())
    assert manifest["config"]["seed"] == 1234
    # defaults from the schema were filled in before the rule saw the config
    assert set(manifest["config"]["branches"]) == {"icu", "ecg", "ppg", "stsae", "events"}
    assert manifest["config_sha256"] == config_digest(manifest["config"])
    assert manifest["packages"]["snakemake"] and manifest["packages"]["numpy"]
    assert manifest["devices"]["cuda_available"] in (True, False)
    assert runner.path("results/logs/write_run_manifest.log").read_text().strip()
    assert runner.path("results/benchmarks/write_run_manifest.tsv").exists()
