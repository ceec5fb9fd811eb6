"""What a resumable job is: every parameter it was given and the content of every input.

A training checkpoint may only be resumed by the same job on the same inputs. Snakemake
reruns a job whose upstream output changed, but the checkpoint of the killed earlier attempt
is still on disk; resuming from it would finish the old run on the new inputs (a silently
wrong result). :func:`job_fingerprint` records the job's parameters and a content digest of
each input file; the training loop stores it in the checkpoint and discards a checkpoint
whose fingerprint differs, naming what changed (:func:`fingerprint_changes`).

Digests are ``size:blake2b`` of the whole file, streamed (blake2b hashes about 1 GB/s, small
next to any training job); each file is hashed once per process.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from clinssl.utils.jsonio import to_jsonable

__all__ = ["file_digest", "fingerprint_changes", "job_fingerprint"]

_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | os.PathLike[str]) -> str:
    """``"<size>:<blake2b hex>"`` of a file; a directory digests its files in name order."""
    path = Path(path)
    if path.is_dir():
        parts = [
            f"{p.relative_to(path)}={file_digest(p)}"
            for p in sorted(path.rglob("*"))
            if p.is_file()
        ]
        return "dir:" + hashlib.blake2b("\n".join(parts).encode()).hexdigest()
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "blake2b").hexdigest()
        _DIGESTS[key] = f"{stat.st_size}:{digest}"
    return _DIGESTS[key]


def _digests(value: Any) -> Any:
    if isinstance(value, str | os.PathLike):
        return file_digest(value)
    if isinstance(value, Iterable):
        return [_digests(v) for v in value]
    raise TypeError(f"input must be a path or a list of paths, got {value!r}")


def job_fingerprint(params: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{"params": ..., "inputs": {name: digest}}`` of a job (plain types only)."""
    return {
        "params": to_jsonable(dict(params)),
        "inputs": {name: _digests(value) for name, value in sorted(inputs.items())},
    }


def fingerprint_changes(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two fingerprints (``[]`` when equal)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        changes = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                changes.append(where)
            else:
                changes += fingerprint_changes(old[key], new[key], where)
        return changes
    return [] if old == new else [prefix or "<root>"]
