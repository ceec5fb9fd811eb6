"""Rules of the ECG branch: PTB-XL (or its synthetic stand-in in the same layout) → signal
store with benchmark superclass labels and folds → SimCLR / BYOL pretraining per seed →
linear probe, fine-tuning, supervised-from-scratch and random-init probe at every label
fraction → summary, paired margins, planted-truth checks → label-efficiency figure."""


rule ecg_load:
    """Read ptbxl_database.csv + scp_statements.csv + records100 (or records500) into
    signals.npy (N, 12, L) float32 mV and meta.parquet (superclass labels as the PTB-XL
    benchmark, folds 1-8 train / 9 val / 10 test), with a load report."""
    input:
        unpack(ecg_raw_inputs),
    output:
        **ECG_STORE,
    params:
        dataset=lambda wildcards: ecg_dataset(wildcards.dataset),
    log:
        "results/logs/ecg/{dataset}/load.log",
    benchmark:
        "results/benchmarks/ecg/{dataset}/load.tsv"
    threads: rule_threads("ecg_load")
    resources:
        **rule_resources("ecg_load"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ecg/load.py"


rule ecg_pretrain:
    """SimCLR or BYOL pretraining of the configured encoder on the train folds' records
    (label-free, random 2.5-s crops, two batched augmentations); resumable after a kill."""
    input:
        **ECG_STORE,
    output:
        **EncoderFiles.of(ECG_ROOT, "{method}", "{seed}").as_dict(),
    wildcard_constraints:
        method=wildcard_regex(SSL_METHODS),
        seed=r"\d+",
    params:
        ssl=ecg_pretrain_params,
        fs=lambda wildcards: ecg_dataset(wildcards.dataset)["rate"],
        device=config["device"],
        checkpoint="results/ecg/{dataset}/checkpoints/pretrain_{method}_seed{seed}.ckpt",
    log:
        "results/logs/ecg/{dataset}/pretrain_{method}_seed{seed}.log",
    benchmark:
        "results/benchmarks/ecg/{dataset}/pretrain_{method}_seed{seed}.tsv"
    threads: rule_threads("ecg_pretrain")
    resources:
        gpu=1,
        **rule_resources("ecg_pretrain"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ecg/pretrain.py"


rule ecg_evaluate:
    """One method at one seed: linear probe and fine-tuning of a pretrained encoder, or the
    supervised baseline from scratch, or the random-init encoder's probe, at every label
    fraction; model selection on fold 9, test metrics on fold 10 with patient-bootstrap CIs."""
    input:
        unpack(ecg_eval_inputs),
    output:
        **EvalFiles.of(ECG_ROOT, "{method}", "{seed}").as_dict(),
    wildcard_constraints:
        method=wildcard_regex(METHODS),
        seed=r"\d+",
    params:
        evaluate=config["ecg"]["evaluate"],
        spec=lambda wildcards: ecg_encoder_spec(),
        fs=lambda wildcards: ecg_dataset(wildcards.dataset)["rate"],
        device=config["device"],
        checkpoint_dir="results/ecg/{dataset}/checkpoints/eval_{method}_seed{seed}",
    log:
        "results/logs/ecg/{dataset}/evaluate_{method}_seed{seed}.log",
    benchmark:
        "results/benchmarks/ecg/{dataset}/evaluate_{method}_seed{seed}.tsv"
    threads: rule_threads("ecg_evaluate")
    resources:
        gpu=1,
        **rule_resources("ecg_evaluate"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ecg/evaluate.py"


rule ecg_summary:
    """Mean ± SD over seeds per method, protocol and label fraction; paired patient-bootstrap
    margins (SSL fine-tune vs supervised, SSL probe vs random-init probe); planted checks."""
    input:
        evaluations=lambda wildcards: ecg_eval_outputs(wildcards.dataset),
    output:
        summary=report(
            "results/ecg/{dataset}/summary.csv",
            caption="../report/captions/ecg_summary.rst",
            category="ECG",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "summary over seeds"},
        ),
        markdown="results/ecg/{dataset}/summary.md",
        paired=report(
            "results/ecg/{dataset}/paired.csv",
            caption="../report/captions/ecg_paired.rst",
            category="ECG",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "paired margins"},
        ),
        checks=report(
            "results/ecg/{dataset}/planted_checks.json",
            caption="../report/captions/ecg_planted_checks.rst",
            category="ECG",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "planted-truth checks"},
        ),
    params:
        evaluate=config["ecg"]["evaluate"],
        planted=lambda wildcards: bool(ecg_dataset(wildcards.dataset).get("truth")),
        seed=config["seed"],
    log:
        "results/logs/ecg/{dataset}/summary.log",
    benchmark:
        "results/benchmarks/ecg/{dataset}/summary.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/ecg/summary.py"


register_final_outputs("ecg", ecg_final_outputs)
