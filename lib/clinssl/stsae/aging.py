"""Vascular aging: predicted age from per-subject features, the age gap Δage, its bias
correction, and its association with hypertension and diabetes.

Why: a concept dictionary is clinically interesting if the age it predicts runs ahead of the
calendar in people with vascular disease. The analysis follows the brain-age literature:

1. **Subject level.** Window features (concept activations, the embedding, PCA components)
   are averaged per subject (:func:`subject_means`); every model and statistic sees one row
   per subject, so a subject with many windows does not weigh more.
2. **Age model.** Standardised features → ``ElasticNetCV`` on the training subjects
   (:func:`fit_age_model`).
3. **Bias correction.** Any regression to the mean shrinks predictions towards the mean
   age, so the raw gap δ = predicted − age is negatively correlated with age (regression
   dilution): old subjects look young and vice versa. Two standard corrections, fitted on
   one fold and applied to every fold (:func:`correction`):

   * Smith et al. 2019 — regress δ on age, ``δ = β0 + β1·age``, and report
     ``δ_c = δ − (β0 + β1·age)``;
   * de Lange & Cole 2020 — regress the prediction on age, ``pred = α·age + β``, invert it,
     ``pred_c = (pred − β) / α``, and report ``δ_c = pred_c − age``.

   Both use the subjects' chronological age, so **corrected accuracy metrics are inflated**
   (the correction pulls every prediction towards the true age); the uncorrected MAE is
   therefore always reported next to the corrected one, and the corrected δ is used for
   association tests, not for claims about accuracy.
4. **Association.** On the test subjects, the odds ratio of each label per 5 years of
   corrected Δage, adjusted for age (:func:`odds_ratio_per_5_years`: unpenalised logistic
   regression by Newton's method, Wald 95 % intervals).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNetCV
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from clinssl.stsae.names import CORRECTIONS
from clinssl.utils.seeding import derive_seed

__all__ = [
    "DEFAULT_L1_RATIOS",
    "FIT_FOLDS",
    "OR_YEARS",
    "SPLITS",
    "AgingInputError",
    "AgingResult",
    "BiasCorrection",
    "DeLangeCorrection",
    "SmithCorrection",
    "aging_analysis",
    "correction",
    "fit_age_model",
    "odds_ratio_per_5_years",
    "pearson",
    "subject_means",
]

#: the subject-level splits of the window table
SPLITS: tuple[str, ...] = ("train", "val", "test")
#: folds a bias correction may be fitted on (config ``stsae.aging.fit_fold``)
FIT_FOLDS: tuple[str, ...] = ("train", "val")
#: the elastic-net mixing values tried by cross-validation (1.0 = lasso)
DEFAULT_L1_RATIOS: tuple[float, ...] = (0.1, 0.5, 0.9, 1.0)
#: the odds ratio is reported per this many years of Δage
OR_YEARS = 5.0
#: a fitted probability this close to 0 or 1 means the classes are (quasi-)separated
_SEPARATION_EPS = 1e-9


class AgingInputError(ValueError):
    """Malformed input to the aging analysis (missing column, NaN ages, bad option)."""


# ------------------------------------------------------------------ subject means


def _as_matrix(features: np.ndarray, name: str = "features") -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise AgingInputError(f"{name} must be 2-D (rows, features), got shape {x.shape}")
    return x


def subject_means(
    features: np.ndarray, subject_ids: Sequence | np.ndarray | pd.Series
) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject mean of each feature column: ``(subjects, means)``.

    ``subjects`` are the unique ids in sorted order (``np.unique``), ``means`` (S, p) float64
    in the same order. NaN entries are skipped per column (a subject whose values of a
    column are all NaN gets NaN there).
    """
    x = _as_matrix(features)
    ids = np.asarray(subject_ids)
    if ids.ndim != 1 or ids.size != x.shape[0]:
        raise AgingInputError(
            f"subject_ids must be 1-D with one id per feature row ({x.shape[0]}), "
            f"got shape {ids.shape}"
        )
    subjects, inverse = np.unique(ids, return_inverse=True)
    finite = np.isfinite(x)
    sums = np.zeros((subjects.size, x.shape[1]))
    counts = np.zeros((subjects.size, x.shape[1]))
    np.add.at(sums, inverse, np.where(finite, x, 0.0))
    np.add.at(counts, inverse, finite)
    means = np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
    return subjects, means


# ------------------------------------------------------------------ age model


