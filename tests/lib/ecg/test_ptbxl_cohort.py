"""Synthetic PTB-XL (clinssl.ecg.synthetic): layout, determinism, lead consistency, planted
superclass morphology visible in the written signals, knobs that remove it, and a round trip
through load_ptbxl."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.stats import mannwhitneyu

from clinssl.ecg.io.ptbxl import (
    DATABASE_COLUMNS,
    DATABASE_FILE,
    SCP_COLUMNS,
    STATEMENTS_FILE,
    LoadOptions,
    load_ptbxl,
    read_database,
    read_record_fast,
    read_scp_statements,
    superclass_labels,
)
from clinssl.ecg.names import SUPERCLASSES
from clinssl.ecg.synthetic import (
    PTBXLCohortConfig,
    ecg_ids,
    generate_record,
    write_ptbxl_corpus,
)

FS = 100
N_COHORT = 320


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("synthetic") / "ptbxl"
    truth = write_ptbxl_corpus(PTBXLCohortConfig(n_records=60, n_patients=45, seed=1), root)
    return root, truth


def _cohort(**overrides) -> tuple[list[np.ndarray], pd.DataFrame]:
    cfg = PTBXLCohortConfig(n_records=N_COHORT, n_patients=260, seed=2, **overrides)
    recs = [generate_record(cfg, i) for i in range(N_COHORT)]
    return [r.signal_100 for r in recs], pd.DataFrame([r.truth for r in recs])


@pytest.fixture(scope="module")
def cohort() -> tuple[list[np.ndarray], pd.DataFrame]:
    return _cohort()


# ----------------------------------------------------------------------- signal measures


def _r_peaks(x: np.ndarray) -> np.ndarray:
    """R peaks: QRS complexes are where the energy of the spatial slope peaks (steep QRS,
    gentle P and T), refined to the maximum of the spatial magnitude within ±50 ms."""
    hp = x - uniform_filter1d(x, int(0.6 * FS) | 1, axis=0)
    magnitude = np.sqrt((hp**2).sum(axis=1))
    energy = uniform_filter1d(np.r_[0.0, (np.diff(hp, axis=0) ** 2).sum(axis=1)], 5)
    is_peak = energy == maximum_filter1d(energy, int(0.3 * FS) | 1)
    is_peak &= energy > 0.3 * np.percentile(energy, 99.5)
    h = int(0.05 * FS)
    candidates = [c for c in np.nonzero(is_peak)[0] if 2 * h < c < len(x) - 2 * h]
    return np.array([c - h + int(np.argmax(magnitude[c - h : c + h])) for c in candidates])


def _template(x: np.ndarray, before: float = 0.2, after: float = 0.3) -> np.ndarray:
    """Median beat (R at sample ``before * FS``): averages the noise down."""
    b, a = int(before * FS), int(after * FS)
    peaks = [p for p in _r_peaks(x) if b <= p < len(x) - a]
    return np.median(np.stack([x[p - b : p + a] for p in peaks]), axis=0)


def qrs_width_ms(x: np.ndarray) -> float:
    """Time the median beat's spatial slope exceeds 20 % of its maximum, within ±120 ms of R."""
    v = np.sqrt((np.diff(_template(x), axis=0) ** 2).sum(axis=1))
    r = int(0.2 * FS)
    seg = v[r - int(0.12 * FS) : r + int(0.12 * FS)]
    return float((seg > 0.2 * seg.max()).sum() * 1000 / FS)


def precordial_voltage(x: np.ndarray) -> float:
    """Sum over V1-V6 of the robust peak-to-peak amplitude after removing the wander."""
    v = (x - uniform_filter1d(x, int(0.3 * FS) | 1, axis=0))[:, 6:]
    return float((np.percentile(v, 99.5, axis=0) - np.percentile(v, 0.5, axis=0)).sum())


def st_level(x: np.ndarray, leads: list[int]) -> float:
    """ST 80 ms after R minus the PR segment 70 ms before it, mean of ``leads``."""
    peaks = _r_peaks(x)
    st = x[peaks + int(0.08 * FS)][:, leads] - x[peaks - int(0.07 * FS)][:, leads]
    return float(np.median(st.mean(axis=1)))


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    return float(mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)))


