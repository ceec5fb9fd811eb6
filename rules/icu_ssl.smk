"""ICU SSL benchmark rules: pretraining per paradigm and seed, downstream protocols,
fairness and the summary of the paradigm comparison.

Layout under results/icu/<dataset>/ssl/:
  <paradigm>/seed<seed>/encoder.pt, pretrain_history.json     (icu_pretrain; SSL paradigms)
  <paradigm>/seed<seed>/metrics.parquet, predictions.parquet  (icu_downstream; SSL paradigms,
                                                               supervised, random)
  classical/metrics.parquet, predictions.parquet              (icu_classical; every seed)
  fairness_groups.parquet, fairness_summary.parquet           (icu_fairness)
  summary.csv, summary.md, paired_vs_supervised.csv, paired_vs_classical.csv,
  planted_checks.json (objective checks, findings, fairness overview; planted-truth checks
  only for the synthetic cohort)                               (icu_summary)
Training checkpoints (resume after a kill) live in results/icu/<dataset>/checkpoints/, which
no rule declares as output.

Params are per job: a pretraining job sees only its paradigm's objective, budget override and
encoder settings, and a downstream job only what its paradigm uses, so changing one
paradigm's settings reruns only that paradigm's jobs (and what reads their outputs).
"""


rule icu_pretrain:
    """Pretrain the paradigm's encoder (MAE/JEPA/contrastive: timestep Transformer; SMART:
    MART) on one seed's training stays with the shared loop; resumable after a kill."""
    input:
        **ICU_SSL_DATA,
    output:
        model=f"{ICU_SSL_DIR}/encoder.pt",
        history=f"{ICU_SSL_DIR}/pretrain_history.json",
    wildcard_constraints:
        paradigm=wildcard_regex(PARADIGMS),
    params:
        ssl=icu_pretrain_params,
        device=config["device"],
        checkpoint="results/icu/{dataset}/checkpoints/pretrain_{paradigm}_seed{seed}.ckpt",
    log:
        "results/logs/icu/ssl/pretrain_{dataset}_{paradigm}_seed{seed}.log",
    benchmark:
        "results/benchmarks/icu/ssl/pretrain_{dataset}_{paradigm}_seed{seed}.tsv"
    threads: rule_threads("icu_pretrain")
    priority: ICU_PRIORITY["icu_pretrain"]
    resources:
        gpu=1,
        **rule_resources("icu_pretrain"),
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
            [f"{ICU_SSL_DIR}/encoder.pt".format(dataset=wc.dataset, paradigm=wc.paradigm, seed=wc.seed)]
            if wc.paradigm in PARADIGMS
            else []
        ),
    output:
        metrics=f"{ICU_SSL_DIR}/metrics.parquet",
        predictions=f"{ICU_SSL_DIR}/predictions.parquet",
    wildcard_constraints:
        paradigm=wildcard_regex(DOWNSTREAM_PARADIGMS),
    params:
        ssl=icu_downstream_params,
        device=config["device"],
        checkpoint_dir="results/icu/{dataset}/checkpoints/downstream_{paradigm}_seed{seed}",
    log:
        "results/logs/icu/ssl/downstream_{dataset}_{paradigm}_seed{seed}.log",
    benchmark:
        "results/benchmarks/icu/ssl/downstream_{dataset}_{paradigm}_seed{seed}.tsv"
    threads: rule_threads("icu_downstream")
    priority: ICU_PRIORITY["icu_downstream"]
    resources:
        gpu=1,
        **rule_resources("icu_downstream"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu_ssl/downstream.py"


rule icu_classical:
    """The classical baselines of every seed in one job: logistic regression and gradient
    boosting on per-variable summaries of the input window + static admission features, on
    the same splits, tasks and label fractions as the encoder protocols."""
    input:
        **ICU_DATA,
        splits=lambda wc: expand(ICU_SPLIT["splits"], dataset=wc.dataset, seed=seeds()),
        normalization=lambda wc: expand(
            ICU_SPLIT["normalization"], dataset=wc.dataset, seed=seeds()
        ),
    output:
        metrics=f"{ICU_CLASSICAL_DIR}/metrics.parquet",
        predictions=f"{ICU_CLASSICAL_DIR}/predictions.parquet",
    params:
        downstream=lambda wc: icu_downstream_settings(wc.dataset),
        classical=ICU_SSL["classical"],
        seeds=seeds(),
    log:
        "results/logs/icu/ssl/classical_{dataset}.log",
    benchmark:
        "results/benchmarks/icu/ssl/classical_{dataset}.tsv"
    threads: rule_threads("icu_classical")
    resources:
        **rule_resources("icu_classical"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu_ssl/classical.py"


rule icu_fairness:
    """Per-group (sex, age group, race) metrics, worst group, gaps, demographic parity and
    equalized odds of every test prediction set."""
    input:
        static=ICU_DATA["static"],
        predictions=lambda wc: icu_result_files(wc.dataset, "predictions"),
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
    comparisons against supervised training and gradient boosting, and the report of
    objective checks, findings, fairness and (planted data only) planted-truth checks."""
    input:
        metrics=lambda wc: icu_result_files(wc.dataset, "metrics"),
        predictions=lambda wc: icu_result_files(wc.dataset, "predictions"),
        fairness="results/icu/{dataset}/ssl/fairness_summary.parquet",
        fairness_groups="results/icu/{dataset}/ssl/fairness_groups.parquet",
        histories=lambda wc: expand(
            f"{ICU_SSL_DIR}/pretrain_history.json",
            dataset=wc.dataset,
            paradigm=ICU_SSL_PARADIGMS,
            seed=seeds(),
        ),
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
        paired_classical=report(
            "results/icu/{dataset}/ssl/paired_vs_classical.csv",
            caption="../report/captions/icu_summary_paired.rst",
            category="ICU",
            subcategory="{dataset}: paradigm comparison",
            labels={"dataset": "{dataset}", "table": "paired vs gradient boosting"},
        ),
        checks=report(
            "results/icu/{dataset}/ssl/planted_checks.json",
            caption="../report/captions/icu_summary_checks.rst",
            category="ICU",
            subcategory="{dataset}: paradigm comparison",
            labels={"dataset": "{dataset}", "table": "checks and findings"},
        ),
    params:
        resamples=ICU_SSL["downstream"]["bootstrap_resamples"],
        planted=lambda wc: icu_dataset_config(wc.dataset)["format"] == "synthetic",
        objective_checks=ICU_SSL["objective_checks"],
        classical_reference=icu_classical_reference(),
        tasks=lambda wc: list(icu_task_plan(wc.dataset).planned),
        tasks_left_out=lambda wc: dict(icu_task_plan(wc.dataset).left_out),
    log:
        "results/logs/icu/ssl/summary_{dataset}.log",
    benchmark:
        "results/benchmarks/icu/ssl/summary_{dataset}.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/icu_ssl/summary.py"


register_final_outputs("icu", icu_ssl_final_outputs)
