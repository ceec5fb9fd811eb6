"""Check the planted truth of a synthetic dataset: QC, HiMAE over its floors, probes above chance."""

import numpy as np
import pandas as pd

from clinssl.ppg.planted import planted_truth_report
from clinssl.ppg.windows import read_windows_table
from clinssl.utils import read_json, setup_logging, write_json

log = setup_logging(snakemake.log[0])
z = np.load(snakemake.input.z, mmap_mode="r")
table = read_windows_table(snakemake.input.table, z.shape[0])
truth = pd.read_parquet(snakemake.input.truth)
probes = {m["task"]: m for m in map(read_json, snakemake.input.probes)}
report = planted_truth_report(table, z, truth, probes)
report.update(dataset=snakemake.wildcards.dataset, cohort=dict(snakemake.params.cohort))
write_json(snakemake.output[0], report)
log.info("planted-truth checks: %s", {k: v["passed"] for k, v in report["checks"].items()})
