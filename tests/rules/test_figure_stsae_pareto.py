"""Rule figure_stsae_pareto: a PNG drawn from the ST-SAE results (its own target)."""

from __future__ import annotations

from figurerules import check_figure
from stsaeinputs import ROOT


def test_figure_stsae_pareto(runner, built_branch) -> None:
    check_figure(runner, "figure_stsae_pareto", built_branch("stsae").workdir, [f"{ROOT}/leaderboard.json"])
