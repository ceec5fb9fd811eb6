"""Patient-level splits of one seed (stratified on the dataset's primary binary label) and
z-normalization statistics from train values only."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clinssl.icu.normalization import train_statistics
from clinssl.io.splits import patient_level_split
from clinssl.utils import atomic_path, setup_logging, write_json

log = setup_logging(snakemake.log[0])
seed = int(snakemake.wildcards.seed)
static = pd.read_parquet(snakemake.input.static, columns=["stay_id", "patient_id"])
task = snakemake.params.stratify_by
stratify = None
if task:
    labels = pd.read_parquet(snakemake.input.labels, columns=["stay_id", task])
    if not np.array_equal(labels["stay_id"].to_numpy(), static["stay_id"].to_numpy()):
        raise ValueError(f"{snakemake.input.labels}: stay_id order differs from {snakemake.input.static}")
    stratify = labels[task].to_numpy(dtype=float, na_value=np.nan)
splits = patient_level_split(static, seed, tuple(snakemake.params.fractions), stratify)
feature_names = json.loads(open(snakemake.input.metadata).read())["feature_names"]
values = np.load(snakemake.input.values, mmap_mode="r")
mask = np.load(snakemake.input.mask, mmap_mode="r")
train_rows = np.flatnonzero(splits["split"].to_numpy() == "train")
stats = train_statistics(values, mask, train_rows, feature_names)
stats["seed"] = seed
stats["stratified_by"] = task
if task:
    positives = pd.Series(stratify == 1).groupby(splits["split"].to_numpy()).sum()
    stats["stratum_positives"] = {k: int(v) for k, v in positives.items()}
    log.info("stratified on %s: positive stays per split %s", task, stats["stratum_positives"])
with atomic_path(snakemake.output.splits) as tmp:
    pq.write_table(pa.Table.from_pandas(splits, preserve_index=False), tmp)
write_json(snakemake.output.normalization, stats)
log.info("seed %d: %s", seed, splits["split"].value_counts().to_dict())
