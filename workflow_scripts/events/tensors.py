"""Patient-level split, text embeddings (fitted on train texts, through the persistent
cache), train-fitted static encoder and time scaler, padded model tensors."""

import pandas as pd

from clinssl.events.files import ExtractFiles, TensorFiles
from clinssl.events.prepare import prepare_tensors
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
p = snakemake.params
ext = ExtractFiles.pick(snakemake.input)
prepared = prepare_tensors(
    pd.read_parquet(ext.events), pd.read_parquet(ext.stays), TensorFiles.pick(snakemake.output),
    text_encoder=p.text_encoder, fractions=tuple(p.split["fractions"]), max_events=p.max_events,
    min_count=p.split["min_category_count"], seed=p.seed, cache_dir=p.cache_dir,
)  # fmt: skip
log.info("%d stays x %d slots x %d features; text cache %s: %d texts encoded now, %d read from it",
         *prepared.shape, prepared.cache_path, prepared.n_encoded, prepared.n_cached)  # fmt: skip
