"""Write the random-init HiMAE floor (same architecture as the pretrained model, untrained)."""

from clinssl.ppg.himae import random_init_himae
from clinssl.train import save_model_file
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
model, meta = random_init_himae(dict(snakemake.params.himae), snakemake.params.seed)
save_model_file(snakemake.output.model, model, meta)
log.info("random-init HiMAE: %d parameters, %s", sum(p.numel() for p in model.parameters()),
         meta["config"])  # fmt: skip
