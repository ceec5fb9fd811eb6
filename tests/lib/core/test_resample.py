"""The torch polyphase resampler equals scipy.signal.resample_poly (float32 rounding)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import resample_poly as scipy_resample_poly

from clinssl.io.signal import resample as numpy_resample
from clinssl.nn.resample import resample_poly, resample_to


@pytest.mark.parametrize(("up", "down"), [(1, 2), (4, 5), (5, 4), (2, 1), (3, 7), (4, 10)])
@pytest.mark.parametrize("n", [1250, 999])
def test_matches_scipy(up: int, down: int, n: int) -> None:
    rng = np.random.default_rng(up * 100 + down)
    t = np.arange(n) / 125.0
    x = np.sin(2 * np.pi * 1.3 * t)[None] + 0.3 * rng.normal(size=(3, n))
    expected = scipy_resample_poly(x, up, down, axis=1)
    got = resample_poly(torch.as_tensor(x, dtype=torch.float32), up, down).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=2e-5 * np.abs(expected).max())
    again = resample_poly(torch.as_tensor(x, dtype=torch.float64), up, down).numpy()
    np.testing.assert_allclose(again, expected, atol=1e-10)


def test_resample_to_matches_the_numpy_path_and_keeps_the_device() -> None:
    x = np.random.default_rng(0).normal(size=(4, 1250))
    expected = numpy_resample(x, 125.0, 62.5, 625)
    got = resample_to(torch.as_tensor(x), 125.0, 62.5, 625)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-10)
    padded = resample_to(torch.as_tensor(x), 125.0, 125.0, 1300)
    assert padded.shape == (4, 1300) and torch.equal(padded[:, -1], padded[:, 1249])
    assert resample_to(torch.as_tensor(x), 125.0, 100.0, 1000).shape == (4, 1000)
    if torch.cuda.is_available():  # pragma: no cover - GPU machines only
        on_gpu = resample_to(torch.as_tensor(x, device="cuda"), 125.0, 62.5, 625)
        assert on_gpu.device.type == "cuda"
        np.testing.assert_allclose(on_gpu.cpu().numpy(), expected, atol=1e-6)
