"""Rules of the event-sequence mortality branch: MIMIC-IV tables → DuckDB SQL extraction
(events, stays, report) → patient-level split, text embeddings through the persistent cache,
padded tensors → Transformer with attention pooling (resumable) → mortality metrics with
patient-cluster bootstrap CIs → Captum attributions and attention summaries → planted-truth
checks (figures in figures.smk)."""


rule events_extract:
    """The five event sources (prescriptions, procedureevents, labevents, microbiologyevents,
    ingredientevents) unioned into (stay_id, event_time, event_type, event_text,
    minutes_to_end) by SQL run in DuckDB directly over the csv.gz / parquet tables; static
    features and the in-hospital death label per stay; the most recent N events per stay;
    every dropped row and stay counted by reason in extract_report.json."""
    input:
        unpack(events_table_inputs),
    output:
        **events_files.ExtractFiles.under(events_files.EVENTS_ROOT).as_dict(),
    params:
        root=lambda wildcards: events_dataset_root(wildcards.dataset),
        extract=lambda wildcards: events_settings()["extract"],
    log:
        "results/logs/events/{dataset}/extract.log",
    benchmark:
        "results/benchmarks/events/{dataset}/extract.tsv"
    threads: rule_threads("events_extract")
    resources:
        **rule_resources("events_extract"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/events/extract.py"


rule events_tensors:
    """Patient-level train/val/test split; the text encoder fitted on the train stays' texts
    (tf-idf + SVD, or a local Hugging Face model) and every text embedded through the
    persistent cache (only unseen texts are encoded); train-fitted static encoder and time
    scaler; right-padded event tensors of every stay."""
    input:
        **events_files.ExtractFiles.under(events_files.EVENTS_ROOT).as_dict(),
    output:
        **{k: (directory(v) if k == "text_encoder" else v)
           for k, v in events_files.TensorFiles.under(events_files.EVENTS_ROOT).as_dict().items()},
    params:
        text_encoder=lambda wildcards: events_settings()["text_encoder"],
        cache_dir=lambda wildcards: events_settings()["text_encoder"]["cache_dir"],
        split=lambda wildcards: events_settings()["split"],
        max_events=lambda wildcards: events_settings()["model"]["max_events"],
        seed=lambda wildcards: events_seed(),
    log:
        "results/logs/events/{dataset}/tensors.log",
    benchmark:
        "results/benchmarks/events/{dataset}/tensors.tsv"
    threads: rule_threads("events_tensors")
    resources:
        **rule_resources("events_tensors"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/events/tensors.py"


rule events_train:
    """Train the event-sequence Transformer (one-hot type ‖ text embedding ‖ scaled time →
    projection → sinusoidal positions → encoder with key-padding masks → learned-query
    attention pooling ‖ static → MLP → logit) with the temporal-aware loss on the train stays;
    the epoch with the best validation AUROC is kept; attention weights recorded every N
    batches; resumable from its checkpoint."""
    input:
        tensors=events_files.TensorFiles.under(events_files.EVENTS_ROOT).tensors,
    output:
        **events_files.ModelFiles.under(events_files.EVENTS_ROOT).as_dict(),
    params:
        model=lambda wildcards: {k: v for k, v in events_settings()["model"].items() if k != "max_events"},
        train=lambda wildcards: events_settings()["train"],
        seed=lambda wildcards: events_seed(),
        device=config["device"],
        checkpoint="results/events/{dataset}/checkpoints/model.ckpt",
    log:
        "results/logs/events/{dataset}/train.log",
    benchmark:
        "results/benchmarks/events/{dataset}/train.tsv"
    threads: rule_threads("events_train")
    resources:
        gpu=1,
        **rule_resources("events_train"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/events/train.py"


rule events_evaluate:
    """Mortality AUROC, AUPRC, Brier score and ECE on the validation and test stays with
    patient-cluster bootstrap CIs; per-stay predictions; the test calibration curve."""
    input:
        tensors=events_files.TensorFiles.under(events_files.EVENTS_ROOT).tensors,
        model=events_files.ModelFiles.under(events_files.EVENTS_ROOT).model,
    output:
        **events_files.EvaluationFiles.under(events_files.EVENTS_ROOT).as_dict(),
    params:
        n_bootstrap=lambda wildcards: events_settings()["evaluate"]["n_bootstrap"],
        calibration_bins=lambda wildcards: events_settings()["evaluate"]["calibration_bins"],
        seed=lambda wildcards: events_seed(),
    log:
        "results/logs/events/{dataset}/evaluate.log",
    benchmark:
        "results/benchmarks/events/{dataset}/evaluate.tsv"
    threads: rule_threads("events_evaluate")
    resources:
        **rule_resources("events_evaluate"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/events/evaluate.py"


rule events_explain:
    """On test stays (deaths over-represented): Integrated Gradients on (sequence, static)
    with the padding mask passed through (steps doubled until completeness holds), layer IG
    on the input projection, feature ablation over event types and static groups; per event,
    type and time bin; the top events of each stay with their text; pooling attention per
    head; attribution checks."""
    input:
        **events_files.ExtractFiles.under(events_files.EVENTS_ROOT).as_dict(),
        tensors=events_files.TensorFiles.under(events_files.EVENTS_ROOT).tensors,
        preprocessing=events_files.TensorFiles.under(events_files.EVENTS_ROOT).preprocessing,
        model=events_files.ModelFiles.under(events_files.EVENTS_ROOT).model,
    output:
        **events_files.ExplainFiles.under(events_files.EVENTS_ROOT).as_dict(),
    params:
        explain=lambda wildcards: events_settings()["explain"],
        seed=lambda wildcards: events_seed(),
    log:
        "results/logs/events/{dataset}/explain.log",
    benchmark:
        "results/benchmarks/events/{dataset}/explain.tsv"
    threads: rule_threads("events_explain")
    resources:
        **rule_resources("events_explain"),
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/events/explain.py"


rule events_planted_checks:
    """The planted-truth checks on the synthetic MIMIC-IV (on real data the same values as
    findings): test AUROC ≥ 0.80, planted risk events and types top-attributed, extraction
    recovers the planted events, IG completeness, zero padding attributions, ablation vs IG."""
    input:
        unpack(events_truth_input),
        events=events_files.ExtractFiles.under(events_files.EVENTS_ROOT).events,
        stays=events_files.ExtractFiles.under(events_files.EVENTS_ROOT).stays,
        metrics=events_files.EvaluationFiles.under(events_files.EVENTS_ROOT).metrics,
        predictions=events_files.EvaluationFiles.under(events_files.EVENTS_ROOT).predictions,
        explained=events_files.ExplainFiles.under(events_files.EVENTS_ROOT).events,
        types=events_files.ExplainFiles.under(events_files.EVENTS_ROOT).types,
        explain_summary=events_files.ExplainFiles.under(events_files.EVENTS_ROOT).summary,
    output:
        report(
            "results/events/{dataset}/planted_checks.json",
            caption="../report/captions/events_planted_checks.rst",
            category="Events",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "planted checks"},
        ),
    log:
        "results/logs/events/{dataset}/planted_checks.log",
    benchmark:
        "results/benchmarks/events/{dataset}/planted_checks.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/events/planted_checks.py"


register_final_outputs("events", events_final_outputs)
