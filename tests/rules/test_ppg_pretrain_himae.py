"""Rule ppg_pretrain_himae: a loadable HiMAE model file, history, no leftover checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch

from clinssl.data.ppg_dataset import WindowRows
from clinssl.models.himae import (
    HiMAE,
    HiMAEConfig,
    load_himae,
    masked_mse,
    minmax_scale,
    random_patch_mask,
)

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
    assert np.isfinite(history["best_val_masked_mse"]) and history["best_epoch"] in (1, 2)
    assert not runner.path(f"{OUT}/checkpoints/himae.ckpt").exists()  # removed after success

    encoder = load_himae(model_path, torch.device("cpu"))
    windows = np.load(runner.path(f"{OUT}/windows.npy"), mmap_mode="r")
    # pretraining learned to fill masked patches: better than the same net untrained
    table = pd.read_parquet(runner.path(f"{OUT}/windows.parquet"))
    rows = np.flatnonzero(table["qc_pass"].to_numpy())[:64]
    x = WindowRows(windows, rows, settings["input_fs"]).read(rows).unsqueeze(1)
    x = minmax_scale(x)
    cfg = encoder.model.config
    mask = random_patch_mask(len(rows), cfg.seq_len, cfg.patch_len, cfg.mask_ratio,
                             torch.Generator().manual_seed(0))  # fmt: skip
    torch.manual_seed(0)
    fresh = HiMAE(HiMAEConfig(**history["config"])).eval()
    with torch.no_grad():
        trained_mse = masked_mse(encoder.model(x * (1 - mask)), x, mask).item()
        fresh_mse = masked_mse(fresh(x * (1 - mask)), x, mask).item()
    assert trained_mse < 0.8 * fresh_mse
    z = encoder.encode(np.asarray(windows[:5]))
    assert z.shape == (5, settings["base_channels"] * 2 ** (settings["depth"] - 1))
    assert np.isfinite(z).all()
