"""Age prediction and bias-corrected Δage from the main ST-SAE's concepts (and the raw
embedding and PCA as comparisons)."""

import torch

from clinssl.cache import EmbeddingCacheFiles
from clinssl.stsae.analysis import vascular_aging
from clinssl.stsae.data import load_inputs
from clinssl.stsae.models import SAEConceptModel
from clinssl.stsae.training import load_sae
from clinssl.utils import setup_logging, write_json
from clinssl.utils.atomic import atomic_path

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
inputs = load_inputs(EmbeddingCacheFiles.pick(snakemake.input), snakemake.input.table,
                     snakemake.input.get("truth"))  # fmt: skip
model = SAEConceptModel(load_sae(snakemake.input.model))
results, subjects = vascular_aging(inputs, model, p.aging, p.n_concepts, p.seed, p.top_concepts)
with atomic_path(snakemake.output.subjects) as tmp:
    subjects.to_parquet(tmp, index=False)
write_json(snakemake.output.results, results)
head = results["headline"]
log.info("concepts, %s: MAE %.2f (uncorrected), r(Δc, age) %.3f, r(Δc, planted δ) %s",
         results["correction"], head["mae_uncorrected"], head["r_delta_corrected_age"],
         head.get("r_delta_corrected_truth"))  # fmt: skip
