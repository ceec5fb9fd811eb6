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
    """ICU paradigm comparison of one dataset of icu.run_datasets: headline metric per task,
    paradigm and protocol × label fraction, sd over seeds; the classical baselines and the
    random-encoder probes (the floor) as labelled reference lines."""
    input:
        summary="results/icu/{dataset}/ssl/summary.csv",
    output:
        report(
            "results/figures/icu_paradigms_{dataset}.png",
            caption="../report/captions/figure_icu_paradigms.rst",
            category="ICU",
            subcategory="{dataset}: paradigm comparison",
            labels={"dataset": "{dataset}", "figure": "paradigms"},
        ),
    log:
        "results/logs/figures/icu_paradigms_{dataset}.log",
    benchmark:
        "results/benchmarks/figures/icu_paradigms_{dataset}.tsv"
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


rule figure_stsae_pareto:
    """Explained variance against L0 of every fitted model (mean over seeds per method and K), the EV-vs-L0 Pareto frontier marked (figure dataset and encoder: the first of stsae.datasets / stsae.encoders)."""
    input:
        leaderboard=lambda wildcards: f"{stsae_figure_root()}/leaderboard.json",
    output:
        report(
            "results/figures/stsae_pareto.png",
            caption="../report/captions/figure_stsae_pareto.rst",
            category="ST-SAE",
        ),
    params:
        root=lambda wildcards: stsae_figure_root(),
    log:
        "results/logs/figures/stsae_pareto.log",
    benchmark:
        "results/benchmarks/figures/stsae_pareto.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/figure_pareto.py"


rule figure_stsae_ablation:
    """The full ST-SAE against each ablation, the plain SAE and the baselines at the default K: EV, augmentation consistency, lag-1 autocorrelation, seed stability (mean and range over seeds)."""
    input:
        leaderboard=lambda wildcards: f"{stsae_figure_root()}/leaderboard.json",
    output:
        report(
            "results/figures/stsae_ablation.png",
            caption="../report/captions/figure_stsae_ablation.rst",
            category="ST-SAE",
        ),
    params:
        root=lambda wildcards: stsae_figure_root(),
        n_concepts=lambda wildcards: stsae_default_k(),
    log:
        "results/logs/figures/stsae_ablation.log",
    benchmark:
        "results/benchmarks/figures/stsae_ablation.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/figure_ablation.py"


rule figure_stsae_delta_age:
    """Δage against chronological age on test subjects, uncorrected and bias-corrected, coloured by hypertension."""
    input:
        subjects=lambda wildcards: f"{stsae_figure_root()}/aging/subjects.parquet",
        results=lambda wildcards: f"{stsae_figure_root()}/aging/aging.json",
    output:
        report(
            "results/figures/stsae_delta_age.png",
            caption="../report/captions/figure_stsae_delta_age.rst",
            category="ST-SAE",
        ),
    params:
        root=lambda wildcards: stsae_figure_root(),
    log:
        "results/logs/figures/stsae_delta_age.log",
    benchmark:
        "results/benchmarks/figures/stsae_delta_age.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/figure_delta_age.py"


rule figure_stsae_concept_pulses:
    """Mean onset-aligned pulse of the windows with the highest vs lowest activation of each top age-associated concept."""
    input:
        pulses=lambda wildcards: f"{stsae_figure_root()}/grounding/pulses.npz",
        aging=lambda wildcards: f"{stsae_figure_root()}/aging/aging.json",
    output:
        report(
            "results/figures/stsae_concept_pulses.png",
            caption="../report/captions/figure_stsae_concept_pulses.rst",
            category="ST-SAE",
        ),
    params:
        root=lambda wildcards: stsae_figure_root(),
    log:
        "results/logs/figures/stsae_concept_pulses.log",
    benchmark:
        "results/benchmarks/figures/stsae_concept_pulses.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/figure_concept_pulses.py"


rule figure_stsae_morphology_corr:
    """Pearson r of the top age-associated concepts with classical pulse morphology, FDR-significant cells marked."""
    input:
        correlations=lambda wildcards: f"{stsae_figure_root()}/grounding/correlations.csv",
    output:
        report(
            "results/figures/stsae_morphology_corr.png",
            caption="../report/captions/figure_stsae_morphology_corr.rst",
            category="ST-SAE",
        ),
    params:
        root=lambda wildcards: stsae_figure_root(),
    log:
        "results/logs/figures/stsae_morphology_corr.log",
    benchmark:
        "results/benchmarks/figures/stsae_morphology_corr.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/figure_morphology_corr.py"


rule figure_events_attention:
    """Where the learned pooling query looks: attention mass per time-before-end bin for deaths and survivors next to the bins' share of events, and one high-risk death's last-layer self-attention and pooling weights (figure dataset: the first of events.run_datasets)."""
    input:
        attention=lambda wildcards: events_files.ExplainFiles.under(events_figure_root()).attention,
        attention_example=lambda wildcards: events_files.ExplainFiles.under(events_figure_root()).attention_example,
        summary=lambda wildcards: events_files.ExplainFiles.under(events_figure_root()).summary,
    output:
        report(
            "results/figures/events_attention.png",
            caption="../report/captions/figure_events_attention.rst",
            category="Events",
        ),
    log:
        "results/logs/figures/events_attention.log",
    benchmark:
        "results/benchmarks/figures/events_attention.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/events/figure_attention.py"


rule figure_events_attributions:
    """Integrated Gradients per event category (planted risk sources vs ordinary events), per event type for IG, layer IG and feature ablation, and by time before the end of the stay for deaths vs survivors."""
    input:
        types=lambda wildcards: events_files.ExplainFiles.under(events_figure_root()).types,
        time_bins=lambda wildcards: events_files.ExplainFiles.under(events_figure_root()).time_bins,
        checks=lambda wildcards: f"{events_figure_root()}/planted_checks.json",
    output:
        report(
            "results/figures/events_attributions.png",
            caption="../report/captions/figure_events_attributions.rst",
            category="Events",
        ),
    log:
        "results/logs/figures/events_attributions.log",
    benchmark:
        "results/benchmarks/figures/events_attributions.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/events/figure_attributions.py"


rule figure_events_head_specialization:
    """Enrichment (attention mass / share of events) of each pooling head by event type and by time before the end of the stay: what each head reads beyond frequency."""
    input:
        attention=lambda wildcards: events_files.ExplainFiles.under(events_figure_root()).attention,
    output:
        report(
            "results/figures/events_head_specialization.png",
            caption="../report/captions/figure_events_head_specialization.rst",
            category="Events",
        ),
    log:
        "results/logs/figures/events_head_specialization.log",
    benchmark:
        "results/benchmarks/figures/events_head_specialization.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/events/figure_head_specialization.py"
