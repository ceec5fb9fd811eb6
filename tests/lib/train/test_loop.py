"""Unit tests of the shared training loop: learning, schedule, early stopping, resume."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from clinssl.train import TrainConfig, fit, load_model_file, save_model_file
from clinssl.train.checkpoint import load_checkpoint
from clinssl.train.loop import lr_factor
from clinssl.utils import seed_everything


def _data(n: int = 256) -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + 0.05 * torch.randn(n, generator=g)
    return TensorDataset(x, y)


def _mse(model: nn.Module, batch, device: torch.device) -> torch.Tensor:
    x, y = (t.to(device) for t in batch)
    return nn.functional.mse_loss(model(x).squeeze(-1), y)


def _model(seed: int = 0) -> nn.Module:
    seed_everything(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.1), nn.Linear(8, 1))


CFG = dict(epochs=6, batch_size=32, lr=1e-2, device="cpu", seed=3, warmup_epochs=1)


def test_loss_decreases() -> None:
    result = fit(_model(), _mse, _data(), TrainConfig(**CFG))
    losses = [h["train_loss"] for h in result.history]
    assert result.epochs_run == 6 and losses[-1] < 0.5 * losses[0]
    assert all(h["samples_per_s"] > 0 for h in result.history)


def test_training_is_reproducible() -> None:
    a, b = _model(), _model()
    fit(a, _mse, _data(), TrainConfig(**CFG))
    fit(b, _mse, _data(), TrainConfig(**CFG))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


class _Killed(Exception):
    pass


def test_resume_after_kill_matches_uninterrupted_run(tmp_path) -> None:
    reference = _model()
    fit(reference, _mse, _data(), TrainConfig(**CFG))

    ckpt = tmp_path / "ckpt" / "run.ckpt"
    steps_per_epoch = 256 // 32

    def kill_in_epoch_4(model, step, total):
        if step == 3 * steps_per_epoch + 2:
            raise _Killed

    killed = _model()
    with pytest.raises(_Killed):
        fit(
            killed, _mse, _data(), TrainConfig(**CFG), checkpoint_path=ckpt, on_step=kill_in_epoch_4
        )
    state = load_checkpoint(ckpt)
    assert state is not None and state["epoch"] == 3

    resumed = _model(seed=99)  # fresh process: different init, all restored from the checkpoint
    result = fit(resumed, _mse, _data(), TrainConfig(**CFG), checkpoint_path=ckpt)
    assert result.resumed_from_epoch == 3 and result.epochs_run == 6
    for pa, pb in zip(reference.parameters(), resumed.parameters(), strict=True):
        assert torch.allclose(pa, pb, atol=1e-6)
    assert not ckpt.exists()  # removed after success: a deliberate rerun starts fresh


def test_checkpoint_with_other_config_is_ignored(tmp_path) -> None:
    ckpt = tmp_path / "run.ckpt"

    def kill(model, step, total):
        if step == 10:
            raise _Killed

    with pytest.raises(_Killed):
        fit(_model(), _mse, _data(), TrainConfig(**CFG), checkpoint_path=ckpt, on_step=kill)
    assert ckpt.exists()
    result = fit(_model(), _mse, _data(), TrainConfig(**{**CFG, "lr": 5e-3}), checkpoint_path=ckpt)
    assert result.resumed_from_epoch == 0 and result.epochs_run == 6


def test_early_stopping_restores_best_weights() -> None:
    metrics = iter([0.5, 0.9, 0.7, 0.6, 0.95, 0.99])
    snapshots = []

    def val_fn(model):
        snapshots.append([p.detach().clone() for p in model.parameters()])
        return next(metrics)

    model = _model()
    result = fit(model, _mse, _data(), TrainConfig(**{**CFG, "patience": 2}), val_fn=val_fn)
    assert result.stopped_early and result.epochs_run == 4
    assert result.best_epoch == 2 and result.best_metric == 0.9
    for p, best in zip(model.parameters(), snapshots[1], strict=True):
        assert torch.equal(p, best)
    # the last epoch's weights are kept for callers that save the latest model too
    last = [result.last_state[name] for name, _ in model.named_parameters()]
    for p, final in zip(last, snapshots[3], strict=True):
        assert torch.equal(p, final)


def test_no_last_state_without_a_better_earlier_epoch() -> None:
    assert fit(_model(), _mse, _data(), TrainConfig(**CFG)).last_state is None


def test_minimize_direction() -> None:
    metrics = iter([3.0, 1.0, 2.0])
    result = fit(
        _model(),
        _mse,
        _data(),
        TrainConfig(**{**CFG, "epochs": 3, "maximize": False}),
        val_fn=lambda m: next(metrics),
    )
    assert result.best_epoch == 2 and result.best_metric == 1.0


def test_on_step_sees_every_step() -> None:
    seen = []
    fit(
        _model(),
        _mse,
        _data(64),
        TrainConfig(**{**CFG, "epochs": 2}),
        on_step=lambda m, s, t: seen.append((s, t)),
    )
    assert seen == [(s, 4) for s in range(1, 5)]


def test_non_finite_loss_raises() -> None:
    def bad_loss(model, batch, device):
        return model(batch[0].to(device)).sum() * float("nan")

    with pytest.raises(FloatingPointError, match="non-finite loss"):
        fit(_model(), bad_loss, _data(), TrainConfig(**CFG))


def test_lr_schedule() -> None:
    assert lr_factor(0, 100, 10, "cosine", 0.0) == pytest.approx(0.1)
    assert lr_factor(9, 100, 10, "cosine", 0.0) == pytest.approx(1.0)
    assert lr_factor(10, 100, 10, "cosine", 0.0) == pytest.approx(1.0)
    assert lr_factor(55, 100, 10, "cosine", 0.0) == pytest.approx(0.5)
    assert lr_factor(100, 100, 10, "cosine", 0.1) == pytest.approx(0.1)
    assert lr_factor(50, 100, 0, "constant", 0.0) == 1.0
    assert lr_factor(55, 100, 10, "linear", 0.0) == pytest.approx(0.5)  # HiMAE's reference
    assert lr_factor(100, 100, 10, "linear", 0.1) == pytest.approx(0.1)
    assert lr_factor(5, 100, 10, "linear", 0.0) == pytest.approx(0.6)  # warm-up first
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(epochs=1, schedule="step")
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)


def test_model_file_roundtrip_and_bad_file(tmp_path) -> None:
    model = _model()
    save_model_file(tmp_path / "m.pt", model, {"arch": "mlp", "d": 8})
    state, meta = load_model_file(tmp_path / "m.pt")
    assert meta == {"arch": "mlp", "d": 8}
    other = _model(seed=5)
    other.load_state_dict(state)
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), other.parameters(), strict=True)
    )
    (tmp_path / "bad.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="bad.pt"):
        load_model_file(tmp_path / "bad.pt")
    assert math.isfinite(meta["d"])


def test_checkpoint_of_other_inputs_is_discarded_naming_the_change(tmp_path, caplog) -> None:
    """The repro of a stale resume: a killed job's checkpoint, then an upstream file changes
    and the job reruns with the same settings. It must start over and equal a clean run."""
    from clinssl.train.fingerprint import job_fingerprint

    data_file = tmp_path / "values.npy"
    data_file.write_bytes(b"first version of the upstream output")
    ckpt = tmp_path / "run.ckpt"
    params = {"lr": 1e-2, "paradigm": "mae"}

    def kill(model, step, total):
        if step == 10:
            raise _Killed

    job = job_fingerprint(params, {"values": data_file})
    with pytest.raises(_Killed):
        fit(_model(), _mse, _data(), TrainConfig(**CFG), checkpoint_path=ckpt, on_step=kill,
            fingerprint={"job": job})  # fmt: skip
    assert ckpt.exists()
    data_file.write_bytes(b"second version of the upstream output")
    changed_job = job_fingerprint(params, {"values": data_file})
    with caplog.at_level("WARNING", logger="clinssl.train.loop"):
        stale = _model()
        result = fit(stale, _mse, _data(), TrainConfig(**CFG), checkpoint_path=ckpt,
                     fingerprint={"job": changed_job})  # fmt: skip
    assert result.resumed_from_epoch == 0 and result.epochs_run == 6
    assert "discarding checkpoint" in caplog.text and "caller.job.inputs.values" in caplog.text
    clean = _model()
    fit(clean, _mse, _data(), TrainConfig(**CFG), fingerprint={"job": changed_job})
    for pa, pb in zip(clean.parameters(), stale.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_fingerprint_digests_content_and_names_changes(tmp_path) -> None:
    from clinssl.train.fingerprint import file_digest, fingerprint_changes, job_fingerprint

    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x" * 1000)
    b.write_bytes(b"x" * 1000)
    assert file_digest(a) == file_digest(b) and file_digest(a).startswith("1000:")
    b.write_bytes(b"x" * 999 + b"y")  # same size, other content
    assert file_digest(a) != file_digest(b)
    old = job_fingerprint({"lr": 0.1, "nested": {"k": 1}}, {"x": a, "many": [a, b]})
    new = job_fingerprint({"lr": 0.2, "nested": {"k": 1}}, {"x": b, "many": [a, b]})
    assert fingerprint_changes(old, old) == []
    assert fingerprint_changes(old, new) == ["inputs.x", "params.lr"]


def test_checkpoint_with_a_pickled_callable_is_refused(tmp_path) -> None:
    """A crafted .ckpt under results/ must not run code when a job looks for a checkpoint."""
    import os
    import pickle

    from clinssl.train.checkpoint import UnsafeCheckpointError

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    ckpt = tmp_path / "evil.ckpt"
    torch.save({"epoch": 1, "payload": Payload()}, ckpt, pickle_module=pickle)
    with pytest.raises(UnsafeCheckpointError, match="evil.ckpt.*refusing"):
        load_checkpoint(ckpt)
    with pytest.raises(UnsafeCheckpointError, match="evil.ckpt"):
        fit(_model(), _mse, _data(), TrainConfig(**CFG), checkpoint_path=ckpt)
    with pytest.raises(UnsafeCheckpointError, match="evil.ckpt"):
        load_model_file(ckpt)
    assert not marker.exists()


def test_model_files_of_identical_content_are_identical_bytes(tmp_path) -> None:
    model = _model()
    save_model_file(tmp_path / "a" / "model.pt", model, {"arch": "mlp"})
    save_model_file(tmp_path / "b" / "other_name.pt", model, {"arch": "mlp"})
    assert (tmp_path / "a" / "model.pt").read_bytes() == (tmp_path / "b" / "other_name.pt").read_bytes()


def test_checkpoint_roundtrip_restores_every_rng(tmp_path) -> None:
    import random

    import numpy as np

    from clinssl.train.checkpoint import rng_state, save_checkpoint, set_rng_state

    seed_everything(11)
    save_checkpoint(tmp_path / "rng.ckpt", {"rng": rng_state()})
    expected = (random.random(), np.random.random(), torch.rand(1).item())
    seed_everything(12)
    set_rng_state(load_checkpoint(tmp_path / "rng.ckpt")["rng"])
    assert (random.random(), np.random.random(), torch.rand(1).item()) == expected
