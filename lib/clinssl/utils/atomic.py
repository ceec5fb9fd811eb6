"""Atomic file writes: write to a temporary sibling, then rename into place.

A crashed or killed job must never leave a file that looks complete. Every writer in
clinssl goes through these helpers: the temporary file lives in the destination directory
(so ``os.replace`` is an atomic rename on the same filesystem) and is removed on error.

``tempfile`` creates private files (0600) and directories (0700); the temporary is given the
mode a plain ``open``/``mkdir`` would have given it under the process umask, so results on a
shared cluster are readable by the group exactly as other files are.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Temporary siblings of ``path`` that an atomic write killed by SIGKILL left behind
    (``.<name>.<random>.tmp<suffixes>``; a clean exit removes its own)."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern = f".{path.name}.*.tmp{''.join(path.suffixes)}"
    return sorted(p for p in path.parent.glob(pattern) if p.is_file())


def _tmp_sibling(path: Path, is_dir: bool = False) -> Path:
    prefix = f".{path.name}."
    for attempt in range(3):
        # another job may remove an empty parent (e.g. a checkpoints/ directory) in between
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if is_dir:
                tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=path.parent))
                os.chmod(tmp, 0o777 & ~_umask())
                return tmp
            fd, name = tempfile.mkstemp(
                prefix=prefix, suffix=".tmp" + "".join(path.suffixes), dir=path.parent
            )
        except FileNotFoundError:
            if attempt == 2:
                raise
            continue
        os.fchmod(fd, 0o666 & ~_umask())
        os.close(fd)
        return Path(name)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s content to; rename it on success.

    Use for libraries that want a filename (``np.save``, ``pq.write_table``, ``savefig``).
    The temporary name keeps the destination's suffixes so format inference still works.
    """
    dest = Path(path)
    tmp = _tmp_sibling(dest)
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; rename it into place on close."""
    if not any(m in mode for m in "wx"):
        raise ValueError(f"atomic_open is for writing, got mode {mode!r}")
    with atomic_path(path) as tmp, open(tmp, mode.replace("x", "w"), **kwargs) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` (a directory output) on success."""
    dest = Path(path)
    tmp = _tmp_sibling(dest, is_dir=True)
    try:
        yield tmp
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
