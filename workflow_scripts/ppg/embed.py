"""Embedding cache of one dataset with one frozen encoder (himae, its random-init floor, papagei)."""

import torch

from clinssl.cache import EmbeddingCacheFiles
from clinssl.ppg.augment import AugmentConfig
from clinssl.ppg.embeddings import write_embedding_cache
from clinssl.ppg.windows import open_windows, read_windows_table
from clinssl.utils import autocast_dtype, seed_everything, select_device, setup_logging, write_json

log = setup_logging(snakemake.log[0])
out = EmbeddingCacheFiles.pick(snakemake.output)
torch.set_num_threads(snakemake.threads)
seed_everything(snakemake.params.seed)
settings = snakemake.params.embed
device = select_device(snakemake.params.device)
amp = autocast_dtype(device, settings["amp"])
encoder_name = snakemake.wildcards.encoder
if encoder_name in ("himae", "himae_random"):
    from clinssl.ppg.himae import load_himae

    encoder = load_himae(snakemake.input.model[0], device, amp)
else:
    from clinssl.ppg.papagei import PaPaGeiEncoder, load_papagei

    pg = snakemake.params.papagei
    model = load_papagei(
        pg["repo"], pg["weights"], pg["module"], pg["class_name"], pg["model_kwargs"]
    )
    encoder = PaPaGeiEncoder(model, device, pg["output_index"], amp)
windows = open_windows(snakemake.input.npy)
table = read_windows_table(snakemake.input.table, windows.shape[0])
meta = write_embedding_cache(
    encoder,
    windows,
    table,
    out,
    batch_size=settings["batch_size"],
    augment=AugmentConfig(**settings["augment"]),
    seed=snakemake.params.seed,
)
meta.update(
    encoder=encoder_name,
    dataset=snakemake.wildcards.dataset,
    device=str(device),
    amp=str(amp) if amp is not None else None,
    windows=snakemake.input.npy,
    table=snakemake.input.table,
)
write_json(out.meta, meta)
log.info("%s: %d windows -> %d-d, %.0f windows/s", encoder_name, meta["n_windows"], meta["dim"],
         meta["encode_windows_per_s"] or 0)  # fmt: skip
