"""Summary of the paradigm comparison: table (CSV + markdown), paired comparison against
supervised training, and the planted-truth checks (JSON)."""

import pandas as pd

from clinssl.icu.benchmark import (
    paired_vs_supervised,
    planted_checks,
    probe_vs_random,
    summarize,
    summary_markdown,
)
from clinssl.icu.labels import ICU_TASKS
from clinssl.utils import atomic_path, atomic_write_text, setup_logging, write_json

log = setup_logging(snakemake.log[0])
metrics = pd.concat([pd.read_parquet(p) for p in snakemake.input.metrics], ignore_index=True)
predictions = pd.concat(
    [pd.read_parquet(p) for p in snakemake.input.predictions], ignore_index=True
)
fairness = pd.read_parquet(snakemake.input.fairness)
table = summarize(metrics)
paired = paired_vs_supervised(predictions, ICU_TASKS, snakemake.params.resamples)
with atomic_path(snakemake.output.csv) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
with atomic_path(snakemake.output.paired) as tmp:
    paired.to_csv(tmp, index=False, float_format="%.6g")
atomic_write_text(snakemake.output.markdown, summary_markdown(table))
probes = probe_vs_random(predictions, n_resamples=snakemake.params.resamples)
write_json(snakemake.output.checks, planted_checks(table, fairness, probe_comparison=probes))
log.info("summary of %d metric rows", len(metrics))
