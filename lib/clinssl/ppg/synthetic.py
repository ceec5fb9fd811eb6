"""Synthetic PPG cohort with planted, learnable structure (the embedded default of ``ppg``).

Why: the PPG branch must run and be *checked* without credentialed data. Every window is
drawn from a beat model whose morphology is driven by a planted **vascular age**
(chronological age + δ, δ correlated with hypertension and diabetes), so that

* a frozen encoder's embedding predicts age (reflected-wave timing and amplitude, dicrotic
  notch depth and systolic width all move with vascular age, as in the stiffness-index
  literature: stiffer arteries return the reflected wave earlier and stronger);
* premature ventricular contractions (PVC; early, small, wide beats followed by a
  compensatory pause) are a labelled, learnable window-level event (~5 % of windows);
* quality control has something to reject: flatlines, clipping, motion bursts and NaN gaps
  are planted in known windows (``artifact`` in the truth table).

Difficulty. A cohort in which vascular age is the only source of morphology, and PVCs are
always very early, tiny beats, puts every probe at its ceiling (and then the benchmark
cannot tell a pretrained encoder from a random projection). Five knobs, each a multiplier
of a physiologically sized effect (1 = the default, realistic level; **0 switches the
effect off**, and all five at 0 give the easy cohort of earlier releases):

* ``morphology_sd`` — between-subject morphology unrelated to age. A shared "vessel
  geometry" factor (body height, arterial path length) moves reflected-wave timing and
  amplitude along the same direction as age does (a taller, younger-looking waveform), so
  it cannot be averaged out; sensor placement adds independent offsets to systolic width,
  peak time and dicrotic depth;
* ``beat_variability`` — within-subject beat-to-beat jitter of amplitude, width and
  reflected-wave timing;
* ``respiration`` — respiration at a subject-specific rate (0.15–0.35 Hz): amplitude
  modulation, respiratory sinus arrhythmia (inter-beat-interval modulation) and baseline
  wander;
* ``motion_sd`` — low-level motion in every window (band-limited 0.3–3 Hz, relative to pulse
  amplitude), on top of the white ``noise_sd``; gross motion artifacts stay separate
  (``motion_fraction``);
* ``pvc_overlap`` — how much PVC beats overlap normal beats: at 0 every PVC window holds 2–3
  beats that come at 60 % of the inter-beat interval with 45 % amplitude and 1.35× width;
  at 1 prematurity, amplitude and width are drawn from ranges reaching normal beats
  (onset at 60–90 % of the interval, amplitude 45–90 %, width 1.05–1.35×) and half of
  the PVC windows hold one beat fewer.

Each subject draws from its own RNG stream (``derive_seed(seed, "ppg-subject", i)``), so the
corpus is generated one subject at a time (streaming; memory does not grow with the number
of subjects) and subject ``i`` is identical whatever the corpus size.

The format writers (PulseDB ``.mat`` v7.3, MIMIC-III matched WFDB) live in
:mod:`clinssl.ppg.io.pulsedb` and :mod:`clinssl.io.wfdb`; this module only makes signals
and the truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clinssl.utils.seeding import derive_seed

ARTIFACTS = ("none", "flat", "clipped", "motion", "nan")
#: the difficulty knobs of :class:`PPGCohortConfig` (each 0 = effect off)
DIFFICULTY_KNOBS = ("morphology_sd", "beat_variability", "respiration", "motion_sd", "pvc_overlap")


@dataclass(frozen=True)
class PPGCohortConfig:
    """Size and planted effects of the synthetic cohort (config ``ppg.synthetic``)."""

    n_subjects: int = 300
    windows_per_subject: int = 30
    records_per_subject: int = 2
    fs: float = 125.0
    window_seconds: float = 10.0
    age_min: float = 20.0
    age_max: float = 90.0
    delta_sd: float = 6.0
    pvc_fraction: float = 0.05
    flat_fraction: float = 0.015
    clipped_fraction: float = 0.015
    motion_fraction: float = 0.02
    nan_fraction: float = 0.01
    noise_sd: float = 0.02
    morphology_sd: float = 1.0
    beat_variability: float = 1.0
    respiration: float = 1.0
    motion_sd: float = 0.04
    pvc_overlap: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_subjects < 1 or self.windows_per_subject < 1:
            raise ValueError("ppg.synthetic: n_subjects and windows_per_subject must be >= 1")
        if not 1 <= self.records_per_subject <= self.windows_per_subject:
            raise ValueError(
                "ppg.synthetic.records_per_subject must be between 1 and windows_per_subject"
            )
        bad = self.flat_fraction + self.clipped_fraction + self.motion_fraction
        if bad + self.nan_fraction + self.pvc_fraction >= 1:
            raise ValueError("ppg.synthetic: artifact and PVC fractions must sum to < 1")
        for knob in DIFFICULTY_KNOBS:
            if getattr(self, knob) < 0:
                raise ValueError(f"ppg.synthetic.{knob} must be >= 0, got {getattr(self, knob)}")
        if self.pvc_overlap > 1:
            raise ValueError(f"ppg.synthetic.pvc_overlap must be <= 1, got {self.pvc_overlap}")

    @property
    def window_samples(self) -> int:
        return int(round(self.fs * self.window_seconds))


def subject_id(index: int) -> str:
    """``'pXXXXXX'`` (MIMIC style, 6 digits); the two leading digits spread over p00–p09."""
    return f"p{index % 10:02d}{1000 + index // 10:04d}"


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def draw_subject(cfg: PPGCohortConfig, index: int) -> dict:
    """The planted per-subject truth of subject ``index`` (pure function of seed and index)."""
    rng = np.random.default_rng(derive_seed(cfg.seed, "ppg-subject", index))
    age = float(rng.uniform(cfg.age_min, cfg.age_max))
    sex = "M" if rng.random() < 0.5 else "F"
    htn = int(rng.random() < _sigmoid((age - 55.0) / 10.0))
    diabetes = int(rng.random() < 0.08 + 0.22 * (age - cfg.age_min) / (cfg.age_max - cfg.age_min))
    # δ: shifted by the labels, centred so that E[δ] ≈ 0; total sd ≈ delta_sd
    noise_sd = cfg.delta_sd * 0.8
    delta = 4.0 * (htn - 0.5) + 3.0 * (diabetes - 0.2) + float(rng.normal(0.0, noise_sd))
    hr = float(np.clip(rng.normal(74.0, 8.0) - 0.08 * (age - 55.0), 50.0, 110.0))
    hrv = 0.045 * (1.0 - 0.55 * (age - cfg.age_min) / (cfg.age_max - cfg.age_min)) + 0.005
    return {
        "subject_index": index,
        "subject_id": subject_id(index),
        "age": age,
        "sex": sex,
        "htn": htn,
        "diabetes": diabetes,
        "delta": delta,
        "vascular_age": age + delta,
        "hr_mean": hr,
        "rr_sd": hrv,
        "gain": float(np.exp(rng.normal(0.0, 0.3))),
        "offset": float(rng.normal(0.0, 0.2)),
        # drawn after everything above (and whatever the knobs), so the planted truth of a
        # subject does not depend on the difficulty settings
        "morphology": _draw_morphology(rng, cfg.morphology_sd),
        "resp_rate": float(rng.uniform(0.15, 0.35)),
    }


def _draw_morphology(rng: np.random.Generator, scale: float) -> dict[str, float]:
    """Subject-level beat-shape offsets unrelated to age (see the module docstring).

    ``geometry`` ~ N(0, 1) shifts the reflected wave later and weaker (the direction of a
    younger artery) by about a third of the 20→90-year age effect per SD; the other terms
    are independent sensor-placement offsets.
    """
    geometry, e = rng.normal(), rng.normal(size=5)
    return {
        "reflect_delay": scale * (0.055 * geometry + 0.015 * e[0]),
        "reflect_gain": scale * (-0.12 * geometry + 0.05 * e[1]),
        "systolic_width": float(np.exp(scale * 0.12 * e[2])),
        "systolic_time": scale * 0.012 * e[3],
        "dicrotic_gain": scale * 0.06 * e[4],
    }


NO_MORPHOLOGY = {"reflect_delay": 0.0, "reflect_gain": 0.0, "systolic_width": 1.0,
                 "systolic_time": 0.0, "dicrotic_gain": 0.0}  # fmt: skip


def beat_parameters(vascular_age: float, morphology: dict[str, float] | None = None) -> dict[str, float]:
    """The beat model's planted shape of a subject (before per-beat jitter): centres (s after
    onset) and widths of the three Gaussians and the relative amplitudes of the reflected and
    dicrotic waves.

    ``s`` = stiffness in [≈0, 1] from vascular age: the reflected wave arrives earlier
    (ΔT 0.30 s → 0.13 s) and stronger, the systolic upstroke widens, the dicrotic notch fades.
    ``morphology`` holds the subject's age-unrelated offsets (:func:`_draw_morphology`).
    """
    m = morphology or NO_MORPHOLOGY
    s = float(np.clip((vascular_age - 20.0) / 70.0, -0.2, 1.3))
    mu1 = 0.14 + 0.04 * s + m["systolic_time"]
    return {
        "systolic_time": mu1,
        "systolic_sd": 0.045 + 0.02 * s,
        "reflection_delay": 0.30 - 0.17 * s + m["reflect_delay"],
        "reflection_amplitude": max(0.05, 0.28 + 0.42 * s + m["reflect_gain"]),
        "dicrotic_time": mu1 + 0.40 - 0.06 * s,
        "dicrotic_amplitude": max(0.0, 0.30 * (1.0 - 0.8 * min(s, 1.0)) + m["dicrotic_gain"]),
    }


#: planted beat-shape parameters written to the truth table (per subject; seconds or ratios)
BEAT_TRUTH_COLUMNS = ("systolic_time", "reflection_delay", "reflection_amplitude",
                      "dicrotic_amplitude")  # fmt: skip


def beat_shape(
    tau: np.ndarray,
    vascular_age: float,
    scale: float = 1.0,
    width: float = 1.0,
    morphology: dict[str, float] | None = None,
    reflect_jitter: float = 0.0,
):
    """One pulse as a sum of three Gaussians (systolic, reflected, dicrotic) at times ``tau`` (s),
    shaped by :func:`beat_parameters`; ``reflect_jitter`` is this beat's reflected-wave timing
    jitter (s), ``width`` scales every Gaussian's width."""
    m = morphology or NO_MORPHOLOGY
    p = beat_parameters(vascular_age, morphology)
    mu1 = p["systolic_time"]
    sd1 = p["systolic_sd"] * width * m["systolic_width"]
    mu2 = mu1 + max(0.06, p["reflection_delay"] + reflect_jitter)
    sd2, a2 = 0.075 * width, p["reflection_amplitude"]
    mu3, sd3 = p["dicrotic_time"], 0.05 * width
    a3 = p["dicrotic_amplitude"]
    out = np.exp(-0.5 * ((tau - mu1) / sd1) ** 2)
    out += a2 * np.exp(-0.5 * ((tau - mu2) / sd2) ** 2)
    out += a3 * np.exp(-0.5 * ((tau - mu3) / sd3) ** 2)
    return scale * out


