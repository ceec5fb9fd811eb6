"""Rule write_run_manifest: provenance record of the run."""

from __future__ import annotations

import json
from importlib.metadata import version

import torch

from clinssl import BRANCHES
from clinssl.provenance import config_digest


def test_write_run_manifest(runner) -> None:
    runner.config["seed"] = 1234
    runner.write_config(runner.config)
    (manifest_path,) = runner.run_rule("write_run_manifest", ["results/manifest.json"])

    manifest = json.loads(manifest_path.read_text())
    assert manifest["config"]["seed"] == 1234
    # defaults from the schema were filled in before the rule saw the config
    assert set(manifest["config"]["branches"]) == set(BRANCHES)
    assert manifest["config"]["resources"]["icu_pretrain"]["mem_mb"] == 8000
    assert manifest["config_sha256"] == config_digest(manifest["config"])
    for package in ("snakemake", "numpy", "torch"):
        assert manifest["packages"][package] == version(package), package
    # the job ran on this machine: it saw the accelerators this process sees
    devices = manifest["devices"]
    assert devices["cuda_available"] == torch.cuda.is_available()
    assert len(devices["cuda_devices"]) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    assert runner.path("results/logs/write_run_manifest.log").read_text().strip()
    assert runner.path("results/benchmarks/write_run_manifest.tsv").exists()
