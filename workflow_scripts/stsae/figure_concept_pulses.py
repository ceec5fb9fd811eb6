"""Figure: mean pulses of the most vs least active test windows of the top age concepts."""

import numpy as np

from clinssl.stsae.plots import plot_concept_pulses
from clinssl.utils import read_json, setup_logging

log = setup_logging(snakemake.log[0])
with np.load(snakemake.input.pulses, allow_pickle=False) as data:
    pulses = {key: data[key] for key in data.files}
concept_r = {c["concept"]: c["r"] for c in read_json(snakemake.input.aging)["age_concepts"]}
plot_concept_pulses(pulses, concept_r, snakemake.output[0],
                    f"Age concepts in the waveform ({snakemake.params.root})")
log.info("wrote %s", snakemake.output[0])
