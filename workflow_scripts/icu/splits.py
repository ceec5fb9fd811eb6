"""Patient-level splits of one seed and z-normalization statistics from train values only."""

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
splits = patient_level_split(static, seed, tuple(snakemake.params.fractions))
feature_names = json.loads(open(snakemake.input.metadata).read())["feature_names"]
values = np.load(snakemake.input.values, mmap_mode="r")
mask = np.load(snakemake.input.mask, mmap_mode="r")
train_rows = np.flatnonzero(splits["split"].to_numpy() == "train")
stats = train_statistics(values, mask, train_rows, feature_names)
stats["seed"] = seed
with atomic_path(snakemake.output.splits) as tmp:
    pq.write_table(pa.Table.from_pandas(splits, preserve_index=False), tmp)
write_json(snakemake.output.normalization, stats)
log.info("seed %d: %s", seed, splits["split"].value_counts().to_dict())
