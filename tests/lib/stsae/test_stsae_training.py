"""Triplet data, SAE training on a planted sparse dictionary, determinism and model files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from clinssl.stsae import models, training
from clinssl.stsae.losses import LossWeights
from clinssl.stsae.models import SAEConceptModel, SAEError
from clinssl.stsae.training import (
    SAEConfigError,
    SAETrainConfig,
    TripletDataset,
    collate_triplets,
    load_sae,
    save_sae,
    train_sae,
    variant_config,
)


def _planted(n: int = 2000, dim: int = 32, n_atoms: int = 64, active: int = 3):
    """x = codes @ atoms with ``active``-sparse non-negative codes; records of 10 windows."""
    rng = np.random.default_rng(0)
    atoms = rng.normal(size=(n_atoms, dim))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    codes = np.zeros((n, n_atoms))
    for row in range(n):
        chosen = rng.choice(n_atoms, size=active, replace=False)
        codes[row, chosen] = rng.uniform(0.5, 1.5, size=active)
    z = (codes @ atoms).astype(np.float32)
    z_aug = (z + 0.01 * rng.normal(size=z.shape)).astype(np.float32)
    next_index = np.arange(1, n + 1, dtype=np.int64)
    next_index[9::10] = -1
    return z, z_aug, next_index, np.arange(n)


PLANTED = _planted()


def _explained_variance(model, z: np.ndarray) -> float:
    wrapped = SAEConceptModel(model)
    residual = z - wrapped.decode(wrapped.encode(z))
    return 1.0 - float(np.sum(residual**2) / np.sum((z - z.mean(axis=0)) ** 2))


def _config(**changes) -> SAETrainConfig:
    base = SAETrainConfig(
        n_concepts=64, activation="relu", k=8,
        weights=LossWeights(sparsity=1e-3, stability=0.1, smoothness=0.01, auxk=1 / 32),
        epochs=20, batch_size=64, lr=0.02, seed=0, init_rows=500, dead_steps=50, k_aux=16,
        device="cpu",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def test_triplets_exclude_successors_outside_the_training_rows() -> None:
    z = np.arange(12, dtype=np.float32).reshape(6, 2)
    z_aug = -z
    next_index = np.array([1, 2, -1, 4, 5, -1])
    rows = np.array([0, 1, 3, 5])  # 2 and 4 failed QC / are in another split
    dataset = TripletDataset(z, z_aug, next_index, rows)
    assert len(dataset) == 4
    has_next = [bool(dataset[i].has_next) for i in range(4)]
    assert has_next == [True, False, False, False]  # 0→1 ok; 1→2 and 3→4 leave the rows
    item = dataset[0]
    assert torch.equal(item.z, torch.tensor([0.0, 1.0])) and item.z.dtype == torch.float32
    assert torch.equal(item.z_next, torch.tensor([2.0, 3.0]))
    assert torch.equal(item.z_aug, torch.tensor([-0.0, -1.0]))
    assert torch.equal(dataset[1].z_next, torch.zeros(2))
    batch = dataset.__getitems__([3, 0, 2])
    assert torch.equal(batch.z, torch.from_numpy(z[[5, 0, 3]]))
    assert batch.has_next.tolist() == [False, True, False]


def test_triplets_read_memmaps_through_the_loop_dataloader(tmp_path) -> None:
    z, z_aug, next_index, rows = PLANTED
    path = tmp_path / "z.npy"
    np.save(path, z)
    z_map = np.load(path, mmap_mode="r")
    dataset = TripletDataset(z_map, z_aug, next_index, rows[::2])
    assert dataset.z is z_map  # indexed lazily, not copied
    loader = DataLoader(dataset, batch_size=64, shuffle=True, collate_fn=collate_triplets,
                        generator=torch.Generator().manual_seed(0))  # fmt: skip
    batch = next(iter(loader))
    assert batch.z.shape == (64, 32) and batch.z_next.shape == (64, 32)
    assert batch.has_next.dtype == torch.bool and not batch.has_next.any()  # odd rows absent
    assert collate_triplets([dataset[0], dataset[1]]).z.shape == (2, 32)


def test_triplet_inputs_are_validated() -> None:
    z = np.zeros((5, 2), dtype=np.float32)
    nxt = np.full(5, -1)
    with pytest.raises(SAEError, match="next_index: values"):
        TripletDataset(z, z, np.array([1, 2, 3, 4, 5]), np.arange(5))
    with pytest.raises(SAEError, match="z_aug: expected the shape"):
        TripletDataset(z, z[:4], nxt, np.arange(5))
    with pytest.raises(SAEError, match="rows: contains duplicates"):
        TripletDataset(z, z, nxt, np.array([0, 0, 1]))
    with pytest.raises(SAEError, match="rows: expected a 1-D integer"):
        TripletDataset(z, z, nxt, np.array([0.0, 1.0]))
    with pytest.raises(SAEError, match="z: expected a 2-D float"):
        TripletDataset(np.zeros((5, 2), dtype=np.int64), z, nxt, np.arange(5))


@pytest.mark.parametrize(("activation", "epochs"), [("relu", 10), ("topk", 15)])
def test_training_recovers_a_planted_sparse_dictionary(activation: str, epochs: int) -> None:
    z, z_aug, next_index, rows = PLANTED
    # planted windows are independent draws, not a slowly changing record: no smoothness
    off = ("smoothness", "sparsity") if activation == "topk" else ("smoothness",)
    config = _config(activation=activation, epochs=epochs)
    config = dataclasses.replace(config, weights=config.weights.without(off))
    model, result = train_sae(z, z_aug, next_index, rows, config)
    assert _explained_variance(model, z) >= 0.9
    assert torch.allclose(model.W_dec.norm(dim=0), torch.ones(64), atol=1e-5)
    assert result.epochs_run == epochs and not model.training
    final = result.history[-1]
    assert final["final_fvu"] <= 0.1
    if activation == "topk":
        assert 7.5 <= final["final_l0"] <= 8.0  # at most k, fewer only where pre-acts < 0


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    z, z_aug, next_index, rows = PLANTED
    config = _config(epochs=2)
    first, _ = train_sae(z, z_aug, next_index, rows, config)
    again, _ = train_sae(z, z_aug, next_index, rows, config)
    other, _ = train_sae(z, z_aug, next_index, rows, dataclasses.replace(config, seed=1))
    for name, value in first.state_dict().items():
        assert torch.equal(value, again.state_dict()[name]), name
    assert not torch.equal(first.W_enc, other.W_enc)
    assert not torch.equal(first.W_dec, other.W_dec)


def test_training_projects_every_gradient_and_renormalises_after_every_step(monkeypatch) -> None:
    z, z_aug, next_index, rows = PLANTED
    calls = {"project": 0, "renorm": 0}
    project, renorm = models.tangent_projection, training.renormalize_decoder

    def counted_projection(grad, W_dec):
        calls["project"] += 1
        return project(grad, W_dec)

    def counted_renorm(model) -> None:
        calls["renorm"] += 1
        renorm(model)

    monkeypatch.setattr(models, "tangent_projection", counted_projection)
    monkeypatch.setattr(training, "renormalize_decoder", counted_renorm)
    model, _ = train_sae(z, z_aug, next_index, rows[:640], _config(epochs=2))  # 20 steps
    assert calls == {"project": 20, "renorm": 21}  # + the final renormalisation
    model.zero_grad()
    model(torch.from_numpy(z[:8])).x_hat.sum().backward()
    assert calls["project"] == 20  # the hook is gone after training


def test_a_killed_run_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch) -> None:
    z, z_aug, next_index, rows = PLANTED
    config = _config(activation="topk", epochs=3, batch_size=64)
    subset = rows[:640]  # 10 steps per epoch
    reference, _ = train_sae(z, z_aug, next_index, subset, config)
    checkpoint = tmp_path / "sae.ckpt"
    steps = {"n": 0}
    original = training.renormalize_decoder

    def dies_in_epoch_three(model) -> None:
        steps["n"] += 1
        if steps["n"] == 25:
            raise KeyboardInterrupt("killed")
        original(model)

    monkeypatch.setattr(training, "renormalize_decoder", dies_in_epoch_three)
    with pytest.raises(KeyboardInterrupt):
        train_sae(z, z_aug, next_index, subset, config, checkpoint_path=checkpoint)
    assert checkpoint.exists()
    monkeypatch.setattr(training, "renormalize_decoder", original)
    resumed, result = train_sae(z, z_aug, next_index, subset, config, checkpoint_path=checkpoint)
    assert result.resumed_from_epoch == 2 and not checkpoint.exists()
    for name, value in reference.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name


def test_save_load_round_trip_gives_identical_codes(tmp_path) -> None:
    z, z_aug, next_index, rows = PLANTED
    config = _config(activation="topk", epochs=1)
    model, _ = train_sae(z, z_aug, next_index, rows[:500], config)
    path = tmp_path / "sae.pt"
    save_sae(path, model, config.to_dict())
    loaded = load_sae(path)
    assert loaded.spec() == {"dim": 32, "n_concepts": 64, "activation": "topk", "k": 8}
    before, after = SAEConceptModel(model).encode(z), SAEConceptModel(loaded).encode(z)
    assert np.array_equal(before, after)
    assert torch.equal(loaded.steps_since_fired, model.steps_since_fired)
    with pytest.raises(SAEError, match="config_dict.weights"):
        save_sae(path, model, {"weights": config.weights})


def test_config_values_are_validated() -> None:
    with pytest.raises(SAEConfigError, match="activation"):
        _config(activation="gelu")
    with pytest.raises(SAEConfigError, match="k: Top-K"):
        _config(activation="topk", k=65)
    with pytest.raises(SAEConfigError, match="lr"):
        _config(lr=0.0)
    with pytest.raises(SAEConfigError, match="epochs"):
        _config(epochs=0)
    with pytest.raises(SAEConfigError, match="init"):
        _config(init="median")
    assert _config(weights={"stability": 2.0}).weights == LossWeights(stability=2.0)


def test_variant_config_switches_activation_and_terms() -> None:
    topk = variant_config(_config(), "topk")
    assert topk.activation == "topk" and topk.weights.sparsity == 0.0
    assert topk.weights.stability == 0.1
    plain = variant_config(_config(), "plain")
    assert plain.activation == "relu" and plain.weights.sparsity == 1e-3
    assert plain.weights.stability == 0.0 and plain.weights.smoothness == 0.0
    with pytest.raises(SAEConfigError, match="variant"):
        variant_config(_config(), "nope")
