"""Pulse morphology against the synthetic beat model (three Gaussians: systolic, reflected,
dicrotic), the beat pipeline's edge cases, and the FDR-controlled concept correlations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clinssl.ppg.synthetic import beat_shape
from clinssl.stsae.morphology import (
    MorphologyError,
    aligned_pulses,
    correlate_with_fdr,
    detect_peaks,
    elgendi_clean,
    mean_pulse,
    pulse_morphology,
    systolic_peaks,
    window_morphology,
)
from clinssl.stsae.names import MORPHOLOGY_FEATURES

FS = 125.0
N = 1250
AGES = np.arange(25.0, 86.0, 5.0)


def beat_onset_times(rr: float, seconds: float = N / FS) -> np.ndarray:
    return np.arange(-rr, seconds + 0.2, rr)


def regular_window(vascular_age: float, rr: float = 0.9, noise_sd: float = 0.0, seed: int = 0):
    """10 s of identical beats every ``rr`` seconds (plus white noise)."""
    t = np.arange(N) / FS
    x = sum(beat_shape(t - onset, vascular_age) for onset in beat_onset_times(rr))
    return x + np.random.default_rng(seed).normal(0.0, noise_sd, N)


def planted_delay(vascular_age: float) -> float:
    """Reflected-wave delay mu2 − mu1 of ``beat_shape`` (its formula, without morphology)."""
    s = float(np.clip((vascular_age - 20.0) / 70.0, -0.2, 1.3))
    return max(0.06, 0.30 - 0.17 * s)


def planted_peak_time(vascular_age: float) -> float:
    """Time of the beat's maximum after its onset, on a 0.4 ms grid."""
    tau = np.arange(0.0, 1.0, 1.0 / (FS * 20))
    return float(tau[np.argmax(beat_shape(tau, vascular_age))])


def age_sweep(noise_sd: float) -> pd.DataFrame:
    windows = np.stack([regular_window(a, noise_sd=noise_sd, seed=int(a)) for a in AGES])
    return window_morphology(windows, FS)


@pytest.fixture(scope="module")
def sweeps() -> dict[float, pd.DataFrame]:
    return {noise: age_sweep(noise) for noise in (0.0, 0.02)}


# ------------------------------------------------------------------ beats


def test_elgendi_clean_equals_neurokit():
    import neurokit2 as nk

    x = regular_window(50.0, noise_sd=0.05, seed=1)
    expected = nk.ppg_clean(x, sampling_rate=FS, method="elgendi")
    np.testing.assert_allclose(elgendi_clean(x, FS), expected, rtol=0, atol=1e-12)


def test_detect_peaks_finds_the_planted_systolic_peaks():
    rr, age = 0.9, 60.0
    peaks = detect_peaks(regular_window(age, rr=rr), FS)
    planted = (beat_onset_times(rr) + planted_peak_time(age)) * FS
    planted = planted[(planted > 0) & (planted < N - 1)]
    distance = np.abs(peaks[:, None] - planted[None, :]).min(axis=1)
    assert peaks.size >= planted.size - 1
    assert distance.max() <= 2


def test_systolic_peaks_drops_a_diastolic_wave_detected_as_a_beat():
    """Young beats: the (reflected + dicrotic) hump is often detected as a beat of its own."""
    x = regular_window(20.0, rr=0.85)
    raw = detect_peaks(x, FS)
    kept = systolic_peaks(x, raw)
    onsets = beat_onset_times(0.85)
    planted = int(((onsets + planted_peak_time(20.0)) * FS < N).sum() - (onsets < 0).sum())
    assert raw.size > planted  # the detector double-counts here
    assert abs(kept.size - planted) <= 1
    assert np.diff(kept).min() > 0.7 * 0.85 * FS


def test_aligned_pulses_are_onset_aligned_and_normalised():
    pulses = aligned_pulses(regular_window(50.0, rr=0.9), FS, n_samples=125)
    assert pulses.shape[1] == 125 and 7 <= pulses.shape[0] <= 11
    assert pulses.min() >= 0.0 and np.allclose(pulses.max(axis=1), 1.0)
    assert np.all(pulses[:, 0] < 0.05)  # each row starts at its foot
    peak = pulses.argmax(axis=1)
    assert np.ptp(peak) <= 1  # identical beats align to the same sample
    assert abs(peak[0] / FS - planted_peak_time(50.0)) <= 2 / FS


def test_mean_pulse_averages_the_beats_of_all_windows():
    a, b = regular_window(40.0), regular_window(80.0)
    pa, pb = aligned_pulses(a, FS, 125), aligned_pulses(b, FS, 125)
    expected = np.concatenate([pa, pb]).mean(axis=0)
    np.testing.assert_allclose(mean_pulse(np.stack([a, b]), FS, 125), expected)
    assert np.isnan(mean_pulse(np.zeros((2, N)), FS, 125)).all()


# ------------------------------------------------------------------ features


def test_systolic_peak_time_tracks_the_planted_peak(sweeps):
    planted = np.array([planted_peak_time(a) for a in AGES])
    for noise, table in sweeps.items():
        error = (table["systolic_peak_time"].to_numpy() - planted) * FS
        assert np.abs(error).max() <= 2.0, (noise, error)
    mu1 = 0.14 + 0.04 * np.clip((AGES - 20.0) / 70.0, -0.2, 1.3)
    assert stats.pearsonr(sweeps[0.02]["systolic_peak_time"], mu1).statistic > 0.95


def test_delta_t_shortens_with_age_and_tracks_the_planted_delay(sweeps):
    delay = np.array([planted_delay(a) for a in AGES])
    for noise, table in sweeps.items():
        delta_t = 1.0 / table["stiffness_index"].to_numpy()
        assert np.isfinite(delta_t).all(), noise
        assert stats.pearsonr(delta_t, delay).statistic > 0.9, noise
        assert stats.spearmanr(delta_t, AGES).statistic < -0.9, noise
        assert delta_t[-1] < delta_t[0] - 0.1, noise


