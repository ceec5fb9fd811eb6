"""Summary over seeds, paired margins and (planted data only) the planted-truth checks."""

import pandas as pd

from clinssl.ecg.files import SummaryFiles
from clinssl.ecg.summary import paired_table, planted_checks, summary_markdown, summary_table
from clinssl.utils import atomic_path, atomic_write_text, setup_logging, write_json

log = setup_logging(snakemake.log[0])
out = SummaryFiles.pick(snakemake.output)
paths = list(snakemake.input.evaluations)
metrics = pd.concat([pd.read_parquet(p) for p in paths if p.endswith("metrics.parquet")])
predictions = pd.concat([pd.read_parquet(p) for p in paths if p.endswith("predictions.parquet")])
settings = snakemake.params.evaluate
summary = summary_table(metrics)
paired = paired_table(predictions, settings["n_bootstrap"], settings["ci_level"])
with atomic_path(out.summary) as tmp:
    summary.to_csv(tmp, index=False)
with atomic_path(out.paired) as tmp:
    paired.to_csv(tmp, index=False)
atomic_write_text(out.markdown, summary_markdown(summary))
if snakemake.params.planted:
    report = planted_checks(summary, paired, list(settings["label_fractions"]))
    report["planted"] = True
else:  # real data: the same tables, no planted truth to check against
    report = {"planted": False, "checks": {}, "all_passed": None}
report["dataset"] = snakemake.wildcards.dataset
write_json(out.checks, report)
log.info("ECG summary: %d rows; checks %s", len(summary),
         {k: v["passed"] for k, v in report["checks"].items()})  # fmt: skip
