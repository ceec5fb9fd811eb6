"""Summary of the paradigm comparison: table (CSV + markdown), paired comparisons against
supervised training and against gradient boosting, and the checks-and-findings report
(JSON; planted-truth checks only for datasets with planted truth)."""

import json

import pandas as pd

from clinssl.icu.benchmark import (
    benchmark_report,
    objective_check,
    paired_versus,
    paired_vs_supervised,
    planted_checks,
    probe_vs_random,
    summarize,
    summary_markdown,
)
from clinssl.icu.labels import ICU_TASKS
from clinssl.icu.names import CLASSICAL
from clinssl.utils import atomic_path, atomic_write_text, setup_logging, write_json

log = setup_logging(snakemake.log[0])
params = snakemake.params
metrics = pd.concat([pd.read_parquet(p) for p in snakemake.input.metrics], ignore_index=True)
predictions = pd.concat(
    [pd.read_parquet(p) for p in snakemake.input.predictions], ignore_index=True
)
fairness = pd.read_parquet(snakemake.input.fairness)
fairness_groups = pd.read_parquet(snakemake.input.fairness_groups)
table = summarize(metrics)
paired = paired_vs_supervised(predictions, ICU_TASKS, params.resamples)
paired_classical = paired_versus(
    predictions, ICU_TASKS, CLASSICAL, params.classical_reference, params.resamples
)
for frame, path in ((table, snakemake.output.csv), (paired, snakemake.output.paired),
                    (paired_classical, snakemake.output.paired_classical)):  # fmt: skip
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
atomic_write_text(snakemake.output.markdown, summary_markdown(table))
probes = probe_vs_random(predictions, n_resamples=params.resamples)
records: dict[str, list[dict]] = {}
for path in snakemake.input.histories:
    history = json.loads(open(path).read())
    records.setdefault(history["paradigm"], []).append(history["objective_check"])
thresholds = params.objective_checks
objective = {
    f"{paradigm}_learns_its_objective": objective_check(
        recs, thresholds["min_relative_improvement"], thresholds["min_retrieval_over_chance"]
    )
    for paradigm, recs in sorted(records.items())
}
report = benchmark_report(
    planted=params.planted,
    planted_checks=(
        planted_checks(table, fairness, probe_comparison=probes) if params.planted else None
    ),
    objective_checks=objective,
    table=table,
    probes=probes,
    paired_classical=paired_classical,
    fairness_groups=fairness_groups,
    tasks=params.tasks,
    tasks_left_out=params.tasks_left_out,
)
write_json(snakemake.output.checks, report)
log.info(
    "summary of %d metric rows; %s mode, %d checks, all passed: %s",
    len(metrics), "planted" if params.planted else "real-data", report["n_checks"],
    report["all_passed"],
)  # fmt: skip
