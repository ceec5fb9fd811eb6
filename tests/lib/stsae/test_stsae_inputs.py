"""The ST-SAE branch's input checks: a cache and window table that disagree, a missing
next_index, NaN embeddings, a table without ages are refused naming file and field; rows
and planted factors come out aligned."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clinssl.cache import EmbeddingCacheError, EmbeddingCacheFiles
from clinssl.config_schema import check_semantics
from clinssl.stsae.data import STSAEInputError, load_inputs

N, D = 40, 6


def _write(tmp: Path, n_table: int = N, drop: tuple[str, ...] = (), nan_row: int | None = None):
    rng = np.random.default_rng(0)
    files = EmbeddingCacheFiles.under(tmp / "cache")
    files.z.parent.mkdir(parents=True)
    z = rng.normal(size=(N, D)).astype(np.float32)
    if nan_row is not None:
        z[nan_row, 2] = np.nan
    np.save(files.z, z)
    np.save(files.z_aug, z + 0.01)
    nxt = np.where(np.arange(N) % 10 == 9, -1, np.arange(N) + 1).astype(np.int64)
    np.save(files.next_index, nxt)
    files.meta.write_text(json.dumps({"n_windows": N, "dim": D, "encoder": "himae"}))
    subject = [f"p{i // 10}" for i in range(n_table)]
    table = pd.DataFrame({"subject_id": subject, "record": "r0", "window_index": np.arange(n_table) % 10,
                          "age": [40.0 + i // 10 for i in range(n_table)], "sex": "F",
                          "qc_pass": np.arange(n_table) % 7 != 0,
                          "split": [("train", "train", "val", "test")[i // 10 % 4] for i in range(n_table)]})  # fmt: skip
    table = table.drop(columns=list(drop))
    table.to_parquet(tmp / "windows.parquet")
    truth = table[["subject_id", "record", "window_index"]].copy() if "record" in table else None
    if truth is not None:
        truth = truth.iloc[::-1]  # another order: rows must be joined by key, not position
        truth["delta"] = np.arange(len(truth), dtype=float)
        truth["pvc"] = 0
        truth.to_parquet(tmp / "truth.parquet")
    return files


def test_rows_and_factors_are_aligned(tmp_path) -> None:
    files = _write(tmp_path)
    inputs = load_inputs(files, tmp_path / "windows.parquet", tmp_path / "truth.parquet")
    train = inputs.rows("train")
    assert set(inputs.table.loc[train, "split"]) == {"train"} and inputs.table.loc[train, "qc_pass"].all()
    assert len(train) + len(inputs.rows("val")) + len(inputs.rows("test")) == int(inputs.table["qc_pass"].sum())
    # truth written in reverse order: row i's delta is the reversed position
    assert np.array_equal(inputs.factors["delta"].to_numpy(), np.arange(N)[::-1].astype(float))
    assert list(inputs.factors.columns) == ["delta", "pvc"]  # the planted factors present


def test_a_table_of_other_length_is_refused(tmp_path) -> None:
    files = _write(tmp_path, n_table=N - 1)
    with pytest.raises(STSAEInputError, match=r"windows.parquet: 39 rows.*z.npy has 40"):
        load_inputs(files, tmp_path / "windows.parquet")


def test_a_table_without_ages_is_refused(tmp_path) -> None:
    files = _write(tmp_path, drop=("age",))
    with pytest.raises(STSAEInputError, match=r"windows.parquet.*field 'age'"):
        load_inputs(files, tmp_path / "windows.parquet")


def test_nan_embeddings_are_refused(tmp_path) -> None:
    files = _write(tmp_path, nan_row=17)
    with pytest.raises(STSAEInputError, match=r"z.npy: z has non-finite values.*first row 17"):
        load_inputs(files, tmp_path / "windows.parquet")


def test_a_missing_next_index_is_refused(tmp_path) -> None:
    files = _write(tmp_path)
    files.next_index.unlink()
    with pytest.raises(EmbeddingCacheError, match=r"next_index.npy: missing"):
        load_inputs(files, tmp_path / "windows.parquet")


@pytest.mark.parametrize(("stsae", "named"), [
    ({"n_concepts": [16, 32], "default_n_concepts": 64}, "stsae.default_n_concepts"),
    ({"variants": ["topk"]}, "stsae.variants"),
    ({"n_concepts": [16], "default_n_concepts": 16, "sae": {"k": 16}}, "stsae.sae.k"),
    ({"datasets": ["nowhere"]}, "stsae.datasets"),
])  # fmt: skip
def test_inconsistent_settings_are_refused_at_start(stsae: dict, named: str) -> None:
    config = {"branches": {"stsae": True}, "ppg": {"datasets": {"synthetic": {}}}, "stsae": stsae}
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        check_semantics(config)
