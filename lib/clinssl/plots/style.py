"""One place for how figures are drawn and written.

Why: figures are built by batch jobs on machines without a display, so the backend is
``Agg``; a figure is written to a temporary name and renamed, so a killed job never leaves a
half-written PNG that looks complete; and every figure has the same resolution.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from clinssl.utils.atomic import atomic_path  # noqa: E402

__all__ = ["DPI", "plt", "save_figure"]

DPI = 120


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` as PNG to ``path`` atomically, then close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    plt.close(fig)
