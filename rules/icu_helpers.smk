"""Helpers of the ICU branch's rules (rules/icu.smk, rules/icu_ssl.smk): file layout from
clinssl.icu.files, dataset config, per-job params, final outputs. No rules here."""

import functools

from clinssl.icu.files import IngestFiles, SplitFiles
from clinssl.icu.names import TASK_KINDS
from clinssl.icu.tasks import plan_tasks, stratify_task

ICU_ROOT = "results/icu/{dataset}"
ICU_DATA = IngestFiles.under(ICU_ROOT).as_dict()
ICU_SPLIT = SplitFiles.of_seed(ICU_ROOT, "{seed}").as_dict()
ICU_SYNTHETIC_RAW = ("results/raw/synthetic/ricu", "results/raw/synthetic/yaib")

#: scheduling order when jobs wait for cores: the splits (tiny; each unlocks a seed's
#: jobs), then every pretraining job before any downstream job, and downstream jobs before
#: the one-job steps. A priority does not pass to a job's inputs: left at 0, one seed's
#: split waited behind the other seeds' downstream jobs, and the run ended on that seed's
#: lone pretrain -> downstream chain with one core idle (a minute of a 2-core default run).
#: Jobs of other rules have priority 0.
ICU_PRIORITY = {"icu_splits": 3, "icu_pretrain": 2, "icu_downstream": 1}


def icu_datasets():
    """The ICU datasets the rules expand over (config ``icu.run_datasets``)."""
    return run_datasets("icu")


def icu_dataset_config(name):
    """Config ``icu.datasets.<name>``."""
    return dataset_config("icu", name)


def icu_ricu_source(name):
    """The ricu data source of dataset ``name`` (config ``icu.datasets.<name>.source``)."""
    ds = icu_dataset_config(name)
    if ds["format"] != "ricu" or not ds.get("source"):
        raise ValueError(
            f"config 'icu.datasets.{name}': extracting with ricu needs format: ricu and "
            "source: one of miiv, eicu, mimic_demo, eicu_demo"
        )
    return ds["source"]


@functools.cache
def icu_task_plan(name):
    """The downstream tasks dataset ``name`` can have and why the others are left out
    (clinssl.icu.tasks.plan_tasks: a YAIB cohort has the label of its YAIB task only)."""
    plan = plan_tasks(name, icu_dataset_config(name), config["icu"]["ssl"]["downstream"]["tasks"])
    if plan.left_out:
        logger.info(f"ICU {plan.describe(name)}")
    return plan


def icu_stratify_task(wildcards):
    """The task the patient splits of a dataset are stratified on (None: unstratified)."""
    plan = icu_task_plan(wildcards.dataset)
    return stratify_task(config["icu"]["splits"]["stratify_by"], plan, TASK_KINDS)


def icu_dataset_root(name):
    """Directory holding the raw data of ICU dataset ``name`` (a ricu export or YAIB cohort).

    ``format: synthetic`` reads the embedded synthetic ricu export; ``format: ricu`` without
    ``root`` is extracted by ``icu_extract_ricu`` into results/raw/ricu/<name>.
    """
    ds = icu_dataset_config(name)
    if ds["format"] == "synthetic":
        return ICU_SYNTHETIC_RAW[0]
    if ds["format"] == "ricu" and not ds.get("root"):
        return f"results/raw/ricu/{name}"
    if not ds.get("root"):
        raise ValueError(f"config 'icu.datasets.{name}.root' is required for format {ds['format']!r}")
    return ds["root"]


def icu_raw_input(wildcards):
    """Input of ``icu_ingest``: the dataset's raw directory, or the synthetic rule output
    that contains it (so Snakemake knows which rule makes it)."""
    root = icu_dataset_root(wildcards.dataset)
    for produced in ICU_SYNTHETIC_RAW:
        if root == produced or root.startswith(f"{produced}/"):
            return produced
    return root


def icu_data_final_outputs():
    """Tensors, labels and per-seed splits of every dataset in ``icu.run_datasets``."""
    outputs = []
    for name in icu_datasets():
        root = ICU_ROOT.format(dataset=name)
        outputs += IngestFiles.under(root).as_dict().values()
        for seed in seeds():
            outputs += SplitFiles.of_seed(root, seed).as_dict().values()
    return outputs


from clinssl.icu.names import (
    CLASSICAL,
    DOWNSTREAM_PARADIGMS,
    PARADIGM_ENCODER,
    PARADIGMS,
    RANDOM,
    SUPERVISED,
)

