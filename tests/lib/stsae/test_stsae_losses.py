"""Each ST-SAE loss term against a hand-computed numpy formula, and their combination."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clinssl.stsae.losses import (
    AUXK,
    PART_NAMES,
    LossWeights,
    auxk_loss,
    diversity_loss,
    normalized_mse,
    reconstruction_loss,
    smoothness_loss,
    sparsity_loss,
    stability_loss,
    total_loss,
)
from clinssl.stsae.models import SAEError, SparseAutoencoder, auxk_codes
from clinssl.stsae.names import LOSS_TERMS
from clinssl.utils.seeding import torch_seeded

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 3))
X_HAT = RNG.normal(size=(4, 3))
CODES_A = np.abs(RNG.normal(size=(4, 5)))
CODES_B = np.abs(RNG.normal(size=(4, 5)))
W_DEC = RNG.normal(size=(3, 5))


def t(array: np.ndarray) -> torch.Tensor:
    return torch.tensor(array, dtype=torch.float32)


def test_reconstruction_loss_is_the_mean_squared_error() -> None:
    expected = np.mean((X - X_HAT) ** 2)
    assert float(reconstruction_loss(t(X), t(X_HAT))) == pytest.approx(expected, rel=1e-6)


def test_normalized_mse_is_the_fraction_of_variance_unexplained() -> None:
    expected = np.sum((X - X_HAT) ** 2) / np.sum((X - X.mean(axis=0)) ** 2)
    assert float(normalized_mse(t(X), t(X_HAT))) == pytest.approx(expected, rel=1e-6)
    assert float(normalized_mse(t(X), t(np.tile(X.mean(axis=0), (4, 1))))) == pytest.approx(1.0)


def test_sparsity_loss_weights_codes_by_decoder_column_norms() -> None:
    expected = np.mean(np.sum(np.abs(CODES_A) * np.linalg.norm(W_DEC, axis=0), axis=1))
    assert float(sparsity_loss(t(CODES_A), t(W_DEC))) == pytest.approx(expected, rel=1e-6)
    unit = W_DEC / np.linalg.norm(W_DEC, axis=0)
    l1 = np.mean(np.sum(np.abs(CODES_A), axis=1))
    assert float(sparsity_loss(t(CODES_A), t(unit))) == pytest.approx(l1, rel=1e-6)


def test_diversity_loss_is_the_mean_squared_off_diagonal_cosine() -> None:
    unit = W_DEC / np.linalg.norm(W_DEC, axis=0)
    gram = unit.T @ unit
    off = gram[~np.eye(5, dtype=bool)]
    expected = np.mean(off**2)
    assert float(diversity_loss(t(W_DEC * 3.0))) == pytest.approx(expected, rel=1e-5)
    assert float(diversity_loss(torch.eye(4)[:, :3] * 2.0)) == pytest.approx(0.0, abs=1e-7)


def test_stability_loss_is_the_mean_squared_code_distance() -> None:
    expected = np.mean(np.sum((CODES_A - CODES_B) ** 2, axis=1))
    assert float(stability_loss(t(CODES_A), t(CODES_B))) == pytest.approx(expected, rel=1e-6)


def test_smoothness_loss_excludes_rows_without_a_successor() -> None:
    has_next = torch.tensor([True, False, True, False])
    distances = np.sum((CODES_A - CODES_B) ** 2, axis=1)
    expected = (distances[0] + distances[2]) / 2
    value = smoothness_loss(t(CODES_A), t(CODES_B), has_next)
    assert float(value) == pytest.approx(expected, rel=1e-6)


def test_smoothness_loss_is_a_differentiable_zero_when_no_row_has_a_successor() -> None:
    codes = t(CODES_A).requires_grad_(True)
    value = smoothness_loss(codes, t(CODES_B), torch.zeros(4, dtype=torch.bool))
    assert float(value.detach()) == 0.0
    value.backward()
    assert torch.equal(codes.grad, torch.zeros_like(codes))


def test_auxk_loss_is_zero_without_dead_latents() -> None:
    pre = t(np.random.default_rng(2).normal(size=(4, 5)))
    aux = auxk_codes(pre, torch.zeros(5, dtype=torch.bool), k_aux=2)
    assert float(auxk_loss(t(X), t(X_HAT), aux, t(W_DEC))) == 0.0


def test_auxk_loss_fits_the_detached_residual_without_b_pre() -> None:
    aux = np.zeros((4, 5))
    aux[:, 1] = [0.5, 1.0, 0.0, 2.0]
    residual = X - X_HAT
    aux_hat = aux @ W_DEC.T
    expected = np.sum((residual - aux_hat) ** 2) / np.sum(
        (residual - residual.mean(axis=0)) ** 2
    )
    x_hat = t(X_HAT).requires_grad_(True)
    W = t(W_DEC).requires_grad_(True)
    value = auxk_loss(t(X), x_hat, t(aux), W)
    assert float(value.detach()) == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert x_hat.grad is None  # the residual's target is detached
    assert float(W.grad[:, 1].abs().sum()) > 0 and float(W.grad[:, 0].abs().sum()) == 0


def test_loss_weights_without_zeroes_the_named_terms() -> None:
    weights = LossWeights(sparsity=0.1, diversity=0.2, stability=0.3, smoothness=0.4, auxk=0.5)
    off = weights.without(("stability", "smoothness"))
    assert off == LossWeights(sparsity=0.1, diversity=0.2, stability=0.0, smoothness=0.0, auxk=0.5)
    assert weights.without(LOSS_TERMS).sparsity == 0.0 and weights.without(()) == weights
    with pytest.raises(SAEError, match="unknown loss term"):
        weights.without(("smooth",))
    with pytest.raises(SAEError, match="LossWeights.stability"):
        LossWeights(stability=-1.0)
    with pytest.raises(SAEError, match="unknown term"):
        LossWeights.from_dict({"sparsity": 1.0, "sparsty": 2.0})


def _model(activation: str) -> SparseAutoencoder:
    with torch_seeded(0, "stsae-init"):
        return SparseAutoencoder(3, 5, activation, k=2)


def _batch() -> tuple[torch.Tensor, ...]:
    rng = np.random.default_rng(1)
    z_next = rng.normal(size=(4, 3))
    z_aug = X + 0.1 * rng.normal(size=(4, 3))
    return t(X), t(z_next), t(z_aug), torch.tensor([True, True, False, True])


@pytest.mark.parametrize("activation", ["relu", "topk"])
def test_total_loss_is_reconstruction_plus_weighted_terms(activation: str) -> None:
    model = _model(activation)
    model.steps_since_fired.fill_(10)  # all latents dead: AuxK active for Top-K
    weights = LossWeights(sparsity=0.1, diversity=0.2, stability=0.3, smoothness=0.4, auxk=0.5)
    z, z_next, z_aug, has_next = _batch()
    model.input_scale.fill_(2.0)  # reconstruction and AuxK are measured in the model's units
    loss, parts = total_loss(model, (z, z_next, z_aug, has_next), weights, dead_steps=5, k_aux=2)
    assert set(parts) == set(PART_NAMES)
    with torch.no_grad():
        out, out_next, out_aug = model(z), model(z_next), model(z_aug)
        aux = auxk_codes(out.pre_acts, torch.ones(5, dtype=torch.bool), 2)
        s = 2.0
        expected = {
            "reconstruction": reconstruction_loss(z / s, out.x_hat / s),
            "sparsity": sparsity_loss(out.codes, model.W_dec),
            "diversity": diversity_loss(model.W_dec),
            "stability": stability_loss(out.codes, out_aug.codes),
            "smoothness": smoothness_loss(out.codes, out_next.codes, has_next),
            AUXK: auxk_loss(z / s, out.x_hat / s, aux, model.W_dec) if activation == "topk" else 0.0,
        }
    expected = {name: float(value) for name, value in expected.items()}
    for name, value in expected.items():
        assert parts[name] == pytest.approx(value, rel=1e-5, abs=1e-7), name
    if activation == "topk":
        assert expected[AUXK] > 0
    # the code-space terms count per embedding dimension, like the reconstruction MSE
    per_dim = {"sparsity": 1 / z.shape[1], "stability": 1 / z.shape[1], "smoothness": 1 / z.shape[1]}
    combined = expected["reconstruction"] + sum(
        getattr(weights, name) * per_dim.get(name, 1.0) * expected[name]
        for name in (*LOSS_TERMS, AUXK)
    )
    assert float(loss.detach()) == pytest.approx(combined, rel=1e-5)
    assert parts["total"] == pytest.approx(combined, rel=1e-5)
    assert parts["dead_fraction"] == 1.0


def test_total_loss_accepts_a_dict_batch_and_advances_the_buffer_in_training_only() -> None:
    model = _model("topk")
    with torch.no_grad():
        model.b_enc.copy_(torch.tensor([50.0, 50.0, 50.0, -50.0, -50.0]))  # 3 can fire
    z, z_next, z_aug, has_next = _batch()
    batch = {"z": z, "z_next": z_next, "z_aug": z_aug, "has_next": has_next}
    model.eval()
    total_loss(model, batch, LossWeights())
    assert model.steps_since_fired.sum() == 0
    model.train()
    _, parts = total_loss(model, batch, LossWeights())
    fired = (model(z).codes > 0).any(dim=0).tolist()
    assert fired[3:] == [False, False] and any(fired)
    assert model.steps_since_fired.tolist() == [0 if f else 1 for f in fired]
    assert parts["l0"] == pytest.approx(2.0)  # Top-K with k = 2 and positive pre-activations
    with pytest.raises(SAEError, match="missing key"):
        total_loss(model, {"z": z}, LossWeights())
