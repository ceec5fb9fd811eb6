"""Named sets of files: the way a step's inputs and outputs are passed as explicit paths.

A branch describes each group of files it writes or reads as a frozen dataclass of ``Path``
fields deriving from :class:`FileSet`; its ``NAMES`` (field -> file name) is the one place
the layout is written, and :meth:`FileSet.under` places the files in a directory. Rules
build their ``input:``/``output:`` entries from :meth:`FileSet.as_dict`; scripts turn the
rule's ``input``/``output`` back into the dataclass with :meth:`FileSet.pick`; library code
receives the dataclass and never rebuilds a sibling's name from a directory.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar, Self

__all__ = ["FileSet"]


@dataclass(frozen=True)
class FileSet:
    """Base of a dataclass whose fields are all paths."""

    #: file name of each field inside the set's directory
    NAMES: ClassVar[dict[str, str]] = {}

    @classmethod
    def under(cls, directory: str | Path) -> Self:
        """The set inside ``directory`` (a plain string join, so Snakemake wildcards such as
        ``{dataset}`` pass through)."""
        missing = [f.name for f in fields(cls) if f.name not in cls.NAMES]
        if missing:
            raise TypeError(f"{cls.__name__}.NAMES lacks {missing}")
        return cls(**{f.name: Path(f"{directory}/{cls.NAMES[f.name]}") for f in fields(cls)})

    @classmethod
    def pick(cls, source: Any) -> Self:
        """The set from the same-named attributes (or mapping keys) of ``source``, e.g. a
        rule's ``input``; other entries of ``source`` are ignored."""

        def get(name: str) -> Any:
            return source[name] if isinstance(source, dict) else getattr(source, name)

        return cls(**{f.name: Path(str(get(f.name))) for f in fields(cls)})

    def as_dict(self) -> dict[str, str]:
        """``{field: path}`` (what a rule's ``input:``/``output:`` takes with ``**``)."""
        return {f.name: str(getattr(self, f.name)) for f in fields(self)}
