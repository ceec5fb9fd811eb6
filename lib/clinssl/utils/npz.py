"""Byte-reproducible, pickle-free ``.npz`` archives.

``np.savez`` / ``np.savez_compressed`` stamp each zip entry with the current time, so two runs
of the same job would write different bytes; here entries are written in sorted key order with
a fixed timestamp, never with pickles, and atomically (readable by ``np.load(...,
allow_pickle=False)``).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping

import numpy as np

from clinssl.utils.atomic import atomic_path

__all__ = ["write_npz"]

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], *, compress: bool = True) -> None:
    """Write ``arrays`` to ``path`` (deflated when ``compress``, else stored)."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", method) as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = method
            with archive.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.ascontiguousarray(arrays[key]), allow_pickle=False)
