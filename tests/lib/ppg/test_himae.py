"""HiMAE: the reference architecture, masking and the masked-only loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clinssl.ppg.himae import (
    HiMAE,
    HiMAEConfig,
    HiMAEEncoder,
    himae_loss,
    masked_mse,
    minmax_scale,
    patch_len_for,
    random_patch_mask,
)


def test_reference_architecture_sizes() -> None:
    model = HiMAE(HiMAEConfig(seq_len=1000))  # the reference's 100 Hz × 10 s
    feats = model.encode(torch.zeros(2, 1, 1000))
    assert [f.shape[1] for f in feats] == [16, 32, 64, 128, 256]
    assert feats[-1].shape == (2, 256, 32)  # bottleneck 256 × 32 steps (reference §4.1)
    n_enc = sum(p.numel() for p in model.encoder.parameters())
    n_all = sum(p.numel() for p in model.parameters())
    # the reference model's exact counts (its decoder convolutions have no bias)
    assert (n_enc, n_all) == (700_672, 1_245_953)
    convs = [m for block in model.decoder for m in block.conv if isinstance(m, torch.nn.Conv1d)]
    assert len(convs) == 8 and all(c.bias is None for c in convs)
    # the last transposed convolution (output_padding=1) restores 1000 samples itself
    y = model.encode(torch.zeros(2, 1, 1000))
    cur = y[-1]
    for block, skip in zip(model.decoder, reversed(y[:-1]), strict=True):
        cur = block(cur, skip)
    assert model.final_deconv(cur).shape == (2, 1, 1000)
    out = model(torch.zeros(2, 1, 1000))
    assert out.shape == (2, 1, 1000) and out.abs().max() <= 1.0  # Tanh


def test_depth_and_length_come_from_config() -> None:
    cfg = HiMAEConfig(seq_len=625, depth=4, base_channels=8)
    model = HiMAE(cfg)
    assert model.embed(torch.zeros(3, 1, 625)).shape == (3, 64) == (3, cfg.embed_dim)
    assert model(torch.zeros(3, 1, 625)).shape == (3, 1, 625)
    assert patch_len_for(1250, 6.25) == 5 and patch_len_for(1000, 40) == 40
    with pytest.raises(ValueError, match="divide"):
        HiMAEConfig(seq_len=1250, patch_len=3)


def test_mask_ratio_patches_and_masked_only_loss() -> None:
    mask = random_patch_mask(4, 1250, 5, 0.8, torch.Generator().manual_seed(0))
    assert mask.shape == (4, 1, 1250)
    assert torch.allclose(mask.mean(dim=-1), torch.full((4, 1), 0.8))
    patches = mask.reshape(4, 250, 5)
    assert (patches.amin(-1) == patches.amax(-1)).all()  # whole patches
    x = torch.zeros(1, 1, 10)
    recon = torch.ones(1, 1, 10)
    m = torch.zeros(1, 1, 10)
    m[..., :2] = 1
    recon[..., 2:] = 100.0  # errors on visible samples do not count
    assert masked_mse(recon, x, m).item() == pytest.approx(1.0)


def test_training_lowers_the_masked_loss() -> None:
    torch.manual_seed(0)
    t = torch.arange(250) / 25.0
    x = torch.stack([torch.sin(2 * torch.pi * (1 + 0.1 * i) * t) ** 3 for i in range(16)])
    model = HiMAE(HiMAEConfig(seq_len=250, depth=3, base_channels=8))
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny convolutions: one thread is fastest
    try:
        losses = []
        for _ in range(30):
            loss = himae_loss(model, x, torch.device("cpu"))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    finally:
        torch.set_num_threads(threads)
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def test_encoder_resamples_store_windows() -> None:
    model = HiMAE(HiMAEConfig(seq_len=625, depth=3, base_channels=8))
    enc = HiMAEEncoder(model, 62.5, torch.device("cpu"))
    z = enc.encode(np.random.default_rng(0).normal(size=(4, 1250)).astype(np.float32))
    assert z.shape == (4, 32) and np.isfinite(z).all()
    x = torch.tensor([[0.0, 5.0, 10.0]])
    assert torch.allclose(minmax_scale(x), torch.tensor([[-1.0, 0.0, 1.0]]))


@pytest.mark.parametrize("fs", [125.0, 62.5])
def test_encoder_takes_tensors_as_arrays(fs: float) -> None:
    """The embedding cache hands the encoder tensors (augmented on its device): same result."""
    torch.manual_seed(0)
    enc = HiMAEEncoder(HiMAE(HiMAEConfig(seq_len=int(10 * fs), patch_len=5)), fs,
                       torch.device("cpu"))  # fmt: skip
    x = np.random.default_rng(1).normal(size=(4, 1250)).astype(np.float32)
    np.testing.assert_allclose(enc.encode(torch.from_numpy(x)), enc.encode(x), rtol=1e-6)
