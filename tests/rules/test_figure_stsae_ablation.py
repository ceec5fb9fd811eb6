"""Rule figure_stsae_ablation: a PNG drawn from the ST-SAE results (its own target)."""

from __future__ import annotations

from figurerules import check_figure
from stsaeinputs import ROOT


def test_figure_stsae_ablation(runner, built_branch) -> None:
    check_figure(runner, "figure_stsae_ablation", built_branch("stsae").workdir, [f"{ROOT}/leaderboard.json"])
