"""PaPaGei-S as a frozen PPG encoder, loaded from the user's clone of its public repository.

Why a wrapper and not a copy: PaPaGei's code and weights belong to Nokia Bell Labs (BSD-3)
and are fetched by the user (no runtime downloads here). The wrapper imports
``models.resnet.ResNet1DMoE`` from the clone (config ``ppg.papagei.repo``), builds PaPaGei-S
(base_filters 32, kernel 3, stride 2, 18 blocks, 512 classes, 3 experts; reference §1.1),
loads ``papagei_s.pt`` as a plain state_dict with DDP's ``module.`` prefix removed (strict,
as upstream), and returns **output 0** of the 4-tuple forward — the 512-d ``dense`` output
the authors use as the embedding (reference §1.4; the upstream README mislabels the tuple).

Preprocessing (reference §1.3): 125 Hz, 10 s (1250 samples); Chebyshev-II band-pass
0.5–12 Hz (order 4, 20 dB stop-band, zero-phase), 50 ms moving average (pyPPG's smoothing),
then per-window z-score. pyPPG itself is AGPL and not required; this is the same filter
family with scipy.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import signal as sps
from torch import nn

PAPAGEI_S_KWARGS: dict[str, Any] = {
    "in_channels": 1,
    "base_filters": 32,
    "kernel_size": 3,
    "stride": 2,
    "groups": 1,
    "n_block": 18,
    "n_classes": 512,
    "n_experts": 3,
}
PAPAGEI_FS = 125.0
PAPAGEI_SAMPLES = 1250


def _require(path: str | os.PathLike[str] | None, key: str, what: str) -> Path:
    if not path:
        raise FileNotFoundError(
            f"encoder 'papagei' needs config key {key} ({what}); it is not set. Clone "
            "https://github.com/Nokia-Bell-Labs/papagei-foundation-model and download "
            "papagei_s.pt from Zenodo record 13983110 (see README, 'Using real data')"
        )
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"config key {key} = {str(p)!r}: {what} not found")
    return p


def load_papagei(
    repo: str | os.PathLike[str] | None,
    weights: str | os.PathLike[str] | None,
    module: str = "models.resnet",
    class_name: str = "ResNet1DMoE",
    model_kwargs: dict[str, Any] | None = None,
) -> nn.Module:
    """Build the model class from the clone at ``repo`` and load ``weights`` (eval mode)."""
    repo_path = _require(repo, "ppg.papagei.repo", "the PaPaGei repository clone")
    weights_path = _require(weights, "ppg.papagei.weights", "the papagei_s.pt checkpoint")
    sys.path.insert(0, str(repo_path))
    try:
        for name in [
            m
            for m in sys.modules
            if m == module.split(".")[0] or m.startswith(module.split(".")[0] + ".")
        ]:
            del sys.modules[name]  # a different clone may have been imported before
        cls = getattr(importlib.import_module(module), class_name)
    except (ImportError, AttributeError) as err:
        raise ImportError(
            f"{repo_path}: cannot import {module}.{class_name} (ppg.papagei.module/class_name): {err}"
        ) from err
    finally:
        sys.path.remove(str(repo_path))
    model = cls(**(model_kwargs or PAPAGEI_S_KWARGS))
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{weights_path}: weights do not match {class_name}: {err}") from err
    return model.eval()


def preprocess(x: np.ndarray, fs: float = PAPAGEI_FS, smoothing_ms: float = 50.0) -> np.ndarray:
    """Band-pass (Chebyshev II, 0.5–12 Hz), smooth, z-score each row of ``x`` (k, 1250)."""
    if x.shape[-1] != PAPAGEI_SAMPLES or abs(fs - PAPAGEI_FS) > 1e-9:
        raise ValueError(
            f"PaPaGei expects 10-s windows at {PAPAGEI_FS:g} Hz ({PAPAGEI_SAMPLES} samples), "
            f"got {x.shape[-1]} samples at {fs:g} Hz"
        )
    sos = sps.cheby2(4, 20, [0.5, 12.0], btype="bandpass", fs=fs, output="sos")
    y = sps.sosfiltfilt(sos, np.asarray(x, dtype=np.float64), axis=-1)
    width = max(1, int(round(smoothing_ms / 1000.0 * fs)))
    if width > 1:
        kernel = np.ones(width) / width
        y = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), -1, y)
    mu = y.mean(axis=-1, keepdims=True)
    sd = y.std(axis=-1, keepdims=True)
    return ((y - mu) / np.where(sd > 0, sd, 1.0)).astype(np.float32)


class PaPaGeiEncoder:
    """Frozen PaPaGei: ``encode(windows at 125 Hz) -> (k, 512)`` (output ``output_index``)."""

    fs = PAPAGEI_FS

    def __init__(self, model: nn.Module, device: torch.device, output_index: int = 0,
                 amp_dtype: torch.dtype | None = None) -> None:  # fmt: skip
        self.model = model.to(device).eval()
        self.device = device
        self.output_index = output_index
        self.amp_dtype = amp_dtype
        with torch.inference_mode():
            probe = self._forward(torch.zeros(1, 1, PAPAGEI_SAMPLES, device=device))
        self.dim = int(probe.shape[-1])

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        if isinstance(out, tuple | list):
            out = out[self.output_index]
        return out.reshape(out.shape[0], -1)

    @torch.inference_mode()
    def encode(self, windows: np.ndarray | torch.Tensor) -> np.ndarray:
        """Embeddings of (k, 1250) windows (a tensor is preprocessed on CPU, see ``preprocess``)."""
        if isinstance(windows, torch.Tensor):
            windows = windows.detach().cpu().numpy()
        x = torch.from_numpy(preprocess(windows)).unsqueeze(1).to(self.device)
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32,
                            enabled=self.amp_dtype is not None):  # fmt: skip
            z = self._forward(x)
        return z.float().cpu().numpy()
