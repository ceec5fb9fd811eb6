"""Helpers of the ICU branch's rules (rules/icu.smk, rules/icu_ssl.smk): file layout from
clinssl.icu.files, dataset config, per-job params, final outputs. No rules here."""

from clinssl.icu.files import IngestFiles, SplitFiles

ICU_ROOT = "results/icu/{dataset}"
ICU_DATA = IngestFiles.under(ICU_ROOT).as_dict()
ICU_SPLIT = SplitFiles.of_seed(ICU_ROOT, "{seed}").as_dict()
ICU_SYNTHETIC_RAW = ("results/raw/synthetic/ricu", "results/raw/synthetic/yaib")


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


def icu_downstream_params(wildcards):
    """What one downstream job depends on: the shared downstream budget with only its
    paradigm's override, and the encoders it builds itself (the supervised encoder, or for
    the random floor every configured paradigm's encoder; SSL paradigms read theirs from
    encoder.pt)."""
    paradigm = wildcards.paradigm
    downstream = {k: v for k, v in ICU_SSL["downstream"].items() if k != "overrides"}
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
    names = ["summary.csv", "summary.md", "paired_vs_supervised.csv", "planted_checks.json"]
    outputs = expand("results/icu/{dataset}/ssl/{name}", dataset=icu_datasets(), name=names)
    return outputs + ["results/figures/icu_paradigms.png"]
