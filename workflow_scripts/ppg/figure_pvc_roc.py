"""Figure: ROC / PR curves of the PVC probe, HiMAE against its floors, per label fraction."""

import pandas as pd

from clinssl.ppg.plots import plot_pvc_roc
from clinssl.utils import read_json, setup_logging

log = setup_logging(snakemake.log[0])
predictions = pd.read_csv(snakemake.input.predictions)
metrics = read_json(snakemake.input.metrics)
plot_pvc_roc(predictions, metrics, snakemake.output[0], f"PVC probe ({snakemake.params.dataset})")
log.info("wrote %s", snakemake.output[0])
