"""Rules of the ST-SAE branch: a PPG embedding cache → ST-SAE, its ablations, Top-K and a
plain SAE per K and seed, PCA / ICA / NMF baselines → one evaluation suite and leaderboard
→ age prediction and bias-corrected Δage → waveform grounding of the age concepts →
planted-truth checks (figures in figures.smk)."""


rule stsae_train:
    """Train one SAE variant at one dictionary size and seed on the QC-passed train rows'
    (z_t, z_t+1, z_aug_t) triplets (resumable), then evaluate it on the test rows: EV, L0,
    dead features, augmentation consistency, lag-1 autocorrelation, probe recovery."""
    input:
        unpack(stsae_ppg_inputs),
    output:
        **SAEFiles.of(STSAE_ROOT, "{variant}", "{k}", "{seed}").as_dict(),
    wildcard_constraints:
        variant=wildcard_regex(stsae_names.VARIANTS),
        k=r"\d+",
        seed=r"\d+",
    params:
        job=stsae_train_params,
        device=config["device"],
        checkpoint="results/stsae/{dataset}/{encoder}/checkpoints/{variant}_K{k}_seed{seed}.ckpt",
    log:
        "results/logs/stsae/{dataset}/{encoder}/train_{variant}_K{k}_seed{seed}.log",
    benchmark:
        "results/benchmarks/stsae/{dataset}/{encoder}/train_{variant}_K{k}_seed{seed}.tsv"
    threads: rule_threads("stsae_train")
    resources:
        gpu=1,
        **rule_resources("stsae_train"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/train.py"


rule stsae_baselines:
    """Fit PCA, ICA and NMF (shifted non-negative inputs) with K components for every K and
    seed on the train rows (a fit of min(K, d) components is shared by every K >= d), and
    evaluate each with the same suite as the SAEs."""
    input:
        unpack(stsae_ppg_inputs),
    output:
        **stsae_baseline_outputs(STSAE_ROOT),
    params:
        baselines=lambda wildcards: stsae_settings()["baselines"],
        sizes=lambda wildcards: stsae_settings()["n_concepts"],
        seeds=lambda wildcards: stsae_seeds(),
        baseline=lambda wildcards: stsae_settings()["baseline"],
        evaluate=lambda wildcards: stsae_settings()["evaluate"],
    log:
        "results/logs/stsae/{dataset}/{encoder}/baselines.log",
    benchmark:
        "results/benchmarks/stsae/{dataset}/{encoder}/baselines.tsv"
    threads: rule_threads("stsae_baselines")
    resources:
        **rule_resources("stsae_baselines"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/baselines.py"


rule stsae_leaderboard:
    """One row per fitted model with seed and subsample stability (Hungarian matching of
    atoms) and the EV-vs-L0 Pareto frontier marked."""
    input:
        fits=lambda wildcards: stsae_fit_outputs(STSAE_ROOT.format(**wildcards)),
    output:
        json="results/stsae/{dataset}/{encoder}/leaderboard.json",
        csv=report(
            "results/stsae/{dataset}/{encoder}/leaderboard.csv",
            caption="../report/captions/stsae_leaderboard.rst",
            category="ST-SAE",
            subcategory="{dataset} / {encoder}",
            labels={"dataset": "{dataset}", "encoder": "{encoder}", "table": "leaderboard"},
        ),
    params:
        root=STSAE_ROOT,
    log:
        "results/logs/stsae/{dataset}/{encoder}/leaderboard.log",
    benchmark:
        "results/benchmarks/stsae/{dataset}/{encoder}/leaderboard.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/leaderboard.py"


rule stsae_aging:
    """Age from per-subject mean concept activations (ElasticNetCV on train subjects), Δage
    with both bias corrections (fitted on the configured fold, applied to test), uncorrected
    MAE, odds ratios of HTN/T2D per 5 years of corrected Δage; the same from the raw
    embedding and from PCA with K components."""
    input:
        unpack(stsae_ppg_inputs),
        model=lambda wildcards: stsae_main_model(STSAE_ROOT.format(**wildcards)),
    output:
        results=report(
            "results/stsae/{dataset}/{encoder}/aging/aging.json",
            caption="../report/captions/stsae_aging.rst",
            category="ST-SAE",
            subcategory="{dataset} / {encoder}",
            labels={"dataset": "{dataset}", "encoder": "{encoder}", "table": "Δage"},
        ),
        subjects="results/stsae/{dataset}/{encoder}/aging/subjects.parquet",
    params:
        aging=lambda wildcards: stsae_settings()["aging"],
        n_concepts=lambda wildcards: stsae_default_k(),
        seed=lambda wildcards: stsae_seeds()[0],
        top_concepts=lambda wildcards: stsae_settings()["grounding"]["top_concepts"],
    log:
        "results/logs/stsae/{dataset}/{encoder}/aging.log",
    benchmark:
        "results/benchmarks/stsae/{dataset}/{encoder}/aging.tsv"
    threads: rule_threads("stsae_aging")
    resources:
        **rule_resources("stsae_aging"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/aging.py"


rule stsae_grounding:
    """For the most age-associated concepts, the mean onset-aligned pulse of the windows
    with the highest vs lowest activation; classical morphology of every test window;
    concepts × morphology correlations with Benjamini–Hochberg FDR."""
    input:
        unpack(stsae_ppg_inputs),
        windows="results/ppg/{dataset}/windows.npy",
        model=lambda wildcards: stsae_main_model(STSAE_ROOT.format(**wildcards)),
        aging="results/stsae/{dataset}/{encoder}/aging/aging.json",
    output:
        **GroundingFiles.under(STSAE_ROOT).as_dict(),
    params:
        grounding=lambda wildcards: stsae_settings()["grounding"],
        fs=STSAE_WINDOW_FS,
    log:
        "results/logs/stsae/{dataset}/{encoder}/grounding.log",
    benchmark:
        "results/benchmarks/stsae/{dataset}/{encoder}/grounding.tsv"
    threads: rule_threads("stsae_grounding")
    resources:
        **rule_resources("stsae_grounding"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/grounding.py"


rule stsae_planted_checks:
    """The planted-truth checks (on a dataset with truth; otherwise the same values are
    written as findings without pass/fail): EV at L0 ≤ 32, Δage vs planted δ and vs age,
    a concept tracking a planted morphology parameter, ST-SAE vs plain SAE and vs PCA."""
    input:
        leaderboard="results/stsae/{dataset}/{encoder}/leaderboard.json",
        aging="results/stsae/{dataset}/{encoder}/aging/aging.json",
        grounding="results/stsae/{dataset}/{encoder}/grounding/grounding.json",
    output:
        report(
            "results/stsae/{dataset}/{encoder}/planted_checks.json",
            caption="../report/captions/stsae_planted_checks.rst",
            category="ST-SAE",
            subcategory="{dataset} / {encoder}",
            labels={"dataset": "{dataset}", "encoder": "{encoder}", "table": "planted checks"},
        ),
    params:
        planted=lambda wildcards: stsae_has_truth(wildcards.dataset),
        n_concepts=lambda wildcards: stsae_default_k(),
    log:
        "results/logs/stsae/{dataset}/{encoder}/planted_checks.log",
    benchmark:
        "results/benchmarks/stsae/{dataset}/{encoder}/planted_checks.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/stsae/planted_checks.py"


register_final_outputs("stsae", stsae_final_outputs)
