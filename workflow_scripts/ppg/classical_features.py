"""Classical beat features of every QC-passed window of a window store."""

import numpy as np

from clinssl.ppg.features import window_features
from clinssl.ppg.windows import TARGET_FS, open_windows, read_windows_table
from clinssl.utils import atomic_path, setup_logging, write_json

log = setup_logging(snakemake.log[0])
windows = open_windows(snakemake.input.npy)
table = read_windows_table(snakemake.input.table, windows.shape[0])
rows = np.flatnonzero(table["qc_pass"].to_numpy(dtype=bool))
features, meta = window_features(windows, rows, TARGET_FS)
with atomic_path(snakemake.output.features) as tmp:
    np.save(tmp, features)
meta.update(dataset=snakemake.wildcards.dataset, fs=TARGET_FS, windows=snakemake.input.npy)
write_json(snakemake.output.meta, meta)
log.info("classical features: %d windows, %d with >= %d beats, %.1f s", meta["n_computed"],
         meta["n_with_beats"], meta["min_beats"], meta["seconds"])  # fmt: skip
