"""The branch's two analyses of one concept model: vascular aging (Δage) and waveform
grounding, as the aging and grounding jobs run them.

**Aging** compares three feature sets under the same protocol (names.AGE_FEATURES): the
model's concept activations, the raw embedding, and PCA with as many components (fitted on
the train rows), each averaged per subject over its QC-passed windows, with both bias
corrections (the configured one is the headline, the other is reported next to it). It also
ranks concepts by how strongly their subject-mean activation tracks age on the *train*
subjects: those are the concepts the grounding looks at (choosing them on train keeps the
test windows of the grounding unseen by the choice).

**Grounding** works on the QC-passed test windows: classical morphology of every window
(:mod:`clinssl.stsae.morphology`), the mean pulse of the windows where each top concept is
most and least active, concepts × morphology correlations with FDR, and, where the data has
planted beat parameters (synthetic truth), every concept's strongest correlation with each
planted parameter — what the planted check asks of "some concept".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from clinssl.stsae.aging import aging_analysis, pearson, subject_means
from clinssl.stsae.baselines import fit_baseline
from clinssl.stsae.concepts import ConceptModel
from clinssl.stsae.data import STSAEInputs
from clinssl.stsae.morphology import correlate_with_fdr, mean_pulse, window_morphology
from clinssl.stsae.names import CORRECTIONS

__all__ = ["MIN_SUBJECT_ACTIVITY", "PLANTED_BEAT_PARAMETERS", "age_concepts", "age_model_concepts",
           "grounding", "vascular_aging"]  # fmt: skip

#: planted beat-model parameters a concept may track (columns of the synthetic truth)
PLANTED_BEAT_PARAMETERS: tuple[str, ...] = ("systolic_time", "reflection_delay",
                                            "reflection_amplitude", "dicrotic_amplitude")  # fmt: skip


def _usable_rows(inputs: STSAEInputs) -> np.ndarray:
    return np.flatnonzero(inputs.table["qc_pass"].to_numpy(bool))


#: a concept enters the age model if its subject mean is non-zero in this share of the
#: train subjects (a concept seen in two people cannot be standardised or trusted)
MIN_SUBJECT_ACTIVITY = 0.1


def _train_subject_means(codes: np.ndarray, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    train = (table["split"] == "train").to_numpy()
    ids, means = subject_means(codes[train], table["subject_id"].to_numpy()[train])
    age = table[train].groupby("subject_id")["age"].first().reindex(ids).to_numpy(float)
    return means, age


def age_model_concepts(codes: np.ndarray, table: pd.DataFrame,
                       min_activity: float = MIN_SUBJECT_ACTIVITY) -> np.ndarray:  # fmt: skip
    """Concepts active (non-zero subject mean) in at least ``min_activity`` of the train
    subjects: the columns the age model and the concept ranking use (chosen on train)."""
    means, _ = _train_subject_means(codes, table)
    return np.flatnonzero((np.abs(means) > 0).mean(axis=0) >= min_activity)


def age_concepts(codes: np.ndarray, table: pd.DataFrame, top: int,
                 candidates: np.ndarray | None = None) -> list[dict[str, float]]:  # fmt: skip
    """The ``top`` concepts (of ``candidates``, default all) whose train-subject mean
    activation correlates most with age (|Pearson r|, ties by index): ``[{"concept", "r"}]``."""
    means, age = _train_subject_means(codes, table)
    keep = np.arange(codes.shape[1]) if candidates is None else np.asarray(candidates)
    r = np.full(codes.shape[1], np.nan)
    r[keep] = [pearson(means[:, k], age) for k in keep]
    order = sorted(np.flatnonzero(np.isfinite(r)), key=lambda k: (-abs(r[k]), k))[:top]
    return [{"concept": int(k), "r": float(r[k])} for k in order]


def _truth_delta(inputs: STSAEInputs) -> pd.Series | None:
    if inputs.truth is None or "delta" not in inputs.truth:
        return None
    frame = pd.DataFrame({"subject_id": inputs.groups, "delta": inputs.truth["delta"].to_numpy()})
    return frame.groupby("subject_id")["delta"].first()


def _one_feature_set(features: np.ndarray, table: pd.DataFrame, settings: Mapping[str, Any],
                     labels: list[str], seed: int, truth: pd.Series | None) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    model = None  # one age model per feature set; only the correction differs
    for name in CORRECTIONS:
        result = aging_analysis(features, table, correction=name, fit_fold=settings["fit_fold"],
                                seed=seed, label_columns=labels, truth_delta=truth,
                                age_model=model)  # fmt: skip
        model = result.model
        out[name] = {"metrics": result.metrics,
                     "odds_ratios": result.odds_ratios.to_dict(orient="records"),
                     "subjects": result.subjects}  # fmt: skip
    return out


def vascular_aging(
    inputs: STSAEInputs, model: ConceptModel, settings: Mapping[str, Any], n_concepts: int,
    seed: int, top_concepts: int,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Δage from concepts, the raw embedding and PCA (module docstring); returns the results
    (JSON-ready) and the per-subject table of the concept features (both corrections)."""
    rows = _usable_rows(inputs)
    table = inputs.table.iloc[rows].reset_index(drop=True)
    labels = [c for c in settings["labels"] if c in table.columns]
    z = np.asarray(inputs.cache.z[rows])
    codes = model.encode(z)
    train = inputs.rows("train")
    pca = fit_baseline("pca", np.asarray(inputs.cache.z[train]), n_concepts, seed)
    truth = _truth_delta(inputs)
    usable = age_model_concepts(codes, table)
    feature_sets = {"concepts": codes[:, usable], "embedding": z, "pca": pca.encode(z)}
    results: dict[str, Any] = {"correction": settings["correction"], "fit_fold": settings["fit_fold"],
                               "labels": labels, "labels_missing": [c for c in settings["labels"] if c not in labels],
                               "planted": truth is not None, "feature_sets": {}}  # fmt: skip
    subjects = None
    for name, features in feature_sets.items():
        per_correction = _one_feature_set(features, table, settings, labels, seed, truth)
        results["feature_sets"][name] = {c: {k: v for k, v in r.items() if k != "subjects"}
                                         for c, r in per_correction.items()}  # fmt: skip
        if name == "concepts":
            subjects = per_correction[settings["correction"]]["subjects"].copy()
            for c in CORRECTIONS:
                subjects[f"delta_corrected_{c}"] = per_correction[c]["subjects"]["delta_corrected"].to_numpy()
    results["headline"] = results["feature_sets"]["concepts"][settings["correction"]]["metrics"]
    results["n_concepts_used"] = int(usable.size)
    results["age_concepts"] = age_concepts(codes, table, top_concepts, usable)
    assert subjects is not None
    return results, subjects


