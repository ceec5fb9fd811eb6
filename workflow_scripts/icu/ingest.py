"""Ingest one ICU dataset (ricu export or YAIB cohort) into tensors, labels and metadata."""

from pathlib import Path

from clinssl.icu.ingest import IngestOptions, ingest, open_source
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
opts = IngestOptions(**dict(snakemake.params.options))
source = open_source(
    snakemake.params.format, snakemake.params.root, snakemake.params.task, opts.input_hours
)
out_dir = Path(snakemake.output.values).parent
ingest(source, out_dir, opts, dataset=snakemake.wildcards.dataset)
