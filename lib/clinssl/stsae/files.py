"""The files of the ST-SAE branch, named once.

Every output lives under ``results/stsae/<dataset>/<encoder>/`` (one PPG dataset's cache of
one frozen encoder). Rules build their paths from these classes, scripts pick them back,
library code takes them.

Layout::

    <root>/sae/<variant>/K<K>/seed<seed>/model.pt, atoms.npy, metrics.json
    <root>/baselines/<method>/K<K>/seed<seed>/atoms.npy, metrics.json
    <root>/leaderboard.json, leaderboard.csv
    <root>/aging/aging.json, subjects.parquet
    <root>/grounding/grounding.json, morphology.parquet, correlations.csv, pulses.npz
    <root>/planted_checks.json

``metrics.json`` of an SAE also records its training history and wall time (the one
timing field of the branch's outputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

from clinssl.utils.files import FileSet

__all__ = ["AgingFiles", "BaselineFiles", "FitFiles", "GroundingFiles", "LeaderboardFiles",
           "SAEFiles", "fit_directory"]  # fmt: skip


def fit_directory(root: str, stage: str, method: str, n_concepts: str | int, seed: str | int) -> str:
    """``<root>/<stage>/<method>/K<K>/seed<seed>`` (wildcards pass through as strings)."""
    return f"{root}/{stage}/{method}/K{n_concepts}/seed{seed}"


@dataclass(frozen=True)
class FitFiles(FileSet):
    """What every fitted concept model leaves: its atoms (K, d) and its evaluation metrics."""

    NAMES: ClassVar[dict[str, str]] = {"atoms": "atoms.npy", "metrics": "metrics.json"}
    STAGE: ClassVar[str] = ""

    atoms: Path
    metrics: Path

    @classmethod
    def of(cls, root: str, method: str, n_concepts: str | int, seed: str | int) -> Self:
        return cls.under(fit_directory(root, cls.STAGE, method, n_concepts, seed))


@dataclass(frozen=True)
class SAEFiles(FitFiles):
    """A trained SAE (``model.pt``: weights + the spec that rebuilds it), atoms, metrics."""

    NAMES: ClassVar[dict[str, str]] = {**FitFiles.NAMES, "model": "model.pt"}
    STAGE: ClassVar[str] = "sae"

    model: Path


@dataclass(frozen=True)
class BaselineFiles(FitFiles):
    """A PCA / ICA / NMF fit's atoms and metrics (refitted where codes are needed again:
    scikit-learn models are not saved, since unpickling is not safe loading)."""

    STAGE: ClassVar[str] = "baselines"


@dataclass(frozen=True)
class LeaderboardFiles(FileSet):
    """One row per fitted model, with stability, Pareto membership (JSON + CSV)."""

    NAMES: ClassVar[dict[str, str]] = {"json": "leaderboard.json", "csv": "leaderboard.csv"}

    json: Path
    csv: Path


@dataclass(frozen=True)
class AgingFiles(FileSet):
    """Δage results (per feature set, correction, label) and the per-subject table."""

    NAMES: ClassVar[dict[str, str]] = {"results": "aging/aging.json",
                                       "subjects": "aging/subjects.parquet"}  # fmt: skip

    results: Path
    subjects: Path


@dataclass(frozen=True)
class GroundingFiles(FileSet):
    """Top age concepts' mean pulses, per-window morphology, concept × morphology table."""

    NAMES: ClassVar[dict[str, str]] = {
        "results": "grounding/grounding.json", "morphology": "grounding/morphology.parquet",
        "correlations": "grounding/correlations.csv", "pulses": "grounding/pulses.npz",
    }  # fmt: skip

    results: Path
    morphology: Path
    correlations: Path
    pulses: Path
