"""The random-init HiMAE floor: seeded, the configured architecture, readable like a model."""

from __future__ import annotations

import torch

from clinssl.ppg.himae import HiMAE, config_from_settings, load_himae, random_init_himae
from clinssl.train import save_model_file

SETTINGS = {"input_fs": 62.5, "base_channels": 8, "depth": 4, "kernel_size": 5,
            "patch_seconds": 0.05, "mask_ratio": 0.8}  # fmt: skip


def test_seeded_untrained_and_loadable(tmp_path) -> None:
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, meta = random_init_himae(SETTINGS, seed=0)
    assert torch.equal(torch.random.get_rng_state(), before)  # global stream untouched
    b, _ = random_init_himae(SETTINGS, seed=0)
    c, _ = random_init_himae(SETTINGS, seed=1)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].dtype.is_floating_point)
    assert meta["trained"] is False and meta["kind"] == "himae"
    reference = HiMAE(config_from_settings(SETTINGS))
    assert sum(p.numel() for p in a.parameters()) == sum(p.numel() for p in reference.parameters())
    path = tmp_path / "model.pt"
    save_model_file(path, a, meta)
    encoder = load_himae(path, torch.device("cpu"))
    z = encoder.encode(torch.randn(3, 1250))
    assert z.shape == (3, a.config.embed_dim)
    assert torch.isfinite(torch.from_numpy(z)).all()
