"""Waveform grounding: classical pulse morphology of PPG windows, and how concepts track it.

Why: a concept that predicts vascular age is only interpretable if it can be tied to the pulse
shape a clinician reads — when the reflected wave arrives, how deep the dicrotic notch is, how
wide the systolic lobe is. This module measures those features on the raw windows, averages
the beats a concept fires on (what the grounding figure draws), and correlates activations
with the features under a false-discovery-rate control.

Pipeline of one window (``fs`` Hz, float samples):

1. **Beats.** Systolic peaks come from NeuroKit2's Elgendi detector (``ppg_findpeaks`` with
   ``method="elgendi"``, which is what ``ppg_peaks`` runs for that method) on the signal
   ``ppg_clean(method="elgendi")`` gives (0.5–8 Hz band-pass; :func:`elgendi_clean` applies
   the same filter to many windows at once). A detected peak whose upstroke is under
   :data:`MIN_UPSTROKE_FRACTION` of the window's typical upstroke is dropped: a prominent
   diastolic wave (young arteries) is otherwise detected as a beat of its own.
2. **Shape signal.** Morphology is measured on the raw window low-passed at
   :data:`LOWPASS_HZ` (zero-phase Butterworth), not on the band-passed one: a 0.5 Hz
   high-pass reshapes the slow diastolic part of the beat, which is what the features are
   about.
3. **Onsets.** The onset of a beat is the minimum of the shape signal between two
   consecutive peaks, searched in the last :data:`FOOT_SEARCH_SECONDS` before the beat's
   steepest upstroke (so that a wiggle of the previous diastole cannot pose as the foot).
   Where the foot is flat (the pulse has fully returned to baseline, as in a slow heart),
   that minimum would land wherever noise puts it; the onset then moves to the foot's last
   sample within :data:`FOOT_TOLERANCE` of the beat's amplitude above the foot level (the
   mean of the samples within :data:`FOOT_FLOOR` of the amplitude above the minimum), i.e.
   to the start of the upstroke.
4. **Aligned pulses.** Each beat runs from its onset to the next onset; its baseline (the
   chord joining the two onsets) is subtracted, which removes respiratory and motion wander,
   and it is min–max normalised to [0, 1]. Beats keep their time axis (sample ``k`` is
   ``k / fs`` seconds after the onset, no time stretching, so features stay in seconds) and
   are cut or padded to a fixed length; padding repeats the beat's last value (the pulse has
   ended at the next onset). Beats whose length is implausible, or that do not resemble the
   window's median beat (Pearson r < :data:`TEMPLATE_MIN_R`: artefacts, ectopic beats,
   noise), are dropped; a window keeps its beats only when at least
   :data:`MIN_KEPT_FRACTION` of them pass, so a noise-only window yields none.
5. **Features** of the window's mean beat (:func:`pulse_morphology`); a window with fewer
   than :data:`MIN_PULSES` kept beats gets NaN features.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import ndimage, stats
from scipy import signal as sps

from clinssl.stsae.names import MORPHOLOGY_FEATURES

__all__ = [
    "FOOT_SEARCH_SECONDS",
    "FOOT_TOLERANCE",
    "LOWPASS_HZ",
    "MIN_UPSTROKE_FRACTION",
    "MIN_KEPT_FRACTION",
    "MIN_PULSES",
    "PULSE_SECONDS",
    "TEMPLATE_MIN_R",
    "MorphologyError",
    "aligned_pulses",
    "beat_onsets",
    "correlate_with_fdr",
    "detect_peaks",
    "elgendi_clean",
    "mean_pulse",
    "pulse_morphology",
    "systolic_peaks",
    "window_morphology",
]

#: low-pass cut-off (Hz) of the signal the shape is measured on (pulse content lies below it)
LOWPASS_HZ = 10.0
#: a flat foot ends where the signal leaves min + this fraction of the beat's amplitude
FOOT_TOLERANCE = 0.01
#: ... above the foot's level: the mean of the samples within this fraction of the
#: amplitude above the minimum (robust to where noise puts the minimum itself)
FOOT_FLOOR = 0.1
#: the foot lies at most this long (s) before the steepest point of the upstroke
FOOT_SEARCH_SECONDS = 0.25
#: plausible beat lengths (s): 30–200 beats per minute
MIN_BEAT_SECONDS, MAX_BEAT_SECONDS = 0.3, 2.0
#: a beat is kept when it correlates with the window's median beat at least this much
TEMPLATE_MIN_R = 0.85
#: ... and a window keeps its beats only when at least this fraction of them pass
MIN_KEPT_FRACTION = 0.6
#: fewest kept beats for a window to get features
MIN_PULSES = 2
#: length (s) of an aligned pulse in :func:`window_morphology` (a beat at 50 bpm is 1.2 s;
#: everything the features measure happens in its first second)
PULSE_SECONDS = 1.0
#: Savitzky–Golay window (s) of the derivatives of the mean beat
DERIVATIVE_SECONDS = 0.056
#: a local extremum of the mean beat's second derivative counts as a lobe when its
#: prominence is at least this fraction of the largest |second derivative| (smaller wiggles
#: are residual noise, or a wave hidden under a neighbouring one)
LOBE_PROMINENCE = 0.1
#: a detected peak whose upstroke is under this fraction of the window's typical upstroke
#: (75th percentile) is a diastolic wave or noise detected as a beat, and is dropped
MIN_UPSTROKE_FRACTION = 0.5
#: the pulse has ended after the last sample above this fraction of its amplitude
PULSE_END_LEVEL = 0.05


class MorphologyError(ValueError):
    """Malformed input to the morphology functions (shape, sampling rate, lengths)."""


# ------------------------------------------------------------------ beats and onsets


def _check_fs(fs: float) -> float:
    if not np.isfinite(fs) or fs <= 0:
        raise MorphologyError(f"fs must be a positive sampling rate in Hz, got {fs!r}")
    return float(fs)


def _check_signal(signal: np.ndarray) -> np.ndarray:
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise MorphologyError(f"signal must be 1-D (samples,), got shape {x.shape}")
    return x


def _usable(x: np.ndarray, fs: float) -> bool:
    """A window worth looking for beats in: finite, not constant, at least two beats long."""
    return x.size >= 2 * MIN_BEAT_SECONDS * fs and bool(np.isfinite(x).all()) and np.ptp(x) > 0


def elgendi_clean(windows: np.ndarray, fs: float) -> np.ndarray:
    """NeuroKit2's ``ppg_clean(method="elgendi")`` along the last axis, for many windows at once.

    The same filter (second-order Butterworth band-pass 0.5–8 Hz, zero-phase ``sosfiltfilt``)
    designed once instead of once per window; a test pins it to ``nk.ppg_clean``.
    """
    sos = sps.butter(2, [0.5, 8.0], btype="bandpass", output="sos", fs=fs)
    return sps.sosfiltfilt(sos, windows, axis=-1)


def _elgendi_peaks(clean: np.ndarray, fs: float) -> np.ndarray:
    """NeuroKit2's Elgendi peaks of a cleaned window (``ppg_findpeaks``: what ``ppg_peaks``
    returns for this method, without building its per-sample data frame)."""
    import neurokit2 as nk

    try:
        info = nk.ppg_findpeaks(clean, sampling_rate=fs, method="elgendi")
    except (IndexError, ValueError):  # nothing beat-like: NeuroKit2 indexes empty arrays
        return np.empty(0, dtype=np.int64)
    return np.unique(np.asarray(info["PPG_Peaks"], dtype=np.int64))


def detect_peaks(signal: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of the systolic peaks (NeuroKit2, Elgendi's method), ascending.

    A non-finite, constant or too short window has no peaks (NeuroKit2 would fail on it).
    """
    x, fs = _check_signal(signal), _check_fs(fs)
    if not _usable(x, fs):
        return np.empty(0, dtype=np.int64)
    return _elgendi_peaks(elgendi_clean(x, fs), fs)


