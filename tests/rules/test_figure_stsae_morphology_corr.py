"""Rule figure_stsae_morphology_corr: a PNG drawn from the ST-SAE results (its own target)."""

from __future__ import annotations

from figurerules import check_figure
from stsaeinputs import ROOT


def test_figure_stsae_morphology_corr(runner, built_branch) -> None:
    check_figure(runner, "figure_stsae_morphology_corr", built_branch("stsae").workdir, [f"{ROOT}/grounding/correlations.csv"])
