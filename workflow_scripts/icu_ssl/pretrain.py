"""Pretrain one ICU encoder with one SSL paradigm on one seed's training stays.

Writes the encoder model file (weights + the spec that rebuilds it) and the per-epoch
history, with the objective's check on its own pretext task over the validation stays
(``objective_check``: clinssl.icu.objective_checks). The resumable training checkpoint
lives at params.checkpoint (not an output).
"""

from pathlib import Path

import torch

from clinssl.icu.files import IngestFiles, SplitFiles
from clinssl.icu.inputs import load_splits
from clinssl.icu.objective_checks import evaluate_objective, train_feature_mean
from clinssl.icu.pretraining import encoder_spec, pretrain, pretrain_budget, subset_rows
from clinssl.train import remove_empty_dirs, save_model_file
from clinssl.train.fingerprint import job_fingerprint
from clinssl.utils import setup_logging, write_json
from clinssl.utils.device import select_device
from clinssl.utils.seeding import derive_seed

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
paradigm, seed = snakemake.wildcards.paradigm, int(snakemake.wildcards.seed)
ssl = snakemake.params.ssl

data, split_files = IngestFiles.pick(snakemake.input), SplitFiles.pick(snakemake.input)
splits = load_splits(data, split_files, ("train", "val"))
train, val = splits["train"], splits["val"]
budget, max_stays = pretrain_budget(ssl["pretrain"], paradigm, snakemake.params.device)
rows = subset_rows(len(train.values), max_stays, seed, "pretrain", paradigm)
spec = encoder_spec(paradigm, train.values.shape[2], ssl["encoders"])
log.info(
    "pretraining %s (%s) on %d of %d train stays, %s",
    paradigm,
    spec["name"],
    len(rows),
    len(train.values),
    budget,
)
encoder, result, objective = pretrain(
    paradigm,
    train.values[rows],
    train.mask[rows],
    spec,
    ssl["objective"],
    budget,
    seed,
    checkpoint_path=snakemake.params.checkpoint,
    job=job_fingerprint(dict(snakemake.params.items()), dict(snakemake.input.items())),
)
remove_empty_dirs(Path(snakemake.params.checkpoint).parent)
meta = {
    "paradigm": paradigm,
    "seed": seed,
    "spec": spec,
    "objective": ssl["objective"],
    "budget": vars(budget),
    "n_stays": int(len(rows)),
    "pretrain_samples_seen": int(len(rows) * budget.epochs),
}
save_model_file(snakemake.output.model, encoder, meta)
check = evaluate_objective(
    paradigm,
    objective.to(select_device(snakemake.params.device)),
    val.values,
    val.mask,
    train_feature_mean=train_feature_mean(train.values[rows], train.mask[rows]),
    batch_size=budget.batch_size,
    seed=derive_seed(seed, "objective_check", paradigm),
)
log.info(
    "objective check on %d val stays: %s %s %.4g vs %s %.4g",
    check["n_stays"],
    paradigm,
    check["measure"],
    check["model"],
    check["baseline_name"],
    check["baseline"],
)
write_json(
    snakemake.output.history,
    {
        **meta,
        "history": result.history,
        "resumed_from_epoch": result.resumed_from_epoch,
        "objective_check": {**check, "seed": seed},
    },
)
log.info("wrote %s", snakemake.output.model)
