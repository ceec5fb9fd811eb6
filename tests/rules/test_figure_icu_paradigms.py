"""Rule figure_icu_paradigms: a PNG of the paradigm comparison drawn from the summary alone."""

from __future__ import annotations

import matplotlib.image as mpimg

DATA = "results/icu/synthetic"


def test_figure_icu_paradigms(runner, built_branch) -> None:
    runner.stage(built_branch("icu").workdir, [f"{DATA}/ssl/summary.csv"])
    (png,) = runner.run_rule("figure_icu_paradigms", ["results/figures/icu_paradigms.png"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(png)
    height, width = image.shape[:2]
    assert width > 2 * height  # one panel per task, side by side
    assert image[..., :3].std() > 0.05  # not blank
    assert runner.path("results/logs/figures/icu_paradigms.log").read_text()
