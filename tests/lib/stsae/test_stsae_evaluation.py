"""The concept evaluation suite: each metric against hand-computed values or constructed
sequences, the Pareto frontier, probe recovery, evaluate_model and the leaderboard."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clinssl.stsae.evaluation import (
    CODE_METRICS,
    LEADERBOARD_COLUMNS,
    EvaluationError,
    augmentation_consistency,
    dead_fraction,
    evaluate_model,
    explained_variance,
    fvu,
    l0,
    lag1_autocorrelation,
    leaderboard,
    match_atoms,
    pareto_frontier,
    probe_recovery,
    seed_stability,
    subsample_stability,
)

# --- reconstruction and sparsity ---------------------------------------------------------


def test_explained_variance_perfect_mean_and_hand_computed():
    x = np.array([[1.0, 2.0], [3.0, 0.0], [5.0, 4.0]])
    assert explained_variance(x, x) == 1.0
    assert explained_variance(x, np.tile(x.mean(axis=0), (3, 1))) == pytest.approx(0.0)
    # column means (3, 2): total = (4+0+4) + (0+4+4) = 16; residual = 1 + 4 + 1 = 6
    x_hat = np.array([[1.0, 3.0], [3.0, 2.0], [4.0, 4.0]])
    assert fvu(x, x_hat) == pytest.approx(6 / 16)
    assert explained_variance(x, x_hat) == pytest.approx(1 - 6 / 16)
    assert math.isnan(fvu(np.ones((3, 2)), np.zeros((3, 2))))
    with pytest.raises(EvaluationError, match="x_hat"):
        fvu(x, x[:2])


def test_l0_and_dead_fraction_on_hand_made_codes():
    codes = np.array([[0.0, 1.0, 0.0, -2.0],
                      [0.0, 0.5, 0.0, 0.0],
                      [0.0, 0.0, 1e-12, 3.0]])  # fmt: skip
    assert l0(codes) == pytest.approx((2 + 1 + 1) / 3)  # 1e-12 is below eps
    assert dead_fraction(codes) == pytest.approx(2 / 4)  # columns 0 and 2 never active
    assert dead_fraction(codes, eps=1e-13) == pytest.approx(1 / 4)


# --- stability of a code -----------------------------------------------------------------


def test_consistency_identical_perturbed_and_hand_computed():
    rng = np.random.default_rng(0)
    codes = np.abs(rng.normal(size=(50, 8)))
    assert augmentation_consistency(codes, codes) == pytest.approx(1.0)
    noisy = codes + np.abs(rng.normal(size=codes.shape))
    assert augmentation_consistency(codes, noisy) < 0.95
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    b = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [2.0, 0.0]])
    # cosines: 1/sqrt(2), 1, both silent -> 1, one silent -> 0
    assert augmentation_consistency(a, b) == pytest.approx((2**-0.5 + 1 + 1 + 0) / 4)


def _ar1_codes(n_records: int, length: int, rho: float, seed: int):
    """Codes of AR(1) records (per concept, c_{t+1} = rho c_t + noise) and next_index."""
    rng = np.random.default_rng(seed)
    n, k = n_records * length, 3
    codes = np.zeros((n, k))
    next_index = np.full(n, -1)
    for r in range(n_records):
        start = r * length
        codes[start] = rng.normal(size=k) / math.sqrt(1 - rho**2)
        for t in range(1, length):
            codes[start + t] = rho * codes[start + t - 1] + rng.normal(size=k)
        next_index[start:start + length - 1] = np.arange(start + 1, start + length)
    return codes, next_index


def test_lag1_recovers_ar1_coefficient():
    codes, next_index = _ar1_codes(n_records=40, length=100, rho=0.7, seed=1)
    assert lag1_autocorrelation(codes, next_index) == pytest.approx(0.7, abs=0.03)


def test_lag1_excludes_pairs_whose_successor_is_outside_rows():
    codes = np.array([[1.0], [2.0], [3.0], [10.0], [-50.0]])
    next_index = np.array([1, 2, 3, 4, -1])
    # rows 0..3: pairs (0,1), (1,2), (2,3) -> x = 1,2,3; y = 2,3,10
    x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 10.0])
    expected = np.corrcoef(x, y)[0, 1]
    assert lag1_autocorrelation(codes, next_index, rows=np.arange(4)) == pytest.approx(expected)
    # including row 4 would add the pair (3, 4) and change the value
    assert lag1_autocorrelation(codes, next_index) != pytest.approx(expected)
    mask = np.array([True, True, True, True, False])
    assert lag1_autocorrelation(codes, next_index, rows=mask) == pytest.approx(expected)


def test_lag1_skips_constant_concepts_and_is_nan_without_pairs():
    codes = np.column_stack([[1.0, 2.0, 4.0, 3.0], np.zeros(4)])
    next_index = np.array([1, 2, 3, -1])
    expected = np.corrcoef([1.0, 2.0, 4.0], [2.0, 4.0, 3.0])[0, 1]
    assert lag1_autocorrelation(codes, next_index) == pytest.approx(expected)
    assert math.isnan(lag1_autocorrelation(codes, np.full(4, -1)))


# --- stability of a dictionary -----------------------------------------------------------


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_match_atoms_recovers_permutation_under_sign_flips():
    rng = np.random.default_rng(2)
    atoms = _unit(rng.normal(size=(10, 32)))
    perm = rng.permutation(10)
    signs = rng.choice([-1.0, 1.0], size=(10, 1))
    copy = atoms[perm] * signs * 3.0  # scale too: rows are renormalised
    score, assignment = match_atoms(atoms, copy)
    assert score == pytest.approx(1.0)
    np.testing.assert_allclose(copy[assignment] / 3.0 * signs[assignment], atoms, atol=1e-12)
    np.testing.assert_array_equal(perm[assignment], np.arange(10))
    random_score, _ = match_atoms(atoms, _unit(rng.normal(size=(10, 32))))
    assert random_score < 0.6


def test_match_atoms_with_unequal_sizes_matches_the_smaller_set():
    atoms = np.eye(4)
    score, assignment = match_atoms(atoms[[2, 0]], atoms)
    assert score == pytest.approx(1.0)
    np.testing.assert_array_equal(assignment, [2, 0])
    score, assignment = match_atoms(atoms, atoms[[3]])
    assert score == pytest.approx(1.0)
    np.testing.assert_array_equal(assignment, [-1, -1, -1, 0])


def test_seed_stability_is_mean_over_pairs_and_nan_below_two():
    a = np.eye(3)
    b = np.eye(3)[[1, 0, 2]]
    c = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, -1.0, 0.0]])
    ab, ac, bc = match_atoms(a, b)[0], match_atoms(a, c)[0], match_atoms(b, c)[0]
    assert ac < 1.0
    assert seed_stability([a, b, c]) == pytest.approx((ab + ac + bc) / 3)
    assert math.isnan(seed_stability([a]))


def test_subsample_stability_splits_subjects_disjointly():
    x = np.arange(40, dtype=float).reshape(20, 2)
    groups = np.repeat(np.arange(5), 4)
    seen: list[set[int]] = []

    def fit(rows: np.ndarray) -> np.ndarray:
        seen.append({int(v) for v in rows[:, 0] // 8})  # subject of each row
        return np.eye(2)

    assert subsample_stability(fit, x, groups, seed=0) == pytest.approx(1.0)
    assert len(seen) == 2 and not seen[0] & seen[1]
    assert seen[0] | seen[1] == set(range(5))
    assert {len(seen[0]), len(seen[1])} == {2, 3}
    with pytest.raises(EvaluationError, match="groups"):
        subsample_stability(fit, x, np.zeros(20), seed=0)


# --- meaning -----------------------------------------------------------------------------


def _probe_data(seed: int = 3):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(30), 20)
    codes = rng.normal(size=(600, 12))
    weights = rng.normal(size=12)
    return rng, groups, codes, codes @ weights


def test_probe_recovery_planted_vs_random_regression():
    rng, groups, codes, signal = _probe_data()
    planted = signal + 0.2 * rng.normal(size=600)
    planted[::17] = np.nan  # dropped for this factor only
    factors = {"planted": planted, "random": rng.normal(size=600)}
    kinds = {"planted": "regression", "random": "regression"}
    scores = probe_recovery(codes, factors, groups, kinds, seed=0)
    assert set(scores) == {"planted", "random"}
    assert scores["planted"] > 0.8
    assert scores["random"] < 0.1


def test_probe_recovery_binary_gives_auroc():
    rng, groups, codes, signal = _probe_data()
    factors = {"pvc": (signal > 0).astype(float), "coin": rng.integers(0, 2, 600).astype(float)}
    scores = probe_recovery(codes, factors, groups, {"pvc": "binary", "coin": "binary"}, seed=0)
    assert scores["pvc"] > 0.9
    assert abs(scores["coin"] - 0.5) < 0.1
    with pytest.raises(EvaluationError, match="kinds"):
        probe_recovery(codes, factors, groups, {"pvc": "ordinal"}, seed=0)


# --- trade-off ---------------------------------------------------------------------------


def test_pareto_frontier_on_hand_made_set():
    ev = np.array([0.9, 0.8, 0.8, 0.7, 0.95, np.nan, 0.9])
    sparsity = np.array([10.0, 5.0, 6.0, 5.0, 20.0, 1.0, 10.0])
    # 0 and 6 tie (both kept); 1 beats 2 (same EV, lower L0) and 3 (same L0, higher EV);
    # 4 has the best EV; 5 is NaN (off, and dominates nothing although its L0 is lowest)
    expected = [True, True, False, False, True, False, True]
    np.testing.assert_array_equal(pareto_frontier(ev, sparsity), expected)


# --- evaluate_model and leaderboard ------------------------------------------------------


class _ShrinkModel:
    """A fake ConceptModel: codes are ReLU(x), decode halves them back (EV known)."""

    def __init__(self, d: int) -> None:
        self._atoms = np.eye(d, dtype=np.float32)

    @property
    def n_concepts(self) -> int:
        return self._atoms.shape[0]

    @property
    def atoms(self) -> np.ndarray:
        return self._atoms

    def encode(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0).astype(np.float32)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return np.asarray(codes, dtype=np.float32)


def test_evaluate_model_uses_only_eval_rows():
    codes, next_index = _ar1_codes(n_records=20, length=30, rho=0.5, seed=4)
    z = (np.abs(codes) + 0.1).astype(np.float32)  # positive: ReLU keeps it, EV = 1
    z[300:] = -1.0  # rows outside the evaluation: would give EV < 1 and dead concepts
    eval_rows = np.arange(300)
    groups = np.repeat(np.arange(20), 30)
    factors = {"hr": z[:, 0].astype(float) * 2.0}
    result = evaluate_model(_ShrinkModel(3), z, z, next_index, eval_rows, factors, groups,
                            None, seed=0)  # fmt: skip
    assert list(result) == [*CODE_METRICS, "probe_hr"]
    assert result["ev"] == pytest.approx(1.0) and result["fvu"] == pytest.approx(0.0)
    assert result["l0"] == pytest.approx(3.0) and result["dead_fraction"] == 0.0
    assert result["consistency"] == pytest.approx(1.0)
    expected_lag = lag1_autocorrelation(z.astype(np.float64), next_index, eval_rows)
    assert result["lag1_autocorr"] == pytest.approx(expected_lag, rel=1e-5)
    assert result["probe_hr"] > 0.95
    no_aug = evaluate_model(_ShrinkModel(3), z, None, next_index, eval_rows, {}, groups,
                            None, seed=0)  # fmt: skip
    assert math.isnan(no_aug["consistency"]) and "probe_hr" not in no_aug


def test_leaderboard_columns_stability_and_group_pareto():
    rows = [
        {"method": "pca", "n_concepts": 8, "seed": 1, "ev": 0.6, "l0": 8.0, "note": "x"},
        {"method": "stsae", "n_concepts": 8, "seed": 1, "ev": 0.9, "l0": 3.0},
        {"method": "stsae", "n_concepts": 8, "seed": 0, "ev": 0.7, "l0": 5.0},
        {"method": "pca", "n_concepts": 8, "seed": 0, "ev": 0.8, "l0": 2.0},
        {"method": "nmf", "n_concepts": 8, "seed": 0, "ev": 0.5, "l0": 4.0},
    ]
    # group means: stsae (0.8, 4.0), pca (0.7, 5.0) dominated by stsae, nmf (0.5, 4.0) too
    eye = np.eye(3)
    seed_atoms = {("stsae", 8): [eye, eye[[2, 1, 0]]],
                  ("pca", 8): [eye, np.array([[1.0, 1, 0], [0, 0, 1], [1, -1, 0]])]}
    table = leaderboard(rows, seed_atoms=seed_atoms, subsample={("nmf", 8): 0.42})
    assert list(table.columns) == [*LEADERBOARD_COLUMNS, "note"]
    assert list(zip(table["method"], table["seed"], strict=True)) == [
        ("stsae", 0), ("stsae", 1), ("pca", 0), ("pca", 1), ("nmf", 0)]
    assert table["pareto"].tolist() == [True, True, False, False, False]
    assert table["seed_stability"].iloc[:2].tolist() == [1.0, 1.0]
    assert table["seed_stability"].iloc[2] == pytest.approx(match_atoms(*seed_atoms[("pca", 8)])[0])
    assert math.isnan(table["seed_stability"].iloc[4])
    assert table["subsample_stability"].iloc[4] == 0.42
    assert table["consistency"].isna().all()
    with pytest.raises(EvaluationError, match="seed"):
        leaderboard([{"method": "pca", "n_concepts": 8}])
