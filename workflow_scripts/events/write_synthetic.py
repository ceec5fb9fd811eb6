"""Write the synthetic MIMIC-IV (hosp/*.csv.gz, icu/*.csv.gz in the release layout + truth.parquet)."""

from pathlib import Path

from clinssl.events.synthetic import MIMIC4CohortConfig, write_mimic4
from clinssl.utils import setup_logging

log = setup_logging(snakemake.log[0])
cfg = MIMIC4CohortConfig(**{"seed": snakemake.params.seed, **dict(snakemake.params.options)})
root = Path(snakemake.output.truth).parent
truth = write_mimic4(cfg, root)
log.info("synthetic MIMIC-IV: %d ICU stays of %d patients, mortality %.3f, in %s", len(truth),
         truth["subject_id"].nunique(), truth["died"].mean(), root)  # fmt: skip
