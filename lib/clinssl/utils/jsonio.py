"""JSON results: small result files that figures and reports read.

NumPy scalars/arrays, paths and NaN are common in metric dicts; this writer converts them
(NaN/inf become ``null`` so the files stay strict JSON that any reader accepts) and writes
atomically with sorted keys so reruns are byte-identical.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from clinssl.utils.atomic import atomic_write_text


def to_jsonable(obj: Any) -> Any:
    """Recursively convert ``obj`` to plain JSON types (see module docstring)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        seq = sorted(obj) if isinstance(obj, set) else obj
        return [to_jsonable(v) for v in seq]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str | int):
        return obj
    raise TypeError(f"cannot convert {type(obj).__name__} to JSON: {obj!r}")


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted, strict JSON to ``path`` atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=True, allow_nan=False)
    atomic_write_text(path, text + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, naming the file in the error if it is malformed."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
