"""The files of an ingested ICU dataset, named once.

``icu_ingest`` writes one dataset's :class:`IngestFiles`; ``icu_splits`` writes one seed's
:class:`SplitFiles`. Every reader takes these objects — explicit paths, never a directory
from which sibling names are rebuilt — and the rules build their input and output paths
from :meth:`IngestFiles.under` / :meth:`SplitFiles.under` (see :mod:`clinssl.utils.files`),
so the layout is written here only.

Layout::

    <root>/values.npy, mask.npy, static.parquet, labels.parquet, metadata.json
    <root>/splits/seed<seed>/splits.parquet, normalization.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clinssl.utils.files import FileSet

__all__ = ["IngestFiles", "SplitFiles"]


@dataclass(frozen=True)
class IngestFiles(FileSet):
    """Tensors ``(N, T, D)``, per-stay tables and the ingest metadata of one dataset."""

    values: Path
    mask: Path
    static: Path
    labels: Path
    metadata: Path

    @classmethod
    def under(cls, root: str | Path) -> IngestFiles:
        root = str(root)
        return cls(
            values=Path(f"{root}/values.npy"),
            mask=Path(f"{root}/mask.npy"),
            static=Path(f"{root}/static.parquet"),
            labels=Path(f"{root}/labels.parquet"),
            metadata=Path(f"{root}/metadata.json"),
        )


@dataclass(frozen=True)
class SplitFiles(FileSet):
    """One split seed: the stay → split assignment and the train-only normalization."""

    splits: Path
    normalization: Path

    @classmethod
    def under(cls, root: str | Path, seed: int | str) -> SplitFiles:
        base = f"{root}/splits/seed{seed}"
        return cls(
            splits=Path(f"{base}/splits.parquet"),
            normalization=Path(f"{base}/normalization.json"),
        )
