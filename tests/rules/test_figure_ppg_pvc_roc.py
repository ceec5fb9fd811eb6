"""Rule figure_ppg_pvc_roc: a PNG with ROC and PR panels, HiMAE against its floors."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np

OUT = "results/ppg/synthetic/probes/pvc"


def test_figure_ppg_pvc_roc(runner, built_branch) -> None:
    runner.stage(built_branch("ppg").workdir, [f"{OUT}/predictions.csv", f"{OUT}/metrics.json"])
    (png,) = runner.run_rule("figure_ppg_pvc_roc", ["results/figures/ppg_pvc_roc.png"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(png)
    assert image.shape[0] >= 400 and image.shape[1] >= 900  # two panels at 120 dpi
    assert np.std(image[..., :3]) > 0.05  # not blank
    assert runner.path("results/logs/figures/ppg_pvc_roc.log").read_text().strip()
    # the floors are drawn: their colours (C1 orange, C2 green) are in the image
    rgb = (image[..., :3] * 255).astype(int)
    for colour in ((255, 127, 14), (44, 160, 44)):
        assert (np.abs(rgb - colour).sum(axis=-1) < 30).sum() > 200, colour
