"""Rules of the 'ppg' branch: window stores, HiMAE pretraining, PVC probe, embedding cache.

Per dataset of ``ppg.run_datasets`` (raw data in the real formats; the synthetic defaults are
written by the ``synthetic_ppg_*`` rules): build the window store with QC and splits, pretrain
HiMAE on the train split, cache frozen embeddings (z, z_aug, next_index) per encoder (the
random-init HiMAE floor included), compute classical beat features, probe each task (PVC,
age, hypertension, diabetes) on every feature set at every label fraction, and check the
planted truth on synthetic data.
"""


rule ppg_build_windows:
    """Read the raw dataset in chunks and write windows.npy (N, 1250) float32 at 125 Hz,
    windows.parquet (meta, labels, QC scores/flags, split) and the QC report."""
    input:
        ppg_raw_inputs,
    output:
        npy="results/ppg/{dataset}/windows.npy",
        table="results/ppg/{dataset}/windows.parquet",
        report="results/ppg/{dataset}/qc_report.json",
    params:
        spec=lambda wildcards: ppg_dataset(wildcards.dataset),
        qc=config["ppg"]["qc"],
        splits=config["ppg"]["splits"],
        chunk_size=config["ppg"]["chunk_size"],
        seed=config["seed"],
    log:
        "results/logs/ppg/{dataset}/build_windows.log",
    benchmark:
        "results/benchmarks/ppg/{dataset}/build_windows.tsv"
    threads: rule_threads("ppg_build_windows")
    resources:
        **rule_resources("ppg_build_windows"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/build_windows.py"


rule ppg_pretrain_himae:
    """Pretrain HiMAE (masked patches, MSE on masked samples) on QC-passed train windows with
    early stopping on val; the resumable checkpoint is not an output, model.pt is."""
    input:
        npy="results/ppg/{dataset}/windows.npy",
        table="results/ppg/{dataset}/windows.parquet",
    output:
        model="results/ppg/{dataset}/himae/model.pt",
        history="results/ppg/{dataset}/himae/history.json",
    params:
        himae=config["ppg"]["himae"],
        device=config["device"],
        seed=config["seed"],
        checkpoint="results/ppg/{dataset}/checkpoints/himae.ckpt",
    log:
        "results/logs/ppg/{dataset}/pretrain_himae.log",
    benchmark:
        "results/benchmarks/ppg/{dataset}/pretrain_himae.tsv"
    threads: rule_threads("ppg_pretrain_himae")
    resources:
        gpu=1,
        **rule_resources("ppg_pretrain_himae"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/pretrain_himae.py"


rule ppg_init_random_himae:
    """The random-init floor: HiMAE with the configured architecture at its seeded default
    initialisation, never trained, written like a pretrained model file."""
    output:
        model="results/ppg/{dataset}/himae_random/model.pt",
    params:
        himae=config["ppg"]["himae"],
        seed=config["seed"],
    log:
        "results/logs/ppg/{dataset}/init_random_himae.log",
    benchmark:
        "results/benchmarks/ppg/{dataset}/init_random_himae.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/init_random_himae.py"


rule ppg_embed:
    """Frozen-encoder embedding cache: z, z_aug (augmented windows re-encoded), next_index."""
    input:
        npy="results/ppg/{dataset}/windows.npy",
        table="results/ppg/{dataset}/windows.parquet",
        model=ppg_encoder_inputs,
    output:
        **EmbeddingCacheFiles.under("results/ppg/{dataset}/embeddings/{encoder}").as_dict(),
    wildcard_constraints:
        encoder=wildcard_regex(EMBED_ENCODERS),
    params:
        embed=config["ppg"]["embed"],
        papagei=config["ppg"]["papagei"],
        device=config["device"],
        seed=config["seed"],
    log:
        "results/logs/ppg/{dataset}/embed_{encoder}.log",
    benchmark:
        "results/benchmarks/ppg/{dataset}/embed_{encoder}.tsv"
    threads: rule_threads("ppg_embed")
    resources:
        gpu=1,
        **rule_resources("ppg_embed"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/embed.py"


rule ppg_classical_features:
    """Classical beat features (HR, HRV, amplitude, rise time, width, ectopy ratios) of every
    QC-passed window: the baseline every probe is compared with."""
    input:
        npy="results/ppg/{dataset}/windows.npy",
        table="results/ppg/{dataset}/windows.parquet",
    output:
        features="results/ppg/{dataset}/features/classical.npy",
        meta="results/ppg/{dataset}/features/classical.json",
    log:
        "results/logs/ppg/{dataset}/classical_features.log",
    benchmark:
        "results/benchmarks/ppg/{dataset}/classical_features.tsv"
    threads: rule_threads("ppg_classical_features")
    resources:
        **rule_resources("ppg_classical_features"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/classical_features.py"


rule ppg_probe:
    """Linear probe of one task on every feature set (pretrained caches, the random-init
    floor, classical features) at every label fraction, with patient-grouped CV,
    patient-bootstrap CIs and paired margins pretrained − floor."""
    input:
        unpack(ppg_probe_inputs),
    output:
        metrics=report(
            "results/ppg/{dataset}/probes/{task}/metrics.json",
            caption="../report/captions/ppg_probe.rst",
            category="PPG",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "{task} probe metrics"},
        ),
        predictions="results/ppg/{dataset}/probes/{task}/predictions.csv",
    wildcard_constraints:
        task=wildcard_regex(PROBE_TASKS),
    params:
        probe={k: v for k, v in config["ppg"]["probe"].items() if k != "tasks"},
        seed=config["seed"],
    log:
        "results/logs/ppg/{dataset}/probe_{task}.log",
    benchmark:
        "results/benchmarks/ppg/{dataset}/probe_{task}.tsv"
    threads: rule_threads("ppg_probe")
    resources:
        **rule_resources("ppg_probe"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/probe.py"


rule ppg_planted_truth:
    """Synthetic data only: QC rejection of planted bad windows, HiMAE over its random-init
    floor on PVC, every probe above chance; ridge age R² from z as a finding."""
    input:
        table="results/ppg/{dataset}/windows.parquet",
        z="results/ppg/{dataset}/embeddings/himae/z.npy",
        probes=ppg_probe_metrics,
        truth=lambda wildcards: ppg_dataset(wildcards.dataset)["truth"],
    output:
        report(
            "results/ppg/{dataset}/planted_truth.json",
            caption="../report/captions/ppg_planted_truth.rst",
            category="PPG",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "planted-truth checks"},
        ),
    log:
        "results/logs/ppg/{dataset}/planted_truth.log",
    params:
        cohort=config["ppg"]["synthetic"],
    benchmark:
        "results/benchmarks/ppg/{dataset}/planted_truth.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/planted_truth.py"


register_final_outputs("ppg", ppg_final_outputs)