def _lowpass(x: np.ndarray, fs: float) -> np.ndarray:
    """Zero-phase low-pass at :data:`LOWPASS_HZ` along the last axis (the cut-off is capped
    at 0.45·fs for low sampling rates)."""
    cutoff = min(LOWPASS_HZ, 0.45 * fs)
    sos = sps.butter(4, cutoff, btype="low", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x, axis=-1)


def systolic_peaks(shape: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """The detected peaks that are systolic: upstroke (rise from the minimum since the previous
    detected peak) at least :data:`MIN_UPSTROKE_FRACTION` of the window's typical upstroke.

    Why: a prominent diastolic wave (young, compliant arteries) is often detected as a beat
    of its own, which would split every beat in two.
    """
    if peaks.size < 2:
        return peaks
    starts = np.concatenate([[0], peaks[:-1]])
    upstroke = np.array(
        [shape[p] - shape[a : p + 1].min() for a, p in zip(starts, peaks, strict=True)]
    )
    typical = float(np.percentile(upstroke, 75))
    return peaks[upstroke >= MIN_UPSTROKE_FRACTION * typical]


def beat_onsets(shape: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """The onset between each pair of consecutive peaks (see the module docstring, step 3).

    ``shape`` is the low-passed window, ``peaks`` ascending sample indices; returns one onset
    per gap (``len(peaks) - 1``), ascending. The minimum is taken over the part of the gap
    that precedes the beat's steepest upstroke by at most :data:`FOOT_SEARCH_SECONDS`, so that
    a wiggle of the previous beat's diastole (motion, respiration) cannot pose as the foot.
    """
    onsets = []
    reach = max(1, int(round(FOOT_SEARCH_SECONDS * fs)))
    for left, right in zip(peaks[:-1], peaks[1:], strict=True):
        steepest = left + int(np.argmax(np.diff(shape[left : right + 1])))
        start = max(left, steepest - reach)
        segment = shape[start : steepest + 1]
        lowest = int(np.argmin(segment))
        amplitude = shape[right] - segment[lowest]
        if not amplitude > 0:  # no upstroke (the peak sits below the foot): keep the minimum
            onsets.append(start + lowest)
            continue
        floor = segment[segment <= segment[lowest] + FOOT_FLOOR * amplitude]
        level = float(floor.mean()) + FOOT_TOLERANCE * amplitude
        foot = np.flatnonzero(segment[lowest:] <= level)
        onsets.append(start + lowest + int(foot[-1]))
    return np.asarray(onsets, dtype=np.int64)


def _normalised_beat(segment: np.ndarray, n_samples: int) -> np.ndarray | None:
    """Chord-detrended, [0, 1]-normalised beat cut or edge-padded to ``n_samples``."""
    beat = segment - np.linspace(segment[0], segment[-1], segment.size)
    span = float(np.ptp(beat))
    if not span > 0:
        return None
    beat = (beat - beat.min()) / span
    out = np.full(n_samples, beat[min(beat.size, n_samples) - 1])
    out[: min(beat.size, n_samples)] = beat[:n_samples]
    return out


def _template_filter(pulses: np.ndarray) -> np.ndarray:
    """Keep the beats that resemble the median beat (none when too few of them do)."""
    if len(pulses) < MIN_PULSES:
        return pulses[:0]
    template = np.median(pulses, axis=0)
    centred = pulses - pulses.mean(axis=1, keepdims=True)
    t = template - template.mean()
    norms = np.linalg.norm(centred, axis=1) * np.linalg.norm(t)
    r = np.divide(centred @ t, norms, out=np.zeros(len(pulses)), where=norms > 0)
    keep = r >= TEMPLATE_MIN_R
    if keep.sum() < max(MIN_PULSES, MIN_KEPT_FRACTION * len(pulses)):
        return pulses[:0]
    return pulses[keep]


def _pulses(clean: np.ndarray, shape: np.ndarray, fs: float, n_samples: int) -> np.ndarray:
    """Aligned pulses of one window given its band-passed (``clean``) and low-passed
    (``shape``) signals."""
    peaks = systolic_peaks(shape, _elgendi_peaks(clean, fs))
    onsets = beat_onsets(shape, peaks, fs)
    beats = []
    for start, stop in zip(onsets[:-1], onsets[1:], strict=True):
        if not MIN_BEAT_SECONDS * fs <= stop - start <= MAX_BEAT_SECONDS * fs:
            continue
        beat = _normalised_beat(shape[start : stop + 1], n_samples)
        if beat is not None:
            beats.append(beat)
    if not beats:
        return np.empty((0, n_samples))
    return _template_filter(np.asarray(beats))


def _check_n_samples(n_samples: int) -> int:
    if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < 3:
        raise MorphologyError(f"n_samples must be an integer >= 3, got {n_samples!r}")
    return int(n_samples)


def aligned_pulses(signal: np.ndarray, fs: float, n_samples: int) -> np.ndarray:
    """Onset-aligned beats of one window, (n_beats, n_samples) float64, each in [0, 1].

    Sample ``k`` of a row is ``k / fs`` s after that beat's onset (no time stretching); see
    the module docstring (steps 1–4) for onsets, detrending, padding and the beats dropped.
    A window with no usable beats gives an empty (0, n_samples) array.
    """
    x, fs, n_samples = _check_signal(signal), _check_fs(fs), _check_n_samples(n_samples)
    if not _usable(x, fs):
        return np.empty((0, n_samples))
    return _pulses(elgendi_clean(x, fs), _lowpass(x, fs), fs, n_samples)


def _check_windows(windows: np.ndarray) -> np.ndarray:
    w = np.asarray(windows)
    if w.ndim != 2:
        raise MorphologyError(f"windows must be 2-D (n_windows, samples), got shape {w.shape}")
    return w


#: windows filtered together (bounds the memory of the filtered copies)
_CHUNK = 1024


def _window_pulses(windows: np.ndarray, fs: float, n_samples: int) -> list[np.ndarray]:
    """Aligned pulses of every window; the filters run on chunks of usable windows at once."""
    out: list[np.ndarray] = []
    empty = np.empty((0, n_samples))
    for first in range(0, len(windows), _CHUNK):
        chunk = np.asarray(windows[first : first + _CHUNK], dtype=np.float64)
        usable = np.array([_usable(x, fs) for x in chunk], dtype=bool)
        shapes, cleans = np.zeros_like(chunk), np.zeros_like(chunk)
        if usable.any():
            shapes[usable] = _lowpass(chunk[usable], fs)
            cleans[usable] = elgendi_clean(chunk[usable], fs)
        out += [
            _pulses(clean, shape, fs, n_samples) if ok else empty
            for clean, shape, ok in zip(cleans, shapes, usable, strict=True)
        ]
    return out


def mean_pulse(windows: np.ndarray, fs: float, n_samples: int) -> np.ndarray:
    """The average over all kept beats of ``windows`` (n, L), shape (n_samples,).

    What the grounding figure draws for the windows with the highest vs lowest activation of a
    concept. Every beat weighs the same (a window with more beats counts more); the average is
    not re-normalised. All-NaN when no window has usable beats.
    """
    w, fs, n_samples = _check_windows(windows), _check_fs(fs), _check_n_samples(n_samples)
    pulses = [p for p in _window_pulses(w, fs, n_samples) if len(p)]
    if not pulses:
        return np.full(n_samples, np.nan)
    return np.concatenate(pulses).mean(axis=0)


# ------------------------------------------------------------------ features of one beat


def _nan_features() -> dict[str, float]:
    return dict.fromkeys(MORPHOLOGY_FEATURES, float("nan"))


def _parabolic_peak(y: np.ndarray, i: int) -> float:
    """Sub-sample position of the extremum at ``i`` (vertex of the parabola through i±1)."""
    if i <= 0 or i >= y.size - 1:
        return float(i)
    left, mid, right = y[i - 1], y[i], y[i + 1]
    curvature = left - 2 * mid + right
    if curvature == 0:
        return float(i)
    return i + 0.5 * (left - right) / curvature


def _half_width(y: np.ndarray, peak: int, fs: float) -> float:
    """Seconds the systolic lobe stays above half the amplitude (linear interpolation)."""
    below = y < 0.5
    left = np.flatnonzero(below[:peak])
    right = np.flatnonzero(below[peak:])
    if left.size == 0 or right.size == 0:
        return float("nan")
    i, j = int(left[-1]), peak + int(right[0])
    rise = i + (0.5 - y[i]) / (y[i + 1] - y[i])
    fall = j - 1 + (y[j - 1] - 0.5) / (y[j - 1] - y[j])
    return float((fall - rise) / fs)


@functools.lru_cache(maxsize=16)
def _savgol_kernels(fs: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Cubic Savitzky–Golay first- and second-derivative kernels (computed once per ``fs``)."""
    window = max(5, int(round(DERIVATIVE_SECONDS * fs)) | 1)
    first = sps.savgol_coeffs(window, 3, deriv=1, delta=1.0 / fs)
    second = sps.savgol_coeffs(window, 3, deriv=2, delta=1.0 / fs)
    return first, second, window


def _derivatives(y: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed first and second derivatives (Savitzky–Golay, cubic; edges repeat the end
    samples, which lie on the flat foot of a beat)."""
    first, second, window = _savgol_kernels(float(fs))
    if y.size < window:
        return np.gradient(y) * fs, np.gradient(np.gradient(y)) * fs**2
    d1 = ndimage.convolve1d(y, first, mode="nearest")
    return d1, ndimage.convolve1d(y, second, mode="nearest")


def _concave_run(d2: np.ndarray, at: int, floor: int) -> tuple[int, int]:
    """``[i, j)``: the run of negative second derivative around ``at``, not before ``floor``."""
    i = at
    while i > floor and d2[i - 1] < 0:
        i -= 1
    j = at + 1
    while j < d2.size and d2[j] < 0:
        j += 1
    return i, j


def _diastolic_and_notch(y: np.ndarray, sys: int, fs: float) -> tuple[int, int] | None:
    """Indices of the diastolic (reflected-wave) point and of the dicrotic notch.

    On the second derivative (scaled by its largest magnitude), the systolic peak is a
    concave lobe; it ends at the first local maximum after the peak with prominence at least
    :data:`LOBE_PROMINENCE` (the point of maximum curvature). The reflected wave is the first
    concave local minimum after that (same prominence), before the pulse ends (the last
    sample above :data:`PULSE_END_LEVEL`).

    * If the pulse has a local maximum inside that concave run (the first derivative crosses
      zero there), the wave makes a **true diastolic peak**: the diastolic point is that
      maximum and the notch the minimum of the pulse between the two peaks.
    * Otherwise the reflected wave is only an **inflection** (a late-systolic shoulder): the
      diastolic point is the most concave sample (the second-derivative minimum) and the
      notch the point of maximum curvature (largest second derivative) between the systolic
      peak and it.

    ``None`` when either lobe is missing (e.g. a single Gaussian pulse).
    """
    _, d2 = _derivatives(y, fs)
    d2 = d2 / float(np.abs(d2).max())
    end = int(np.flatnonzero(y >= PULSE_END_LEVEL)[-1])
    maxima, _ = sps.find_peaks(d2[sys : end + 1], prominence=LOBE_PROMINENCE)
    if maxima.size == 0:
        return None
    convex = sys + int(maxima[0])
    minima, _ = sps.find_peaks(-d2[convex : end + 1], prominence=LOBE_PROMINENCE, height=0.0)
    if minima.size == 0:
        return None
    concave = convex + int(minima[0])
    start, stop = _concave_run(d2, concave, floor=convex)
    top = start + int(np.argmax(y[start:stop]))
    if start < top < stop - 1:  # an interior maximum: a true diastolic peak
        return top, sys + int(np.argmin(y[sys : top + 1]))
    return concave, sys + int(np.argmax(d2[sys : concave + 1]))


def pulse_morphology(beat: np.ndarray, fs: float) -> dict[str, float]:
    """The :data:`~clinssl.stsae.names.MORPHOLOGY_FEATURES` of one onset-aligned average beat.

    The beat is min–max rescaled to [0, 1] first, so heights are fractions of the pulse
    amplitude above its foot (a beat from :func:`mean_pulse` is already close to that). With
    P1 the systolic peak height, P2 the height at the diastolic (reflected-wave) point and
    times in seconds from the onset (sample 0):

    * ``systolic_peak_time``: time of the global maximum (sub-sample, parabolic);
    * ``notch_time``: time of the dicrotic notch — the minimum between the systolic peak and
      a true diastolic peak, or, when the reflected wave is only an inflection, the point of
      maximum curvature (largest second derivative) before it;
    * ``notch_depth``: (P1 − notch height) / P1, the drop to the notch as a fraction of P1
      (0 = no notch, 1 = back to baseline);
    * ``augmentation_index``: (P2 − P1) / P1, the classical sign convention (negative when the
      reflected wave is lower than the systolic peak). Both it and the reflection index use
      the same diastolic point, so here AI = RI − 1; it is kept for comparability;
    * ``reflection_index``: P2 / P1;
    * ``stiffness_index``: 1 / ΔT in 1/s, ΔT the time from the systolic peak to the diastolic
      point. The classical SI is body height / ΔT; height is not part of a window, so this
      is SI per metre of height (unit height);
    * ``pulse_width_50``: seconds the systolic lobe stays above 50 % of the amplitude, from the
      upward to the next downward crossing of 0.5 (linear interpolation).

    The diastolic point is found on the second derivative (see :func:`_diastolic_and_notch`):
    the first concave lobe after the systolic one; it is the pulse's local maximum there (the
    first derivative's zero crossing) when the reflected wave makes a second peak, and the
    lobe's most concave sample when the wave is only an inflection. Features that cannot be
    measured (no reflected wave, a peak at the edge, a flat or non-finite beat) are NaN; this
    function never raises on the content of the beat.
    """
    y, fs = _check_signal(beat), _check_fs(fs)
    out = _nan_features()
    if y.size < 7 or not np.isfinite(y).all() or not np.ptp(y) > 0:
        return out
    y = (y - y.min()) / np.ptp(y)
    sys = int(np.argmax(y))
    if sys == 0 or sys == y.size - 1:
        return out
    out["systolic_peak_time"] = _parabolic_peak(y, sys) / fs
    out["pulse_width_50"] = _half_width(y, sys, fs)
    found = _diastolic_and_notch(y, sys, fs)
    if found is None:
        return out
    dia, notch = found
    p1, p2 = float(y[sys]), float(y[dia])
    out["notch_time"] = notch / fs
    out["notch_depth"] = (p1 - float(y[notch])) / p1
    out["augmentation_index"] = (p2 - p1) / p1
    out["reflection_index"] = p2 / p1
    out["stiffness_index"] = fs / (dia - sys)
    return out


# ------------------------------------------------------------------ windows and concepts


def window_morphology(windows: np.ndarray, fs: float) -> pd.DataFrame:
    """One row per window (columns :data:`~clinssl.stsae.names.MORPHOLOGY_FEATURES`): the
    features of that window's mean aligned beat (:data:`PULSE_SECONDS` long).

    Windows with fewer than :data:`MIN_PULSES` kept beats (flat, clipped to a constant,
    non-finite, noise) get NaN rows.
    """
    w, fs = _check_windows(windows), _check_fs(fs)
    n_samples = max(3, int(round(PULSE_SECONDS * fs)))
    rows = []
    for pulses in _window_pulses(w, fs, n_samples):
        if len(pulses) < MIN_PULSES:
            rows.append(_nan_features())
        else:
            rows.append(pulse_morphology(pulses.mean(axis=0), fs))
    return pd.DataFrame(rows, columns=list(MORPHOLOGY_FEATURES), index=pd.RangeIndex(len(w)))


def _pearson(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(r, two-sided p); NaN when either side is constant or fewer than 3 pairs."""
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    result = stats.pearsonr(a, b)
    return float(result.statistic), float(result.pvalue)


def correlate_with_fdr(
    codes: np.ndarray, morphology: pd.DataFrame, concepts: Sequence[int]
) -> pd.DataFrame:
    """Pearson r of each concept's activation with each morphology feature, with BH q-values.

    Rows (concept, feature, r, p, q, n): one per concept × feature column of ``morphology``;
    per pair, windows with a NaN feature are dropped (``n`` counts the rest). ``q`` is the
    Benjamini–Hochberg adjustment (``scipy.stats.false_discovery_control``) over all tests
    of the table with a defined p (a constant activation or feature gives NaN r, p, q).
    """
    c = np.asarray(codes, dtype=np.float64)
    if c.ndim != 2:
        raise MorphologyError(f"codes must be 2-D (n_windows, K), got shape {c.shape}")
    if len(morphology) != len(c):
        raise MorphologyError(
            f"morphology must have one row per window of codes: {len(morphology)} != {len(c)}"
        )
    bad = [k for k in concepts if not 0 <= int(k) < c.shape[1]]
    if bad:
        raise MorphologyError(f"concepts must index columns 0..{c.shape[1] - 1}, got {bad}")
    rows = []
    for k in concepts:
        for feature in morphology.columns:
            values = morphology[feature].to_numpy(dtype=np.float64)
            ok = np.isfinite(values) & np.isfinite(c[:, int(k)])
            r, p = _pearson(c[ok, int(k)], values[ok])
            rows.append({"concept": int(k), "feature": str(feature), "r": r, "p": p,
                         "n": int(ok.sum())})  # fmt: skip
    table = pd.DataFrame(rows, columns=["concept", "feature", "r", "p", "n"])
    table["q"] = np.nan
    defined = table["p"].notna().to_numpy()
    if defined.any():
        table.loc[defined, "q"] = stats.false_discovery_control(table.loc[defined, "p"])
    return table[["concept", "feature", "r", "p", "q", "n"]]
