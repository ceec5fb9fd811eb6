"""Fit PCA / ICA / NMF at every K and seed on the PPG cache, evaluate each on test."""

import numpy as np

from clinssl.cache import EmbeddingCacheFiles
from clinssl.stsae.data import load_inputs
from clinssl.stsae.files import BaselineFiles
from clinssl.stsae.fits import baseline_fits
from clinssl.utils import setup_logging, write_json
from clinssl.utils.atomic import atomic_path

log = setup_logging(snakemake.log[0])
p = snakemake.params
inputs = load_inputs(EmbeddingCacheFiles.pick(snakemake.input), snakemake.input.table,
                     snakemake.input.get("truth"))  # fmt: skip
fits = baseline_fits(inputs, p.baselines, list(p.sizes), list(p.seeds),
                     max_iter=p.baseline["max_iter"], max_rows=p.baseline["max_rows"],
                     n_folds=p.evaluate["n_folds"], subsample=p.evaluate["subsample_stability"])  # fmt: skip
for (method, k, seed), fit in fits.items():
    out = BaselineFiles.pick({field: snakemake.output[f"{method}_K{k}_seed{seed}_{field}"]
                              for field in BaselineFiles.NAMES})  # fmt: skip
    with atomic_path(out.atoms) as tmp, open(tmp, "wb") as fh:
        np.save(fh, fit.atoms)
    write_json(out.metrics, fit.record)