def fit_age_model(
    x_train: np.ndarray,
    age_train: np.ndarray,
    seed: int,
    *,
    l1_ratios: Sequence[float] = DEFAULT_L1_RATIOS,
    n_alphas: int = 30,
    cv_folds: int = 5,
    max_iter: int = 5000,
) -> Pipeline:
    """StandardScaler → ``ElasticNetCV`` fitted on (subjects, features) → age; the pipeline.

    Cross-validation picks the penalty and the L1 ratio over ``cv_folds`` folds of a
    ``KFold`` shuffled with ``derive_seed(seed, "stsae-age-cv")`` (rows are subjects, so
    the folds are subject-level); the coordinate descent itself is deterministic (cyclic).
    ``n_alphas`` penalties per ratio and a moderate ``max_iter`` keep a fit on ~200 subjects
    × 1,000 features to seconds.
    """
    x = _as_matrix(x_train, "x_train")
    y = np.asarray(age_train, dtype=np.float64).ravel()
    if y.size != x.shape[0]:
        raise AgingInputError(f"age_train must have one age per row of x_train ({x.shape[0]})")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise AgingInputError("x_train and age_train must be finite (impute or drop NaNs first)")
    if x.shape[0] < 2 * cv_folds:
        raise AgingInputError(
            f"fit_age_model needs at least 2 × cv_folds = {2 * cv_folds} training subjects, "
            f"got {x.shape[0]}"
        )
    folds = KFold(cv_folds, shuffle=True, random_state=derive_seed(seed, "stsae-age-cv"))
    net = ElasticNetCV(l1_ratio=list(l1_ratios), alphas=n_alphas, cv=folds, max_iter=max_iter)
    with warnings.catch_warnings():
        # the weakest penalties of the path rarely converge within max_iter on more features
        # than subjects; CV never picks them, so their warnings would only flood the log
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_pipeline(StandardScaler(), net).fit(x, y)


# ------------------------------------------------------------------ bias corrections


def _line(x: np.ndarray, y: np.ndarray, what: str) -> tuple[float, float]:
    """Ordinary least squares ``y = intercept + slope·x``: (intercept, slope)."""
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    if x.size != y.size:
        raise AgingInputError(f"{what}: predicted and age must have the same length")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 2 or np.ptp(x) == 0:
        raise AgingInputError(f"{what}: fitting needs at least two distinct finite ages")
    slope = float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2))
    return float(y.mean() - slope * x.mean()), slope


class BiasCorrection(Protocol):
    """A Δage bias correction: ``fit`` on (predicted, age) of one fold, ``apply`` to any."""

    name: str

    def fit(self, predicted: np.ndarray, age: np.ndarray) -> BiasCorrection: ...

    def apply(self, predicted: np.ndarray, age: np.ndarray) -> np.ndarray: ...


@dataclass
class SmithCorrection:
    """Smith et al. 2019: regress δ = pred − age on age, subtract the fitted line.

    ``δ_c = (pred − age) − (intercept + slope·age)``. Uses chronological age, so metrics of the
    corrected gap are inflated (report the uncorrected MAE too).
    """

    name: str = "smith"
    intercept: float = float("nan")
    slope: float = float("nan")

    def fit(self, predicted: np.ndarray, age: np.ndarray) -> SmithCorrection:
        delta = np.asarray(predicted, dtype=np.float64) - np.asarray(age, dtype=np.float64)
        self.intercept, self.slope = _line(age, delta, "smith correction")
        return self

    def apply(self, predicted: np.ndarray, age: np.ndarray) -> np.ndarray:
        _require_fitted(self.slope, self.name)
        age = np.asarray(age, dtype=np.float64)
        delta = np.asarray(predicted, dtype=np.float64) - age
        return delta - (self.intercept + self.slope * age)


@dataclass
class DeLangeCorrection:
    """de Lange & Cole 2020: regress pred on age (``pred = slope·age + intercept``), invert.

    ``pred_c = (pred − intercept) / slope`` and ``δ_c = pred_c − age``. Uses chronological age
    (through the fitted line's inversion), so corrected metrics are inflated (report the
    uncorrected MAE too).
    """

    name: str = "delange"
    intercept: float = float("nan")
    slope: float = float("nan")

    def fit(self, predicted: np.ndarray, age: np.ndarray) -> DeLangeCorrection:
        intercept, slope = _line(age, predicted, "delange correction")
        if not abs(slope) > 1e-6:
            raise AgingInputError(
                f"delange correction: predicted age does not vary with age (slope {slope:.3g}); "
                "the line cannot be inverted"
            )
        self.intercept, self.slope = intercept, slope
        return self

    def corrected_prediction(self, predicted: np.ndarray) -> np.ndarray:
        """``pred_c = (pred − intercept) / slope``."""
        _require_fitted(self.slope, self.name)
        return (np.asarray(predicted, dtype=np.float64) - self.intercept) / self.slope

    def apply(self, predicted: np.ndarray, age: np.ndarray) -> np.ndarray:
        return self.corrected_prediction(predicted) - np.asarray(age, dtype=np.float64)


