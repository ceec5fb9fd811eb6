"""Rule figure_stsae_delta_age: a PNG drawn from the ST-SAE results (its own target)."""

from __future__ import annotations

from figurerules import check_figure
from stsaeinputs import ROOT


def test_figure_stsae_delta_age(runner, built_branch) -> None:
    check_figure(runner, "figure_stsae_delta_age", built_branch("stsae").workdir, [f"{ROOT}/aging/aging.json", f"{ROOT}/aging/subjects.parquet"])
