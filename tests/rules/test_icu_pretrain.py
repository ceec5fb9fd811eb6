"""Rule icu_pretrain: a model file that rebuilds the paradigm's trained encoder (changed from
the exact initialisation pretraining started from), a history whose loss falls, the SMART
budget override, and no leftover checkpoint."""

from __future__ import annotations

import json

import numpy as np
import torch

from clinssl.icu.pretraining import initial_encoder, rebuild_encoder
from clinssl.train import load_model_file

DATA = "results/icu/synthetic"
INPUTS = [
    f"{DATA}/{f}"
    for f in ("values.npy", "mask.npy", "static.parquet", "labels.parquet", "metadata.json")
] + [f"{DATA}/splits/seed0/{f}" for f in ("splits.parquet", "normalization.json")]


def test_icu_pretrain(runner, built_branch) -> None:
    runner.config["icu"]["ssl"]["pretrain"]["epochs"] = 2
    runner.write_config(runner.config)
    runner.stage(built_branch("icu").workdir, INPUTS)
    targets = [
        f"{DATA}/ssl/{p}/seed0/{f}"
        for p in ("jepa", "smart")
        for f in ("encoder.pt", "pretrain_history.json")
    ]
    outputs = runner.run_rule("icu_pretrain", targets)
    values = np.load(runner.path(f"{DATA}/values.npy"), mmap_mode="r")
    n_features = values.shape[2]
    for paradigm, model_path, history_path in (
        ("jepa", outputs[0], outputs[1]),
        ("smart", outputs[2], outputs[3]),
    ):
        state, meta = load_model_file(model_path)
        history = json.loads(history_path.read_text())
        assert meta["paradigm"] == paradigm and meta["seed"] == 0
        assert meta["spec"]["name"] == ("mart" if paradigm == "smart" else "transformer")
        assert meta["spec"]["n_features"] == n_features
        assert len(history["history"]) == 2
        losses = [e["train_loss"] for e in history["history"]]
        assert all(np.isfinite(losses))
        encoder = rebuild_encoder(meta["spec"], state)
        untrained = initial_encoder(paradigm, meta["spec"], 0)
        trained, start = encoder.state_dict(), untrained.state_dict()
        changed = [name for name in trained if not torch.equal(trained[name], start[name])]
        # most parameter tensors move under AdamW (a few, e.g. unused query tokens, need not)
        assert len(changed) > 0.5 * len(trained), f"pretraining changed only {changed}"
        assert not runner.path(f"{DATA}/checkpoints/pretrain_{paradigm}_seed0.ckpt").exists()
    smart_meta = load_model_file(outputs[2])[1]
    assert (
        smart_meta["n_stays"]
        == runner.config["icu"]["ssl"]["pretrain"]["overrides"]["smart"]["max_stays"]
    )
    jepa_meta = json.loads(outputs[1].read_text())
    assert jepa_meta["history"][-1]["train_loss"] < jepa_meta["history"][0]["train_loss"]
    assert runner.path("results/logs/icu/ssl/pretrain_synthetic_jepa_seed0.log").read_text()
