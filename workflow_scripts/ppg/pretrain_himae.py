"""Pretrain HiMAE on a window store; write model.pt (+ metadata) and the training history."""

import torch

from clinssl.ppg.himae import pretrain_on_store
from clinssl.ppg.windows import open_windows, read_windows_table
from clinssl.train import save_model_file
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
)
meta = {"kind": "himae", "config": history["config"], "input_fs": history["input_fs"]}
save_model_file(snakemake.output.model, model, meta)
write_json(snakemake.output.history, history)
log.info(
    "HiMAE: %d train windows, best epoch %s", history["n_train_windows"], history["best_epoch"]
)
