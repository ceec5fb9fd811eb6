"""The files of the ECG branch, named once.

``ecg_load`` writes one dataset's :class:`StoreFiles`; ``ecg_pretrain`` one method and
seed's :class:`EncoderFiles`; ``ecg_evaluate`` one method and seed's :class:`EvalFiles`;
``ecg_summary`` the dataset's :class:`SummaryFiles`. Rules build their paths from these
(:mod:`clinssl.utils.files`), scripts pick them back, library code takes them.

Layout::

    <root>/signals.npy, meta.parquet, load_report.json
    <root>/ssl/<method>/seed<seed>/encoder.pt, history.json
    <root>/eval/<method>/seed<seed>/metrics.parquet, predictions.parquet
    <root>/summary.csv, summary.md, paired.csv, planted_checks.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

from clinssl.utils.files import FileSet

__all__ = ["EncoderFiles", "EvalFiles", "StoreFiles", "SummaryFiles"]


@dataclass(frozen=True)
class StoreFiles(FileSet):
    """Signals (N, 12, L) float32 in mV, one meta row per record, the load report."""

    NAMES: ClassVar[dict[str, str]] = {"signals": "signals.npy", "meta": "meta.parquet",
                                       "report": "load_report.json"}  # fmt: skip

    signals: Path
    meta: Path
    report: Path


@dataclass(frozen=True)
class _RunFiles(FileSet):
    """Files of one method and seed under ``<root>/<STAGE>/<method>/seed<seed>``."""

    STAGE: ClassVar[str] = ""

    @classmethod
    def of(cls, root: str, method: str, seed: str) -> Self:
        return cls.under(f"{root}/{cls.STAGE}/{method}/seed{seed}")


@dataclass(frozen=True)
class EncoderFiles(_RunFiles):
    """A pretrained encoder (``{"encoder", "spec", "method"}``) and its training history."""

    NAMES: ClassVar[dict[str, str]] = {"encoder": "encoder.pt", "history": "history.json"}

    STAGE: ClassVar[str] = "ssl"

    encoder: Path
    history: Path


@dataclass(frozen=True)
class EvalFiles(_RunFiles):
    """Test metrics (long table) and test predictions of one method and seed."""

    NAMES: ClassVar[dict[str, str]] = {"metrics": "metrics.parquet",
                                       "predictions": "predictions.parquet"}  # fmt: skip

    STAGE: ClassVar[str] = "eval"

    metrics: Path
    predictions: Path


@dataclass(frozen=True)
class SummaryFiles(FileSet):
    """Tables over seeds, paired margins and the planted-truth checks of one dataset."""

    NAMES: ClassVar[dict[str, str]] = {"summary": "summary.csv", "markdown": "summary.md",
                                       "paired": "paired.csv", "checks": "planted_checks.json"}  # fmt: skip

    summary: Path
    markdown: Path
    paired: Path
    checks: Path
