"""Figure: Δage against age on test subjects, uncorrected and bias-corrected."""

import pandas as pd

from clinssl.stsae.plots import plot_delta_age
from clinssl.utils import read_json, setup_logging

log = setup_logging(snakemake.log[0])
results = read_json(snakemake.input.results)
subjects = pd.read_parquet(snakemake.input.subjects)
plot_delta_age(subjects, results["correction"], snakemake.output[0],
               f"Δage from ST-SAE concepts ({snakemake.params.root})")
log.info("wrote %s", snakemake.output[0])
