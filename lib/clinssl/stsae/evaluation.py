"""The concept evaluation suite: every per-model metric of the leaderboard, one function each.

Why one suite for all models: SAE variants and the PCA/ICA/NMF baselines only meet here,
through the :class:`~clinssl.stsae.concepts.ConceptModel` interface, so a difference on the
leaderboard is a difference of the models, never of how they were scored.

What the metrics measure (all numpy; float64 internally):

* **reconstruction** — :func:`explained_variance` (1 − FVU) and :func:`fvu`;
* **sparsity** — :func:`l0` (active concepts per row) and :func:`dead_fraction` (concepts
  never active);
* **stability of a code** — :func:`augmentation_consistency` (does an augmented copy of a
  window activate the same concepts?) and :func:`lag1_autocorrelation` (do concepts persist
  from one window of a record to the next?);
* **stability of a dictionary** — :func:`match_atoms` (Hungarian matching of atoms on
  |cosine|), :func:`seed_stability` (across training seeds) and :func:`subsample_stability`
  (across two disjoint halves of the subjects);
* **meaning** — :func:`probe_recovery`: out-of-fold linear-probe scores of the planted
  factors from the codes, with subject-grouped folds;
* **trade-off** — :func:`pareto_frontier` of explained variance against L0.

:func:`evaluate_model` computes the per-model metrics on the evaluation rows and
:func:`leaderboard` assembles one table of all fitted models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from clinssl.stats.metrics import auroc, metric_values
from clinssl.stats.probes import RIDGE_ALPHAS, choose_penalty, fit_predict_folds, grouped_folds
from clinssl.stsae.concepts import ConceptModel
from clinssl.stsae.names import METHODS, PLANTED_FACTORS
from clinssl.utils.seeding import derive_seed

__all__ = [
    "ACTIVE_EPS",
    "CODE_METRICS",
    "EvaluationError",
    "LEADERBOARD_COLUMNS",
    "LOGISTIC_C_GRID",
    "PROBE_COLUMNS",
    "augmentation_consistency",
    "dead_fraction",
    "evaluate_model",
    "explained_variance",
    "fvu",
    "l0",
    "lag1_autocorrelation",
    "leaderboard",
    "match_atoms",
    "pareto_frontier",
    "probe_column",
    "probe_concepts",
    "probe_recovery",
    "seed_stability",
    "subject_halves",
    "unit_rows",
    "subsample_stability",
]

#: |activation| above which a concept counts as active (ReLU/Top-K codes are exactly 0 off)
ACTIVE_EPS = 1e-8
#: inverse L2 strengths the logistic probe chooses from (inner grouped CV per fold)
LOGISTIC_C_GRID: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0)
#: per-model metrics of :func:`evaluate_model` besides the probes, in leaderboard order
CODE_METRICS: tuple[str, ...] = ("ev", "fvu", "l0", "dead_fraction", "consistency",
                                 "lag1_autocorr")  # fmt: skip


def probe_column(factor: str) -> str:
    """The result key / leaderboard column of a factor's probe score."""
    return f"probe_{factor}"


#: probe columns of the planted factors, in :data:`~clinssl.stsae.names.PLANTED_FACTORS` order
PROBE_COLUMNS: tuple[str, ...] = tuple(probe_column(f) for f in PLANTED_FACTORS)
#: the leaderboard's column order (columns of other factors follow, in first-seen order)
LEADERBOARD_COLUMNS: tuple[str, ...] = (
    "method", "n_concepts", "seed", *CODE_METRICS, *PROBE_COLUMNS,
    "seed_stability", "subsample_stability", "pareto",
)  # fmt: skip
_KEY_COLUMNS = ("method", "n_concepts", "seed")


class EvaluationError(ValueError):
    """An evaluation input has the wrong shape, length or content."""


# --- input checks ------------------------------------------------------------------------


