"""Train one SAE variant at one K and seed on the PPG cache, evaluate it on the test rows."""

from pathlib import Path

import numpy as np
import torch

from clinssl.cache import EmbeddingCacheFiles
from clinssl.stsae.data import load_inputs
from clinssl.stsae.files import SAEFiles
from clinssl.stsae.fits import sae_config, sae_fit
from clinssl.stsae.training import save_sae
from clinssl.train import remove_empty_dirs
from clinssl.train.fingerprint import job_fingerprint
from clinssl.utils import setup_logging, write_json
from clinssl.utils.atomic import atomic_path

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
job = snakemake.params.job
inputs = load_inputs(EmbeddingCacheFiles.pick(snakemake.input), snakemake.input.table,
                     snakemake.input.get("truth"))  # fmt: skip
config = sae_config(job["sae"], job["loss"], job["variant"], job["n_concepts"], job["seed"],
                    snakemake.params.device)  # fmt: skip
model, fit = sae_fit(
    inputs, config, job["variant"], n_folds=job["evaluate"]["n_folds"], subsample=job["subsample"],
    checkpoint_path=snakemake.params.checkpoint,
    fingerprint=job_fingerprint(dict(snakemake.params.items()), dict(snakemake.input.items())),
)  # fmt: skip
remove_empty_dirs(Path(snakemake.params.checkpoint).parent)
out = SAEFiles.pick(snakemake.output)
save_sae(out.model, model, config.to_dict())
with atomic_path(out.atoms) as tmp, open(tmp, "wb") as fh:
    np.save(fh, fit.atoms)
write_json(out.metrics, fit.record)
log.info("%s K=%d seed %d: test EV %.3f, L0 %.1f, consistency %.3f, lag-1 %.3f", job["variant"],
         config.n_concepts, config.seed, fit.record["ev"], fit.record["l0"],
         fit.record["consistency"], fit.record["lag1_autocorr"])  # fmt: skip
