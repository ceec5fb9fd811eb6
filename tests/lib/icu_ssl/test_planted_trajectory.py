"""Planted truth of the SSL comparison on the real synthetic ICU generator.

The generator plants in-hospital mortality mostly in the *direction* of each stay's severity
trajectory (see ``clinssl.icu.synthetic``): a randomly initialised encoder's pooled
embedding exposes the window's per-hour feature averages, which carry the level but not
the sign of the trend, whereas pretraining on the series' dynamics makes it linearly
readable. This test runs the actual chain (export → ingestion → train-only normalisation →
pretraining of each transformer paradigm → frozen linear probe) on a reduced cohort and
checks that every SSL paradigm's probe beats the random-initialisation probe, by a margin
larger than the noise of this cohort's AUROC. The default-size comparison, SMART included,
is the ``planted_checks.json`` of rule icu_summary.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from clinssl.icu.downstream import embed
from clinssl.icu.files import IngestFiles, SplitFiles
from clinssl.icu.ingest import ingest, open_source
from clinssl.icu.inputs import load_splits
from clinssl.icu.normalization import train_statistics
from clinssl.icu.pretraining import PretrainConfig, encoder_spec, fresh_encoder, pretrain
from clinssl.icu.synthetic import SyntheticICUSpec, write_ricu_export
from clinssl.io.splits import patient_level_split
from clinssl.utils import write_json

ENCODERS = {"transformer": {"d_model": 32, "d_ff": 128}}
BUDGET = PretrainConfig(epochs=4, batch_size=64, warmup_epochs=1, device="cpu")
TASK = "mortality_hospital"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory):
    """Train/val/test tensors of a 2,400-stay synthetic cohort (default planted knobs)."""
    root = tmp_path_factory.mktemp("planted")
    spec = SyntheticICUSpec(n_stays=2400, n_patients=1600, stays_per_part=2400, seed=11)
    write_ricu_export(root / "ricu", spec)
    out = root / "icu"
    ingest(open_source("synthetic", root / "ricu"), IngestFiles.under(out))
    static = pd.read_parquet(out / "static.parquet", columns=["stay_id", "patient_id"])
    splits = patient_level_split(static, seed=0)
    names = json.loads((out / "metadata.json").read_text())["feature_names"]
    values = np.load(out / "values.npy", mmap_mode="r")
    mask = np.load(out / "mask.npy", mmap_mode="r")
    stats = train_statistics(
        values, mask, np.flatnonzero(splits["split"].to_numpy() == "train"), names
    )
    stats["seed"] = 0
    split_files = SplitFiles.of_seed(out, 0)
    split_files.splits.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(splits, preserve_index=False), split_files.splits)
    write_json(split_files.normalization, stats)
    return load_splits(IngestFiles.under(out), split_files)


def _probe_auroc(cohort, encoder) -> float:
    """Out-of-fold AUROC of a logistic probe on frozen embeddings of every labelled stay.

    Cross-validation over all labelled stays (rather than the small test split) keeps the
    AUROC's sampling noise well below the planted effect."""
    parts = [cohort[s].for_task(TASK) for s in ("train", "val", "test")]
    z = np.concatenate([embed(encoder, p.values, p.mask, device="cpu") for p in parts])
    y = np.concatenate([p.y for p in parts]).astype(int)
    scores = np.zeros(len(y))
    for fit_idx, held in StratifiedKFold(5, shuffle=True, random_state=0).split(z, y):
        scaler = StandardScaler().fit(z[fit_idx])
        model = LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced")
        model.fit(scaler.transform(z[fit_idx]), y[fit_idx])
        scores[held] = model.predict_proba(scaler.transform(z[held]))[:, 1]
    return float(roc_auc_score(y, scores))


def test_every_ssl_probe_beats_the_random_encoder_probe(cohort) -> None:
    train = cohort["train"]
    n_features = train.values.shape[2]
    spec = encoder_spec("mae", n_features, ENCODERS)
    random_auroc = _probe_auroc(cohort, fresh_encoder(spec, seed=0))
    results = {}
    for paradigm in ("mae", "jepa", "contrastive"):
        spec = encoder_spec(paradigm, n_features, ENCODERS)
        encoder, _, _ = pretrain(paradigm, train.values, train.mask, spec, {}, BUDGET, seed=0)
        results[paradigm] = _probe_auroc(cohort, encoder)
    print(f"probe AUROC ({TASK}): random {random_auroc:.3f}, " + ", ".join(
        f"{p} {a:.3f}" for p, a in results.items()
    ))  # fmt: skip
    for paradigm, auroc in results.items():
        assert auroc > random_auroc + 0.03, (paradigm, auroc, random_auroc)