def _matrix(a: np.ndarray, field: str) -> np.ndarray:
    """``a`` as a float64 2-D array, or an EvaluationError naming ``field``."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise EvaluationError(f"{field} must be a 2-D array, got shape {a.shape}")
    return a


def _same_shape(a: np.ndarray, b: np.ndarray, field_a: str, field_b: str) -> None:
    if a.shape != b.shape:
        raise EvaluationError(f"{field_b} must have the shape of {field_a} {a.shape}, "
                              f"got {b.shape}")  # fmt: skip


def _row_indices(rows: np.ndarray, n: int, field: str = "rows") -> np.ndarray:
    """Integer row indices from an index array or a length-``n`` boolean mask."""
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if rows.shape != (n,):
            raise EvaluationError(f"{field} as a mask must have length {n}, got {rows.shape}")
        return np.flatnonzero(rows)
    if rows.size and (rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer)):
        raise EvaluationError(f"{field} must be 1-D integer indices or a boolean mask")
    rows = rows.astype(np.int64).ravel()
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise EvaluationError(f"{field} must index rows 0..{n - 1}")
    if np.unique(rows).size != rows.size:
        raise EvaluationError(f"{field} must not repeat a row")
    return rows


# --- reconstruction and sparsity ---------------------------------------------------------


def fvu(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Fraction of variance unexplained: Σ‖x − x̂‖² / Σ‖x − x̄‖² (x̄ the column mean of x).

    NaN when x has no variance (0/0: nothing to explain)."""
    x, x_hat = _matrix(x, "x"), _matrix(x_hat, "x_hat")
    _same_shape(x, x_hat, "x", "x_hat")
    residual = float(np.sum((x - x_hat) ** 2))
    total = float(np.sum((x - x.mean(axis=0)) ** 2))
    return residual / total if total > 0 else float("nan")


def explained_variance(x: np.ndarray, x_hat: np.ndarray) -> float:
    """1 − :func:`fvu`: 1 for a perfect reconstruction, 0 for predicting the column mean."""
    return 1.0 - fvu(x, x_hat)


def l0(codes: np.ndarray, eps: float = ACTIVE_EPS) -> float:
    """Mean number of active concepts (|code| > eps) per row; NaN on zero rows."""
    codes = _matrix(codes, "codes")
    if codes.shape[0] == 0:
        return float("nan")
    return float(np.mean(np.sum(np.abs(codes) > eps, axis=1)))


def dead_fraction(codes: np.ndarray, eps: float = ACTIVE_EPS) -> float:
    """Fraction of concepts (columns) never active (|code| > eps) on any of the rows."""
    codes = _matrix(codes, "codes")
    if codes.shape[1] == 0:
        return float("nan")
    return float(np.mean(~np.any(np.abs(codes) > eps, axis=0)))


# --- stability of a code -----------------------------------------------------------------


def augmentation_consistency(
    codes_z: np.ndarray, codes_aug: np.ndarray, eps: float = ACTIVE_EPS
) -> float:
    """Mean over rows of cos(c(z), c(z_aug)): 1 when augmentation leaves the code unchanged.

    Choice for silent codes (norm ≤ eps): a row where **both** codes are silent counts 1.0
    (both encodings agree that no concept is present); a row where exactly one is silent
    counts 0.0 (a concept appeared or vanished under augmentation, nothing shared). NaN on
    zero rows.
    """
    a, b = _matrix(codes_z, "codes_z"), _matrix(codes_aug, "codes_aug")
    _same_shape(a, b, "codes_z", "codes_aug")
    if a.shape[0] == 0:
        return float("nan")
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    live_a, live_b = na > eps, nb > eps
    both = live_a & live_b
    cosine = np.zeros(a.shape[0])
    cosine[both] = np.sum(a[both] * b[both], axis=1) / (na[both] * nb[both])
    cosine[~live_a & ~live_b] = 1.0
    return float(np.mean(cosine))


