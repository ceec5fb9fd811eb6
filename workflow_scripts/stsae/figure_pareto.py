"""Figure: test EV against L0 of every concept model, Pareto frontier marked."""

import pandas as pd

from clinssl.stsae.plots import plot_pareto
from clinssl.utils import read_json, setup_logging

log = setup_logging(snakemake.log[0])
board = pd.DataFrame(read_json(snakemake.input.leaderboard)["rows"])
plot_pareto(board, snakemake.output[0], f"ST-SAE sparsity vs reconstruction ({snakemake.params.root})")
log.info("wrote %s", snakemake.output[0])
