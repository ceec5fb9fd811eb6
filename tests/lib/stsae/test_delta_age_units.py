"""Δage analysis: subject means, the two bias corrections, the age-adjusted odds ratio and the
whole analysis on a cohort whose features measure a planted vascular age."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from clinssl.stsae.aging import (
    AgingInputError,
    DeLangeCorrection,
    SmithCorrection,
    aging_analysis,
    correction,
    fit_age_model,
    odds_ratio_per_5_years,
    subject_means,
)
from clinssl.stsae.names import CORRECTIONS


def planted_cohort(n_subjects: int = 2000, windows: int = 3, n_features: int = 20, seed: int = 0):
    """Features = a linear function of vascular age (age + δ) plus noise; δ independent of
    age; htn depends on δ. Returns (features, window table, subject → δ)."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(20.0, 90.0, n_subjects)
    delta = rng.normal(0.0, 6.0, n_subjects)
    logit = -0.5 + np.log(1.6) * delta / 5.0 + 0.02 * (age - 55.0)
    htn = (rng.random(n_subjects) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    diabetes = (rng.random(n_subjects) < 0.2).astype(float)
    split = np.array(["train", "val", "test"])[rng.choice(3, n_subjects, p=[0.5, 0.2, 0.3])]
    ids = np.array([f"s{i:05d}" for i in range(n_subjects)])
    row_subject = np.repeat(np.arange(n_subjects), windows)
    vascular = (age + delta)[row_subject]
    loadings = rng.normal(size=n_features)
    features = np.outer((vascular - 55.0) / 20.0, loadings)
    features += rng.normal(0.0, 1.0, features.shape)
    table = pd.DataFrame({"subject_id": ids[row_subject], "age": age[row_subject],
                          "split": split[row_subject], "htn": htn[row_subject],
                          "diabetes": diabetes[row_subject]})  # fmt: skip
    return features, table, pd.Series(delta, index=ids)


@pytest.fixture(scope="module")
def cohort():
    return planted_cohort()


# ------------------------------------------------------------------ subject means


def test_subject_means_sorted_ids_and_nan_skipping_means():
    features = np.array([[1.0, 10.0], [3.0, np.nan], [5.0, 7.0], [np.nan, np.nan]])
    subjects, means = subject_means(features, ["b", "b", "a", "c"])
    assert subjects.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(means[0], [5.0, 7.0])
    np.testing.assert_allclose(means[1], [2.0, 10.0])
    assert np.isnan(means[2]).all()


def test_subject_means_rejects_mismatched_ids():
    with pytest.raises(AgingInputError, match="subject_ids"):
        subject_means(np.zeros((3, 2)), ["a", "b"])


# ------------------------------------------------------------------ corrections


# ages 20/40/60 with predictions 30/40/50: δ = 10/0/−10, so δ = 20 − 0.5·age exactly and
# pred = 0.5·age + 20 exactly
TINY_AGE = np.array([20.0, 40.0, 60.0])
TINY_PRED = np.array([30.0, 40.0, 50.0])


def test_smith_correction_matches_hand_formula():
    smith = SmithCorrection().fit(TINY_PRED, TINY_AGE)
    assert smith.intercept == pytest.approx(20.0)
    assert smith.slope == pytest.approx(-0.5)
    np.testing.assert_allclose(smith.apply(TINY_PRED, TINY_AGE), 0.0, atol=1e-12)
    # new subject, pred 60 at age 50: δ = 10, expected δ = 20 − 25 = −5, so δ_c = 15
    assert smith.apply(np.array([60.0]), np.array([50.0]))[0] == pytest.approx(15.0)


def test_delange_correction_matches_hand_formula():
    delange = DeLangeCorrection().fit(TINY_PRED, TINY_AGE)
    assert delange.slope == pytest.approx(0.5)
    assert delange.intercept == pytest.approx(20.0)
    # pred_c = (60 − 20) / 0.5 = 80, δ_c = 80 − 50 = 30
    assert delange.corrected_prediction(np.array([60.0]))[0] == pytest.approx(80.0)
    assert delange.apply(np.array([60.0]), np.array([50.0]))[0] == pytest.approx(30.0)


def test_corrections_agree_up_to_the_slope_on_the_same_fit_data():
    """δ_c(de Lange) = δ_c(Smith) / α when both are fitted on the same (pred, age)."""
    rng = np.random.default_rng(3)
    age = rng.uniform(20, 90, 50)
    pred = 0.7 * age + 16 + rng.normal(0, 5, 50)
    smith, delange = SmithCorrection().fit(pred, age), DeLangeCorrection().fit(pred, age)
    new_pred, new_age = rng.uniform(20, 90, 10), rng.uniform(20, 90, 10)
    np.testing.assert_allclose(
        delange.apply(new_pred, new_age), smith.apply(new_pred, new_age) / delange.slope
    )


def test_correction_registry_and_unknown_name():
    assert {correction(name).name for name in CORRECTIONS} == set(CORRECTIONS)
    assert isinstance(correction("smith"), SmithCorrection)
    with pytest.raises(ValueError, match="correction"):
        correction("cole2017")


def test_apply_before_fit_and_constant_age_fail_clearly():
    with pytest.raises(AgingInputError, match="fit before apply"):
        SmithCorrection().apply(TINY_PRED, TINY_AGE)
    with pytest.raises(AgingInputError, match="distinct"):
        DeLangeCorrection().fit(TINY_PRED, np.full(3, 40.0))


# ------------------------------------------------------------------ odds ratio


def planted_logistic(n: int, seed: int, log_or: float = np.log(1.5)):
    rng = np.random.default_rng(seed)
    age = rng.uniform(20, 90, n)
    delta = rng.normal(0, 6, n) + 0.05 * (age - 55)  # Δage mildly related to age
    logit = -0.3 + log_or * delta / 5.0 + 0.03 * (age - 55)
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    return delta, age, label


def test_odds_ratio_ci_covers_planted_or():
    delta, age, label = planted_logistic(20000, seed=11)
    result = odds_ratio_per_5_years(delta, age, label)
    assert result["reason"] == ""
    assert result["ci_low"] < 1.5 < result["ci_high"]
    assert result["ci_high"] / result["ci_low"] < 1.15  # large n: a tight interval
    assert result["p"] < 1e-10
    assert result["n"] == 20000


def test_odds_ratio_matches_unpenalised_sklearn_and_wald_formula():
    delta, age, label = planted_logistic(800, seed=5)
    result = odds_ratio_per_5_years(delta, age, label)
    x = np.column_stack([delta / 5.0, age])
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(x, label)
    assert np.log(result["or"]) == pytest.approx(reference.coef_[0, 0], rel=1e-5)
    # Wald interval from the inverse observed information at sklearn's optimum
    design = np.column_stack([np.ones(len(x)), x])
    p = reference.predict_proba(x)[:, 1]
    cov = np.linalg.inv(design.T @ (design * (p * (1 - p))[:, None]))
    se = np.sqrt(cov[1, 1])
    b1 = reference.coef_[0, 0]
    assert result["ci_low"] == pytest.approx(np.exp(b1 - 1.959964 * se), rel=1e-4)
    assert result["ci_high"] == pytest.approx(np.exp(b1 + 1.959964 * se), rel=1e-4)


def test_odds_ratio_nan_with_reason_for_one_class_and_separation():
    delta, age, _ = planted_logistic(200, seed=2)
    one_class = odds_ratio_per_5_years(delta, age, np.ones(200))
    assert np.isnan(one_class["or"]) and "one class" in one_class["reason"]
    separated = odds_ratio_per_5_years(delta, age, (delta > 0).astype(float))
    assert np.isnan(separated["or"]) and "separation" in separated["reason"]


def test_odds_ratio_excludes_and_counts_unknown_labels():
    delta, age, label = planted_logistic(300, seed=4)
    label[:25] = np.nan
    result = odds_ratio_per_5_years(delta, age, label)
    expected = odds_ratio_per_5_years(delta[25:], age[25:], label[25:])
    assert (result["n"], result["n_excluded"]) == (275, 25)
    assert result["or"] == pytest.approx(expected["or"])


# ------------------------------------------------------------------ the analysis


@pytest.mark.parametrize("name", CORRECTIONS)
def test_corrected_delta_decorrelates_from_age_and_tracks_planted_delta(cohort, name):
    features, table, truth = cohort
    result = aging_analysis(features, table, correction=name, fit_fold="val", seed=0,
                            truth_delta=truth)  # fmt: skip
    m = result.metrics
    assert m["r_delta_age"] < -0.2  # regression dilution of the raw gap
    assert abs(m["r_delta_corrected_age"]) < 0.1
    assert m["r_delta_corrected_truth"] > 0.5
    assert m["r_pred_age"] > 0.8
    assert m["n_test"] == int((table.groupby("subject_id")["split"].first() == "test").sum())
    htn = result.odds_ratios.set_index("label").loc["htn"]
    assert htn["ci_low"] > 1.0  # planted: htn odds rise with δ


def test_analysis_subject_table_and_metrics_are_consistent(cohort):
    features, table, truth = cohort
    result = aging_analysis(features, table, correction="smith", fit_fold="train", seed=1,
                            truth_delta=truth)  # fmt: skip
    subjects = result.subjects
    assert list(subjects.columns[:6]) == [
        "subject_id", "split", "age", "predicted", "delta", "delta_corrected"
    ]  # fmt: skip
    assert subjects["subject_id"].is_unique and len(subjects) == table["subject_id"].nunique()
    np.testing.assert_allclose(subjects["delta"], subjects["predicted"] - subjects["age"])
    test = subjects[subjects["split"] == "test"]
    assert result.metrics["mae_uncorrected"] == pytest.approx(test["delta"].abs().mean())
    assert result.metrics["mae_corrected"] == pytest.approx(test["delta_corrected"].abs().mean())
    # the correction was fitted on train: the corrected gap is uncorrelated with age there
    train = subjects[subjects["split"] == "train"]
    assert abs(np.corrcoef(train["delta_corrected"], train["age"])[0, 1]) < 1e-9


def test_analysis_is_deterministic(cohort):
    features, table, _ = cohort
    a = aging_analysis(features, table, correction="delange", fit_fold="val", seed=7)
    b = aging_analysis(features, table, correction="delange", fit_fold="val", seed=7)
    pd.testing.assert_frame_equal(a.subjects, b.subjects)
    assert a.metrics == b.metrics


def test_analysis_excludes_and_counts_unknown_test_labels(cohort):
    features, table, _ = cohort
    table = table.copy()
    test_ids = table.loc[table["split"] == "test", "subject_id"].unique()[:30]
    table.loc[table["subject_id"].isin(test_ids), "diabetes"] = np.nan
    result = aging_analysis(features, table, correction="smith", fit_fold="val", seed=0)
    row = result.odds_ratios.set_index("label").loc["diabetes"]
    assert row["n_excluded"] == 30
    assert row["n"] == result.metrics["n_test"] - 30


def test_analysis_rejects_missing_age_nan_train_age_and_bad_options(cohort):
    features, table, _ = cohort
    with pytest.raises(AgingInputError, match="'age'"):
        aging_analysis(features, table.drop(columns="age"), correction="smith",
                       fit_fold="val", seed=0)  # fmt: skip
    bad = table.copy()
    first_train = bad.loc[bad["split"] == "train", "subject_id"].iloc[0]
    bad.loc[bad["subject_id"] == first_train, "age"] = np.nan
    with pytest.raises(AgingInputError, match="age is NaN.*train"):
        aging_analysis(features, bad, correction="smith", fit_fold="val", seed=0)
    with pytest.raises(AgingInputError, match="fit_fold"):
        aging_analysis(features, table, correction="smith", fit_fold="test", seed=0)
    with pytest.raises(ValueError, match="correction"):
        aging_analysis(features, table, correction="none", fit_fold="val", seed=0)
    no_val = table.replace({"split": {"val": "train"}})
    with pytest.raises(AgingInputError, match="fit_fold='val'.*got 0"):
        aging_analysis(features, no_val, correction="smith", fit_fold="val", seed=0)


def test_fit_age_model_is_seeded_and_recovers_a_linear_age():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 50))
    age = 55 + 10 * x[:, 0] - 5 * x[:, 1] + rng.normal(0, 1, 200)
    a, b = fit_age_model(x, age, seed=3), fit_age_model(x, age, seed=3)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert np.corrcoef(a.predict(x), age)[0, 1] > 0.98