def _successor_pairs(next_index: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r, next_index[r]) for r in ``rows`` whose successor exists and is in ``rows``."""
    in_rows = np.zeros(next_index.size, dtype=bool)
    in_rows[rows] = True
    successor = next_index[rows]
    valid = successor >= 0
    valid[valid] = in_rows[successor[valid]]
    return rows[valid], successor[valid]


def lag1_autocorrelation(
    codes: np.ndarray, next_index: np.ndarray, rows: np.ndarray | None = None
) -> float:
    """Mean over concepts of the Pearson correlation of c_t and c_{t+1}.

    Pairs are (r, next_index[r]) with r in ``rows`` (indices or a mask; None = all rows),
    ``next_index[r] ≥ 0`` (−1: the last window of its record) **and** the successor also in
    ``rows`` — so the test split never borrows a training window. A concept constant over
    the predecessors or over the successors has no correlation and is left out of the mean
    (a dead concept is not "perfectly smooth"). NaN when no pair or no concept varies.
    """
    codes = _matrix(codes, "codes")
    next_index = np.asarray(next_index, dtype=np.int64)
    n = codes.shape[0]
    if next_index.shape != (n,):
        raise EvaluationError(f"next_index must have length {n} (one per row of codes), "
                              f"got shape {next_index.shape}")  # fmt: skip
    if np.any((next_index < -1) | (next_index >= n)):
        raise EvaluationError(f"next_index entries must be -1 or a row 0..{n - 1}")
    rows = np.arange(n) if rows is None else _row_indices(rows, n)
    before, after = _successor_pairs(next_index, rows)
    if before.size < 2:
        return float("nan")
    a = codes[before] - codes[before].mean(axis=0)
    b = codes[after] - codes[after].mean(axis=0)
    sa, sb = np.sqrt(np.sum(a**2, axis=0)), np.sqrt(np.sum(b**2, axis=0))
    varies = (sa > 0) & (sb > 0)
    if not np.any(varies):
        return float("nan")
    r = np.sum(a[:, varies] * b[:, varies], axis=0) / (sa[varies] * sb[varies])
    return float(np.mean(r))


# --- stability of a dictionary -----------------------------------------------------------


def unit_rows(m: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (all-zero rows stay zero)."""
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)


def match_atoms(atoms_a: np.ndarray, atoms_b: np.ndarray) -> tuple[float, np.ndarray]:
    """Best one-to-one matching of two dictionaries on |cosine|: (mean |cos|, assignment).

    Sign-invariant on purpose: the sign of a PCA or ICA component (and of any atom whose
    code may be negative) is arbitrary, so an atom and its negation are the same concept.
    Rows are renormalised, so the atoms need not be unit-norm. With K_a ≠ K_b the smaller
    set is matched completely (``linear_sum_assignment`` on −|cos| of the rectangular
    matrix) and the mean is over the min(K_a, K_b) matched pairs. ``assignment[i]`` is the
    row of ``atoms_b`` matched to row i of ``atoms_a``, −1 where row i is unmatched.
    """
    a, b = _matrix(atoms_a, "atoms_a"), _matrix(atoms_b, "atoms_b")
    if a.shape[1] != b.shape[1]:
        raise EvaluationError(f"atoms_b must have the width of atoms_a ({a.shape[1]}), "
                              f"got {b.shape[1]}")  # fmt: skip
    if a.shape[0] == 0 or b.shape[0] == 0:
        raise EvaluationError("atoms_a and atoms_b must each hold at least one atom")
    similarity = np.abs(unit_rows(a) @ unit_rows(b).T)
    row, col = linear_sum_assignment(-similarity)
    assignment = np.full(a.shape[0], -1, dtype=np.int64)
    assignment[row] = col
    return float(np.mean(similarity[row, col])), assignment


def seed_stability(atom_sets: Sequence[np.ndarray]) -> float:
    """Mean :func:`match_atoms` score over all pairs of dictionaries (one per training seed);
    NaN with fewer than two."""
    if len(atom_sets) < 2:
        return float("nan")
    scores = [match_atoms(a, b)[0] for a, b in combinations(atom_sets, 2)]
    return float(np.mean(scores))


def subsample_stability(
    fit: Callable[[np.ndarray], np.ndarray], x: np.ndarray, groups: np.ndarray, seed: int
) -> float:
    """:func:`match_atoms` score of two dictionaries fitted on disjoint halves of the subjects.

    The unique ``groups`` (subjects) are shuffled with ``seed`` and split into two halves
    (the first ⌊G/2⌋ and the rest); ``fit`` receives each half's rows of ``x`` and returns
    that fit's (K, d) atoms. Splitting by subject, not by row, asks whether the concepts are
    a property of the population rather than of particular people.
    """
    x = _matrix(x, "x")
    groups = np.asarray(groups)
    if groups.shape != (x.shape[0],):
        raise EvaluationError(f"groups must have length {x.shape[0]} (one per row of x), "
                              f"got shape {groups.shape}")  # fmt: skip
    first = subject_halves(groups, seed)
    return match_atoms(fit(x[first]), fit(x[~first]))[0]


