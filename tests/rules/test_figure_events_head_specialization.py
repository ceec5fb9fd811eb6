"""Rule figure_events_head_specialization: a PNG drawn from the pooling-attention table (its own target)."""

from __future__ import annotations

from eventsinputs import EXPLAIN

from figurerules import check_figure


def test_figure_events_head_specialization(runner, built_branch) -> None:
    check_figure(runner, "figure_events_head_specialization", built_branch("events").workdir,
                 [str(EXPLAIN.attention)])
