"""The events branch's planted-truth checks (findings without pass/fail on real data)."""

import pandas as pd

from clinssl.events.planted import planted_checks
from clinssl.utils import read_json, setup_logging, write_json

log = setup_logging(snakemake.log[0])
i = snakemake.input
truth = pd.read_parquet(i.truth) if "truth" in i.keys() else None
report = planted_checks(
    pd.read_csv(i.metrics).query("split == 'test'"), pd.read_parquet(i.predictions),
    pd.read_parquet(i.explained), pd.read_csv(i.types), read_json(i.explain_summary),
    pd.read_parquet(i.events), pd.read_parquet(i.stays), truth,
)  # fmt: skip
write_json(snakemake.output[0], report)
for name, check in report["checks"].items():
    log.info("%s: %s %s", name, check["value"], check.get("passed", "(finding)"))
