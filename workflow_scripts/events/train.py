"""Train the event-sequence mortality model (resumable; best validation AUROC kept)."""

import copy
from pathlib import Path

import torch

from clinssl.events.dataset import EventTensors
from clinssl.events.files import ModelFiles
from clinssl.events.training import (
    EventTrainConfig,
    event_model_config,
    save_event_model,
    train_event_model,
)
from clinssl.train import remove_empty_dirs
from clinssl.train.fingerprint import job_fingerprint
from clinssl.utils import setup_logging, write_json

log = setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
p = snakemake.params
out = ModelFiles.pick(snakemake.output)
tensors = EventTensors.load(snakemake.input.tensors)
model_config = event_model_config(tensors, **p.model)
train_config = EventTrainConfig(**p.train, seed=p.seed, device=p.device)
model, result, history = train_event_model(
    tensors, model_config, train_config, checkpoint_path=p.checkpoint,
    fingerprint=job_fingerprint(dict(p.items()), dict(snakemake.input.items())),
    attention_path=out.attention,
)  # fmt: skip
remove_empty_dirs(Path(p.checkpoint).parent)
save_event_model(out.model, model, model_config)
# the last epoch's weights next to the selected ones (the same model when the last was best)
latest = copy.deepcopy(model)
if result.last_state is not None:
    latest.load_state_dict(result.last_state)
save_event_model(out.latest, latest, model_config)
write_json(out.history, {"model": model_config.to_dict(), **history})
log.info("best epoch %s of %s: validation AUROC %.3f", history["best_epoch"], history["epochs_run"],
         history["best_val_auroc"])  # fmt: skip
