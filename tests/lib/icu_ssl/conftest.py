"""Toy ICU tensors with planted structure (shape of the data branch's contract).

A latent severity per stay shifts every observed value and raises the observation rate;
the binary tasks are noisy thresholds of severity and LOS grows with it, so an encoder that
summarises the series can predict them (AUROC well above chance) while a constant cannot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from clinssl.icu.benchmark import SplitTensors

T, D = 24, 6


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """One intra-op thread: on a shared 2-core CI machine more threads only spin and wait."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def make_split(n: int, seed: int, offset: int = 0) -> tuple[SplitTensors, np.ndarray]:
    rng = np.random.default_rng(seed)
    severity = rng.normal(0, 1, n)
    rate = 0.25 + 0.1 * np.tanh(severity)[:, None, None]
    mask = rng.random((n, T, D)) < rate
    mask[:, 0, 0] = True  # every stay has at least one observation
    trend = np.linspace(0, 1, T)[None, :, None]
    values = severity[:, None, None] * (1 + trend) + rng.normal(0, 0.7, (n, T, D))
    values = np.where(mask, values, 0.0).astype(np.float32)
    labels = pd.DataFrame(
        {
            "mortality_24h": (severity + rng.normal(0, 0.6, n) > 1.0).astype(float),
            "mortality_hospital": (severity + rng.normal(0, 0.6, n) > 0.8).astype(float),
            "aki_kdigo": np.where(
                rng.random(n) < 0.1, np.nan, (severity + rng.normal(0, 0.6, n) > 0.5).astype(float)
            ),
            "los_remaining": np.exp(0.4 * severity + rng.normal(0, 0.3, n)),
        }
    )
    ids = np.arange(offset, offset + n)
    return SplitTensors(values, mask, ids, ids // 2, labels), severity


@pytest.fixture(scope="session")
def toy_splits() -> dict[str, SplitTensors]:
    return {
        "train": make_split(320, 1, 0)[0],
        "val": make_split(120, 2, 10_000)[0],
        "test": make_split(160, 3, 20_000)[0],
    }