# icu.ssl's defaults are filled by the Snakefile (clinssl.config_schema walks nested $refs)
ICU_SSL = config["icu"]["ssl"]
ICU_SSL_PARADIGMS = list(ICU_SSL["paradigms"])
ICU_DOWNSTREAM_PARADIGMS = ICU_SSL_PARADIGMS + [SUPERVISED, RANDOM]
ICU_SSL_DATA = {**ICU_DATA, **ICU_SPLIT}
ICU_SSL_DIR = "results/icu/{dataset}/ssl/{paradigm}/seed{seed}"
ICU_CLASSICAL_DIR = f"results/icu/{{dataset}}/ssl/{CLASSICAL}"


def icu_classical_reference():
    """The classical model the SSL results are paired against: gradient boosting when it
    is fitted (the stronger baseline), else the first configured classical protocol."""
    protocols = ICU_SSL["classical"]["protocols"]
    return "gradient_boosting" if "gradient_boosting" in protocols else protocols[0]


def icu_result_files(dataset, name):
    """``name`` (metrics or predictions) of every downstream job of ``dataset``: each
    paradigm and seed, and the classical baselines' one job when enabled."""
    files = expand(
        f"{ICU_SSL_DIR}/{name}.parquet",
        dataset=dataset,
        paradigm=ICU_DOWNSTREAM_PARADIGMS,
        seed=seeds(),
    )
    if ICU_SSL["classical"]["enabled"]:
        files.append(f"{ICU_CLASSICAL_DIR}/{name}.parquet".format(dataset=dataset))
    return files


def _encoder_settings(*names):
    """``{encoder: kwargs}`` of just these encoders (config ``icu.ssl.encoders``)."""
    return {name: dict(ICU_SSL["encoders"].get(name, {})) for name in sorted(set(names))}


def icu_pretrain_params(wildcards):
    """What one pretraining job depends on: the shared budget with only its paradigm's
    override, its paradigm's objective settings and its encoder's architecture."""
    paradigm = wildcards.paradigm
    pretrain = {k: v for k, v in ICU_SSL["pretrain"].items() if k != "overrides"}
    pretrain["overrides"] = {paradigm: ICU_SSL["pretrain"]["overrides"].get(paradigm, {})}
    return {
        "pretrain": pretrain,
        "objective": dict(ICU_SSL["objectives"].get(paradigm, {})),
        "encoders": _encoder_settings(PARADIGM_ENCODER[paradigm]),
    }


def icu_downstream_settings(dataset):
    """config ``icu.ssl.downstream`` without the per-paradigm overrides, with the tasks
    this dataset can have (and why any requested one is left out)."""
    downstream = {k: v for k, v in ICU_SSL["downstream"].items() if k != "overrides"}
    plan = icu_task_plan(dataset)
    downstream["tasks"] = list(plan.planned)
    downstream["tasks_left_out"] = dict(plan.left_out)
    return downstream


def icu_downstream_params(wildcards):
    """What one downstream job depends on: the shared downstream budget with only its
    paradigm's override, and the encoders it builds itself (the supervised encoder, or for
    the random floor every configured paradigm's encoder; SSL paradigms read theirs from
    encoder.pt)."""
    paradigm = wildcards.paradigm
    downstream = icu_downstream_settings(wildcards.dataset)
    downstream["overrides"] = {paradigm: ICU_SSL["downstream"]["overrides"].get(paradigm, {})}
    if paradigm == SUPERVISED:
        encoders = [ICU_SSL["supervised_encoder"]]
    elif paradigm == RANDOM:
        encoders = [PARADIGM_ENCODER[p] for p in ICU_SSL_PARADIGMS]
    else:
        encoders = []
    return {"downstream": downstream, "encoders": _encoder_settings(*encoders)}


def icu_ssl_final_outputs():
    """Summaries of every run dataset and the paradigm figure (when icu.ssl is enabled)."""
    if not ICU_SSL["enabled"]:
        return []
    names = [
        "summary.csv",
        "summary.md",
        "paired_vs_supervised.csv",
        "paired_vs_classical.csv",
        "planted_checks.json",
    ]
    outputs = expand("results/icu/{dataset}/ssl/{name}", dataset=icu_datasets(), name=names)
    return outputs + expand("results/figures/icu_paradigms_{dataset}.png", dataset=icu_datasets())