INFERIOR, ANTERIOR = [1, 2, 5], [6, 7, 8, 9]  # II, III, aVF; V1-V4


# ----------------------------------------------------------------------- layout


def test_database_has_the_28_columns_in_order(small) -> None:
    root, _ = small
    with open(root / DATABASE_FILE, newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == DATABASE_COLUMNS and len(header) == 28
    with open(root / STATEMENTS_FILE, newline="") as fh:
        assert tuple(next(csv.reader(fh))) == SCP_COLUMNS
    line = (root / DATABASE_FILE).read_text().splitlines()[1]
    # float patient_id/age as in the real file, record paths without extension
    assert line.split(",")[1].endswith(".0") and line.split(",")[2].endswith(".0")
    assert line.endswith("records100/00000/00001_lr,records500/00000/00001_hr")
    assert (root / "RECORDS").read_text().splitlines()[0] == "records100/00000/00001_lr"


def test_database_values_are_plausible(small) -> None:
    root, truth = small
    db = read_database(root)
    st = read_scp_statements(root)
    assert db.index.is_monotonic_increasing and (np.diff(db.index) >= 1).all()
    assert set(db["sex"]) == {0, 1}
    assert db["height"].isna().mean() > 0.5 and db["device"].str.startswith("CS-12").mean() > 0.5
    assert (
        pd.to_datetime(db["recording_date"], format="%Y-%m-%d %H:%M:%S")
        .dt.year.between(1989, 1997)
        .all()
    )
    codes = {c for d in db["scp_codes"] for c in d}
    assert codes <= set(st.index)  # every statement used is defined
    assert 0.0 in {v for d in db["scp_codes"] for v in d.values()}
    # the benchmark's aggregation gives back the planted labels
    by_id = truth.set_index("ecg_id")
    for ecg_id, scp in db["scp_codes"].items():
        planted = {c for c in SUPERCLASSES if by_id.loc[ecg_id, c]}
        assert superclass_labels(scp, st) == planted, ecg_id
    # flags and classes as in the real scp_statements.csv
    assert st.loc["NDT", ["diagnostic", "form"]].tolist() == [1.0, 1.0]
    assert st.loc["ASMI", "diagnostic_subclass"] == "AMI"
    assert np.isnan(st.loc["SR", "diagnostic"]) and st.loc["SR", "rhythm"] == 1.0


def test_ids_gaps_ages_and_patient_folds() -> None:
    cfg = PTBXLCohortConfig(n_records=1500, n_patients=1200, seed=3)
    ids = ecg_ids(cfg)
    assert ids[0] == 1 and (np.diff(ids) >= 1).all() and (np.diff(ids) > 1).any()
    fewer = dataclasses.replace(cfg, n_records=700, n_patients=600)
    assert np.array_equal(ecg_ids(fewer), ids[:700])


def test_folds_ages_on_a_written_corpus(tmp_path: Path) -> None:
    root = tmp_path / "c"
    truth = write_ptbxl_corpus(PTBXLCohortConfig(n_records=400, n_patients=300, seed=4), root)
    db = read_database(root)
    assert (db.groupby("patient_id")["strat_fold"].nunique() == 1).all()  # patient-respecting
    assert db["patient_id"].nunique() == 300
    assert (db.groupby("patient_id").size() > 1).any()
    assert sorted(db["strat_fold"].unique()) == list(range(1, 11))
    sizes = db["strat_fold"].value_counts()
    assert sizes.max() - sizes.min() <= 6
    # stratified: each class is spread over the folds
    for cls in ("MI", "CD", "HYP"):
        per_fold = truth.groupby("strat_fold")[cls].sum()
        assert per_fold.min() >= 0.4 * per_fold.mean(), cls
    assert (db["age"] == 300.0).any() and db.loc[db["age"] != 300, "age"].max() <= 89
    assert (np.diff(db.index) > 1).any()


# ----------------------------------------------------------------------- determinism


def test_record_i_does_not_depend_on_corpus_size(tmp_path: Path) -> None:
    a = PTBXLCohortConfig(n_records=30, n_patients=24, seed=7)
    b = dataclasses.replace(a, n_records=60)
    write_ptbxl_corpus(a, tmp_path / "a")
    write_ptbxl_corpus(b, tmp_path / "b")
    ids = ecg_ids(a)
    for i in (0, 17, 29):  # a first visit and later ones
        ra, rb = generate_record(a, i), generate_record(b, i)
        np.testing.assert_array_equal(ra.signal_100, rb.signal_100)
        assert ra.truth == rb.truth
        name = ra.row["filename_lr"]
        for ext in ("hea", "dat"):
            assert (tmp_path / "a" / f"{name}.{ext}").read_bytes() == (
                tmp_path / "b" / f"{name}.{ext}"
            ).read_bytes()
        assert ra.row["ecg_id"] == ids[i]
    other_seed = generate_record(dataclasses.replace(a, seed=8), 0)
    assert not np.array_equal(other_seed.signal_100, generate_record(a, 0).signal_100)


def test_500hz_copy_matches_the_100hz_record() -> None:
    cfg = PTBXLCohortConfig(n_records=10, n_patients=8, write_500hz=True, noise_mv=0.0)
    rec = generate_record(cfg, 3)
    assert rec.signal_500.shape == (5000, 12)
    np.testing.assert_allclose(rec.signal_500[::5], rec.signal_100, atol=1e-9)
    plain = generate_record(dataclasses.replace(cfg, write_500hz=False), 3)
    np.testing.assert_array_equal(plain.signal_100, rec.signal_100)


def test_limb_leads_are_consistent_to_the_quantisation(small) -> None:
    root, truth = small
    for ecg_id in truth["ecg_id"].iloc[[0, 11, 40]]:
        name = f"records100/{(ecg_id // 1000) * 1000:05d}/{ecg_id:05d}_lr"
        d = np.fromfile(root / f"{name}.dat", dtype="<i2").reshape(1000, 12).astype(np.int64)
        lead_i, lead_ii, iii, avr, avl, avf = (d[:, j] for j in range(6))
        assert np.abs(iii - (lead_ii - lead_i)).max() <= 1  # µV
        assert np.abs(avr + (lead_i + lead_ii) / 2).max() <= 1
        assert np.abs(avl - (lead_i - lead_ii / 2)).max() <= 1
        assert np.abs(avl - (lead_i - iii) / 2).max() <= 1.5
        assert np.abs(avf - (lead_ii - lead_i / 2)).max() <= 1
        assert np.abs(avf - (lead_ii + iii) / 2).max() <= 1.5
        x = read_record_fast(root, name, 100, 1000)
        assert 0.3 < np.ptp(x[:, 1]) < 8.0  # a plausible lead II in mV


# ----------------------------------------------------------------------- planted effects


def test_planted_effects_are_visible(cohort) -> None:
    signals, truth = cohort
    assert 0.15 < truth["MI"].mean() < 0.35 and 0.05 < truth["HYP"].mean() < 0.2
    width = np.array([qrs_width_ms(x) for x in signals])
    wide = truth["cd_subtype"].isin(["CRBBB", "CLBBB", "IVCD"]).to_numpy()
    no_cd = (truth["CD"] == 0).to_numpy()
    assert width[wide].mean() > width[no_cd].mean() + 20
    assert auroc(width[wide], width[no_cd]) > 0.8
    # LAFB and 1AVB barely widen the QRS: all CD together separate less
    assert auroc(width[~no_cd], width[no_cd]) > 0.6
    volt = np.array([precordial_voltage(x) for x in signals])
    hyp = (truth["HYP"] == 1).to_numpy()
    assert volt[hyp].mean() > 1.25 * volt[~hyp].mean() and auroc(volt[hyp], volt[~hyp]) > 0.7
    for territory, leads in (("inferior", INFERIOR), ("anterior", ANTERIOR)):
        st = np.array([st_level(x, leads) for x in signals])
        mi = (truth["territory"] == territory).to_numpy()
        assert st[mi].mean() > st[~mi].mean() + 0.03, territory
        assert auroc(st[mi], st[~mi]) > 0.7, territory
    # not trivial: the single measures overlap between labelled and other records
    assert auroc(volt[hyp], volt[~hyp]) < 0.97


def test_effect_scale_zero_removes_the_planted_effects(cohort) -> None:
    _, truth = cohort
    signals0, truth0 = _cohort(effect_scale=0.0)
    cd = (truth0["CD"] == 1).to_numpy()
    assert np.array_equal(cd, (truth["CD"] == 1).to_numpy())  # same labels, no effect
    width = np.array([qrs_width_ms(x) for x in signals0])
    assert abs(width[cd].mean() - width[~cd].mean()) < 5
    assert 0.35 < auroc(width[cd], width[~cd]) < 0.65
    volt = np.array([precordial_voltage(x) for x in signals0])
    hyp = (truth0["HYP"] == 1).to_numpy()
    assert 0.35 < auroc(volt[hyp], volt[~hyp]) < 0.65
    assert np.allclose(truth0["voltage_gain"], 1.0) and np.allclose(truth0["st_shift_mv"], 0.0)
    # stronger: with no effects, a record's signal does not depend on its labels at all
    cfg0 = PTBXLCohortConfig(n_records=N_COHORT, n_patients=260, seed=2, effect_scale=0.0)
    unlabelled = dataclasses.replace(
        cfg0, prevalence_mi=0.0, prevalence_sttc=0.0, prevalence_cd=0.0, prevalence_hyp=0.0
    )
    for i in np.nonzero(cd)[0][:3]:
        np.testing.assert_array_equal(
            generate_record(unlabelled, int(i)).signal_100, signals0[int(i)]
        )


def test_patient_variation_and_noise_knobs() -> None:
    cfg = PTBXLCohortConfig(n_records=40, n_patients=40, seed=9, noise_mv=0.0, wander_mv=0.0,
                            patient_variation=0.0, effect_scale=0.0)  # fmt: skip
    recs = [generate_record(cfg, i) for i in range(40)]
    # no between-patient variation: every record has the same QRS duration and axis
    assert pd.DataFrame([r.truth for r in recs])["qrs_ms"].nunique() == 1
    assert pd.DataFrame([r.truth for r in recs])["axis_deg"].nunique() == 1
    noisy = generate_record(dataclasses.replace(cfg, noise_mv=0.05), 0).signal_100
    assert 0.03 < np.std(noisy - recs[0].signal_100) < 0.2


def test_config_validation_names_the_field() -> None:
    for field, value in (("n_records", 0), ("effect_scale", -1.0), ("prevalence_cd", 1.5),
                         ("fs", 500), ("no_diagnostic_fraction", -0.1)):  # fmt: skip
        with pytest.raises(ValueError, match=f"ecg.synthetic.{field}"):
            PTBXLCohortConfig(**{field: value})
    with pytest.raises(ValueError, match="ecg.synthetic.n_patients"):
        PTBXLCohortConfig(n_records=10, n_patients=11)


# ----------------------------------------------------------------------- round trip


def test_read_back_by_load_ptbxl(small, tmp_path: Path) -> None:
    root, truth = small
    out = tmp_path / "out"
    out.mkdir()
    report = load_ptbxl(
        root, out / "signals.npy", out / "meta.parquet", out / "report.json", LoadOptions()
    )
    meta = pd.read_parquet(out / "meta.parquet")
    assert report["n_database"] == len(truth)
    assert report["dropped_no_diagnostic"] == int(truth["no_diagnostic"].sum())
    assert report["n_loaded"] == len(meta) == int((~truth["no_diagnostic"]).sum())
    by_id = truth.set_index("ecg_id").loc[meta["ecg_id"]]
    for cls in SUPERCLASSES:
        assert (by_id[cls].to_numpy() == meta[cls].to_numpy()).all(), cls
    assert (by_id["strat_fold"].to_numpy() == meta["strat_fold"].to_numpy()).all()
    x = np.load(out / "signals.npy")
    cfg = PTBXLCohortConfig(n_records=60, n_patients=45, seed=1)
    for row in (0, len(meta) - 1):
        rec = generate_record(cfg, int(by_id["record_index"].iloc[row]))
        assert np.abs(x[row].T - rec.signal_100).max() <= 0.5e-3 + 1e-6
    assert json.loads((out / "report.json").read_text())["n_loaded"] == len(meta)
    # records500 was not written: the 500-Hz load counts every record as missing
    with pytest.raises(ValueError, match="no record left"):
        load_ptbxl(root, out / "s.npy", out / "m.parquet", out / "r.json",
                   LoadOptions(rate=500, missing_records="count"))  # fmt: skip
