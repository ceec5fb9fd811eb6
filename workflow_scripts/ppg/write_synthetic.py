"""Write the synthetic PPG cohort in a real layout (PulseDB .mat or MIMIC-III WFDB) + truth.

The tree is built in a hidden temporary directory next to the outputs and its parts are
renamed into place at the end (RECORDS last), so a killed job leaves no partial dataset.
"""

import os
import shutil
from pathlib import Path

from clinssl.ppg.synthetic import PPGCohortConfig, write_mimic3_corpus, write_pulsedb_corpus
from clinssl.utils import atomic_path, setup_logging

log = setup_logging(snakemake.log[0])
options = dict(snakemake.params.options)
subset_subjects = options.pop("subset_subjects", 10)
cfg = PPGCohortConfig(**options, seed=snakemake.params.seed)
root = Path(snakemake.output.truth).parent
build = root / f".build-{snakemake.rule}"
shutil.rmtree(build, ignore_errors=True)
try:
    if snakemake.rule == "synthetic_ppg_pulsedb":
        truth = write_pulsedb_corpus(cfg, build, subset_subjects=subset_subjects)
        parts = ["Segment_Files", "Subset_Files"]
    else:
        truth = write_mimic3_corpus(cfg, build)
        parts = [Path(p).name for p in snakemake.output.subjects]
        for name in parts:
            (build / name).mkdir(exist_ok=True)  # groups without subjects exist, empty
        parts += ["RECORDS-waveforms", "RECORDS"]
    for name in parts:
        dest = root / name
        if dest.is_dir():
            shutil.rmtree(dest)
        os.replace(build / name, dest)
    with atomic_path(snakemake.output.truth) as tmp:
        truth.to_parquet(tmp, index=False)
finally:
    shutil.rmtree(build, ignore_errors=True)
log.info(
    "%s: %d subjects, %d windows (%d PVC, %d planted bad) under %s",
    snakemake.rule,
    truth["subject_id"].nunique(),
    len(truth),
    int(truth["pvc"].sum()),
    int(truth["bad"].sum()),
    root,
)
