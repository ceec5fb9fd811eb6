"""Rule figure_stsae_ablation: a PNG drawn from the ST-SAE results (its own target)."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np

from stsaeinputs import ROOT


def test_figure_stsae_ablation(runner, built_branch) -> None:
    runner.stage(built_branch("stsae").workdir, [f"{ROOT}/leaderboard.json"])
    (png,) = runner.run_rule("figure_stsae_ablation", ["results/figures/stsae_ablation.png"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(png)
    assert image.shape[0] >= 300 and image.shape[1] >= 300
    assert np.std(image[..., :3]) > 0.05
    assert runner.path("results/logs/figures/stsae_ablation.log").read_text().strip()
