"""Rules of the 'ppg' branch: window stores, HiMAE pretraining, PVC probe, embedding cache.

Per dataset of ``ppg.run_datasets`` (raw data in the real formats; the synthetic defaults are
written by the ``synthetic_ppg_*`` rules): build the window store with QC and splits, pretrain
HiMAE on the train split, cache frozen embeddings (z, z_aug, next_index) per encoder, probe
PVC on the HiMAE embedding, and check the planted truth on synthetic data.
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


rule ppg_pvc_probe:
    """PVC linear probe on the frozen HiMAE embedding (mean-pooled 256-d bottleneck):
    patient-grouped CV, AUROC / AUPRC / Brier / ECE with subject-bootstrap CIs, predictions CSV."""
    input:
        z="results/ppg/{dataset}/embeddings/himae/z.npy",
        table="results/ppg/{dataset}/windows.parquet",
    output:
        metrics=report(
            "results/ppg/{dataset}/pvc_probe/metrics.json",
            caption="../report/captions/ppg_pvc_probe.rst",
            category="PPG",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "PVC probe metrics"},
        ),
        predictions="results/ppg/{dataset}/pvc_probe/predictions.csv",
    params:
        probe=config["ppg"]["probe"],
        seed=config["seed"],
    log:
        "results/logs/ppg/{dataset}/pvc_probe.log",
    benchmark:
        "results/benchmarks/ppg/{dataset}/pvc_probe.tsv"
    threads: rule_threads("ppg_pvc_probe")
    resources:
        **rule_resources("ppg_pvc_probe"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/pvc_probe.py"


rule ppg_planted_truth:
    """Synthetic data only: QC rejection of planted bad windows, ridge age R² from z, and
    the probe's AUC, against the generator's truth table."""
    input:
        table="results/ppg/{dataset}/windows.parquet",
        z="results/ppg/{dataset}/embeddings/himae/z.npy",
        probe="results/ppg/{dataset}/pvc_probe/metrics.json",
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
    benchmark:
        "results/benchmarks/ppg/{dataset}/planted_truth.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ppg/planted_truth.py"


register_final_outputs("ppg", ppg_final_outputs)
