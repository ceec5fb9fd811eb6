"""ICU SSL benchmark rules (issue 4): pretraining per paradigm and seed, downstream protocols,
fairness and the summary of the paradigm comparison.

Layout under results/icu/<dataset>/ssl/:
  <paradigm>/seed<seed>/encoder.pt, pretrain_history.json     (icu_pretrain; SSL paradigms)
  <paradigm>/seed<seed>/metrics.parquet, predictions.parquet  (icu_downstream; SSL paradigms,
                                                               supervised, random)
  fairness_groups.parquet, fairness_summary.parquet           (icu_fairness)
  summary.csv, summary.md, paired_vs_supervised.csv, planted_checks.json  (icu_summary)
Training checkpoints (resume after a kill) live in results/icu/<dataset>/checkpoints/, which
no rule declares as output. Helper input functions are lambdas (no defs in this file).
"""

# icu.ssl's defaults are filled by the Snakefile (clinssl.config_schema walks nested $refs)
ICU_SSL = config["icu"]["ssl"]
# what each step depends on (so that e.g. a fairness setting does not rerun pretraining)
ICU_SSL_PRETRAIN_PARAMS = {k: ICU_SSL[k] for k in ("pretrain", "encoders", "objectives")}
ICU_SSL_DOWNSTREAM_PARAMS = {
    k: ICU_SSL[k] for k in ("downstream", "encoders", "paradigms", "supervised_encoder")
}
ICU_SSL_PARADIGMS = list(ICU_SSL["paradigms"])
ICU_DOWNSTREAM_PARADIGMS = ICU_SSL_PARADIGMS + ["supervised", "random"]
ICU_SSL_DATA = {
    "values": "results/icu/{dataset}/values.npy",
    "mask": "results/icu/{dataset}/mask.npy",
    "static": "results/icu/{dataset}/static.parquet",
    "labels": "results/icu/{dataset}/labels.parquet",
    "metadata": "results/icu/{dataset}/metadata.json",
    "splits": "results/icu/{dataset}/splits/seed{seed}/splits.parquet",
    "normalization": "results/icu/{dataset}/splits/seed{seed}/normalization.json",
}


rule icu_pretrain:
    """Pretrain the paradigm's encoder (MAE/JEPA/contrastive: timestep Transformer; SMART:
    MART) on one seed's training stays with the shared loop; resumable after a kill."""
    input:
        **ICU_SSL_DATA,
    output:
        model="results/icu/{dataset}/ssl/{paradigm}/seed{seed}/encoder.pt",
        history="results/icu/{dataset}/ssl/{paradigm}/seed{seed}/pretrain_history.json",
    wildcard_constraints:
        paradigm="mae|jepa|contrastive|smart",
    params:
        ssl=ICU_SSL_PRETRAIN_PARAMS,
        device=config["device"],
        checkpoint="results/icu/{dataset}/checkpoints/pretrain_{paradigm}_seed{seed}.ckpt",
    log:
        "results/logs/icu/ssl/pretrain_{dataset}_{paradigm}_seed{seed}.log",
    benchmark:
        "results/benchmarks/icu/ssl/pretrain_{dataset}_{paradigm}_seed{seed}.tsv"
    threads: ICU_SSL["pretrain"]["threads"]
    resources:
        gpu=1,
        mem_mb=ICU_SSL["pretrain"]["mem_mb"],
        runtime=ICU_SSL["pretrain"]["runtime"],
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu_ssl/pretrain.py"


rule icu_downstream:
    """Linear probe + fine-tune of a pretrained encoder (or supervised training from scratch,
    or probes of randomly initialised encoders) on every task and label fraction; test
    metrics with bootstrap CIs and test predictions."""
    input:
        **ICU_SSL_DATA,
        encoder=lambda wc: (
            [f"results/icu/{wc.dataset}/ssl/{wc.paradigm}/seed{wc.seed}/encoder.pt"]
            if wc.paradigm in ICU_SSL_PARADIGMS
            else []
        ),
    output:
        metrics="results/icu/{dataset}/ssl/{paradigm}/seed{seed}/metrics.parquet",
        predictions="results/icu/{dataset}/ssl/{paradigm}/seed{seed}/predictions.parquet",
    wildcard_constraints:
        paradigm="mae|jepa|contrastive|smart|supervised|random",
    params:
        ssl=ICU_SSL_DOWNSTREAM_PARAMS,
        device=config["device"],
        checkpoint_dir="results/icu/{dataset}/checkpoints/downstream_{paradigm}_seed{seed}",
    log:
        "results/logs/icu/ssl/downstream_{dataset}_{paradigm}_seed{seed}.log",
    benchmark:
        "results/benchmarks/icu/ssl/downstream_{dataset}_{paradigm}_seed{seed}.tsv"
    threads: ICU_SSL["downstream"]["threads"]
    resources:
        gpu=1,
        mem_mb=ICU_SSL["downstream"]["mem_mb"],
        runtime=ICU_SSL["downstream"]["runtime"],
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu_ssl/downstream.py"


