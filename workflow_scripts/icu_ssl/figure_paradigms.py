"""Draw results/figures/icu_paradigms.png from the ICU SSL summary table."""

import pandas as pd

from clinssl.icu.plots import plot_icu_paradigms
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
summary = pd.read_csv(snakemake.input.summary)
plot_icu_paradigms(
    summary, snakemake.output[0], title=f"ICU SSL paradigms ({snakemake.params.dataset})"
)
log.info("wrote %s", snakemake.output[0])
