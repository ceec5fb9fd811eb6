"""Rule figure_events_attention: a PNG drawn from the explanation's attention files (its own target)."""

from __future__ import annotations

from eventsinputs import EXPLAIN

from figurerules import check_figure


def test_figure_events_attention(runner, built_branch) -> None:
    check_figure(runner, "figure_events_attention", built_branch("events").workdir,
                 [str(EXPLAIN.attention), str(EXPLAIN.attention_example), str(EXPLAIN.summary)])  # fmt: skip
