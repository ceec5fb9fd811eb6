"""Rule ppg_pretrain_himae: a loadable HiMAE model file, history, no leftover checkpoint."""

from __future__ import annotations

import json

import numpy as np
import torch

from clinssl.models.himae import load_himae

OUT = "results/ppg/synthetic"


def test_ppg_pretrain_himae(runner, built_branch) -> None:
    runner.config["ppg"]["himae"]["epochs"] = 2
    runner.write_config(runner.config)
    runner.stage(built_branch("ppg").workdir, [f"{OUT}/windows.npy", f"{OUT}/windows.parquet"])
    model_path, history_path = runner.run_rule(
        "ppg_pretrain_himae", [f"{OUT}/himae/model.pt", f"{OUT}/himae/history.json"]
    )
    history = json.loads(history_path.read_text())
    settings = runner.config["ppg"]["himae"]
    assert history["config"]["seq_len"] == round(10 * settings["input_fs"])
    assert history["config"]["depth"] == settings["depth"]
    assert history["n_train_windows"] == settings["max_train_windows"]
    assert len(history["epochs"]) == 2
    assert all(np.isfinite(e["train_loss"]) for e in history["epochs"])
    # it learns: masked MSE on train and on the fixed-mask val windows both fall
    first, last = history["epochs"][0], history["epochs"][-1]
    assert last["train_loss"] < first["train_loss"]
    assert last["val_metric"] < first["val_metric"]
    assert history["best_val_masked_mse"] == min(e["val_metric"] for e in history["epochs"])
    assert not runner.path(f"{OUT}/checkpoints/himae.ckpt").exists()  # removed after success

    encoder = load_himae(model_path, torch.device("cpu"))
    windows = np.load(runner.path(f"{OUT}/windows.npy"), mmap_mode="r")
    z = encoder.encode(np.asarray(windows[:5]))
    assert z.shape == (5, settings["base_channels"] * 2 ** (settings["depth"] - 1))
    assert np.isfinite(z).all()
