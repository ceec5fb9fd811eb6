"""Subgroup fairness (sex, age group, race) of every binary/regression test prediction."""

import pandas as pd

from clinssl.icu.inputs import load_static
from clinssl.icu.labels import ICU_TASKS
from clinssl.stats.fairness import fairness_report
from clinssl.utils import atomic_path, setup_logging

log = setup_logging(snakemake.log[0])
fair = snakemake.params.fairness
static = load_static(snakemake.input.static, fair["age_bins"]).drop(
    columns=["patient_id"]
)
keys = ["paradigm", "encoder", "protocol", "task", "label_fraction", "seed"]
groups, summaries = [], []
for path in snakemake.input.predictions:
    preds = pd.read_parquet(path).merge(static, on="stay_id", how="left", validate="many_to_one")
    for key, frame in preds.groupby(keys, sort=True):
        per, summary = fairness_report(
            ICU_TASKS[key[3]], frame, fair["attributes"], fair["min_group_size"], fair["threshold"]
        )
        for table, out in ((per, groups), (summary, summaries)):
            if not table.empty:
                out.append(table.assign(**dict(zip(keys, key, strict=True))))
for frames, path in ((groups, snakemake.output.groups), (summaries, snakemake.output.summary)):
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=keys)
    table = table[keys + [c for c in table.columns if c not in keys]]
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
log.info("fairness of %d prediction sets", len(summaries))
