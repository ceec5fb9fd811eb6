"""Paths the events rule tests share: the synthetic MIMIC-IV, the branch's root, its config."""

from __future__ import annotations

import json

from clinssl.events.files import ExplainFiles, ExtractFiles, ModelFiles, TensorFiles
from clinssl.events.tables import TABLES

RAW = "results/raw/synthetic/mimic4"
ROOT = "results/events/synthetic"
TABLE_FILES = [f"{RAW}/{spec.path}" for spec in TABLES.values()]
TRUTH = f"{RAW}/truth.parquet"
EXTRACTED = list(ExtractFiles.under(ROOT).as_dict().values())
TENSORS = TensorFiles.under(ROOT)
MODEL = ModelFiles.under(ROOT)
EXPLAIN = ExplainFiles.under(ROOT)


def settings(built) -> dict:
    """The ``events`` config of a built workdir with the schema's defaults filled in (from its
    run manifest)."""
    return json.loads(built.path("results/manifest.json").read_text())["config"]["events"]


def workflow_seed(built) -> int:
    config = json.loads(built.path("results/manifest.json").read_text())["config"]
    seed = config["events"]["seed"]
    return int(config["seed"] if seed is None else seed)
