"""Logging for workflow scripts: one call routes everything to the rule's ``log:`` file.

Snakemake gives each job a log path; a script calls ``setup_logging(snakemake.log[0])`` and
then uses ``logging.getLogger(__name__)`` anywhere in ``clinssl``. Warnings and uncaught
exceptions (with traceback) land in the same file, so ``--show-failed-logs`` shows why a
job failed.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import TracebackType

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(
    log_path: str | os.PathLike[str] | None = None, level: int = logging.INFO
) -> logging.Logger:
    """Configure the root logger to write to ``log_path`` (and stderr); return clinssl's logger."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)

    def _log_uncaught(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        logging.getLogger("clinssl").critical("uncaught exception", exc_info=(exc_type, exc, tb))
        sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = _log_uncaught
    return logging.getLogger("clinssl")
