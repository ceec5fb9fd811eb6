"""The SAE module: tied init, ReLU/Top-K codes, decoder-gradient projection and renorm,
geometric median, dead-latent tracking, AuxK code selection and the numpy concept model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clinssl.stsae.concepts import ConceptModel
from clinssl.stsae.models import (
    SAEConceptModel,
    SAEError,
    SparseAutoencoder,
    auxk_codes,
    decoder_grad_projection,
    geometric_median,
    init_from_data,
    project_decoder_grad,
    renormalize_decoder,
)
from clinssl.utils.seeding import torch_seeded


def _model(dim: int = 6, n_concepts: int = 10, activation: str = "relu", k: int = 3):
    with torch_seeded(0, "stsae-init"):
        return SparseAutoencoder(dim, n_concepts, activation, k)


def test_tied_init_decoder_is_the_unit_normalised_encoder_transpose() -> None:
    model = _model()
    enc_t = model.W_enc.detach().T
    norms = enc_t.norm(dim=0, keepdim=True)
    assert torch.allclose(model.W_dec.detach(), enc_t / norms, atol=1e-6)
    assert torch.allclose(model.W_dec.norm(dim=0), torch.ones(10), atol=1e-6)
    assert torch.count_nonzero(model.b_pre) == 0 and torch.count_nonzero(model.b_enc) == 0
    assert torch.equal(_model().W_enc, model.W_enc)  # same seed, same weights


def test_relu_forward_matches_the_formula() -> None:
    model = _model()
    with torch.no_grad():
        model.b_pre.copy_(torch.linspace(-1, 1, 6))
        model.b_enc.copy_(torch.linspace(-0.5, 0.5, 10))
        model.input_scale.fill_(0.5)
    x = torch.randn(5, 6, generator=torch.Generator().manual_seed(1))
    out = model(x)
    W_enc, b_enc = model.W_enc.detach().numpy(), model.b_enc.detach().numpy()
    W_dec, b_pre = model.W_dec.detach().numpy(), model.b_pre.detach().numpy()
    pre = ((x.numpy() - b_pre) / 0.5) @ W_enc.T + b_enc
    codes = np.maximum(pre, 0)
    np.testing.assert_allclose(out.pre_acts.detach().numpy(), pre, atol=1e-5)
    np.testing.assert_allclose(out.codes.detach().numpy(), codes, atol=1e-5)
    np.testing.assert_allclose(out.x_hat.detach().numpy(), 0.5 * codes @ W_dec.T + b_pre, atol=1e-5)


def test_topk_keeps_exactly_k_positive_values_per_row() -> None:
    model = _model(activation="topk", k=3)
    with torch.no_grad():
        model.b_enc.fill_(100.0)  # every pre-activation positive
    x = torch.randn(8, 6, generator=torch.Generator().manual_seed(2))
    out = model(x)
    assert torch.equal((out.codes != 0).sum(dim=1), torch.full((8,), 3))
    pre = out.pre_acts.detach().numpy()
    expected = np.zeros_like(pre)
    top = np.argsort(-pre, axis=1)[:, :3]
    np.put_along_axis(expected, top, np.take_along_axis(pre, top, axis=1), axis=1)
    np.testing.assert_allclose(out.codes.detach().numpy(), expected, atol=1e-6)


def test_topk_applies_relu_to_the_kept_values() -> None:
    model = _model(activation="topk", k=3)
    pre = torch.tensor([[5.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0]])
    codes = model.sparsify(pre)
    expected = torch.zeros(1, 10)
    expected[0, 0] = 5.0  # the other two kept values (-1, -2) are negative: ReLU zeroes them
    assert torch.equal(codes, expected)


def test_projected_gradient_is_orthogonal_to_each_column() -> None:
    model = _model()
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(3))
    with decoder_grad_projection(model):
        ((model(x).x_hat - x) ** 2).mean().backward()
    grad, W = model.W_dec.grad, model.W_dec.detach()
    assert float(grad.abs().max()) > 1e-4  # not trivially zero
    assert torch.allclose((W * grad).sum(dim=0), torch.zeros(10), atol=1e-7)
    # the same backward without the hook, projected by hand: g_k − (w_k·g_k) w_k
    model.zero_grad()
    ((model(x).x_hat - x) ** 2).mean().backward()
    raw = model.W_dec.grad.clone()
    assert not torch.allclose(raw, grad, atol=1e-6)
    assert torch.allclose(grad, raw - W * (W * raw).sum(dim=0, keepdim=True), atol=1e-7)
    project_decoder_grad(model)
    assert torch.allclose(model.W_dec.grad, grad, atol=1e-7)


def test_hook_is_removed_on_exit() -> None:
    model = _model()
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(4))
    with decoder_grad_projection(model):
        pass
    ((model(x).x_hat - x) ** 2).mean().backward()
    dots = (model.W_dec.detach() * model.W_dec.grad).sum(dim=0)
    assert float(dots.abs().max()) > 1e-5


def test_renormalisation_restores_unit_columns_after_an_adamw_step() -> None:
    model = _model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.0)
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(5))
    with decoder_grad_projection(model):
        ((model(x).x_hat - x) ** 2).mean().backward()
    optimizer.step()
    norms = model.W_dec.detach().norm(dim=0)
    assert float((norms - 1).abs().max()) > 1e-3  # AdamW's step moves the norms off 1
    renormalize_decoder(model)
    assert torch.allclose(model.W_dec.norm(dim=0), torch.ones(10), atol=1e-6)


def test_geometric_median_resists_an_outlier() -> None:
    rng = np.random.default_rng(0)
    bulk = rng.normal(0.0, 0.1, size=(50, 3))
    points = np.vstack([bulk, [[100.0, 100.0, 100.0]]])
    median = geometric_median(points).numpy()
    mean = points.mean(axis=0)
    assert median.dtype == np.float32
    assert np.linalg.norm(median) < 0.1 < np.linalg.norm(mean)


def test_geometric_median_equals_the_median_on_a_line_and_symmetric_sets() -> None:
    on_line = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [10.0, 0.0]])
    np.testing.assert_allclose(geometric_median(on_line).numpy(), [2.0, 0.0], atol=1e-4)
    cross = torch.tensor([[3.0, 1.0], [1.0, 1.0], [2.0, 2.0], [2.0, 0.0]])
    np.testing.assert_allclose(geometric_median(cross).numpy(), [2.0, 1.0], atol=1e-5)


def test_init_from_data_sets_the_pre_encoder_bias() -> None:
    model = _model(dim=2)
    sample = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [10.0, 0.0]])
    init_from_data(model, sample, "mean")
    np.testing.assert_allclose(model.b_pre.detach().numpy(), [3.2, 0.0], atol=1e-6)
    # the scale: RMS per dimension around the centre (unit-variance units inside the model)
    rms = np.sqrt(((sample - [3.2, 0.0]) ** 2).mean())
    assert float(model.input_scale) == pytest.approx(rms, rel=1e-6)
    init_from_data(model, sample, "geometric_median")
    np.testing.assert_allclose(model.b_pre.detach().numpy(), [2.0, 0.0], atol=1e-4)
    with pytest.raises(SAEError, match="x_sample"):
        init_from_data(model, np.zeros((3, 5)))
    with pytest.raises(SAEError, match="method"):
        init_from_data(model, sample, "median")


def test_dead_latent_buffer_counts_steps_since_firing() -> None:
    model = _model(n_concepts=4)
    fire = torch.tensor
    model.record_firing(fire([[1.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0]]))
    model.record_firing(fire([[1.0, 0.0, 0.0, 0.0]]))
    model.record_firing(fire([[0.0, 0.0, 2.0, 0.0]]))
    assert model.steps_since_fired.tolist() == [1, 2, 0, 3]
    assert model.dead_mask(2).tolist() == [False, True, False, True]
    assert model.dead_mask(3).tolist() == [False, False, False, True]
    assert "steps_since_fired" in model.state_dict()  # checkpointed with the weights


def test_auxk_codes_choose_only_dead_latents() -> None:
    pre = torch.tensor([[9.0, 1.0, 3.0, 2.0, -1.0], [9.0, -4.0, -3.0, 0.5, 8.0]])
    dead = torch.tensor([False, True, True, True, False])
    codes = auxk_codes(pre, dead, k_aux=2)
    expected = torch.tensor([[0.0, 0.0, 3.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.5, 0.0]])
    assert torch.equal(codes, expected)
    assert torch.count_nonzero(auxk_codes(pre, torch.zeros(5, dtype=torch.bool), 2)) == 0
    assert torch.equal(auxk_codes(pre, dead, k_aux=50)[0], torch.tensor([0, 1.0, 3, 2, 0]))


def test_concept_model_wraps_the_sae_in_numpy() -> None:
    model = _model(activation="topk", k=3)
    with torch.no_grad():
        model.W_dec.mul_(2.0)  # atoms are unit rows even if the decoder is not
    wrapped = SAEConceptModel(model, batch_size=3)
    assert isinstance(wrapped, ConceptModel) and wrapped.n_concepts == 10
    atoms = wrapped.atoms
    assert atoms.shape == (10, 6) and atoms.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(atoms, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(atoms, model.W_dec.detach().T.numpy() / 2.0, atol=1e-6)
    x = np.random.default_rng(6).normal(size=(10, 6)).astype(np.float64)
    codes = wrapped.encode(x)
    assert codes.dtype == np.float32 and codes.shape == (10, 10)
    with torch.no_grad():
        out = model(torch.from_numpy(x.astype(np.float32)))
    np.testing.assert_allclose(codes, out.codes.numpy(), atol=1e-6)
    np.testing.assert_allclose(wrapped.decode(codes), out.x_hat.numpy(), atol=1e-5)
    with pytest.raises(SAEError, match="x: expected an array of shape"):
        wrapped.encode(np.zeros((2, 5)))


def test_invalid_construction_is_refused() -> None:
    with pytest.raises(SAEError, match="activation"):
        SparseAutoencoder(4, 8, "gelu")
    with pytest.raises(SAEError, match="k: Top-K"):
        SparseAutoencoder(4, 8, "topk", k=9)
    with pytest.raises(SAEError, match="n_concepts"):
        SparseAutoencoder(4, 0)
    with pytest.raises(SAEError, match=r"x: expected shape \(n, 4\)"):
        SparseAutoencoder(4, 8)(torch.zeros(2, 3))
