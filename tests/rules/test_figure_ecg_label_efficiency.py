"""Rule figure_ecg_label_efficiency: a PNG of macro AUROC vs label fraction."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np


def test_figure_ecg_label_efficiency(runner, built_branch) -> None:
    runner.stage(built_branch("ecg").workdir, ["results/ecg/synthetic/summary.csv"])
    (png,) = runner.run_rule("figure_ecg_label_efficiency", ["results/figures/ecg_label_efficiency.png"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(png)
    assert image.shape[0] >= 400 and image.shape[1] >= 600
    assert np.std(image[..., :3]) > 0.05
    assert runner.path("results/logs/figures/ecg_label_efficiency.log").read_text().strip()
