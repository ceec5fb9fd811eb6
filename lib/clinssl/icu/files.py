"""The files of an ingested ICU dataset, named once.

``icu_ingest`` writes one dataset's :class:`IngestFiles`; ``icu_splits`` writes one seed's
:class:`SplitFiles`. Every reader takes these objects — explicit paths, never a directory
from which sibling names are rebuilt — and the rules build their input and output paths
from :meth:`IngestFiles.under` / :meth:`SplitFiles.of_seed` (see :mod:`clinssl.utils.files`),
so the layout is written here only.

Layout::

    <root>/values.npy, mask.npy, static.parquet, labels.parquet, metadata.json
    <root>/splits/seed<seed>/splits.parquet, normalization.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from clinssl.utils.files import FileSet

__all__ = ["IngestFiles", "SplitFiles"]


@dataclass(frozen=True)
class IngestFiles(FileSet):
    """Tensors ``(N, T, D)``, per-stay tables and the ingest metadata of one dataset."""

    NAMES: ClassVar[dict[str, str]] = {
        "values": "values.npy", "mask": "mask.npy", "static": "static.parquet",
        "labels": "labels.parquet", "metadata": "metadata.json",
    }  # fmt: skip

    values: Path
    mask: Path
    static: Path
    labels: Path
    metadata: Path


@dataclass(frozen=True)
class SplitFiles(FileSet):
    """One split seed: the stay → split assignment and the train-only normalization."""

    NAMES: ClassVar[dict[str, str]] = {
        "splits": "splits.parquet", "normalization": "normalization.json",
    }  # fmt: skip

    splits: Path
    normalization: Path

    @classmethod
    def of_seed(cls, root: str | Path, seed: int | str) -> SplitFiles:
        """The split files of ``seed`` of the dataset at ``root``."""
        return cls.under(f"{root}/splits/seed{seed}")
