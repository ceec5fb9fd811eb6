"""The classical baselines (logistic regression, gradient boosting on per-variable summaries
of the input window) of one dataset, for every seed's split in one job: metrics with
bootstrap CIs and test predictions, in the encoder protocols' schemas."""

from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from clinssl.icu.benchmark.classical import GradientBoostingConfig, run_classical
from clinssl.icu.downstream import DownstreamConfig
from clinssl.icu.files import IngestFiles, SplitFiles
from clinssl.icu.inputs import load_splits, planned_tasks
from clinssl.utils import atomic_path, setup_logging

log = setup_logging(snakemake.log[0])
ds = snakemake.params.downstream
config = DownstreamConfig(
    probe_c_grid=ds["probe_c_grid"],
    probe_alpha_grid=ds["probe_alpha_grid"],
    selection_min_val_positives=ds["selection_min_val_positives"],
)
boosting = GradientBoostingConfig(**snakemake.params.classical["gradient_boosting"])
data = IngestFiles.pick(snakemake.input)
static = pd.read_parquet(data.static)
dataset = snakemake.wildcards.dataset
metrics, predictions = [], []
with threadpool_limits(snakemake.threads):
    for seed, split_file, norm_file in zip(
        snakemake.params.seeds, snakemake.input.splits, snakemake.input.normalization, strict=True
    ):
        splits = load_splits(data, SplitFiles(splits=Path(split_file), normalization=Path(norm_file)))
        tasks = planned_tasks(dataset, ds["tasks"], ds["tasks_left_out"], splits, data.labels)
        m, p = run_classical(
            splits, static, tasks, ds["label_fractions"], config, boosting, int(seed),
            protocols=snakemake.params.classical["protocols"],
            n_resamples=ds["bootstrap_resamples"],
        )  # fmt: skip
        metrics.append(m)
        predictions.append(p)
for frames, path in ((metrics, snakemake.output.metrics), (predictions, snakemake.output.predictions)):
    with atomic_path(path) as tmp:
        pd.concat(frames, ignore_index=True).to_parquet(tmp, index=False)
log.info("classical baselines of %s: %d metric rows", dataset, sum(len(m) for m in metrics))
