"""Ingest one ICU dataset (ricu export or YAIB cohort) into tensors, labels and metadata."""

from clinssl.icu.files import IngestFiles
from clinssl.icu.ingest import IngestOptions, ingest, open_source
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
opts = IngestOptions(**dict(snakemake.params.options))
source = open_source(
    snakemake.params.format, snakemake.params.root, snakemake.params.task, opts.input_hours
)
ingest(source, IngestFiles.pick(snakemake.output), opts, dataset=snakemake.wildcards.dataset)
