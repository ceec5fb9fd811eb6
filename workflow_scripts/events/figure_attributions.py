"""Figure: attributions by risk category, event type (three methods) and time before end."""

import pandas as pd

from clinssl.events.plots import plot_attributions
from clinssl.utils import read_json, setup_logging

log = setup_logging(snakemake.log[0])
ranking = pd.DataFrame(read_json(snakemake.input.checks)["checks"]["planted_risk_events_top_attributed"]["ranking"])
plot_attributions(pd.read_csv(snakemake.input.types), pd.read_csv(snakemake.input.time_bins), ranking,
                  snakemake.output[0])  # fmt: skip
log.info("wrote %s", snakemake.output[0])
