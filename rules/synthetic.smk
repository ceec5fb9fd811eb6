"""Rules of the 'synthetic' group (see DESIGN.md); filled in by the issue that builds it."""


rule synthetic_icu:
    """Synthetic ICU cohort as a ricu export (results/raw/synthetic/ricu: timeseries parts,
    stays, mortality, metadata + truth.parquet with the planted severity, deaths, AKI) and as
    YAIB cohorts (results/raw/synthetic/yaib/<task>/synthetic/{dyn,sta,outc}.parquet)."""
    output:
        ricu=directory("results/raw/synthetic/ricu"),
        yaib=directory("results/raw/synthetic/yaib"),
    params:
        options=config["icu"]["synthetic"],
        seed=config["seed"],
    log:
        "results/logs/synthetic/icu.log",
    benchmark:
        "results/benchmarks/synthetic/icu.tsv"
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu/write_synthetic.py"
