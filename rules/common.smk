"""Config helpers and input functions shared by every rules file (no rules here).

Rules files register their branch's final outputs with ``register_final_outputs`` so that the
default target collects exactly the enabled branches (a branch that is off contributes no jobs).
"""


BRANCHES = ("icu", "ecg", "ppg", "stsae", "events")
_FINAL_OUTPUTS = {}


def branch_enabled(branch):
    """Whether config switches ``branch`` on (``branches.<branch>``)."""
    if branch not in BRANCHES:
        raise ValueError(f"unknown branch {branch!r}; known: {', '.join(BRANCHES)}")
    return bool(config["branches"][branch])


def register_final_outputs(branch, outputs):
    """Record the final targets of ``branch`` (a list of paths, or a function returning one)."""
    _FINAL_OUTPUTS[branch] = outputs


def final_outputs():
    """Every enabled branch's final targets plus the run manifest (the default target)."""
    targets = ["results/manifest.json"]
    for branch in BRANCHES:
        if not branch_enabled(branch):
            continue
        if branch not in _FINAL_OUTPUTS:
            raise ValueError(
                f"config 'branches.{branch}' is true but this version of clinssl has no "
                f"rules for the {branch!r} branch yet; set branches.{branch}: false"
            )
        outputs = _FINAL_OUTPUTS[branch]
        targets.extend(outputs() if callable(outputs) else outputs)
    return targets


def seeds():
    """The list of experiment seeds from config (``seeds``)."""
    return list(config["seeds"])


# --- icu branch -------------------------------------------------------------------------

# Final outputs of the ICU SSL rules (rules/icu_ssl.smk appends to this list).
ICU_MODEL_FINAL = []


def icu_datasets():
    """The ICU datasets the rules expand over (config ``icu.run_datasets``)."""
    names = list(config["icu"]["run_datasets"])
    unknown = [n for n in names if n not in config["icu"]["datasets"]]
    if unknown:
        raise ValueError(
            f"config 'icu.run_datasets' names {unknown}, which are not keys of 'icu.datasets' "
            f"({sorted(config['icu']['datasets'])})"
        )
    return names


def icu_dataset_config(name):
    """Config ``icu.datasets.<name>``, with a clear error for an unknown name."""
    datasets = config["icu"]["datasets"]
    if name not in datasets:
        raise ValueError(f"ICU dataset {name!r} is not configured under 'icu.datasets'")
    return datasets[name]


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
        return "results/raw/synthetic/ricu"
    if ds["format"] == "ricu" and not ds.get("root"):
        return f"results/raw/ricu/{name}"
    if not ds.get("root"):
        raise ValueError(f"config 'icu.datasets.{name}.root' is required for format {ds['format']!r}")
    return ds["root"]


def icu_raw_input(wildcards):
    """Input of ``icu_ingest``: the dataset's raw directory, or the synthetic rule output
    that contains it (so Snakemake knows which rule makes it)."""
    root = icu_dataset_root(wildcards.dataset)
    for produced in ("results/raw/synthetic/ricu", "results/raw/synthetic/yaib"):
        if root == produced or root.startswith(f"{produced}/"):
            return produced
    return root


def icu_data_final_outputs():
    """Tensors, labels and per-seed splits of every dataset in ``icu.run_datasets``."""
    outputs = []
    for name in icu_datasets():
        base = f"results/icu/{name}"
        outputs += [f"{base}/{f}" for f in ICU_INGEST_FILES]
        for seed in seeds():
            outputs += [f"{base}/splits/seed{seed}/splits.parquet",
                        f"{base}/splits/seed{seed}/normalization.json"]
    return outputs


ICU_INGEST_FILES = ("values.npy", "mask.npy", "static.parquet", "labels.parquet", "metadata.json")


# ---- ppg branch helpers -------------------------------------------------------------------

PPG_SYNTHETIC_RAW = {
    "pulsedb": "results/raw/synthetic/pulsedb",
    "mimic3_matched": "results/raw/synthetic/mimic3_matched",
}


def ppg_datasets():
    """Datasets of ``ppg.run_datasets`` (each must be a key of ``ppg.datasets``)."""
    names = list(config["ppg"]["run_datasets"])
    unknown = [n for n in names if n not in config["ppg"]["datasets"]]
    if unknown:
        raise ValueError(f"config 'ppg.run_datasets' names {unknown}, not keys of ppg.datasets")
    return names


def ppg_dataset(name):
    """The config entry ``ppg.datasets.<name>``."""
    if name not in config["ppg"]["datasets"]:
        raise ValueError(f"config 'ppg.datasets' has no dataset {name!r}")
    return config["ppg"]["datasets"][name]


def ppg_raw_inputs(wildcards):
    """Raw inputs of ``ppg_build_windows``: the directory/listing the loader reads (for the
    synthetic roots, exactly the synthetic rule's outputs) plus the labels table if set."""
    ds = ppg_dataset(wildcards.dataset)
    root = ds["root"].rstrip("/")
    if ds["format"] == "pulsedb":
        inputs = [f"{root}/Subset_Files" if ds.get("subset_files") else f"{root}/Segment_Files"]
    else:
        inputs = [f"{root}/RECORDS"]
    if ds.get("labels"):
        inputs.append(ds["labels"])
    return inputs


def ppg_has_label(name, label):
    """Whether dataset ``name`` carries ``label`` (e.g. pvc) in windows.parquet."""
    ds = ppg_dataset(name)
    return bool(ds.get("labels")) and label in ds.get("label_columns", [])


def ppg_encoder_inputs(wildcards):
    """Model input of ``ppg_embed``: HiMAE's model file, or (papagei) the configured clone
    and weights, with a clear error when they are not set."""
    if wildcards.encoder == "himae":
        return [f"results/ppg/{wildcards.dataset}/himae/model.pt"]
    pg = config["ppg"]["papagei"]
    for key in ("repo", "weights"):
        if not pg.get(key):
            raise ValueError(
                f"encoder 'papagei' is requested (ppg.embed.encoders) but config key "
                f"'ppg.papagei.{key}' is not set; see README 'Using real data'"
            )
    return [pg["repo"], pg["weights"]]


def ppg_figure_dataset():
    """The dataset whose PVC probe the figure shows: the first run dataset with pvc labels."""
    for name in ppg_datasets():
        if ppg_has_label(name, "pvc"):
            return name
    return None


def ppg_final_outputs():
    """Window stores, HiMAE, embedding caches, PVC probes, planted-truth checks, figure."""
    outputs = []
    for name in ppg_datasets():
        base = f"results/ppg/{name}"
        outputs += [f"{base}/windows.npy", f"{base}/windows.parquet", f"{base}/qc_report.json"]
        outputs.append(f"{base}/himae/model.pt")
        for enc in config["ppg"]["embed"]["encoders"]:
            outputs += [f"{base}/embeddings/{enc}/{f}" for f in PPG_EMBED_FILES]
        if ppg_has_label(name, "pvc"):
            outputs += [f"{base}/pvc_probe/metrics.json", f"{base}/pvc_probe/predictions.csv"]
        if ppg_dataset(name).get("truth") and ppg_has_label(name, "pvc"):
            outputs.append(f"{base}/planted_truth.json")
    if ppg_figure_dataset() is not None:
        outputs.append("results/figures/ppg_pvc_roc.png")
    return outputs


PPG_EMBED_FILES = ("z.npy", "z_aug.npy", "next_index.npy", "embeddings.json")
