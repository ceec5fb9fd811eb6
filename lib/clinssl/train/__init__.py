"""One training loop for every objective and branch, with resumable checkpoints."""

from clinssl.train.checkpoint import (
    load_checkpoint,
    load_model_file,
    remove_empty_dirs,
    save_checkpoint,
    save_model_file,
)
from clinssl.train.loop import TrainConfig, TrainResult, fit

__all__ = [
    "TrainConfig",
    "TrainResult",
    "fit",
    "load_checkpoint",
    "load_model_file",
    "remove_empty_dirs",
    "save_checkpoint",
    "save_model_file",
]
