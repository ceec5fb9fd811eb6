"""SimCLR / BYOL pretraining of one seed; writes the encoder file and the history."""

from pathlib import Path

import torch

from clinssl.ecg.augment import ECGAugmentConfig
from clinssl.ecg.dataset import ECGStore
from clinssl.ecg.files import EncoderFiles, StoreFiles
from clinssl.ecg.pretraining import PretrainConfig, pretrain, save_encoder
from clinssl.train import remove_empty_dirs
from clinssl.train.fingerprint import job_fingerprint
from clinssl.utils import setup_logging, write_json

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
store_files, out = StoreFiles.pick(snakemake.input), EncoderFiles.pick(snakemake.output)
store = ECGStore.open(store_files.signals, store_files.meta, snakemake.params.fs)
ssl = snakemake.params.ssl
method, seed = snakemake.wildcards.method, int(snakemake.wildcards.seed)
encoder, history = pretrain(
    store, method, ssl["spec"], dict(ssl["method_settings"]),
    ECGAugmentConfig(**ssl["augment"]),
    PretrainConfig(**ssl["pretrain"], device=snakemake.params.device), seed,
    checkpoint_path=snakemake.params.checkpoint,
    job=job_fingerprint(dict(snakemake.params.items()), dict(snakemake.input.items())),
)  # fmt: skip
remove_empty_dirs(Path(snakemake.params.checkpoint).parent)
save_encoder(out.encoder, encoder, ssl["spec"], method)
write_json(out.history, history)
last = history["epochs"][-1] if history["epochs"] else {}
log.info("%s seed %d: %d records, last loss %s", method, seed, history["n_train_records"],
         last.get("train_loss"))  # fmt: skip
