"""FastDropout keeps each element with probability 1 − p, independently, scales the kept ones
by 1/(1 − p), passes the same mask to the gradient, is a no-op in eval mode, is seeded by
torch's generator, and is swapped into every ICU model in place of nn.Dropout."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from clinssl.icu import downstream
from clinssl.icu.downstream import DownstreamConfig
from clinssl.icu.encoders import ENCODERS, build_encoder
from clinssl.icu.names import PARADIGM_ENCODER
from clinssl.icu.objectives import build_objective
from clinssl.icu.split_tensors import SplitData
from clinssl.nn.dropout import FastDropout, keep_mask, use_fast_dropout
from clinssl.nn.layers import transformer_stack


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_keep_rate_and_scale(p: float) -> None:
    torch.manual_seed(0)
    x = torch.ones(400_000)
    out = FastDropout(p).train()(x)
    kept = out != 0
    n = x.numel()
    sd = (p * (1 - p) / n) ** 0.5
    assert abs(kept.float().mean().item() - (1 - p)) < 5 * sd
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1 / (1 - p)))


def test_neighbouring_elements_are_independent() -> None:
    """Four elements share one 64-bit draw: their keep decisions must not be correlated."""
    torch.manual_seed(1)
    keep = keep_mask(torch.Size([200_000, 4]), 0.5, torch.device("cpu")).float()
    corr = torch.corrcoef(keep.T)
    off_diagonal = corr[~torch.eye(4, dtype=torch.bool)]
    assert off_diagonal.abs().max().item() < 0.02
    assert (keep.mean(dim=0) - 0.5).abs().max().item() < 0.01


def test_gradient_uses_the_forward_mask() -> None:
    torch.manual_seed(2)
    x = torch.randn(64, 24, 256, requires_grad=True)
    out = FastDropout(0.2).train()(x)
    out.sum().backward()
    expected = (out != 0).float() / 0.8
    assert torch.equal(x.grad, expected)


def test_eval_mode_and_edge_probabilities_are_plain_dropout() -> None:
    x = torch.randn(32, 16)
    assert torch.equal(FastDropout(0.5).eval()(x), x)
    assert torch.equal(FastDropout(0.0).train()(x), x)
    assert torch.equal(FastDropout(1.0).train()(x), torch.zeros_like(x))


def test_masks_follow_the_global_seed() -> None:
    x = torch.ones(10_000)
    drop = FastDropout(0.3).train()
    torch.manual_seed(5)
    a = drop(x)
    torch.manual_seed(5)
    b = drop(x)
    c = drop(x)
    assert torch.equal(a, b) and not torch.equal(b, c)


def test_swap_reaches_transformer_layers_and_keeps_state() -> None:
    torch.manual_seed(3)
    layers, _ = transformer_stack(16, 2, 2, 32, 0.1)
    model = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.2), layers)
    plain = copy.deepcopy(model)
    use_fast_dropout(model)
    assert not [m for m in model.modules() if type(m) is nn.Dropout]
    swapped = [m for m in model.modules() if isinstance(m, FastDropout)]
    assert len(swapped) == 1 + 2 * 3  # the Sequential's, and 3 per Transformer layer
    assert model.state_dict().keys() == plain.state_dict().keys()
    x = torch.randn(4, 5, 8)
    model.eval(), plain.eval()
    assert torch.equal(model(x), plain(x))


def _plain_dropouts(module: nn.Module) -> list[str]:
    return [name for name, m in module.named_modules() if type(m) is nn.Dropout]


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_every_icu_encoder_uses_it(name: str) -> None:
    assert _plain_dropouts(build_encoder(name, 6)) == []


@pytest.mark.parametrize("paradigm", sorted(PARADIGM_ENCODER))
def test_every_icu_objective_uses_it(paradigm: str) -> None:
    objective = build_objective(paradigm, build_encoder(PARADIGM_ENCODER[paradigm], 6))
    assert [m for m in objective.modules() if isinstance(m, FastDropout)]
    assert _plain_dropouts(objective) == []


def test_the_finetuned_model_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """finetune wraps encoder + head; the head's dropout is swapped as well."""
    built = []
    real = downstream.use_fast_dropout
    monkeypatch.setattr(downstream, "use_fast_dropout", lambda m: built.append(real(m)) or m)
    rng = np.random.default_rng(0)
    values = rng.normal(size=(40, 6, 3)).astype(np.float32)
    mask = np.ones_like(values, dtype=bool)
    y = (np.arange(40) % 2).astype(float)
    data = SplitData(values, mask, y, np.arange(40), np.arange(40))
    config = DownstreamConfig(epochs=1, batch_size=16, head_dropout=0.3, device="cpu")
    encoder = build_encoder("transformer", 3, d_model=8, n_layers=1, n_heads=2, d_ff=16)
    downstream.finetune("binary", encoder, data, data, data, config, lr=1e-3, seed=0)
    (model,) = built
    assert _plain_dropouts(model) == []
    assert [m for m in model.head.modules() if isinstance(m, FastDropout)]
