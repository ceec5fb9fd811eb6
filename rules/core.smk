"""Workflow-wide rules that belong to no branch."""


rule write_run_manifest:
    """Record what produced this results tree: validated config, package versions, git
    commit, torch device availability. Cheap, and reruns whenever the config changes."""
    output:
        "results/manifest.json",
    params:
        config=lambda wildcards: config,
    log:
        "results/logs/write_run_manifest.log",
    benchmark:
        "results/benchmarks/write_run_manifest.tsv"
    localrule: True
    conda:
        "../envs/pipeline.yaml"
    script:
        "../workflow_scripts/core/write_run_manifest.py"
