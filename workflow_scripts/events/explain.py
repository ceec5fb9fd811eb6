"""Captum attributions (IG, layer IG, feature ablation) and pooling attention of test stays."""

import pandas as pd

from clinssl.events.analysis import write_explanation
from clinssl.events.dataset import EventTensors
from clinssl.events.files import ExplainFiles, ExtractFiles
from clinssl.events.training import load_event_model
from clinssl.utils import read_json, setup_logging

log = setup_logging(snakemake.log[0])
p = snakemake.params
ext = ExtractFiles.pick(snakemake.input)
summary = write_explanation(
    load_event_model(snakemake.input.model), EventTensors.load(snakemake.input.tensors),
    pd.read_parquet(ext.events), pd.read_parquet(ext.stays),
    read_json(snakemake.input.preprocessing), ExplainFiles.pick(snakemake.output),
    settings=p.explain, seed=p.seed,
)  # fmt: skip
for name in ("ig_completeness", "padding_attribution_zero", "ablation_agrees_with_ig"):
    log.info("%s: %s (passed %s)", name, summary[name]["value"], summary[name]["passed"])
