"""PaPaGei wrapper with a stand-in model of the same call signature (``tests/ppg_standins.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ppg_standins import write_papagei_clone

from clinssl.ppg.papagei import PaPaGeiEncoder, load_papagei, preprocess


@pytest.fixture
def clone(tmp_path):
    repo, weights = tmp_path / "papagei", tmp_path / "papagei_s.pt"
    return repo, weights, write_papagei_clone(repo, weights)


def test_loads_weights_with_ddp_prefix_and_returns_output_zero(clone) -> None:
    repo, weights, ref = clone
    model = load_papagei(repo, weights)
    assert not model.training
    enc = PaPaGeiEncoder(model, torch.device("cpu"))
    assert enc.dim == 512
    x = np.random.default_rng(0).normal(size=(3, 1250)).astype(np.float32)
    z = enc.encode(x)
    with torch.no_grad():
        expected = ref.eval()(torch.from_numpy(preprocess(x)).unsqueeze(1))[0].numpy()
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-6)
    enc3 = PaPaGeiEncoder(model, torch.device("cpu"), output_index=3)
    assert enc3.dim == 32  # output 3 of the stand-in: the pooled feature


def test_missing_paths_name_the_config_keys(clone, tmp_path) -> None:
    repo, weights, _ = clone
    with pytest.raises(FileNotFoundError, match=r"ppg\.papagei\.repo.*not set"):
        load_papagei(None, weights)
    with pytest.raises(FileNotFoundError, match=r"ppg\.papagei\.weights.*not found"):
        load_papagei(repo, tmp_path / "nope.pt")


def test_mismatched_weights_are_a_clear_error(clone, tmp_path) -> None:
    repo, _, _ = clone
    torch.save({"something.else": torch.zeros(1)}, tmp_path / "w.pt")
    with pytest.raises(ValueError, match=r"w\.pt.*do not match"):
        load_papagei(repo, tmp_path / "w.pt")


def test_preprocessing_is_bandpassed_and_zscored() -> None:
    t = np.arange(1250) / 125.0
    x = (5 + 3 * np.sin(2 * np.pi * 1.2 * t) + 2 * t)[None, :]  # offset + drift + pulse
    y = preprocess(x)
    assert y.dtype == np.float32 and abs(y.mean()) < 1e-5 and abs(y.std() - 1) < 1e-4
    ref = np.sin(2 * np.pi * 1.2 * t)
    assert np.corrcoef(y[0, 100:-100], ref[100:-100])[0, 1] > 0.95  # drift removed
    with pytest.raises(ValueError, match="1250"):
        preprocess(np.zeros((1, 1000)))
