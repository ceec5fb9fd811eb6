"""Rule figure_events_attributions: a PNG drawn from the attribution tables and checks (its own target)."""

from __future__ import annotations

from eventsinputs import EXPLAIN, ROOT

from figurerules import check_figure


def test_figure_events_attributions(runner, built_branch) -> None:
    check_figure(runner, "figure_events_attributions", built_branch("events").workdir,
                 [str(EXPLAIN.types), str(EXPLAIN.time_bins), f"{ROOT}/planted_checks.json"])  # fmt: skip
