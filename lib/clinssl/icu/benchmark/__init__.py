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

Names are exported lazily (PEP 562): the summary job reads ``paired_versus`` and the
report without importing the protocols' torch and scikit-learn, seconds per job.

Every CI and paired margin resamples test **patients** (:mod:`clinssl.stats.bootstrap`): a
patient's stays are correlated, and resampling stays as if independent makes the intervals
too narrow.
"""

from __future__ import annotations

import importlib
from typing import Any

#: exported name -> the submodule that defines it
_EXPORTS: dict[str, str] = {
    "GROUP_KEYS": "summary",
    "METRIC_COLUMNS": "protocols",
    "PREDICTION_COLUMNS": "protocols",
    "SplitTensors": "protocols",
    "benchmark_report": "checks",
    "objective_check": "checks",
    "paired_versus": "compare",
    "paired_vs_supervised": "compare",
    "planted_checks": "planted",
    "probe_vs_random": "compare",
    "run_protocols": "protocols",
    "summarize": "summary",
    "summary_markdown": "summary",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
