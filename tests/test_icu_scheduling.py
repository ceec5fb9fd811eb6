"""Scheduling order of the ICU benchmark: the splits outrank every pretraining job, which
outranks every downstream job, which outranks the rest, so on a few cores the run does not
end on a lone pretrain -> downstream chain (the ICU share of the default run's budget)."""

from __future__ import annotations

from dagjobs import planned_jobs
from snakerunner import WorkflowRunner


def test_splits_then_pretraining_then_downstream_then_the_rest(runner: WorkflowRunner) -> None:
    jobs = planned_jobs(runner.workdir, runner.configfile)
    by_rule: dict[str, set[int]] = {}
    for job in jobs:
        by_rule.setdefault(job.rule, set()).add(job.priority)
    order = [by_rule.pop(r) for r in ("icu_splits", "icu_pretrain", "icu_downstream")]
    order.append(set().union(*by_rule.values()))
    for first, then in zip(order, order[1:], strict=False):
        assert min(first) > max(then), order
    assert {"icu_summary", "icu_classical", "ecg_pretrain", "ppg_embed"} <= set(by_rule)
