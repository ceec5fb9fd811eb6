"""Rule figure_ecg_label_efficiency: a PNG of macro AUROC vs label fraction."""

from __future__ import annotations

from figurerules import check_figure


def test_figure_ecg_label_efficiency(runner, built_branch) -> None:
    check_figure(runner, "figure_ecg_label_efficiency", built_branch("ecg").workdir,
                 ["results/ecg/synthetic/summary.csv"])  # fmt: skip
