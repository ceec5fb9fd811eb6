"""The ST-SAE branch's input: one PPG dataset's embedding cache, its window table and, on
synthetic data, the planted truth — opened, checked against each other, split into rows.

The cache is read only through :func:`clinssl.cache.read_embedding_cache` (the contract the
PPG branch writes); the window table only for the columns this branch needs, so the branch
never imports the PPG code. Row ``i`` of the cache is row ``i`` of ``windows.parquet`` and
of ``windows.npy``: a table whose length differs, NaN embeddings or a table without ages are
refused with the file and field named, before any training starts.

Which rows each step uses: SAEs and baselines fit on QC-passed **train** rows; every metric
is computed on QC-passed **test** rows; the Δage correction is fitted on train or val
subjects (config) and scored on test subjects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clinssl.cache import EmbeddingCache, EmbeddingCacheFiles, read_embedding_cache
from clinssl.stsae.names import PLANTED_FACTORS

__all__ = ["KEY_COLUMNS", "REQUIRED_COLUMNS", "STSAEInputError", "STSAEInputs", "load_inputs"]

#: the columns that identify a window in the window table and the truth table
KEY_COLUMNS = ("subject_id", "record", "window_index")
#: what the branch needs from ``windows.parquet``
REQUIRED_COLUMNS = (*KEY_COLUMNS, "age", "sex", "qc_pass", "split")
SPLITS = ("train", "val", "test")
_CHUNK = 65536


class STSAEInputError(ValueError):
    """An input file that the ST-SAE branch cannot use (the message names file and field)."""


@dataclass
class STSAEInputs:
    """An opened, validated cache + table (+ planted factors per window on synthetic data)."""

    cache: EmbeddingCache
    table: pd.DataFrame
    factors: pd.DataFrame | None  # one column per PLANTED_FACTORS entry present, NaN unknown
    truth: pd.DataFrame | None  # the truth row of every window (same order), if given

    def rows(self, split: str) -> np.ndarray:
        """QC-passed rows of ``split`` (sorted)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        mask = self.table["qc_pass"].to_numpy(bool) & (self.table["split"] == split).to_numpy()
        return np.flatnonzero(mask)

    @property
    def groups(self) -> np.ndarray:
        """The subject of every row (the unit of folds, halves and bootstrap)."""
        return self.table["subject_id"].astype(str).to_numpy()


def _check_finite(arr: np.ndarray, path: Path, field: str) -> None:
    for start in range(0, arr.shape[0], _CHUNK):
        block = np.asarray(arr[start : start + _CHUNK])
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            n_bad = int(bad.sum())
            first = start + int(np.flatnonzero(bad)[0])
            raise STSAEInputError(
                f"{path}: {field} has non-finite values in {n_bad}+ rows (first row {first}); "
                "every cached embedding must be finite"
            )


def _read_table(path: Path, n_windows: int, cache_path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise STSAEInputError(f"{path}: window table missing")
    table = pd.read_parquet(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        what = "ages (field 'age'), which Δage needs" if "age" in missing else f"fields {missing}"
        raise STSAEInputError(f"{path}: the window table has no {what}; required: {list(REQUIRED_COLUMNS)}")
    if len(table) != n_windows:
        raise STSAEInputError(
            f"{path}: {len(table)} rows, but the embedding cache {cache_path} has {n_windows}; "
            "row i of the cache must be row i of the window table (re-run the PPG embedding)"
        )
    unknown = sorted(set(table["split"].astype(str)) - set(SPLITS))
    if unknown:
        raise STSAEInputError(f"{path}: field 'split' holds {unknown}; expected {SPLITS}")
    usable = table["qc_pass"].to_numpy(bool)
    if table.loc[usable, "age"].isna().any():
        n = int(table.loc[usable, "age"].isna().sum())
        raise STSAEInputError(f"{path}: field 'age' is empty for {n} QC-passed windows")
    return table.reset_index(drop=True)


def _align_truth(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    truth = pd.read_parquet(path)
    missing = [c for c in KEY_COLUMNS if c not in truth.columns]
    if missing:
        raise STSAEInputError(f"{path}: truth table lacks key fields {missing}")
    keys = table[list(KEY_COLUMNS)].astype({"subject_id": str, "record": str})
    right = truth.astype({"subject_id": str, "record": str})
    if right.duplicated(list(KEY_COLUMNS)).any():
        raise STSAEInputError(f"{path}: duplicate {list(KEY_COLUMNS)} keys")
    merged = keys.merge(right, on=list(KEY_COLUMNS), how="left", validate="one_to_one")
    return merged.drop(columns=list(KEY_COLUMNS))


def load_inputs(
    cache_files: EmbeddingCacheFiles, table_path: str | Path, truth_path: str | Path | None = None
) -> STSAEInputs:
    """Open the cache and table and check them against each other (see module docstring)."""
    cache = read_embedding_cache(cache_files)
    table = _read_table(Path(table_path), cache.z.shape[0], cache_files.z)
    _check_finite(cache.z, cache_files.z, "z")
    _check_finite(cache.z_aug, cache_files.z_aug, "z_aug")
    truth = factors = None
    if truth_path is not None:
        truth = _align_truth(Path(truth_path), table)
        factors = truth[[c for c in PLANTED_FACTORS if c in truth.columns]].astype(float)
    return STSAEInputs(cache=cache, table=table, factors=factors, truth=truth)