def test_reflection_index_rises_and_notch_fades_with_age(sweeps):
    for noise, table in sweeps.items():
        ri = table["reflection_index"].to_numpy()
        assert stats.spearmanr(ri, AGES).statistic > 0.9, noise
        assert ri[-1] - ri[0] > 0.1, noise
        np.testing.assert_allclose(table["augmentation_index"], ri - 1.0)
        assert stats.spearmanr(table["notch_depth"], AGES).statistic < -0.9, noise
        notch = table["notch_time"].to_numpy()
        assert np.all(notch > table["systolic_peak_time"].to_numpy())
        assert np.all(notch < table["systolic_peak_time"].to_numpy() + delta_t_of(table))


def delta_t_of(table: pd.DataFrame) -> np.ndarray:
    return 1.0 / table["stiffness_index"].to_numpy()


def test_pulse_width_50_of_a_single_gaussian_beat():
    sd = 0.06
    tau = np.arange(int(FS)) / FS
    beat = np.exp(-0.5 * ((tau - 0.25) / sd) ** 2)
    features = pulse_morphology(beat, FS)
    analytic = 2.0 * np.sqrt(2.0 * np.log(2.0)) * sd
    assert features["pulse_width_50"] == pytest.approx(analytic, rel=0.01)
    assert features["systolic_peak_time"] == pytest.approx(0.25, abs=0.5 / FS)
    # one wave only: no reflected wave, no notch
    for name in ("notch_time", "reflection_index", "stiffness_index"):
        assert np.isnan(features[name])


def test_pulse_width_50_of_gaussian_pulse_windows():
    sd, rr = 0.05, 0.8
    t = np.arange(N) / FS
    x = sum(np.exp(-0.5 * ((t - onset - 0.2) / sd) ** 2) for onset in beat_onset_times(rr))
    row = window_morphology(x[None, :], FS).iloc[0]
    assert row["pulse_width_50"] == pytest.approx(2.3548 * sd, rel=0.05)


def test_flat_nan_and_noise_windows_give_nan_features_without_raising():
    rng = np.random.default_rng(0)
    noise = [rng.normal(0.0, scale, N) for scale in (0.01, 1.0, 100.0) for _ in range(10)]
    windows = np.stack([np.zeros(N), np.full(N, 3.0), np.full(N, np.nan), *noise])
    table = window_morphology(windows, FS)
    assert list(table.columns) == list(MORPHOLOGY_FEATURES)
    assert len(table) == len(windows)
    assert table.isna().all(axis=None)
    for features in (pulse_morphology(np.zeros(100), FS), pulse_morphology(np.ones(3), FS)):
        assert all(np.isnan(v) for v in features.values())


def test_bad_input_raises_morphology_error():
    with pytest.raises(MorphologyError, match="windows must be 2-D"):
        window_morphology(np.zeros(N), FS)
    with pytest.raises(MorphologyError, match="fs"):
        aligned_pulses(np.zeros(N), 0.0, 125)
    with pytest.raises(MorphologyError, match="n_samples"):
        aligned_pulses(np.zeros(N), FS, 1)


# ------------------------------------------------------------------ concept correlations


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Textbook BH: q_(i) = min over j ≥ i of p_(j)·m / j, capped at 1."""
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    q = np.empty_like(p)
    q[order] = q_sorted
    return q


def test_bh_reference_on_a_hand_example():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(benjamini_hochberg(p), [0.02, 0.04, 0.04, 0.02])
    np.testing.assert_allclose(stats.false_discovery_control(p), [0.02, 0.04, 0.04, 0.02])


def test_correlate_with_fdr_r_p_q_and_nan_pairs():
    rng = np.random.default_rng(1)
    n = 60
    codes = rng.normal(size=(n, 4))
    morphology = pd.DataFrame({
        "systolic_peak_time": codes[:, 0] + rng.normal(0, 0.5, n),
        "notch_depth": rng.normal(size=n),
        "reflection_index": -codes[:, 2] + rng.normal(0, 2.0, n),
    })  # fmt: skip
    morphology.loc[:9, "notch_depth"] = np.nan
    table = correlate_with_fdr(codes, morphology, concepts=[0, 2])
    assert list(table.columns) == ["concept", "feature", "r", "p", "q", "n"]
    assert len(table) == 6
    row = table[(table["concept"] == 0) & (table["feature"] == "systolic_peak_time")].iloc[0]
    expected = stats.pearsonr(codes[:, 0], morphology["systolic_peak_time"])
    assert row["r"] == pytest.approx(expected.statistic)
    assert row["p"] == pytest.approx(expected.pvalue)
    notch = table[table["feature"] == "notch_depth"]
    assert (notch["n"] == n - 10).all()
    r_notch = stats.pearsonr(codes[10:, 2], morphology["notch_depth"][10:]).statistic
    assert notch[notch["concept"] == 2]["r"].iloc[0] == pytest.approx(r_notch)
    np.testing.assert_allclose(table["q"], benjamini_hochberg(table["p"].to_numpy()))
    assert (table["q"] >= table["p"] - 1e-15).all()


def test_correlate_with_fdr_rejects_bad_concepts_and_row_mismatch():
    codes = np.zeros((5, 3))
    with pytest.raises(MorphologyError, match="concepts"):
        correlate_with_fdr(codes, pd.DataFrame({"a": np.arange(5.0)}), concepts=[3])
    with pytest.raises(MorphologyError, match="one row per window"):
        correlate_with_fdr(codes, pd.DataFrame({"a": np.arange(4.0)}), concepts=[0])
