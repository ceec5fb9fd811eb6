"""Figure: Pearson r of the top age concepts with classical pulse morphology (BH FDR)."""

import pandas as pd

from clinssl.stsae.plots import plot_morphology_corr
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
plot_morphology_corr(pd.read_csv(snakemake.input.correlations), snakemake.output[0],
                     f"Concepts × morphology ({snakemake.params.root})")
log.info("wrote %s", snakemake.output[0])
