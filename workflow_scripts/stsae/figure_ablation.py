"""Figure: the full ST-SAE against its ablations, the plain SAE and the baselines."""

import pandas as pd

from clinssl.stsae.plots import plot_ablation
from clinssl.utils import read_json, setup_logging

log = setup_logging(snakemake.log[0])
board = pd.DataFrame(read_json(snakemake.input.leaderboard)["rows"])
plot_ablation(board, snakemake.params.n_concepts, snakemake.output[0],
              f"ST-SAE ablations at K = {snakemake.params.n_concepts} ({snakemake.params.root})")
log.info("wrote %s", snakemake.output[0])
