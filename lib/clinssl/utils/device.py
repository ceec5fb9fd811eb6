"""Device selection: CUDA when present, else CPU, overridable by config.

Workflow rules run unchanged on a laptop and on a GPU node; the config value ``device``
(``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``) lets a user force one. Asking for CUDA where
there is none is an error rather than a silent fallback, so a cluster job that lost its
GPU fails loudly instead of training for days on CPU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

VALID_PREFIXES = ("auto", "cpu", "cuda")


def select_device(requested: str = "auto") -> torch.device:
    """Return the ``torch.device`` to use for ``requested`` (see module docstring)."""
    import torch

    if not isinstance(requested, str) or not requested.startswith(VALID_PREFIXES):
        raise ValueError(
            f"config key 'device': expected 'auto', 'cpu', 'cuda' or 'cuda:N', got {requested!r}"
        )
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"config key 'device' is {requested!r} but CUDA is not available on this "
                "machine; set device: auto or cpu"
            )
        return torch.device(requested)
    return torch.device("cpu")


def autocast_dtype(device: torch.device, enabled: bool = True) -> torch.dtype | None:
    """bf16 autocast on CUDA devices that support it; ``None`` (no autocast) elsewhere.

    CPU training stays in float32 so CPU runs are reproducible to the metric.
    """
    import torch

    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
