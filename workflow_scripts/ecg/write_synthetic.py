"""Write the synthetic PTB-XL cohort in the real layout (+ truth.parquet)."""

from pathlib import Path

from clinssl.ecg.synthetic import PTBXLCohortConfig, write_ptbxl_corpus
from clinssl.utils import atomic_path, setup_logging

log = setup_logging(snakemake.log[0])
options = {"seed": snakemake.params.seed, **dict(snakemake.params.options)}
cfg = PTBXLCohortConfig(**options)
root = Path(snakemake.output.database).parent
truth = write_ptbxl_corpus(cfg, root)
with atomic_path(snakemake.output.truth) as tmp:
    truth.to_parquet(tmp, index=False)
log.info("synthetic PTB-XL: %d records of %d patients in %s", len(truth),
         truth["patient_id"].nunique(), root)  # fmt: skip
