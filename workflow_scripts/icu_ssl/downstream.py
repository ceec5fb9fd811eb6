"""Every downstream protocol of one paradigm and seed: metrics (with bootstrap CIs) and
test predictions.

paradigm is an SSL paradigm (linear probe + fine-tune of its pretrained encoder),
``supervised`` (same architecture from scratch) or ``random`` (linear probe of randomly
initialised frozen encoders: the floor every SSL encoder must beat).
"""

import pandas as pd
import torch

from clinssl.icu.benchmark import run_protocols
from clinssl.icu.downstream import DownstreamConfig
from clinssl.icu.files import IngestFiles, SplitFiles
from clinssl.icu.inputs import load_splits, planned_tasks
from clinssl.icu.names import PARADIGM_ENCODER, RANDOM, SUPERVISED
from clinssl.icu.pretraining import fresh_encoder, rebuild_encoder
from clinssl.train import load_model_file, remove_empty_dirs
from clinssl.train.fingerprint import job_fingerprint
from clinssl.utils import atomic_path, setup_logging

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
paradigm, seed = snakemake.wildcards.paradigm, int(snakemake.wildcards.seed)
ssl = snakemake.params.ssl
ds = ssl["downstream"]
config = DownstreamConfig(
    **{
        k: ds[k]
        for k in (
            "epochs",
            "batch_size",
            "finetune_lr",
            "supervised_lr",
            "weight_decay",
            "patience",
            "label_smoothing",
            "head_hidden",
            "head_dropout",
            "probe_c_grid",
            "probe_alpha_grid",
            "selection_min_val_positives",
        )
    },
    device=snakemake.params.device,
)
splits = load_splits(IngestFiles.pick(snakemake.input), SplitFiles.pick(snakemake.input))
n_features = splits["train"].values.shape[2]
dataset = snakemake.wildcards.dataset
tasks = planned_tasks(dataset, ds["tasks"], ds["tasks_left_out"], splits, snakemake.input.labels)


def spec_of(name):
    return {"name": name, "n_features": n_features, "kwargs": ssl["encoders"][name]}


# params.ssl.encoders holds exactly the encoders this job builds itself (rules/icu_ssl.smk)
if paradigm in PARADIGM_ENCODER:
    state, meta = load_model_file(snakemake.input.encoder[0])
    protocols = ds["overrides"].get(paradigm, {}).get("protocols", ds["protocols"])
    runs = [(meta["spec"], list(protocols), lambda s=meta["spec"]: rebuild_encoder(s, state))]
elif paradigm == SUPERVISED:
    (name,) = ssl["encoders"]
    spec = spec_of(name)
    runs = [(spec, [SUPERVISED], lambda: fresh_encoder(spec, seed))]
elif paradigm == RANDOM:
    runs = [
        (spec_of(n), ["linear_probe"], lambda n=n: fresh_encoder(spec_of(n), seed))
        for n in sorted(ssl["encoders"])
    ]
else:
    raise ValueError(f"unknown downstream paradigm {paradigm!r}")

job = job_fingerprint(dict(snakemake.params.items()), dict(snakemake.input.items()))
metrics, predictions = [], []
for spec, protocols, factory in runs:
    m, p = run_protocols(
        paradigm,
        protocols,
        factory,
        spec["name"],
        splits,
        tasks,
        ds["label_fractions"],
        config,
        seed,
        n_resamples=ds["bootstrap_resamples"],
        checkpoint_dir=snakemake.params.checkpoint_dir,
        job=job,
    )
    metrics.append(m)
    predictions.append(p)
for frame, path in (
    (metrics, snakemake.output.metrics),
    (predictions, snakemake.output.predictions),
):
    with atomic_path(path) as tmp:
        pd.concat(frame, ignore_index=True).to_parquet(tmp, index=False)
remove_empty_dirs(snakemake.params.checkpoint_dir)
log.info("wrote %s and %s", snakemake.output.metrics, snakemake.output.predictions)
