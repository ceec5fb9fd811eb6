"""PVC linear probe on the frozen HiMAE embedding: grouped CV, bootstrap CIs, predictions."""

import numpy as np

from clinssl.ppg.probe import predictions_frame, probe_metrics
from clinssl.ppg.windows import read_windows_table
from clinssl.stats.probes import grouped_probe_predictions
from clinssl.utils import atomic_path, setup_logging, write_json

log = setup_logging(snakemake.log[0])
settings = snakemake.params.probe
z = np.load(snakemake.input.z, mmap_mode="r")
table = read_windows_table(snakemake.input.table, z.shape[0])
if "pvc" not in table.columns:
    raise ValueError(f"{snakemake.input.table}: no 'pvc' column (add it to label_columns)")
rows = np.flatnonzero(table["qc_pass"].to_numpy() & table["pvc"].notna().to_numpy())
sub = table.iloc[rows]
y = sub["pvc"].to_numpy().astype(int)
groups = sub["subject_id"].to_numpy()
x = np.asarray(z[rows], dtype=np.float64)
p, fold = grouped_probe_predictions(
    x, y, groups, settings["n_folds"], snakemake.params.seed, settings["C"]
)
metrics = probe_metrics(
    y, p, groups, settings["n_bootstrap"], snakemake.params.seed, settings["ci_level"]
)
metrics.update(encoder="himae", dataset=snakemake.wildcards.dataset, n_folds=settings["n_folds"])
with atomic_path(snakemake.output.predictions) as tmp:
    predictions_frame(sub, y, p, fold).to_csv(tmp, index=False)
write_json(snakemake.output.metrics, metrics)
auroc, auprc = metrics["auroc"], metrics["auprc"]
log.info("PVC probe: AUROC %.3f [%.3f, %.3f], AUPRC %.3f", auroc["value"], auroc["ci_low"],
         auroc["ci_high"], auprc["value"])  # fmt: skip
