"""ECG encoders: shapes, exact sizes, pooling, registry and checkpoint round trip."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from clinssl.ecg import names
from clinssl.ecg.encoders import (
    ENCODER_CLASSES,
    CNN1DEncoder,
    XResNet1d50,
    build_encoder,
    encoder_from_spec,
    encoder_spec,
)


def _count(module: nn.Module, kind: type[nn.Module] | None = None) -> int:
    """Parameters of ``module``, or only those of its ``kind`` layers."""
    if kind is None:
        return sum(p.numel() for p in module.parameters())
    return sum(p.numel() for m in module.modules() if isinstance(m, kind) for p in m.parameters())


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(2, 12, 250, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    ("name", "out_dim", "steps"),
    # cnn1d: stride 2·2·2 = 8 → ceil(250/8) = 32; xresnet: stem 2, pool 2, stages 2·2·2 → 8
    [("cnn1d", 256, 32), ("xresnet1d50", 256, 8)],
)
def test_shapes(name: str, out_dim: int, steps: int, x: torch.Tensor) -> None:
    enc = build_encoder(name).eval()
    assert enc.out_dim == out_dim
    with torch.no_grad():
        assert enc(x).shape == (2, out_dim, steps)
        assert enc.embed(x).shape == (2, out_dim)


def test_cnn1d_parameter_count_is_the_seeds() -> None:
    """SSRL-ECG's encoder: 536,832 conv weights (12·64·11 + 64·64·7 + 64·128·7 + 128·128·5
    + 128·256·5 + 256·256·3, no biases) + 1,792 BN (2·(64+64+128+128+256+256))."""
    enc = CNN1DEncoder()
    assert _count(enc, nn.Conv1d) == 536_832
    assert _count(enc, nn.BatchNorm1d) == 1_792
    assert _count(enc) == 538_624
    assert enc(torch.zeros(1, 12, 1000)).shape == (1, 256, 125)  # the seed's 12×1000 → 256×125


def test_xresnet1d50_parameter_count() -> None:
    """886,400 = 873,344 conv + 13,056 BN, at the benchmark's widths (64, 64, 64, 64).

    Stem 12→32→32→64, k5: 17,280 conv, 256 BN. Bottleneck 256→64→64→256 (1×1, k5, 1×1):
    16,384 + 20,480 + 16,384 = 53,248 conv, 768 BN; 15 of the 16 blocks are that one. The first
    block (64→…→256) has 4,096 + 20,480 + 16,384 conv plus a 64→256 1×1 shortcut (16,384),
    1,280 BN. 17,280 + 57,344 + 15·53,248 = 873,344; 256 + 1,280 + 15·768 = 13,056.
    The stride-2 shortcuts of stages 2–4 are avg-pools only (256 → 256 channels)."""
    enc = XResNet1d50()
    assert _count(enc, nn.Conv1d) == 873_344
    assert _count(enc, nn.BatchNorm1d) == 13_056
    assert _count(enc) == 886_400
    wide = XResNet1d50(widths=(64, 128, 256, 512))  # fastai's ImageNet widths
    assert wide.out_dim == 2048 and _count(wide) == 18_486_144


def test_xresnet1d50_blocks_start_as_identity() -> None:
    """The last BN of each block is zero at init, so a block passes relu(shortcut(x))."""
    enc = XResNet1d50()
    zeroed = [b.convs[-1][1].weight for stage in enc.stages for b in stage]
    assert len(zeroed) == 16 and all(bool((w == 0).all()) for w in zeroed)


@pytest.mark.parametrize("name", names.ENCODERS)
def test_embed_is_time_mean_of_forward(name: str, x: torch.Tensor) -> None:
    enc = build_encoder(name).eval()
    with torch.no_grad():
        torch.testing.assert_close(enc.embed(x), enc(x).mean(dim=-1))


def test_registry_matches_names() -> None:
    assert tuple(ENCODER_CLASSES) == names.ENCODERS
    with pytest.raises(ValueError, match="known"):
        build_encoder("resnet9000")
    with pytest.raises(ValueError, match="keyword"):
        encoder_spec("cnn1d", 12, {"depth": 3})


def test_wrong_input_layout_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"\(B, 12, L\)"):
        build_encoder("cnn1d")(torch.zeros(2, 250, 12))


@pytest.mark.parametrize(
    ("name", "kwargs"), [("cnn1d", {"width": 16}), ("xresnet1d50", {"widths": (8, 8, 16, 16)})]
)
def test_spec_round_trip(name: str, kwargs: dict, x: torch.Tensor) -> None:
    """A checkpoint {"encoder": state_dict, "spec": spec} rebuilds an identical encoder, also
    after the spec went through JSON (as in a fingerprint or a config file)."""
    torch.manual_seed(1)
    enc = build_encoder(name, 12, **kwargs)
    with torch.no_grad():  # non-trivial BN statistics and affine parameters
        enc.train()(x * 3 + 1)
        for p in enc.parameters():
            p.add_(0.01 * torch.randn_like(p))
    spec = encoder_spec(name, 12, kwargs)
    assert json.loads(json.dumps(spec)) == spec
    blob = {"encoder": enc.state_dict(), "spec": spec}
    torch.manual_seed(2)  # a different fresh init, overwritten by the state dict
    rebuilt = encoder_from_spec(json.loads(json.dumps(blob["spec"])))
    rebuilt.load_state_dict(blob["encoder"])
    enc.eval(), rebuilt.eval()
    with torch.no_grad():
        assert torch.equal(enc(x), rebuilt(x))
