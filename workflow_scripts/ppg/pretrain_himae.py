"""Pretrain HiMAE on a window store; write model.pt (+ metadata) and the training history."""

from pathlib import Path

import torch

from clinssl.ppg.himae import pretrain_on_store
from clinssl.ppg.windows import open_windows, read_windows_table
from clinssl.train import remove_empty_dirs, save_model_file
from clinssl.train.fingerprint import job_fingerprint
from clinssl.utils import setup_logging, write_json

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
windows = open_windows(snakemake.input.npy)
table = read_windows_table(snakemake.input.table, windows.shape[0])
model, history = pretrain_on_store(
    windows,
    table,
    dict(snakemake.params.himae),
    device=snakemake.params.device,
    seed=snakemake.params.seed,
    checkpoint_path=snakemake.params.checkpoint,
    job=job_fingerprint(dict(snakemake.params.items()), dict(snakemake.input.items())),
)
remove_empty_dirs(Path(snakemake.params.checkpoint).parent)
meta = {"kind": "himae", "config": history["config"], "input_fs": history["input_fs"]}
save_model_file(snakemake.output.model, model, meta)
write_json(snakemake.output.history, history)
log.info(
    "HiMAE: %d train windows, best epoch %s", history["n_train_windows"], history["best_epoch"]
)
