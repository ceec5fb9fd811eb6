"""Helpers of the PPG branch's rules (rules/ppg.smk): dataset config, raw inputs, encoder
inputs, final outputs. No rules here."""

from clinssl.cache import EmbeddingCacheFiles
from clinssl.ppg.names import EMBED_ENCODERS, PRETRAINED_ENCODERS, PROBE_TASKS


def ppg_datasets():
    """Datasets of ``ppg.run_datasets`` (each must be a key of ``ppg.datasets``)."""
    return run_datasets("ppg")


def ppg_dataset(name):
    """The config entry ``ppg.datasets.<name>``."""
    return dataset_config("ppg", name)


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
    """Model input of ``ppg_embed``: HiMAE's (or the random-init floor's) model file, or
    (papagei) the configured clone and weights, with a clear error when they are not set."""
    if wildcards.encoder in ("himae", "himae_random"):
        return [f"results/ppg/{wildcards.dataset}/{wildcards.encoder}/model.pt"]
    pg = config["ppg"]["papagei"]
    for key in ("repo", "weights"):
        if not pg.get(key):
            raise ValueError(
                f"encoder 'papagei' is requested (ppg.embed.encoders) but config key "
                f"'ppg.papagei.{key}' is not set; see README 'Using real data'"
            )
    return [pg["repo"], pg["weights"]]


def ppg_probe_tasks(name):
    """Tasks of ``ppg.probe.tasks`` that dataset ``name`` can be probed on: a label column
    it carries (pvc, htn, diabetes), or age where the source or the labels table has it."""
    ds = ppg_dataset(name)
    tasks = []
    for task in config["ppg"]["probe"]["tasks"]:
        if task == "age":
            if ds["format"] == "pulsedb" or ds.get("labels"):
                tasks.append(task)
        elif ppg_has_label(name, task):
            tasks.append(task)
    return tasks


def ppg_probe_inputs(wildcards):
    """Inputs of ``ppg_probe``: the window table plus one feature matrix per feature set —
    the pretrained caches of ``ppg.embed.encoders``, the random-init floor's cache and the
    classical features (named like the feature sets in metrics.json)."""
    base = f"results/ppg/{wildcards.dataset}"
    inputs = {"table": f"{base}/windows.parquet"}
    for enc in PRETRAINED_ENCODERS:
        if enc in config["ppg"]["embed"]["encoders"] or enc == "himae":
            inputs[enc] = f"{base}/embeddings/{enc}/z.npy"
    inputs["himae_random"] = f"{base}/embeddings/himae_random/z.npy"
    inputs["classical"] = f"{base}/features/classical.npy"
    return inputs


def ppg_probe_metrics(wildcards):
    """The metrics of every probed task of a dataset (input of the planted-truth check)."""
    base = f"results/ppg/{wildcards.dataset}/probes"
    return [f"{base}/{task}/metrics.json" for task in ppg_probe_tasks(wildcards.dataset)]


def ppg_figure_dataset():
    """The dataset whose PVC probe the figure shows: the first run dataset with pvc labels."""
    for name in ppg_datasets():
        if ppg_has_label(name, "pvc"):
            return name
    return None


def ppg_final_outputs():
    """Window stores, HiMAE, embedding caches, features, probes, planted truth, figure."""
    outputs = []
    for name in ppg_datasets():
        base = f"results/ppg/{name}"
        outputs += [f"{base}/windows.npy", f"{base}/windows.parquet", f"{base}/qc_report.json"]
        outputs.append(f"{base}/himae/model.pt")
        for enc in config["ppg"]["embed"]["encoders"]:
            outputs += EmbeddingCacheFiles.under(f"{base}/embeddings/{enc}").as_dict().values()
        outputs.append(f"{base}/features/classical.npy")
        for task in ppg_probe_tasks(name):
            outputs += [f"{base}/probes/{task}/metrics.json",
                        f"{base}/probes/{task}/predictions.csv"]  # fmt: skip
        if ppg_dataset(name).get("truth") and ppg_has_label(name, "pvc"):
            outputs.append(f"{base}/planted_truth.json")
    if ppg_figure_dataset() is not None:
        outputs.append("results/figures/ppg_pvc_roc.png")
    return outputs
