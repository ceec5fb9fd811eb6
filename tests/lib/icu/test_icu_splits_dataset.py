"""Patient-level splits, train-only normalization, and the ICUDataset contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from clinssl.icu.dataset import ICUDataset
from clinssl.icu.files import IngestFiles, SplitFiles
from clinssl.icu.ingest import ingest, open_source
from clinssl.icu.labels import ICU_TASKS
from clinssl.icu.normalization import train_statistics
from clinssl.io.splits import patient_level_split
from clinssl.utils import write_json


def test_split_is_patient_level_deterministic_and_sized() -> None:
    rng = np.random.default_rng(0)
    static = pd.DataFrame({"stay_id": np.arange(1000), "patient_id": rng.integers(0, 600, 1000)})
    a = patient_level_split(static, seed=1)
    b = patient_level_split(static, seed=1)
    c = patient_level_split(static, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a["split"].equals(c["split"])
    # no patient appears in two splits
    assert (a.groupby("patient_id")["split"].nunique() == 1).all()
    per_patient = a.drop_duplicates("patient_id")["split"].value_counts(normalize=True)
    assert abs(per_patient["train"] - 0.7) < 0.01 and abs(per_patient["test"] - 0.15) < 0.01


def test_split_rejects_bad_input() -> None:
    static = pd.DataFrame({"stay_id": [1, 2], "patient_id": [1.0, np.nan]})
    with pytest.raises(ValueError, match="patient_id has missing values"):
        patient_level_split(static, 0)
    with pytest.raises(ValueError, match="summing to 1"):
        patient_level_split(static.fillna(2), 0, (0.5, 0.5, 0.5))


def test_normalization_uses_observed_train_values_only() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, (10, 4, 2)).astype(np.float32)
    mask = rng.random((10, 4, 2)) < 0.6
    values[~mask] = np.nan
    train = np.array([0, 2, 3, 7])
    values_poisoned = values.copy()
    others = np.setdiff1d(np.arange(10), train)
    values_poisoned[others] = np.where(mask[others], 1e6, np.nan)  # val/test values change...
    a = train_statistics(values, mask, train, ["x", "y"])
    b = train_statistics(values_poisoned, mask, train, ["x", "y"])
    assert a["mean"] == b["mean"] and a["std"] == b["std"]  # ...the statistics do not
    obs = values[train][:, :, 0][mask[train][:, :, 0]]
    assert a["features"]["x"]["mean"] == pytest.approx(obs.mean(), rel=1e-6)
    assert a["features"]["x"]["std"] == pytest.approx(obs.std(), rel=1e-5)


def test_normalization_degenerate_feature() -> None:
    values = np.full((3, 2, 2), np.nan, dtype=np.float32)
    mask = np.zeros((3, 2, 2), bool)
    values[:, :, 0], mask[:, :, 0] = 5.0, True
    stats = train_statistics(values, mask, np.arange(3), ["const", "never"])
    assert stats["std"] == [1.0, 1.0] and stats["mean"] == [5.0, 0.0]
    assert stats["degenerate_features"] == ["const", "never"]


def _files(root: Path) -> tuple[IngestFiles, SplitFiles]:
    return IngestFiles.under(root), SplitFiles.of_seed(root, 0)


@pytest.fixture
def ingested(small_export: Path, tmp_path: Path) -> Path:
    out = tmp_path / "ds"
    ingest(open_source("ricu", small_export), IngestFiles.under(out))
    static = pd.read_parquet(out / "static.parquet")
    splits = patient_level_split(static, seed=0)
    split_files = SplitFiles.of_seed(out, 0)
    split_files.splits.parent.mkdir(parents=True)
    splits.to_parquet(split_files.splits)
    meta = json.loads((out / "metadata.json").read_text())
    rows = np.flatnonzero(splits["split"] == "train")
    values, mask = np.load(out / "values.npy"), np.load(out / "mask.npy")
    write_json(
        split_files.normalization, train_statistics(values, mask, rows, meta["feature_names"])
    )
    return out


def test_dataset_items_are_normalized_then_zero_filled(ingested: Path) -> None:
    ds = ICUDataset(*_files(ingested), split="train", task="mortality_hospital")
    norm = json.loads(SplitFiles.of_seed(ingested, 0).normalization.read_text())
    values = np.load(ingested / "values.npy")
    item = ds[3]
    t, d = ds.shape
    assert item["values"].shape == (t, d) and item["values"].dtype == torch.float32
    assert item["mask"].dtype == torch.bool
    raw = values[item["index"]]
    expected = np.where(~np.isnan(raw), (raw - np.array(norm["mean"])) / np.array(norm["std"]), 0)
    np.testing.assert_allclose(item["values"].numpy(), expected, rtol=1e-5, atol=1e-5)
    assert set(item["static"]) == {"age", "sex", "race"}
    labels = pd.read_parquet(ingested / "labels.parquet")
    assert item["label"].item() == pytest.approx(
        labels["mortality_hospital"].iloc[item["index"]], nan_ok=True
    )
    batch = ds.get_batch([0, 1, 3])
    torch.testing.assert_close(batch["values"][2], item["values"])
    # the train split's normalized observed values have mean ~0 and std ~1 per feature
    all_v = ds.get_batch(np.arange(len(ds)))
    v, m = all_v["values"].numpy(), all_v["mask"].numpy()
    hr = ds.feature_names.index("hr")
    assert abs(v[:, :, hr][m[:, :, hr]].mean()) < 1e-3
    assert abs(v[:, :, hr][m[:, :, hr]].std() - 1) < 1e-3


def test_dataset_splits_partition_rows_and_tasks(ingested: Path) -> None:
    sizes = {s: len(ICUDataset(*_files(ingested), s)) for s in ("train", "val", "test")}
    n = len(pd.read_parquet(ingested / "static.parquet"))
    assert sum(sizes.values()) == n
    for task in ICU_TASKS:
        full = ICUDataset(*_files(ingested), "test", task)
        dropped = ICUDataset(*_files(ingested), "test", task, drop_missing_labels=True)
        assert len(dropped) == int(np.sum(~np.isnan(full.labels[full.rows])))
    assert np.isnan(ICUDataset(*_files(ingested), "val")[0]["label"].item())
    with pytest.raises(ValueError, match="unknown ICU task"):
        ICUDataset(*_files(ingested), "val", "sepsis")


def test_dataset_works_with_a_torch_dataloader(ingested: Path) -> None:
    from torch.utils.data import DataLoader

    ds = ICUDataset(*_files(ingested), split="train", task="aki_kdigo")
    batch = next(iter(DataLoader(ds, batch_size=4, shuffle=False)))
    t, d = ds.shape
    assert batch["values"].shape == (4, t, d) and batch["mask"].dtype == torch.bool
    assert batch["label"].shape == (4,)
    assert len(batch["static"]["sex"]) == 4 and batch["static"]["age"].shape == (4,)