def grounding(
    inputs: STSAEInputs, windows: np.ndarray, model: ConceptModel, concepts: Sequence[int],
    settings: Mapping[str, Any], fs: float,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Grounding of ``concepts`` on the QC-passed test windows (module docstring): results
    (JSON-ready), per-window morphology, the correlation table and the mean pulses."""
    test = inputs.rows("test")
    if test.size == 0:
        raise ValueError("grounding: the window table has no QC-passed test windows")
    codes = model.encode(np.asarray(inputs.cache.z[test]))
    signals = np.asarray(windows[test], dtype=np.float64)
    morphology = window_morphology(signals, fs)
    morphology.insert(0, "row", test)
    features = morphology.drop(columns="row")
    correlations = correlate_with_fdr(codes, features, list(concepts))
    n = min(int(settings["extreme_windows"]), max(1, test.size // 2))
    pulses: dict[str, np.ndarray] = {"concepts": np.asarray(concepts, dtype=np.int64)}
    high, low = [], []
    for k in concepts:
        order = np.argsort(codes[:, k], kind="stable")
        high.append(mean_pulse(signals[order[-n:]], fs, int(settings["pulse_samples"])))
        low.append(mean_pulse(signals[order[:n]], fs, int(settings["pulse_samples"])))
    pulses["high"], pulses["low"] = np.asarray(high), np.asarray(low)
    pulses["fs"] = np.asarray(fs)
    results: dict[str, Any] = {
        "concepts": [int(k) for k in concepts], "n_windows": int(test.size),
        "n_with_morphology": int(features.notna().all(axis=1).sum()),
        "extreme_windows": n, "significant": int((correlations["q"] < 0.05).sum()),
    }  # fmt: skip
    results["planted_parameters"] = _planted_parameters(inputs, test, codes, features)
    return results, morphology, correlations, pulses


def _planted_parameters(inputs: STSAEInputs, test: np.ndarray, codes: np.ndarray,
                        measured: pd.DataFrame) -> dict[str, Any]:  # fmt: skip
    """Per planted beat parameter: the concept with the strongest |r| on the test windows,
    and how well the classical measurement tracks it (a check of the morphology code)."""
    if inputs.truth is None:
        return {}
    out = {}
    for name in PLANTED_BEAT_PARAMETERS:
        if name not in inputs.truth:
            continue
        planted = inputs.truth[name].to_numpy(float)[test]
        r = np.array([pearson(codes[:, k], planted) for k in range(codes.shape[1])])
        best = int(np.nanargmax(np.abs(r))) if np.isfinite(r).any() else -1
        out[name] = {"concept": best, "r": float(r[best]) if best >= 0 else float("nan"),
                     "morphology_r": {f: pearson(measured[f].to_numpy(float), planted)
                                      for f in measured.columns}}  # fmt: skip
    return out
