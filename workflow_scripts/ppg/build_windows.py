"""Build the PPG window store (windows.npy, windows.parquet) and the QC report."""

from clinssl.ppg.qc import QCThresholds
from clinssl.ppg.windows import build_window_store, load_labels
from clinssl.utils import setup_logging, write_json

log = setup_logging(snakemake.log[0])
spec = dict(snakemake.params.spec)
label_columns = list(spec.get("label_columns") or [])
labels = load_labels(spec.get("labels"), label_columns) if spec.get("labels") else None
report = build_window_store(
    spec,
    snakemake.output.npy,
    snakemake.output.table,
    QCThresholds(**snakemake.params.qc),
    dict(snakemake.params.splits),
    seed=snakemake.params.seed,
    labels=labels,
    label_columns=label_columns if labels is not None else [],
    chunk_size=snakemake.params.chunk_size,
)
report["dataset"] = snakemake.wildcards.dataset
report["format"] = spec["format"]
write_json(snakemake.output.report, report)
log.info(
    "%s: %d windows stored (%d rejected by QC, %d all-NaN excluded, %d records without PPG)",
    snakemake.wildcards.dataset,
    report["n_windows"],
    report["qc_rejected"],
    report["all_nan_excluded"],
    report["exclusions"]["records_without_ppg"],
)
