"""ICU data rules: ricu extraction (R), ingestion to tensors + labels, patient-level splits.

Contract for the SSL rules (rules/icu_ssl.smk): one dataset's ``IngestFiles`` and one seed's
``SplitFiles`` (clinssl.icu.files, where the file names are written once).
"""


rule icu_extract_ricu:
    """Extract a credentialed ICU database (miiv, eicu, mimic_demo, eicu_demo) with the R
    package ricu into a ricu export: hourly concepts + masks, stays, mortality, metadata.
    Runs only for datasets with format ricu and no root (the export is made here)."""
    output:
        directory("results/raw/ricu/{dataset}"),
    params:
        script=workflow.source_path("../workflow_scripts/icu/extract_with_ricu.R"),
        source=lambda wildcards: icu_ricu_source(wildcards.dataset),
        horizon=config["icu"]["ricu"]["horizon_hours"],
        batch=config["icu"]["ricu"]["concept_batch_size"],
        per_part=config["icu"]["ricu"]["stays_per_part"],
        concepts=",".join(config["icu"]["ricu"]["concepts"]) or "default",
        blocklist=",".join(config["icu"]["ricu"]["blocklist"]),
        data_dir=config["icu"]["ricu"]["data_dir"] or "default",
    log:
        "results/logs/icu/extract_ricu_{dataset}.log",
    benchmark:
        "results/benchmarks/icu/extract_ricu_{dataset}.tsv"
    threads: rule_threads("icu_extract_ricu")
    resources:
        **rule_resources("icu_extract_ricu"),
    conda:
        "../envs/ricu.yaml"
    shell:
        "Rscript {params.script:q} --dataset {params.source:q} --output_dir {output:q}"
        " --raw_export_horizon_hours {params.horizon} --concept_batch_size {params.batch}"
        " --stays_per_part {params.per_part} --concepts {params.concepts:q}"
        " --blocklist {params.blocklist:q} --raw_data_dir {params.data_dir:q} > {log:q} 2>&1"


rule icu_ingest:
    """Ricu export or YAIB cohort -> values/mask tensors (N, 24, D), static table, labels of
    the four SLICES tasks and metadata (feature units, counts, exclusions and why)."""
    input:
        raw=icu_raw_input,
    output:
        **ICU_DATA,
    params:
        format=lambda wildcards: icu_dataset_config(wildcards.dataset)["format"],
        root=lambda wildcards: icu_dataset_root(wildcards.dataset),
        task=lambda wildcards: icu_dataset_config(wildcards.dataset).get("task"),
        options=config["icu"]["ingest"],
    log:
        "results/logs/icu/ingest_{dataset}.log",
    benchmark:
        "results/benchmarks/icu/ingest_{dataset}.tsv"
    threads: rule_threads("icu_ingest")
    resources:
        **rule_resources("icu_ingest"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu/ingest.py"


rule icu_splits:
    """Patient-level 70/15/15 split for one seed, stratified on the dataset's primary binary
    label, and per-feature mean/std from observed train values only (val/test never enter
    the statistics)."""
    input:
        **{k: ICU_DATA[k] for k in ("values", "mask", "static", "labels", "metadata")},
    output:
        **ICU_SPLIT,
    params:
        fractions=config["icu"]["splits"]["fractions"],
        stratify_by=icu_stratify_task,
    log:
        "results/logs/icu/splits_{dataset}_seed{seed}.log",
    benchmark:
        "results/benchmarks/icu/splits_{dataset}_seed{seed}.tsv"
    priority: ICU_PRIORITY["icu_splits"]
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu/splits.py"


register_final_outputs("icu", icu_data_final_outputs)
