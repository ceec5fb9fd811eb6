"""Rule ppg_init_random_himae: an untrained HiMAE with the configured architecture, seeded."""

from __future__ import annotations

import torch

from clinssl.ppg.himae import load_himae
from clinssl.train import load_model_file

OUT = "results/ppg/synthetic"


def test_ppg_init_random_himae(runner, built_branch) -> None:
    (path,) = runner.run_rule("ppg_init_random_himae", [f"{OUT}/himae_random/model.pt"])
    state, meta = load_model_file(path)
    h = runner.config["ppg"]["himae"]
    assert meta["trained"] is False and meta["input_fs"] == h["input_fs"]
    assert (meta["config"]["base_channels"], meta["config"]["depth"]) == (h["base_channels"], h["depth"])
    pretrained, pmeta = load_model_file(built_branch("ppg").path(f"{OUT}/himae/model.pt"))
    assert meta["config"] == pmeta["config"]  # the same architecture as the pretrained model
    assert set(state) == set(pretrained)
    assert any(not torch.equal(state[k], pretrained[k]) for k in state)
    # seeded: the same file from the session build (same seed)
    again, _ = load_model_file(built_branch("ppg").path(f"{OUT}/himae_random/model.pt"))
    assert all(torch.equal(state[k], again[k]) for k in state)
    assert load_himae(path, torch.device("cpu")).dim == h["base_channels"] * 2 ** (h["depth"] - 1)
    assert runner.path("results/logs/ppg/synthetic/init_random_himae.log").read_text().strip()