rule icu_fairness:
    """Per-group (sex, age group, race) metrics, worst group, gaps, demographic parity and
    equalized odds of every test prediction set."""
    input:
        static="results/icu/{dataset}/static.parquet",
        predictions=lambda wc: expand(
            "results/icu/{dataset}/ssl/{paradigm}/seed{seed}/predictions.parquet",
            dataset=wc.dataset,
            paradigm=ICU_DOWNSTREAM_PARADIGMS,
            seed=seeds(),
        ),
    output:
        groups=report(
            "results/icu/{dataset}/ssl/fairness_groups.parquet",
            caption="../report/captions/icu_fairness.rst",
            category="ICU",
            subcategory="{dataset}: fairness",
            labels={"dataset": "{dataset}", "table": "per-group metrics"},
        ),
        summary=report(
            "results/icu/{dataset}/ssl/fairness_summary.parquet",
            caption="../report/captions/icu_fairness.rst",
            category="ICU",
            subcategory="{dataset}: fairness",
            labels={"dataset": "{dataset}", "table": "worst group and gaps"},
        ),
    params:
        fairness=ICU_SSL["fairness"],
    log:
        "results/logs/icu/ssl/fairness_{dataset}.log",
    benchmark:
        "results/benchmarks/icu/ssl/fairness_{dataset}.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu_ssl/fairness.py"


rule icu_summary:
    """Paradigm × task × protocol × label fraction table (mean ± sd over seeds, CIs), paired
    comparison against supervised training, and the planted-truth checks."""
    input:
        metrics=lambda wc: expand(
            "results/icu/{dataset}/ssl/{paradigm}/seed{seed}/metrics.parquet",
            dataset=wc.dataset,
            paradigm=ICU_DOWNSTREAM_PARADIGMS,
            seed=seeds(),
        ),
        predictions=lambda wc: expand(
            "results/icu/{dataset}/ssl/{paradigm}/seed{seed}/predictions.parquet",
            dataset=wc.dataset,
            paradigm=ICU_DOWNSTREAM_PARADIGMS,
            seed=seeds(),
        ),
        fairness="results/icu/{dataset}/ssl/fairness_summary.parquet",
    output:
        csv=report(
            "results/icu/{dataset}/ssl/summary.csv",
            caption="../report/captions/icu_summary.rst",
            category="ICU",
            subcategory="{dataset}: paradigm comparison",
            labels={"dataset": "{dataset}", "table": "summary (CSV)"},
        ),
        markdown=report(
            "results/icu/{dataset}/ssl/summary.md",
            caption="../report/captions/icu_summary.rst",
            category="ICU",
            subcategory="{dataset}: paradigm comparison",
            labels={"dataset": "{dataset}", "table": "summary (markdown)"},
        ),
        paired=report(
            "results/icu/{dataset}/ssl/paired_vs_supervised.csv",
            caption="../report/captions/icu_summary_paired.rst",
            category="ICU",
            subcategory="{dataset}: paradigm comparison",
            labels={"dataset": "{dataset}", "table": "paired vs supervised"},
        ),
        checks=report(
            "results/icu/{dataset}/ssl/planted_checks.json",
            caption="../report/captions/icu_summary_checks.rst",
            category="ICU",
            subcategory="{dataset}: paradigm comparison",
            labels={"dataset": "{dataset}", "table": "planted-truth checks"},
        ),
    params:
        resamples=ICU_SSL["downstream"]["bootstrap_resamples"],
    log:
        "results/logs/icu/ssl/summary_{dataset}.log",
    benchmark:
        "results/benchmarks/icu/ssl/summary_{dataset}.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu_ssl/summary.py"


if branch_enabled("icu") and ICU_SSL["enabled"]:
    ICU_MODEL_FINAL.extend(
        expand(
            "results/icu/{dataset}/ssl/{name}",
            dataset=icu_datasets(),
            name=["summary.csv", "summary.md", "paired_vs_supervised.csv", "planted_checks.json"],
        )
    )
    ICU_MODEL_FINAL.append("results/figures/icu_paradigms.png")
