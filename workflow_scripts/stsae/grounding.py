"""Waveform grounding of the top age-associated concepts: mean pulses of the most and least
active test windows, classical morphology, concept × morphology correlations (BH FDR)."""

import numpy as np
import torch

from clinssl.cache import EmbeddingCacheFiles
from clinssl.stsae.analysis import grounding
from clinssl.stsae.data import load_inputs
from clinssl.stsae.files import GroundingFiles
from clinssl.stsae.models import SAEConceptModel
from clinssl.stsae.training import load_sae
from clinssl.utils import read_json, setup_logging, write_json
from clinssl.utils.atomic import atomic_path

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
inputs = load_inputs(EmbeddingCacheFiles.pick(snakemake.input), snakemake.input.table,
                     snakemake.input.get("truth"))  # fmt: skip
model = SAEConceptModel(load_sae(snakemake.input.model))
concepts = [c["concept"] for c in read_json(snakemake.input.aging)["age_concepts"]]
windows = np.load(snakemake.input.windows, mmap_mode="r")
results, morphology, correlations, pulses = grounding(
    inputs, windows, model, concepts, snakemake.params.grounding, snakemake.params.fs)
out = GroundingFiles.pick(snakemake.output)
with atomic_path(out.morphology) as tmp:
    morphology.to_parquet(tmp, index=False)
with atomic_path(out.correlations) as tmp:
    correlations.to_csv(tmp, index=False)
with atomic_path(out.pulses) as tmp, open(tmp, "wb") as fh:
    np.savez(fh, **pulses)
write_json(out.results, results)
log.info("%d test windows (%d with morphology), %d FDR-significant cells", results["n_windows"],
         results["n_with_morphology"], results["significant"])  # fmt: skip
