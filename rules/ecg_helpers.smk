"""Helpers of the ECG branch's rules (rules/ecg.smk): file layout from clinssl.ecg.files,
dataset config, per-job params, final outputs. No rules here."""

from clinssl.ecg.files import EncoderFiles, EvalFiles, StoreFiles, SummaryFiles
from clinssl.ecg.names import METHODS, SSL_METHODS

ECG_ROOT = "results/ecg/{dataset}"
ECG_STORE = StoreFiles.under(ECG_ROOT).as_dict()
ECG_SYNTHETIC_ROOT = "results/raw/synthetic/ptbxl"


def ecg_datasets():
    """Datasets of ``ecg.run_datasets`` (each must be a key of ``ecg.datasets``)."""
    return run_datasets("ecg")


def ecg_dataset(name):
    """The config entry ``ecg.datasets.<name>``."""
    return dataset_config("ecg", name)


def ecg_synthetic_rates():
    """Record folders the synthetic PTB-XL writes: records100, plus records500 if asked."""
    return [100, 500] if config["ecg"]["synthetic"].get("write_500hz") else [100]


def ecg_raw_inputs(wildcards):
    """Inputs of ``ecg_load``: the two CSV files and the record folder of the dataset's rate."""
    ds = ecg_dataset(wildcards.dataset)
    root = ds["root"].rstrip("/")
    return {
        "database": f"{root}/ptbxl_database.csv",
        "statements": f"{root}/scp_statements.csv",
        "records": f"{root}/records{ds['rate']}",
    }


def ecg_encoder_spec():
    """``{"name", "in_channels", "kwargs"}`` of the configured encoder (config ``ecg.encoder``)."""
    enc = config["ecg"]["encoder"]
    return {"name": enc["name"], "in_channels": 12,
            "kwargs": dict(config["ecg"]["encoders"].get(enc["name"], {}))}  # fmt: skip


def ecg_pretrain_params(wildcards):
    """What a pretraining job sees: the shared budget, its method's settings, the encoder."""
    return {
        "pretrain": config["ecg"]["pretrain"],
        "method_settings": config["ecg"][wildcards.method],
        "augment": config["ecg"]["augment"],
        "spec": ecg_encoder_spec(),
    }


def ecg_eval_inputs(wildcards):
    """Store files, plus the pretrained encoder for the SSL methods."""
    inputs = dict(StoreFiles.under(f"results/ecg/{wildcards.dataset}").as_dict())
    if wildcards.method in SSL_METHODS:
        files = EncoderFiles.of(f"results/ecg/{wildcards.dataset}", wildcards.method, wildcards.seed)
        inputs["encoder"] = str(files.encoder)
    return inputs


def ecg_eval_outputs(dataset):
    """Every evaluation output of a dataset (input of the summary)."""
    out = []
    for method in METHODS:
        for seed in seeds():
            out += list(EvalFiles.of(f"results/ecg/{dataset}", method, seed).as_dict().values())
    return out


def ecg_final_outputs():
    """Stores, pretrained encoders, evaluations, summaries, the label-efficiency figure."""
    outputs = []
    for name in ecg_datasets():
        root = f"results/ecg/{name}"
        outputs += list(StoreFiles.under(root).as_dict().values())
        for method in SSL_METHODS:
            for seed in seeds():
                outputs += list(EncoderFiles.of(root, method, seed).as_dict().values())
        outputs += ecg_eval_outputs(name)
        outputs += list(SummaryFiles.under(root).as_dict().values())
    if ecg_datasets():
        outputs.append("results/figures/ecg_label_efficiency.png")
    return outputs
