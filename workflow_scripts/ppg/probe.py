"""Probe one task on every feature set and label fraction; metrics, margins, predictions."""

import numpy as np

from clinssl.ppg.probe import ProbeConfig, probe_rows, run_probe
from clinssl.ppg.windows import read_windows_table
from clinssl.utils import atomic_path, setup_logging, write_json

log = setup_logging(snakemake.log[0])
inputs = dict(snakemake.input.items())
table_path = inputs.pop("table")
features = {name: np.load(path, mmap_mode="r") for name, path in inputs.items()}
n = next(iter(features.values())).shape[0]
table = read_windows_table(table_path, n)
for name, x in features.items():
    if x.ndim != 2 or x.shape[0] != n:
        raise ValueError(f"{inputs[name]}: expected ({n}, dim) features, got {x.shape}")
rows = probe_rows(table, snakemake.wildcards.task, table_path)
metrics, predictions = run_probe(
    rows, features, ProbeConfig(**snakemake.params.probe), snakemake.params.seed
)
metrics["dataset"] = snakemake.wildcards.dataset
with atomic_path(snakemake.output.predictions) as tmp:
    predictions.to_csv(tmp, index=False)
write_json(snakemake.output.metrics, metrics)
for key, margins in metrics["margins"].items():
    for pair, m in margins.items():
        log.info("%s @ %s: %s %s %+.3f [%.3f, %.3f]", rows.task, key, pair, m["metric"],
                 m["delta"], m["ci_low"], m["ci_high"])  # fmt: skip
