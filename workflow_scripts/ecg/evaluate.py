"""Evaluate one method at one seed at every label fraction (fold 9 selects, fold 10 tests)."""

from pathlib import Path

import torch

from clinssl.ecg.dataset import ECGStore
from clinssl.ecg.evaluation import EvalConfig, evaluate_method
from clinssl.ecg.files import EvalFiles, StoreFiles
from clinssl.ecg.names import SSL_METHODS
from clinssl.ecg.pretraining import load_encoder, seeded_encoder
from clinssl.train import remove_empty_dirs
from clinssl.train.fingerprint import job_fingerprint
from clinssl.utils import atomic_path, setup_logging

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
store_files, out = StoreFiles.pick(snakemake.input), EvalFiles.pick(snakemake.output)
store = ECGStore.open(store_files.signals, store_files.meta, snakemake.params.fs)
method, seed = snakemake.wildcards.method, int(snakemake.wildcards.seed)
if method in SSL_METHODS:
    encoder, spec, _ = load_encoder(snakemake.input.encoder)
else:  # supervised starts from, and the random floor is, the same seeded initialisation
    encoder = seeded_encoder(snakemake.params.spec, seed, "init")
cfg = EvalConfig(**snakemake.params.evaluate, device=snakemake.params.device)
metrics, predictions = evaluate_method(
    store, method, encoder, cfg, seed, checkpoint_dir=snakemake.params.checkpoint_dir,
    job=job_fingerprint(dict(snakemake.params.items()), dict(snakemake.input.items())),
)  # fmt: skip
remove_empty_dirs(Path(snakemake.params.checkpoint_dir))
for frame, path in ((metrics, out.metrics), (predictions, out.predictions)):
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
log.info("%s seed %d: %d metric rows", method, seed, len(metrics))
