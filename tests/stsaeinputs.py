"""Paths the ST-SAE rule tests share: the PPG cache they stage and the branch's root."""

from __future__ import annotations

import json

from clinssl.cache import EmbeddingCacheFiles

PPG = "results/ppg/synthetic"
ROOT = "results/stsae/synthetic/himae"
#: the inputs of the training, baseline and aging jobs (cache, window table, truth)
INPUTS = [f"{PPG}/windows.parquet",
          *(f"{PPG}/embeddings/himae/{n}" for n in EmbeddingCacheFiles.NAMES.values()),
          "results/raw/synthetic/pulsedb/truth.parquet"]  # fmt: skip


def settings(built) -> dict:
    """The ``stsae`` config of a built workdir with the schema's defaults filled in (from
    its run manifest)."""
    return json.loads(built.path("results/manifest.json").read_text())["config"]["stsae"]
