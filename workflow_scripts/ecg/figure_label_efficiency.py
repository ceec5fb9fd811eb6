"""Figure: test macro AUROC vs label fraction per ECG method and protocol."""

import pandas as pd

from clinssl.ecg.plots import plot_label_efficiency
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
summary = pd.read_csv(snakemake.input.summary)
plot_label_efficiency(summary, snakemake.output[0], f"ECG label efficiency ({snakemake.params.dataset})")
log.info("wrote %s", snakemake.output[0])
