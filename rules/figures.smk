"""One rule per figure; each figure is its own target (``snakemake results/figures/<name>.png``).

A branch registers its figures as final outputs in its own rules file."""


rule figure_ppg_pvc_roc:
    """ROC and precision-recall curves of the PVC probe, HiMAE against its floors (random
    init, classical features), per label fraction (first ppg run dataset with pvc labels)."""
    input:
        predictions=lambda wildcards: f"results/ppg/{ppg_figure_dataset()}/probes/pvc/predictions.csv",
        metrics=lambda wildcards: f"results/ppg/{ppg_figure_dataset()}/probes/pvc/metrics.json",
    output:
        report(
            "results/figures/ppg_pvc_roc.png",
            caption="../report/captions/figure_ppg_pvc_roc.rst",
            category="PPG",
        ),
    params:
        dataset=lambda wildcards: ppg_figure_dataset(),
    log:
        "results/logs/figures/ppg_pvc_roc.log",
    benchmark:
        "results/benchmarks/figures/ppg_pvc_roc.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/figure_pvc_roc.py"


rule figure_icu_paradigms:
    """ICU paradigm comparison (first dataset of icu.run_datasets): headline metric per task,
    paradigm and protocol × label fraction, sd over seeds; random-encoder probe as the floor."""
    input:
        summary=lambda wildcards: f"results/icu/{icu_datasets()[0]}/ssl/summary.csv",
    output:
        report(
            "results/figures/icu_paradigms.png",
            caption="../report/captions/figure_icu_paradigms.rst",
            category="ICU",
        ),
    params:
        dataset=lambda wildcards: icu_datasets()[0],
    log:
        "results/logs/figures/icu_paradigms.log",
    benchmark:
        "results/benchmarks/figures/icu_paradigms.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu_ssl/figure_paradigms.py"


rule figure_ecg_label_efficiency:
    """Test macro AUROC vs label fraction per ECG method and protocol, CIs, random-init
    floor (first dataset of ecg.run_datasets)."""
    input:
        summary=lambda wildcards: f"results/ecg/{ecg_datasets()[0]}/summary.csv",
    output:
        report(
            "results/figures/ecg_label_efficiency.png",
            caption="../report/captions/figure_ecg_label_efficiency.rst",
            category="ECG",
        ),
    params:
        dataset=lambda wildcards: ecg_datasets()[0],
    log:
        "results/logs/figures/ecg_label_efficiency.log",
    benchmark:
        "results/benchmarks/figures/ecg_label_efficiency.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ecg/figure_label_efficiency.py"

