"""The ICU paradigm comparison: run every protocol of one paradigm, then summarise.

Modules (each testable without Snakemake):

* :mod:`.protocols` — :class:`SplitTensors` (one split's model inputs plus every task's
  labels; ``for_task`` drops stays whose label is missing, after the split, as SLICES does)
  and :func:`run_protocols`: for one paradigm and seed, every task × label fraction ×
  protocol (``linear_probe`` / ``finetune`` for SSL encoders, ``supervised`` from scratch,
  or the ``linear_probe`` of a randomly initialised frozen encoder, the floor every SSL
  encoder must beat); the long metrics table (with bootstrap CIs) and test predictions.
* :mod:`.summary` — :func:`summarize` (mean ± sd over seeds per paradigm × task × protocol ×
  fraction × metric) and :func:`summary_markdown`.
* :mod:`.compare` — :func:`paired_versus` (per seed, the paired bootstrap difference in the
  primary metric against a reference model — supervised training, gradient boosting — on
  the same test stays) and
  :func:`probe_vs_random` (each SSL probe against the random-encoder probe, seed-averaged).
* :mod:`.planted` — :func:`planted_checks` on the synthetic cohort's planted truth.
* :mod:`.classical` — the classical baselines (logistic regression, gradient boosting on
  per-variable summaries of the input window), rows in the same schemas.
* :mod:`.checks` — :func:`benchmark_report`: objective checks, findings, fairness overview
  on every dataset, planted checks only where there is planted truth.

Every CI and paired margin resamples test **patients** (:mod:`clinssl.stats.bootstrap`): a
patient's stays are correlated, and resampling stays as if independent makes the intervals
too narrow.
"""

from clinssl.icu.benchmark.checks import benchmark_report
from clinssl.icu.benchmark.compare import paired_versus, paired_vs_supervised, probe_vs_random
from clinssl.icu.benchmark.planted import planted_checks
from clinssl.icu.benchmark.protocols import (
    METRIC_COLUMNS,
    PREDICTION_COLUMNS,
    SplitTensors,
    run_protocols,
)
from clinssl.icu.benchmark.summary import GROUP_KEYS, summarize, summary_markdown

__all__ = [
    "GROUP_KEYS",
    "METRIC_COLUMNS",
    "PREDICTION_COLUMNS",
    "SplitTensors",
    "benchmark_report",
    "paired_versus",
    "paired_vs_supervised",
    "planted_checks",
    "probe_vs_random",
    "run_protocols",
    "summarize",
    "summary_markdown",
]
