"""The embedded default: synthetic raw data written in the real formats, with planted truth.

Each generator writes exactly the layout a user's real data has (ricu export, YAIB cohorts,
PulseDB .mat files, MIMIC-III matched WFDB), so switching to real data is a path in config.
"""


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
    threads: rule_threads("synthetic_icu")
    resources:
        **rule_resources("synthetic_icu"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu/write_synthetic.py"


rule synthetic_ptbxl:
    """Synthetic PTB-XL in the real layout (results/raw/synthetic/ptbxl): ptbxl_database.csv
    (28 columns), scp_statements.csv, records100/NNNNN/NNNNN_lr.{hea,dat} (optionally
    records500), RECORDS + truth.parquet (planted superclass morphology per record)."""
    output:
        database=f"{ECG_SYNTHETIC_ROOT}/ptbxl_database.csv",
        statements=f"{ECG_SYNTHETIC_ROOT}/scp_statements.csv",
        truth=f"{ECG_SYNTHETIC_ROOT}/truth.parquet",
        **{f"records{rate}": directory(f"{ECG_SYNTHETIC_ROOT}/records{rate}")
           for rate in ecg_synthetic_rates()},
    params:
        options=config["ecg"]["synthetic"],
        seed=config["seed"],
    log:
        "results/logs/synthetic/ptbxl.log",
    benchmark:
        "results/benchmarks/synthetic/ptbxl.tsv"
    threads: rule_threads("synthetic_ptbxl")
    resources:
        **rule_resources("synthetic_ptbxl"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ecg/write_synthetic.py"


rule synthetic_ppg_pulsedb:
    """Synthetic PPG cohort as PulseDB v7.3 .mat files: Segment_Files/PulseDB_MIMIC/pXXXXXX.mat
    (Subj_Wins) and Subset_Files/AAMI_Test_Subset.mat, + truth.parquet (planted vascular age,
    PVC and artifact windows)."""
    output:
        segments=directory("results/raw/synthetic/pulsedb/Segment_Files"),
        subsets=directory("results/raw/synthetic/pulsedb/Subset_Files"),
        truth="results/raw/synthetic/pulsedb/truth.parquet",
    params:
        options=config["ppg"]["synthetic"],
        seed=config["seed"],
    log:
        "results/logs/synthetic/ppg_pulsedb.log",
    benchmark:
        "results/benchmarks/synthetic/ppg_pulsedb.tsv"
    threads: rule_threads("synthetic_ppg_pulsedb")
    resources:
        **rule_resources("synthetic_ppg_pulsedb"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/write_synthetic.py"


rule synthetic_ppg_mimic3:
    """The same synthetic PPG cohort as a MIMIC-III matched WFDB tree: pXX/pXXNNNN/
    multi-segment variable-layout records (PLETH/II/ABP at 125 Hz, '~' gaps, segments and
    records without PLETH), RECORDS files, + truth.parquet."""
    output:
        records="results/raw/synthetic/mimic3_matched/RECORDS",
        waveforms="results/raw/synthetic/mimic3_matched/RECORDS-waveforms",
        subjects=[directory(f"results/raw/synthetic/mimic3_matched/p{g:02d}") for g in range(10)],
        truth="results/raw/synthetic/mimic3_matched/truth.parquet",
    params:
        options=config["ppg"]["synthetic"],
        seed=config["seed"],
    log:
        "results/logs/synthetic/ppg_mimic3.log",
    benchmark:
        "results/benchmarks/synthetic/ppg_mimic3.tsv"
    threads: rule_threads("synthetic_ppg_mimic3")
    resources:
        **rule_resources("synthetic_ppg_mimic3"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/write_synthetic.py"


rule synthetic_mimic4:
    """Synthetic MIMIC-IV (results/raw/synthetic/mimic4): hosp/ and icu/ tables as csv.gz
    with the release's exact columns and quirks (patients, admissions, icustays,
    prescriptions, labevents + d_labitems, microbiologyevents, procedureevents +
    ingredientevents + d_items) + truth.parquet (per stay: planted risk, its events and
    their timing)."""
    output:
        **events_synthetic_tables(),
        truth=f"{EVENTS_SYNTHETIC_ROOT}/truth.parquet",
    params:
        options=lambda wildcards: events_settings()["synthetic"],
        seed=config["seed"],
    log:
        "results/logs/synthetic/mimic4.log",
    benchmark:
        "results/benchmarks/synthetic/mimic4.tsv"
    threads: rule_threads("synthetic_mimic4")
    resources:
        **rule_resources("synthetic_mimic4"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/events/write_synthetic.py"
