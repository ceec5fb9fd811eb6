"""Draw results/figures/icu_paradigms_<dataset>.png from that dataset's ICU SSL summary."""

import pandas as pd

from clinssl.icu.plots import plot_icu_paradigms
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
dataset = snakemake.wildcards.dataset
summary = pd.read_csv(snakemake.input.summary)
plot_icu_paradigms(summary, snakemake.output[0], title=f"ICU SSL paradigms ({dataset})")
log.info("wrote %s (%d summary rows of %s)", snakemake.output[0], len(summary), dataset)
