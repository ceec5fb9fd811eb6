"""PCA/ICA/NMF baselines behind the ConceptModel interface: reconstruction, caps, NMF shift,
ICA source recovery, determinism and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from clinssl.stsae.baselines import BaselineError, BaselineModel, fit_baseline
from clinssl.stsae.concepts import ConceptModel, reconstruct
from clinssl.stsae.evaluation import explained_variance, match_atoms


def _low_rank(n: int, d: int, rank: int, seed: int) -> np.ndarray:
    """(n, d) float32 data of exact rank ``rank`` around a non-zero mean."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, d)) + rng.normal(size=d) * 3
    return x.astype(np.float32)


def test_pca_with_k_at_least_rank_reconstructs_exactly_and_records_cap():
    x = _low_rank(200, 20, rank=5, seed=0)
    model = fit_baseline("pca", x, n_components=64, seed=0)
    assert isinstance(model, ConceptModel)
    assert (model.method, model.requested_concepts, model.n_concepts) == ("pca", 64, 20)
    assert explained_variance(x, reconstruct(model, x)) == pytest.approx(1.0, abs=1e-6)
    codes = model.encode(x)
    assert codes.dtype == np.float32 and codes.shape == (200, 20)
    assert model.atoms.dtype == np.float32 and model.atoms.shape == (20, 20)
    np.testing.assert_allclose(np.linalg.norm(model.atoms, axis=1), 1.0, atol=1e-6)


def test_pca_with_k_below_rank_does_not_reconstruct_exactly():
    x = _low_rank(200, 20, rank=5, seed=0)
    model = fit_baseline("pca", x, n_components=3, seed=0)
    assert model.n_concepts == 3
    assert explained_variance(x, reconstruct(model, x)) < 0.99


def test_pca_cap_is_number_of_training_rows_when_fewer_than_d():
    x = np.random.default_rng(1).normal(size=(10, 30)).astype(np.float32)
    assert fit_baseline("pca", x, n_components=50, seed=0).n_concepts == 10


def test_ica_cap_is_numerical_rank_and_nmf_is_capped_at_d():
    x = _low_rank(300, 20, rank=5, seed=2)
    ica = fit_baseline("ica", x, n_components=64, seed=0)
    assert (ica.requested_concepts, ica.n_concepts) == (64, 5)
    assert np.all(np.isfinite(ica.atoms))
    nmf = fit_baseline("nmf", x, n_components=32, seed=0, max_iter=50)
    assert (nmf.requested_concepts, nmf.n_concepts) == (32, 20) and nmf.atoms.shape == (20, 20)


def test_ica_recovers_planted_mixing_directions():
    rng = np.random.default_rng(3)
    sources = np.column_stack([rng.laplace(size=3000), rng.uniform(-1, 1, 3000),
                               rng.exponential(size=3000), rng.laplace(size=3000) ** 3])
    mixing = rng.normal(size=(8, 4))  # column j: where source j moves the embedding
    x = (sources @ mixing.T).astype(np.float32)
    model = fit_baseline("ica", x, n_components=4, seed=0)
    score, _ = match_atoms(model.atoms, mixing.T)
    assert score >= 0.9
    pca_score, _ = match_atoms(fit_baseline("pca", x, 4, seed=0).atoms, mixing.T)
    assert pca_score < score  # orthogonal PCA directions cannot all match a skewed mixing


def test_nmf_shift_handles_negative_inputs_and_decode_undoes_it():
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(300, 6)) - 5.0).astype(np.float32)  # entirely negative
    model = fit_baseline("nmf", x, n_components=6, seed=0, max_iter=1000)
    np.testing.assert_allclose(model.shift, x.min(axis=0).astype(np.float64))
    codes = model.encode(x)
    assert codes.min() >= 0.0 and codes.dtype == np.float32
    x_hat = model.decode(codes)
    assert explained_variance(x, x_hat) > 0.99
    assert np.abs(x_hat - x).mean() < 0.1


def test_nmf_encode_clips_rows_below_the_training_minimum():
    x = np.random.default_rng(5).uniform(0, 1, size=(100, 4)).astype(np.float32)
    model = fit_baseline("nmf", x, n_components=4, seed=0)
    below = model.shift[None, :].astype(np.float32) - 10.0
    np.testing.assert_array_equal(model.encode(below), model.encode(model.shift[None, :]))


@pytest.mark.parametrize("name", ["pca", "ica", "nmf"])
def test_same_seed_gives_identical_atoms(name):
    x = _low_rank(150, 10, rank=10, seed=6)
    a = fit_baseline(name, x, n_components=16, seed=7, max_iter=100)
    b = fit_baseline(name, x, n_components=16, seed=7, max_iter=100)
    np.testing.assert_array_equal(a.atoms, b.atoms)
    np.testing.assert_array_equal(a.encode(x), b.encode(x))


def test_nmf_asked_for_an_overcomplete_dictionary_fits_d_atoms():
    x = _low_rank(150, 10, rank=10, seed=6)
    over = fit_baseline("nmf", x, n_components=16, seed=1, max_iter=20)
    square = fit_baseline("nmf", x, n_components=10, seed=1, max_iter=20)
    np.testing.assert_array_equal(over.atoms, square.atoms)


def test_bad_inputs_raise_value_errors_naming_the_field():
    x = _low_rank(50, 5, rank=5, seed=8)
    with pytest.raises(ValueError, match="name"):
        fit_baseline("svd", x, 4, seed=0)
    with pytest.raises(BaselineError, match="n_components"):
        fit_baseline("pca", x, 0, seed=0)
    with pytest.raises(BaselineError, match="x_train"):
        fit_baseline("pca", x[:, :, None], 4, seed=0)
    model = fit_baseline("pca", x, 4, seed=0)
    assert isinstance(model, BaselineModel)
    with pytest.raises(BaselineError, match="codes"):
        model.decode(np.zeros((3, 5), dtype=np.float32))
