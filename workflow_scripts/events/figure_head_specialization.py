"""Figure: what each pooling head attends to (enrichment by event type and time bin)."""

import pandas as pd

from clinssl.events.plots import plot_head_specialization
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
plot_head_specialization(pd.read_csv(snakemake.input.attention), snakemake.output[0])
log.info("wrote %s", snakemake.output[0])
