"""The ST-SAE branch's planted-truth checks (findings without pass/fail on real data)."""

import pandas as pd

from clinssl.stsae.planted import planted_checks
from clinssl.utils import read_json, setup_logging, write_json

log = setup_logging(snakemake.log[0])
board = pd.DataFrame(read_json(snakemake.input.leaderboard)["rows"])
report = planted_checks(board, read_json(snakemake.input.aging), read_json(snakemake.input.grounding),
                        snakemake.params.n_concepts, snakemake.params.planted)  # fmt: skip
write_json(snakemake.output[0], report)
for name, check in report["checks"].items():
    log.info("%s: %s %s", name, check["value"], check.get("passed", "(finding)"))
