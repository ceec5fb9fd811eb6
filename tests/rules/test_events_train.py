"""Rule events_train: a loadable model of the configured architecture whose validation AUROC
is the history's best, training curves, and attention weights recorded every N batches."""

from __future__ import annotations

import json

import numpy as np
from eventsinputs import MODEL, TENSORS, settings

from clinssl.events.dataset import EventTensors
from clinssl.events.evaluation import predict
from clinssl.events.training import load_event_model
from clinssl.stats.metrics import auroc


def test_events_train(runner, built_branch) -> None:
    built = built_branch("events")
    st = settings(built)
    runner.stage(built.workdir, [str(TENSORS.tensors)])
    runner.run_rule("events_train", [str(p) for p in MODEL.as_dict().values()])
    model = load_event_model(runner.path(MODEL.model))
    for key in ("d_model", "n_layers", "n_heads", "pool_heads", "norm_first"):
        assert getattr(model.config, key) == st["model"][key], key
    history = json.loads(runner.path(MODEL.history).read_text())
    assert history["epochs_run"] <= st["train"]["epochs"] and len(history["train_loss"]) == history["epochs_run"]
    tensors = EventTensors.load(runner.path(TENSORS.tensors))
    val = tensors.rows("val")
    # the saved model is the selected epoch: it reproduces the best validation AUROC
    score = auroc(tensors.label[val], predict(model, tensors, val))[0]
    assert abs(score - history["best_val_auroc"]) < 1e-6
    assert history["val_auroc"][history["best_epoch"] - 1] == history["best_val_auroc"]
    # the latest model is the last epoch's: it reproduces the last validation AUROC
    latest = load_event_model(runner.path(MODEL.latest))
    assert abs(auroc(tensors.label[val], predict(latest, tensors, val))[0] - history["val_auroc"][-1]) < 1e-6
    with np.load(runner.path(MODEL.attention), allow_pickle=False) as attention:
        pooling = [k for k in attention.files if k.endswith("_pooling")]
        assert pooling and any(k.endswith("_self_attention_layer_0") for k in attention.files)
        weights = attention[pooling[0]]
        assert weights.shape[1] == st["model"]["pool_heads"]
        assert np.allclose(weights.sum(-1)[weights.sum(-1) > 0], 1.0, atol=1e-5)
    n_batches = -(-tensors.rows("train").size // st["train"]["batch_size"])
    per_epoch = -(-n_batches // st["train"]["attention_every"])
    assert len(pooling) == per_epoch * history["epochs_run"]
    assert not runner.path("results/events/synthetic/checkpoints").exists()  # removed on success