def subject_halves(groups: np.ndarray, seed: int) -> np.ndarray:
    """Mask of the rows whose subject falls in the first of two disjoint halves of the
    subjects (shuffled with ``seed``; the first ⌊G/2⌋). What :func:`subsample_stability`
    splits by, exposed for fits that need more than the rows of ``x`` (SAE triplets)."""
    groups = np.asarray(groups)
    subjects = np.unique(groups)
    if subjects.size < 2:
        raise EvaluationError(f"groups must hold >= 2 subjects to split, got {subjects.size}")
    rng = np.random.default_rng(derive_seed(seed, "stsae-subsample-halves"))
    shuffled = rng.permutation(subjects)
    return np.isin(groups, shuffled[: subjects.size // 2])


# --- meaning: probes of planted factors --------------------------------------------------


def _probe_score(
    codes: np.ndarray, y: np.ndarray, groups: np.ndarray, kind: str, seed: int,
    n_folds: int, max_rows: int,
) -> float:
    """Out-of-fold R² (regression) or AUROC (binary) of one factor's grouped linear probe."""
    if kind == "binary":
        y = y.astype(int)
        if np.unique(y).size < 2:
            return float("nan")
    if np.unique(groups).size < 2:
        return float("nan")
    fold_seed = derive_seed(seed, "stsae-probe-folds")
    fold_of = grouped_folds(y, groups, n_folds, fold_seed, stratify=kind == "binary")
    training = [np.flatnonzero(fold_of != k) for k in range(fold_of.max() + 1)]
    grid = LOGISTIC_C_GRID if kind == "binary" else RIDGE_ALPHAS
    penalty_seed = derive_seed(seed, "stsae-probe-penalty")
    # one penalty per factor, by inner grouped CV over all evaluation rows, then the outer
    # folds with it: a mild optimism (5 candidates) bought for a fifth of the cost, the same
    # for every model, so the leaderboard's comparisons stay fair
    penalty = choose_penalty(kind, codes, y, groups, grid, penalty_seed, max_rows)
    score, _ = fit_predict_folds(kind, codes, y, groups, fold_of, training, (penalty,),
                                 penalty_seed, max_rows)  # fmt: skip
    if kind == "binary":
        return float(auroc(y, score)[0])
    return float(metric_values("regression", y, score, only="r2")["r2"][0])


#: a concept enters the probes if it is active in at least this share of the rows
MIN_PROBE_ACTIVITY = 0.02


def probe_concepts(codes: np.ndarray, min_activity: float = MIN_PROBE_ACTIVITY) -> np.ndarray:
    """Columns active (|code| > eps) in at least ``min_activity`` of the rows.

    Why: a concept that fires in a handful of windows carries no population-level factor,
    and standardising it inside a fold divides by a near-zero SD, so one held-out window
    where it fires gets a huge input and the probe's score collapses (R² of −100 from a
    single row). Dense codes (PCA, ICA) keep every column.
    """
    active = (np.abs(np.asarray(codes)) > ACTIVE_EPS).mean(axis=0)
    return np.flatnonzero(active >= min_activity)


def probe_recovery(
    codes: np.ndarray,
    factors: Mapping[str, np.ndarray],
    groups: np.ndarray,
    kinds: Mapping[str, str],
    seed: int,
    n_folds: int = 5,
    max_rows: int = 2000,
) -> dict[str, float]:
    """Out-of-fold linear-probe score of every factor from the codes: R² for kind
    "regression", AUROC for "binary"; keys are the factor names.

    Folds are subject-grouped (:func:`clinssl.stats.probes.grouped_folds`; stratified for
    binary factors); the penalty is chosen once per factor by inner grouped CV on at most
    ``max_rows`` of the rows (the cost bound on 9,000 × 1,024 codes), and each fold's fit
    uses all its training rows. Rows where a factor is NaN are dropped for that factor
    only. NaN for a factor with one class or one subject left. Only concepts active in at
    least :data:`MIN_PROBE_ACTIVITY` of the rows enter (:func:`probe_concepts`).
    """
    codes = _matrix(codes, "codes")
    groups = np.asarray(groups)
    n = codes.shape[0]
    codes = codes[:, probe_concepts(codes)]
    if groups.shape != (n,):
        raise EvaluationError(f"groups must have length {n}, got shape {groups.shape}")
    result: dict[str, float] = {}
    for name, values in factors.items():
        kind = kinds.get(name)
        if kind not in ("regression", "binary"):
            raise EvaluationError(f"kinds[{name!r}] must be 'regression' or 'binary', "
                                  f"got {kind!r}")  # fmt: skip
        y = np.asarray(values, dtype=np.float64)
        if y.shape != (n,):
            raise EvaluationError(f"factors[{name!r}] must have length {n}, got {y.shape}")
        keep = np.isfinite(y)
        result[name] = _probe_score(codes[keep], y[keep], groups[keep], kind, seed,
                                    n_folds, max_rows)  # fmt: skip
    return result


# --- trade-off ---------------------------------------------------------------------------


def pareto_frontier(ev: np.ndarray, l0_values: np.ndarray) -> np.ndarray:
    """True for rows not dominated in (higher EV, lower L0): no other row has EV ≥ and
    L0 ≤ with one strictly. Rows with a NaN are never on the frontier and dominate nothing;
    exact ties are all kept."""
    ev = np.asarray(ev, dtype=np.float64)
    sparsity = np.asarray(l0_values, dtype=np.float64)
    if ev.ndim != 1 or ev.shape != sparsity.shape:
        raise EvaluationError(f"ev and l0 must be 1-D of one length, got {ev.shape} and "
                              f"{sparsity.shape}")  # fmt: skip
    valid = np.isfinite(ev) & np.isfinite(sparsity)
    e, s = ev[valid], sparsity[valid]
    no_worse = (e[None, :] >= e[:, None]) & (s[None, :] <= s[:, None])  # [i, j]: j vs i
    better = (e[None, :] > e[:, None]) | (s[None, :] < s[:, None])
    dominated = np.any(no_worse & better, axis=1)
    frontier = np.zeros(ev.shape, dtype=bool)
    frontier[np.flatnonzero(valid)] = ~dominated
    return frontier


# --- one model, then the table -----------------------------------------------------------


def evaluate_model(
    model: ConceptModel,
    z_eval: np.ndarray,
    z_aug_eval: np.ndarray | None,
    next_index: np.ndarray,
    eval_rows: np.ndarray | None,
    factors: Mapping[str, np.ndarray],
    groups: np.ndarray,
    kinds: Mapping[str, str] | None,
    seed: int,
    n_folds: int = 5,
) -> dict[str, float]:
    """Every per-model metric (:data:`CODE_METRICS`, then ``probe_<factor>``) on the
    evaluation rows.

    ``z_eval``, ``z_aug_eval``, ``next_index``, ``groups`` and each factor are aligned on the
    same n rows (``next_index`` refers to rows of this table); ``eval_rows`` (indices or a
    mask; None = all) selects the rows scored, e.g. the test split. The model encodes
    ``z_eval[eval_rows]`` and ``z_aug_eval[eval_rows]`` once, and

    * ev, fvu: ``z_eval[eval_rows]`` against ``decode`` of its codes;
    * l0, dead_fraction: the codes of ``z_eval[eval_rows]``;
    * consistency: codes of ``z_eval[eval_rows]`` vs ``z_aug_eval[eval_rows]``, row by row
      (NaN without ``z_aug_eval``);
    * lag1_autocorr: pairs (r, next_index[r]) with both in ``eval_rows``;
    * probe_<factor>: ``eval_rows`` with the factor finite, subject-grouped folds by
      ``groups`` (``kinds`` defaults to :data:`~clinssl.stsae.names.PLANTED_FACTORS`).
    """
    z = _matrix(z_eval, "z_eval")
    n = z.shape[0]
    rows = np.arange(n) if eval_rows is None else _row_indices(eval_rows, n, "eval_rows")
    next_index = np.asarray(next_index, dtype=np.int64)
    if next_index.shape != (n,):
        raise EvaluationError(f"next_index must have length {n}, got {next_index.shape}")
    codes = _matrix(model.encode(z[rows].astype(np.float32)), "model.encode(z_eval)")
    x_hat = _matrix(model.decode(codes.astype(np.float32)), "model.decode(codes)")
    result = {"ev": explained_variance(z[rows], x_hat), "fvu": fvu(z[rows], x_hat),
              "l0": l0(codes), "dead_fraction": dead_fraction(codes)}  # fmt: skip
    result["consistency"] = float("nan")
    if z_aug_eval is not None:
        z_aug = _matrix(z_aug_eval, "z_aug_eval")
        _same_shape(z, z_aug, "z_eval", "z_aug_eval")
        codes_aug = model.encode(z_aug[rows].astype(np.float32))
        result["consistency"] = augmentation_consistency(codes, codes_aug)
    result["lag1_autocorr"] = lag1_autocorrelation(codes, _local_successors(next_index, rows))
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise EvaluationError(f"groups must have length {n}, got shape {groups.shape}")
    sub_factors = {name: np.asarray(v, dtype=np.float64)[rows] for name, v in factors.items()}
    probes = probe_recovery(codes, sub_factors, groups[rows],
                            PLANTED_FACTORS if kinds is None else kinds, seed, n_folds)  # fmt: skip
    result.update({probe_column(name): value for name, value in probes.items()})
    return result


def _local_successors(next_index: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``next_index`` restricted to ``rows`` and renumbered to positions in ``rows``
    (−1 where the successor is absent or outside ``rows``)."""
    position = np.full(next_index.size, -1, dtype=np.int64)
    position[rows] = np.arange(rows.size)
    successor = next_index[rows]
    return np.where(successor >= 0, position[np.maximum(successor, 0)], -1)


def _group_stability(
    table: pd.DataFrame, column: str, values: Mapping[tuple[str, int], float]
) -> None:
    """Write per-(method, K) ``values`` into ``column`` (groups absent keep what rows had)."""
    if column not in table:
        table[column] = np.nan
    for (method, k), value in values.items():
        table.loc[(table["method"] == method) & (table["n_concepts"] == k), column] = value


def _pareto_by_group(table: pd.DataFrame) -> pd.Series:
    """Frontier membership of each row's (method, K) group, on the group mean EV and L0."""
    means = table.groupby(["method", "n_concepts"], sort=False)[["ev", "l0"]].mean()
    on_frontier = pd.Series(pareto_frontier(means["ev"].to_numpy(), means["l0"].to_numpy()),
                            index=means.index)  # fmt: skip
    keys = pd.MultiIndex.from_frame(table[["method", "n_concepts"]])
    return pd.Series(on_frontier.reindex(keys).to_numpy(dtype=bool), index=table.index)


def _method_rank(method: str) -> int:
    return METHODS.index(method) if method in METHODS else len(METHODS)


def leaderboard(
    rows: Sequence[Mapping[str, object]],
    seed_atoms: Mapping[tuple[str, int], Sequence[np.ndarray]] | None = None,
    subsample: Mapping[tuple[str, int], float] | None = None,
) -> pd.DataFrame:
    """One row per fitted model, columns :data:`LEADERBOARD_COLUMNS` first.

    * ``rows``: one mapping per fitted model with ``method``, ``n_concepts`` (the requested
      K, the grouping key) and ``seed`` plus its :func:`evaluate_model` metrics; extra keys
      become columns after the standard ones, missing metrics NaN.
    * ``seed_atoms``: ``{(method, K): [atoms of each seed]}`` → ``seed_stability`` of every
      row of that group (:func:`seed_stability`).
    * ``subsample``: ``{(method, K): score}`` of :func:`subsample_stability` (it needs a
      fitting function, so the caller runs it) → ``subsample_stability`` of that group.
      Groups in neither mapping keep the value their rows carry, else NaN.
    * ``pareto``: whether the group's mean (EV, L0) over its seeds is on the
      :func:`pareto_frontier` of all groups — a model family is judged by its typical fit,
      not by its luckiest seed. Groups with NaN means are off the frontier.

    Rows are ordered by method (:data:`~clinssl.stsae.names.METHODS` order, others after),
    then K, then seed.
    """
    for i, row in enumerate(rows):
        missing = [key for key in _KEY_COLUMNS if key not in row]
        if missing:
            raise EvaluationError(f"rows[{i}] lacks {missing} (needs {list(_KEY_COLUMNS)})")
    table = pd.DataFrame([dict(row) for row in rows])
    for column in LEADERBOARD_COLUMNS:
        if column not in table:
            table[column] = np.nan
    if seed_atoms:
        stability = {key: seed_stability(list(sets)) for key, sets in seed_atoms.items()}
        _group_stability(table, "seed_stability", stability)
    if subsample:
        _group_stability(table, "subsample_stability", subsample)
    table["pareto"] = _pareto_by_group(table) if len(table) else pd.Series(dtype=bool)
    extra = [c for c in table.columns if c not in LEADERBOARD_COLUMNS]
    table = table[[*LEADERBOARD_COLUMNS, *extra]]
    if len(table):
        order = sorted(range(len(table)), key=lambda i: (
            _method_rank(str(table["method"].iat[i])), str(table["method"].iat[i]),
            table["n_concepts"].iat[i], table["seed"].iat[i]))  # fmt: skip
        table = table.iloc[order]
    return table.reset_index(drop=True)
