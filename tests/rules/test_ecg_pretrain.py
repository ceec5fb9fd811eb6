"""Rule ecg_pretrain: SimCLR and BYOL each write an encoder file that rebuilds the configured
encoder, trained away from its initialisation, and a history of the shared loop."""

from __future__ import annotations

import json

import pytest
import torch

from clinssl.ecg.pretraining import load_encoder, seeded_encoder
from clinssl.train.checkpoint import load_torch

OUT = "results/ecg/synthetic"
STORE = [f"{OUT}/signals.npy", f"{OUT}/meta.parquet", f"{OUT}/load_report.json"]


@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_ecg_pretrain(runner, built_branch, method: str) -> None:
    runner.stage(built_branch("ecg").workdir, STORE)
    base = f"{OUT}/ssl/{method}/seed0"
    model_path, history_path = runner.run_rule("ecg_pretrain", [f"{base}/encoder.pt", f"{base}/history.json"])
    blob = load_torch(model_path, "test")
    assert set(blob) == {"encoder", "spec", "method"} and blob["method"] == method
    encoder, spec, _ = load_encoder(model_path)
    cfg = runner.config["ecg"]
    assert spec["name"] == cfg.get("encoder", {}).get("name", "cnn1d")
    assert spec["kwargs"] == cfg["encoders"]["cnn1d"]
    start = seeded_encoder(spec, 0, "init").state_dict()
    trained = encoder.state_dict()
    assert any(not torch.equal(start[k], trained[k]) for k in start if start[k].is_floating_point())
    history = json.loads(history_path.read_text())
    assert history["method"] == method and len(history["epochs"]) == cfg["pretrain"]["epochs"]
    assert all(e["train_loss"] > 0 for e in history["epochs"])
    meta_rows = json.loads(runner.path(f"{OUT}/load_report.json").read_text())["class_counts"]["train"]["n"]
    assert history["n_train_records"] == meta_rows  # label-free, on the train folds only
    assert not runner.path(f"{OUT}/checkpoints").exists()  # removed after success
