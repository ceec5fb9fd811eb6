"""Load a PTB-XL dataset into the ECG store (signals.npy, meta.parquet, load_report.json)."""

from pathlib import Path

from clinssl.ecg.files import StoreFiles
from clinssl.ecg.io.ptbxl import LoadOptions, load_ptbxl
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
out = StoreFiles.pick(snakemake.output)
ds = dict(snakemake.params.dataset)
options = LoadOptions(rate=int(ds["rate"]), min_likelihood=ds.get("min_likelihood"),
                      unknown_codes=ds["unknown_codes"], missing_records=ds["missing_records"])  # fmt: skip
report = load_ptbxl(Path(snakemake.input.database).parent, out.signals, out.meta, out.report,
                    options)  # fmt: skip
log.info("loaded %d of %d records (%d without a diagnostic label dropped)", report["n_loaded"],
         report["n_database"], report["dropped_no_diagnostic"])  # fmt: skip