def _require_fitted(slope: float, name: str) -> None:
    if not np.isfinite(slope):
        raise AgingInputError(f"{name} correction: call fit before apply")


_CORRECTIONS: dict[str, type] = {"smith": SmithCorrection, "delange": DeLangeCorrection}


def correction(name: str) -> BiasCorrection:
    """A fresh (unfitted) bias correction by name (one of ``names.CORRECTIONS``)."""
    if name not in CORRECTIONS or name not in _CORRECTIONS:
        raise AgingInputError(
            f"stsae.aging.correction must be one of {list(CORRECTIONS)}, got {name!r}"
        )
    return _CORRECTIONS[name]()


#: :func:`correction` under a name that the ``correction`` option of
#: :func:`aging_analysis` does not shadow
_correction_by_name = correction


# ------------------------------------------------------------------ odds ratio


def _nan_or(n: int, n_excluded: int, reason: str) -> dict:
    nan = float("nan")
    return {"or": nan, "ci_low": nan, "ci_high": nan, "p": nan, "n": n,
            "n_excluded": n_excluded, "reason": reason}  # fmt: skip


def _logistic_newton(
    x: np.ndarray, y: np.ndarray, max_iter: int = 100, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood logistic regression by Newton–Raphson with step halving.

    Returns (coefficients, observed information XᵀWX at the optimum, converged).
    """

    def loglik(beta: np.ndarray) -> float:
        eta = x @ beta
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))

    beta = np.zeros(x.shape[1])
    current = loglik(beta)
    for _ in range(max_iter):
        p = special.expit(x @ beta)
        info = x.T @ (x * (p * (1.0 - p))[:, None])
        try:
            step = np.linalg.solve(info, x.T @ (y - p))
        except np.linalg.LinAlgError:
            return beta, info, False
        for _ in range(30):  # halve until the likelihood does not drop
            candidate = beta + step
            value = loglik(candidate)
            if value >= current - 1e-12:
                break
            step = step / 2.0
        beta, previous, current = candidate, current, value
        if np.max(np.abs(step)) < tol or abs(current - previous) < tol * (1 + abs(current)):
            p = special.expit(x @ beta)
            return beta, x.T @ (x * (p * (1.0 - p))[:, None]), True
    return beta, info, False


def odds_ratio_per_5_years(delta_c: np.ndarray, age: np.ndarray, label: np.ndarray) -> dict:
    """Age-adjusted odds ratio of ``label`` per 5 years of (corrected) Δage.

    Model: ``logit P(label) = b0 + b1·(Δage / 5) + b2·age``, fitted by unpenalised maximum
    likelihood (Newton's method; age is centred and scaled inside, which leaves b1 as is).
    Returns ``or = exp(b1)``, the Wald 95 % interval ``exp(b1 ± 1.96·se)`` with ``se`` from the
    inverse observed information, the two-sided Wald ``p``, ``n`` (rows used),
    ``n_excluded`` (rows with a non-finite Δage, age or label) and ``reason`` (empty when
    the fit is valid). Fewer than 10 rows, one class only, or (quasi-)complete separation
    (the maximum likelihood estimate does not exist) give NaNs with the reason.
    """
    d = np.asarray(delta_c, dtype=np.float64).ravel()
    a = np.asarray(age, dtype=np.float64).ravel()
    y = np.asarray(label, dtype=np.float64).ravel()
    if not d.size == a.size == y.size:
        raise AgingInputError("delta_c, age and label must have the same length")
    ok = np.isfinite(d) & np.isfinite(a) & np.isfinite(y)
    d, a, y = d[ok], a[ok], y[ok]
    n, n_excluded = int(ok.sum()), int((~ok).sum())
    if not np.isin(y, (0.0, 1.0)).all():
        raise AgingInputError("label must be 0/1 (or NaN for unknown)")
    if n < 10:
        return _nan_or(n, n_excluded, f"too few subjects with a label ({n} < 10)")
    if y.min() == y.max():
        return _nan_or(n, n_excluded, f"one class only (all {int(y[0])})")
    age_sd = float(a.std()) or 1.0
    x = np.column_stack([np.ones(n), d / OR_YEARS, (a - a.mean()) / age_sd])
    beta, info, converged = _logistic_newton(x, y)
    p_hat = special.expit(x @ beta)
    if not converged or p_hat.min() < _SEPARATION_EPS or p_hat.max() > 1 - _SEPARATION_EPS:
        return _nan_or(n, n_excluded, "separation: the maximum likelihood estimate does not exist")
    try:
        se = float(np.sqrt(np.linalg.inv(info)[1, 1]))
    except np.linalg.LinAlgError:
        return _nan_or(n, n_excluded, "singular information matrix (collinear Δage and age)")
    z_crit = float(stats.norm.ppf(0.975))
    b1 = float(beta[1])
    return {
        "or": float(np.exp(b1)),
        "ci_low": float(np.exp(b1 - z_crit * se)),
        "ci_high": float(np.exp(b1 + z_crit * se)),
        "p": float(2.0 * stats.norm.sf(abs(b1 / se))),
        "n": n,
        "n_excluded": n_excluded,
        "reason": "",
    }


# ------------------------------------------------------------------ the analysis


@dataclass
class AgingResult:
    """What :func:`aging_analysis` reports.

    ``metrics``: test-set numbers (``mae_uncorrected``, ``mae_corrected``, ``r_pred_age``,
    ``r_delta_age``, ``r_delta_corrected_age`` and, with a planted truth, ``r_delta_truth``,
    ``r_delta_corrected_truth``) plus subject counts per split. ``odds_ratios``: one row per
    label (label, or, ci_low, ci_high, p, n, n_excluded, reason). ``subjects``: one row per
    subject (subject_id, split, age, predicted, delta, delta_corrected, the labels and, with a
    truth, truth_delta).
    """

    metrics: dict[str, float]
    odds_ratios: pd.DataFrame
    subjects: pd.DataFrame
    model: Pipeline = field(repr=False)
    correction: BiasCorrection = field(repr=False)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r over the pairs where both are finite; NaN for < 3 pairs or a constant side."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _check_table(table: pd.DataFrame, n_rows: int, label_columns: Sequence[str]) -> None:
    for column in ("subject_id", "age", "split", *label_columns):
        if column not in table.columns:
            raise AgingInputError(f"window table has no {column!r} column")
    if len(table) != n_rows:
        raise AgingInputError(
            f"window table must have one row per feature row: {len(table)} != {n_rows}"
        )
    unknown = sorted(set(table["split"].astype(str)) - set(SPLITS))
    if unknown:
        raise AgingInputError(f"split must be one of {list(SPLITS)}, got {unknown}")


def _subject_table(table: pd.DataFrame, label_columns: Sequence[str]) -> pd.DataFrame:
    """One row per subject (sorted ids): split, mean age, labels (max over known windows)."""
    frame = table.reset_index(drop=True)
    grouped = frame.groupby("subject_id", sort=True)
    if (grouped["split"].nunique() > 1).any():
        raise AgingInputError("split must be subject-level: a subject_id occurs in two splits")
    out = pd.DataFrame({"split": grouped["split"].first().astype(str)})
    out["age"] = grouped["age"].mean()
    for column in label_columns:
        out[column] = grouped[column].max()  # NaN only when unknown in every window
    out.index.name = "subject_id"
    return out


def _truth_for(subjects: np.ndarray, truth_delta: Mapping | pd.Series) -> np.ndarray:
    truth = pd.Series(truth_delta, dtype=np.float64)
    missing = [s for s in subjects if s not in truth.index]
    if missing:
        raise AgingInputError(f"truth_delta lacks {len(missing)} subjects, e.g. {missing[0]!r}")
    return truth.loc[list(subjects)].to_numpy()


def aging_analysis(
    features: np.ndarray,
    table: pd.DataFrame,
    *,
    correction: str,
    fit_fold: str,
    seed: int,
    label_columns: Sequence[str] = ("htn", "diabetes"),
    truth_delta: Mapping | pd.Series | None = None,
    age_model: Pipeline | None = None,
) -> AgingResult:
    """The whole Δage analysis of one feature set (see the module docstring).

    ``features`` (n_windows, p) and ``table`` (n_windows rows: subject_id, age, split,
    ``label_columns``) are averaged per subject (a subject's label is its largest known
    value over its windows: 1 if any window says 1); the age model is fitted on the train
    subjects and predicts everyone; the ``correction`` (``names.CORRECTIONS``) is fitted on
    ``fit_fold`` ("train" or "val") and applied to every subject; metrics and odds ratios are
    computed on the test subjects (test subjects with an unknown label are left out of that
    label's odds ratio and counted). ``truth_delta`` (subject_id → planted δ, synthetic data)
    adds the correlations of the gaps with the truth. ``age_model``: an age model this
    function returned before for the same features and table (e.g. under the other
    correction), reused instead of refitted.

    Raises :class:`AgingInputError` when a column is missing, a train age is NaN, or an
    option is unknown. Subjects outside train with a NaN age are kept in the subject table
    but get no prediction-based statistics.
    """
    if fit_fold not in FIT_FOLDS:
        raise AgingInputError(
            f"stsae.aging.fit_fold must be one of {list(FIT_FOLDS)}, got {fit_fold!r}"
        )
    fitted_correction = _correction_by_name(correction)
    x = _as_matrix(features)
    _check_table(table, x.shape[0], label_columns)
    subjects = _subject_table(table, label_columns)
    ids, means = subject_means(x, table["subject_id"].to_numpy())
    subjects = subjects.loc[ids]
    age = subjects["age"].to_numpy(dtype=np.float64)
    split = subjects["split"].to_numpy()
    train = split == "train"
    if np.isnan(age[train]).any():
        raise AgingInputError(f"age is NaN for {int(np.isnan(age[train]).sum())} train subjects")
    if not np.isfinite(means).all():
        raise AgingInputError("features: some subject has a feature that is NaN in every window")
    model = age_model if age_model is not None else fit_age_model(means[train], age[train], seed)
    predicted = model.predict(means)
    _fit_correction(fitted_correction, predicted, age, split, fit_fold)
    out = pd.DataFrame({"subject_id": ids, "split": split, "age": age, "predicted": predicted,
                        "delta": predicted - age,
                        "delta_corrected": fitted_correction.apply(predicted, age)})  # fmt: skip
    for column in label_columns:
        out[column] = subjects[column].to_numpy(dtype=np.float64)
    if truth_delta is not None:
        out["truth_delta"] = _truth_for(ids, truth_delta)
    test = out[(split == "test") & np.isfinite(age)]
    metrics = _test_metrics(test, truth_delta is not None)
    metrics.update({f"n_{s}": int((split == s).sum()) for s in SPLITS})
    return AgingResult(metrics=metrics, odds_ratios=_odds_table(test, label_columns),
                       subjects=out, model=model, correction=fitted_correction)  # fmt: skip


def _fit_correction(
    fitted: BiasCorrection, predicted: np.ndarray, age: np.ndarray, split: np.ndarray, fold: str
) -> None:
    """Fit the bias correction on the subjects of ``fold`` that have an age."""
    rows = (split == fold) & np.isfinite(age)
    if rows.sum() < 2:
        raise AgingInputError(
            f"stsae.aging.fit_fold={fold!r}: the correction needs at least two {fold} "
            f"subjects with an age, got {int(rows.sum())}"
        )
    fitted.fit(predicted[rows], age[rows])


def _odds_table(test: pd.DataFrame, label_columns: Sequence[str]) -> pd.DataFrame:
    """One row per label: the age-adjusted odds ratio per 5 years of corrected Δage."""
    delta_c, age = test["delta_corrected"].to_numpy(), test["age"].to_numpy()
    rows = [
        {"label": column, **odds_ratio_per_5_years(delta_c, age, test[column].to_numpy())}
        for column in label_columns
    ]
    return pd.DataFrame(
        rows, columns=["label", "or", "ci_low", "ci_high", "p", "n", "n_excluded", "reason"]
    )


def _test_metrics(test: pd.DataFrame, with_truth: bool) -> dict[str, float]:
    """MAE (uncorrected and — inflated — corrected) and the correlations on the test rows."""
    age, pred = test["age"].to_numpy(), test["predicted"].to_numpy()
    delta, delta_c = test["delta"].to_numpy(), test["delta_corrected"].to_numpy()
    metrics = {
        "mae_uncorrected": float(np.mean(np.abs(delta))) if len(test) else float("nan"),
        "mae_corrected": float(np.mean(np.abs(delta_c))) if len(test) else float("nan"),
        "r_pred_age": pearson(pred, age),
        "r_delta_age": pearson(delta, age),
        "r_delta_corrected_age": pearson(delta_c, age),
    }
    if with_truth:
        truth = test["truth_delta"].to_numpy()
        metrics["r_delta_truth"] = pearson(delta, truth)
        metrics["r_delta_corrected_truth"] = pearson(delta_c, truth)
    return metrics
