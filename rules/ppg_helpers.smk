"""Helpers of the PPG branch's rules (rules/ppg.smk): dataset config, raw inputs, encoder
inputs, final outputs. No rules here."""

from clinssl.cache import EmbeddingCacheFiles
from clinssl.ppg.names import EMBED_ENCODERS


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
            outputs += EmbeddingCacheFiles.under(f"{base}/embeddings/{enc}").as_dict().values()
        if ppg_has_label(name, "pvc"):
            outputs += [f"{base}/pvc_probe/metrics.json", f"{base}/pvc_probe/predictions.csv"]
        if ppg_dataset(name).get("truth") and ppg_has_label(name, "pvc"):
            outputs.append(f"{base}/planted_truth.json")
    if ppg_figure_dataset() is not None:
        outputs.append("results/figures/ppg_pvc_roc.png")
    return outputs