def synth_window(
    subject: dict, rng: np.random.Generator, cfg: PPGCohortConfig, pvc: bool, artifact: str
) -> tuple[np.ndarray, float, int]:
    """One window (float64, ``cfg.window_samples``) of ``subject``; returns (x, hr, n_pvc).

    Every random draw happens whatever the knobs (they only scale what is drawn), so two
    cohorts that differ in one knob differ in that effect only.
    """
    n, fs = cfg.window_samples, cfg.fs
    t = np.arange(n) / fs
    hr = float(np.clip(subject["hr_mean"] + rng.normal(0.0, 3.0), 40.0, 150.0))
    rr = 60.0 / hr
    resp_phase = rng.uniform(0, 2 * np.pi)
    resp = lambda at: np.sin(2 * np.pi * subject["resp_rate"] * at + resp_phase)  # noqa: E731
    onsets = []
    cursor = -rng.uniform(0.0, rr) - rr
    while cursor < cfg.window_seconds + 0.2:
        onsets.append(cursor)
        rsa = 1.0 + 0.05 * cfg.respiration * float(resp(cursor))
        cursor += max(0.3, rr * rsa + rng.normal(0.0, subject["rr_sd"]))
    n_pvc = 0
    k = cfg.pvc_overlap
    pvc_shape: dict[int, tuple[float, float]] = {}
    if pvc:
        inside = [i for i, o in enumerate(onsets) if 0.5 < o < cfg.window_seconds - 1.5]
        fewer = int(rng.random() < 0.5 * k)
        n_pvc = min(len(inside) // 3, int(rng.integers(2, 4)) - fewer)
        # fixed-size draws (3 slots) whatever n_pvc, so the stream stays aligned across knobs
        order = rng.permutation(inside[1:-1:2])
        u = rng.uniform(size=(3, 3))
        for slot, i in enumerate(sorted(order[:n_pvc])):
            # premature (at 60 % of RR when k = 0, up to 90 % when k = 1), then a
            # compensatory pause (the next beat keeps its place)
            coupling = 0.6 + k * 0.3 * u[slot, 0]
            onsets[i] = onsets[i - 1] + coupling * (onsets[i] - onsets[i - 1])
            pvc_shape[i] = (0.45 + k * 0.45 * u[slot, 1], 1.35 - k * 0.3 * u[slot, 2])
    amp_sd = 0.03 + 0.06 * cfg.beat_variability
    x = np.zeros(n)
    for b, onset in enumerate(onsets):
        amp = (1.0 + rng.normal(0.0, amp_sd)) * (1.0 + 0.12 * cfg.respiration * resp(onset))
        width = float(np.exp(0.05 * cfg.beat_variability * rng.normal()))
        jitter = 0.012 * cfg.beat_variability * rng.normal()
        scale, pvc_width = pvc_shape.get(b, (1.0, 1.0))
        width *= pvc_width
        x += beat_shape(t - onset, subject["vascular_age"], scale=scale * amp, width=width,
                        morphology=subject["morphology"], reflect_jitter=jitter)  # fmt: skip
    wander = 0.08 * np.sin(2 * np.pi * rng.uniform(0.15, 0.35) * t + rng.uniform(0, 2 * np.pi))
    x += wander + 0.08 * cfg.respiration * resp(t)
    x += cfg.motion_sd * _band_limited_motion(rng, t)
    x += rng.normal(0.0, cfg.noise_sd, n)
    x = subject["gain"] * x + subject["offset"]
    x = apply_artifact(x, artifact, rng, fs)
    return x, hr, n_pvc


def _band_limited_motion(rng: np.random.Generator, t: np.ndarray, n_tones: int = 6) -> np.ndarray:
    """Unit-RMS low-level motion: random tones in 0.3–3 Hz (the band pulses live in, so it
    cannot be filtered out without distorting the pulse)."""
    out = np.zeros_like(t)
    for _ in range(n_tones):
        f, phase, a = rng.uniform(0.3, 3.0), rng.uniform(0, 2 * np.pi), rng.rayleigh()
        out += a * np.sin(2 * np.pi * f * t + phase)
    rms = float(np.sqrt(np.mean(out**2)))
    return out / rms if rms > 0 else out


def apply_artifact(x: np.ndarray, artifact: str, rng: np.random.Generator, fs: float) -> np.ndarray:
    """Corrupt a clean window in the planted way (``ARTIFACTS``)."""
    n = x.size
    if artifact == "none":
        return x
    if artifact == "flat":  # sensor off: a constant level
        return np.full(n, float(np.median(x)))
    if artifact == "clipped":  # ADC saturation: ~45 % of samples at the top rail
        return np.minimum(x, np.quantile(x, rng.uniform(0.45, 0.6)))
    if artifact == "motion":  # large broadband bursts over most of the window
        t = np.arange(n) / fs
        burst = np.zeros(n)
        for _ in range(6):
            burst += rng.uniform(0.5, 1.5) * np.sin(
                2 * np.pi * rng.uniform(0.2, 4.0) * t + rng.uniform(0, 2 * np.pi)
            )
        burst += np.cumsum(rng.normal(0.0, 0.15, n))
        start = int(rng.integers(0, n // 4))
        mask = np.zeros(n)
        mask[start : start + int(n * rng.uniform(0.7, 0.95))] = 1.0
        return x + np.ptp(x) * 1.5 * burst * mask
    if artifact == "nan":  # a dropout covering most or all of the window
        out = x.copy()
        length = int(n * rng.uniform(0.6, 1.0))
        start = int(rng.integers(0, n - length + 1))
        out[start : start + length] = np.nan
        return out
    raise ValueError(f"unknown artifact {artifact!r}; known: {ARTIFACTS}")


def draw_window_plan(
    cfg: PPGCohortConfig, rng: np.random.Generator
) -> tuple[list[bool], list[str]]:
    """Which windows of one subject carry a PVC and which an artifact (exclusive)."""
    pvc, artifacts = [], []
    cuts = np.cumsum(
        [
            cfg.pvc_fraction,
            cfg.flat_fraction,
            cfg.clipped_fraction,
            cfg.motion_fraction,
            cfg.nan_fraction,
        ]
    )
    for u in rng.random(cfg.windows_per_subject):
        kind = int(np.searchsorted(cuts, u, side="right"))
        pvc.append(kind == 0)
        artifacts.append(("none", "flat", "clipped", "motion", "nan", "none")[kind])
    return pvc, artifacts


@dataclass
class SubjectWindows:
    """One subject's windows: signals (W, n) float64, per-window truth, subject truth."""

    subject: dict
    signals: np.ndarray
    truth: pd.DataFrame


def record_names(cfg: PPGCohortConfig, subject: dict) -> list[str]:
    """Record (MIMIC CaseID-style ``YYYY-MM-DD-hh-mm``) of each window, in temporal order."""
    k = cfg.records_per_subject
    sizes = np.full(k, cfg.windows_per_subject // k)
    sizes[: cfg.windows_per_subject % k] += 1
    base = 2100 + subject["subject_index"] % 80
    names = [f"{base}-0{1 + r % 9}-1{r % 10}-0{r % 10}-{10 + r % 50:02d}" for r in range(k)]
    return [name for name, size in zip(names, sizes, strict=True) for _ in range(size)]


def generate_subject(cfg: PPGCohortConfig, index: int) -> SubjectWindows:
    """All windows of subject ``index`` with their planted truth."""
    subject = draw_subject(cfg, index)
    rng = np.random.default_rng(derive_seed(cfg.seed, "ppg-windows", index))
    pvc_plan, artifact_plan = draw_window_plan(cfg, rng)
    records = record_names(cfg, subject)
    signals = np.empty((cfg.windows_per_subject, cfg.window_samples))
    rows = []
    position: dict[str, int] = {}
    for w, (pvc, artifact) in enumerate(zip(pvc_plan, artifact_plan, strict=True)):
        x, hr, n_pvc = synth_window(subject, rng, cfg, pvc, artifact)
        signals[w] = x
        record = records[w]
        window_index = position.get(record, 0)
        position[record] = window_index + 1
        rows.append(
            {
                "subject_id": subject["subject_id"],
                "record": record,
                "window_index": window_index,
                "pvc": int(n_pvc > 0),
                "n_pvc": n_pvc,
                "artifact": artifact,
                "bad": int(artifact != "none"),
                "hr": hr,
            }
        )
    truth = pd.DataFrame(rows)
    for key in ("age", "sex", "htn", "diabetes", "delta", "vascular_age"):
        truth[key] = subject[key]
    planted = beat_parameters(subject["vascular_age"], subject["morphology"])
    for key in BEAT_TRUTH_COLUMNS:
        truth[key] = planted[key]
    return SubjectWindows(subject=subject, signals=signals, truth=truth)


def iter_cohort(cfg: PPGCohortConfig) -> Iterator[SubjectWindows]:
    """Subjects one at a time (streaming)."""
    for index in range(cfg.n_subjects):
        yield generate_subject(cfg, index)


TRUTH_COLUMNS = (
    "subject_id record window_index pvc n_pvc artifact bad hr age sex htn diabetes delta "
    "vascular_age"
).split() + list(BEAT_TRUTH_COLUMNS)


# ------------------------------------------------------------------ corpora in real layouts


def _finalize_truth(frames: list[pd.DataFrame]) -> pd.DataFrame:
    truth = pd.concat(frames, ignore_index=True)
    return truth[list(TRUTH_COLUMNS)]


def write_pulsedb_corpus(cfg: PPGCohortConfig, root, subset_subjects: int = 10) -> pd.DataFrame:
    """Write ``Segment_Files/PulseDB_MIMIC/pXXXXXX.mat`` per subject (streaming) and a small
    ``Subset_Files/AAMI_Test_Subset.mat`` (the first ``subset_subjects`` subjects, channels
    [ECG_F, PPG_F, ABP_Raw]); return the truth table (keys subject_id, record, window_index)."""
    from pathlib import Path

    from clinssl.ppg.io.pulsedb import write_segment_file, write_subset_file

    root = Path(root)
    seg_dir = root / "Segment_Files" / "PulseDB_MIMIC"
    seg_dir.mkdir(parents=True, exist_ok=True)
    frames, subset = [], []
    for sw in iter_cohort(cfg):
        s = sw.subject
        write_segment_file(
            seg_dir / f"{s['subject_id']}.mat",
            s["subject_id"],
            sw.truth["record"].tolist(),
            (sw.truth["window_index"] + 1).tolist(),
            ppg_raw=sw.signals,
            ppg_f=sw.signals,
            age=s["age"],
            sex=s["sex"],
            fs=cfg.fs,
        )
        frames.append(sw.truth)
        if s["subject_index"] < subset_subjects:
            subset.append(sw)
    (root / "Subset_Files").mkdir(parents=True, exist_ok=True)
    if subset and cfg.window_samples == 1250:
        ppg = np.concatenate([sw.signals for sw in subset])
        ppg = np.nan_to_num(ppg)
        signals = np.stack([np.zeros_like(ppg), ppg, 80.0 + 20.0 * ppg], axis=1)
        write_subset_file(
            root / "Subset_Files" / "AAMI_Test_Subset.mat",
            signals,
            [f"{sw.subject['subject_id']}_0" for sw in subset for _ in range(len(sw.truth))],
            np.concatenate([np.full(len(sw.truth), sw.subject["age"]) for sw in subset]),
            [sw.subject["sex"] for sw in subset for _ in range(len(sw.truth))],
        )
    return _finalize_truth(frames)


def write_mimic3_corpus(cfg: PPGCohortConfig, root) -> pd.DataFrame:
    """Write a MIMIC-III matched layout (``pXX/pXXNNNN/`` multi-segment variable-layout
    records; see :func:`clinssl.io.wfdb.write_mimic3_record`).

    Every record of ≥ 4 windows gets, after its first half, a one-window gap (``~``) and a
    one-window segment without PLETH (II and ABP only), so ``window_index`` (position on the
    record timeline) skips those two slots. Every 10th subject also has an extra record with
    no PLETH at all (a counted exclusion for the loader). Truth keys: subject_id, record
    (master record name), window_index.
    """
    from pathlib import Path

    from clinssl.io.wfdb import SegmentSpec, write_mimic3_record, write_records_file

    root = Path(root)
    n = cfg.window_samples
    frames, subject_dirs, waveform_records = [], [], []
    for sw in iter_cohort(cfg):
        s = sw.subject
        sid = s["subject_id"]
        subject_dir = root / sid[:3] / sid
        truth = sw.truth.copy()
        masters = []
        for r, (record, rows) in enumerate(truth.groupby("record", sort=False)):
            master = f"{sid}-{record}"
            prefix = f"{3000000 + 10 * s['subject_index'] + r}"
            x = sw.signals[rows.index.to_numpy()]
            k = len(rows)
            cut = k // 2 if k >= 4 else k
            slots = np.concatenate([np.arange(cut), np.arange(cut, k) + (2 if k >= 4 else 0)])
            truth.loc[rows.index, "record"] = master
            truth.loc[rows.index, "window_index"] = slots
            segments = [SegmentSpec(cut * n, _mimic_signals(x[:cut].ravel(), with_ppg=True))]
            if k >= 4:
                segments.append(SegmentSpec(n, None))
                filler = np.nan_to_num(x[cut])
                segments.append(SegmentSpec(n, _mimic_signals(filler, with_ppg=False)))
                segments.append(SegmentSpec((k - cut) * n, _mimic_signals(x[cut:].ravel(), True)))
            write_mimic3_record(subject_dir, master, prefix, segments, fs=cfg.fs)
            masters.append(master)
        if s["subject_index"] % 10 == 9:
            master = f"{sid}-2199-01-01-00-00"
            filler = np.nan_to_num(sw.signals[0])
            write_mimic3_record(
                subject_dir,
                master,
                f"{3900000 + s['subject_index']}",
                [SegmentSpec(n, _mimic_signals(filler, with_ppg=False))],
                fs=cfg.fs,
            )
            masters.append(master)
        write_records_file(subject_dir, masters)
        subject_dirs.append(f"{sid[:3]}/{sid}/")
        waveform_records += [f"{sid[:3]}/{sid}/{m}" for m in masters]
        frames.append(truth)
    from clinssl.utils.atomic import atomic_write_text

    atomic_write_text(root / "RECORDS-waveforms", "".join(f"{r}\n" for r in waveform_records))
    write_records_file(root, subject_dirs)  # written last: its presence marks a complete tree
    return _finalize_truth(frames)


def _mimic_signals(ppg: np.ndarray, with_ppg: bool) -> dict[str, np.ndarray]:
    """PLETH (NU) plus simple II (mV) and ABP (mmHg) companions of the same length."""
    base = np.nan_to_num(ppg, nan=float(np.nanmean(ppg)) if np.isfinite(ppg).any() else 0.0)
    t = np.arange(ppg.size) / 125.0
    out = {"PLETH": ppg} if with_ppg else {}
    out["II"] = 0.1 * np.sin(2 * np.pi * 1.2 * t)
    out["ABP"] = 80.0 + 30.0 * (base - base.min()) / max(1e-9, float(np.ptp(base)))
    return out
