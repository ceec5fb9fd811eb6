"""Figure: where the pooling attention goes (time before end, one stay's maps)."""

import numpy as np
import pandas as pd

from clinssl.events.explain import time_bin_labels
from clinssl.events.plots import plot_attention
from clinssl.utils import read_json, setup_logging

log = setup_logging(snakemake.log[0])
with np.load(snakemake.input.attention_example, allow_pickle=False) as data:
    example = {k: data[k] for k in data.files}
bins = time_bin_labels(read_json(snakemake.input.summary)["time_bins_hours"])
plot_attention(pd.read_csv(snakemake.input.attention), example, bins, snakemake.output[0])
log.info("wrote %s", snakemake.output[0])
