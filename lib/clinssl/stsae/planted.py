"""The ST-SAE branch's planted-truth checks, computed from its result files.

On a dataset with planted truth each check has a value, its threshold and ``passed``; on
real data the same values are written as findings (``passed`` is absent), since there is
nothing planted to recover. Thresholds are the branch's acceptance criteria, not tuned.

* ``ev_at_sparse_l0``: an ST-SAE at the default K (the L1 model or its Top-K variant, both
  with every ST loss term; mean over seeds) explains ≥ 80 % of the test variance at L0 ≤ 32;
* ``delta_tracks_planted_delta``: bias-corrected Δage (concepts, headline correction)
  correlates with the planted δ, r ≥ 0.4;
* ``delta_uncorrelated_with_age``: and not with age on test, |r| ≤ 0.1;
* ``concept_tracks_planted_morphology``: some concept correlates with a planted beat-shape
  parameter on the test windows, |r| ≥ 0.5;
* ``beats_plain_sae``: the ST-SAE's augmentation consistency and lag-1 autocorrelation both
  exceed the plain SAE's (stability and smoothness terms off), means over seeds;
* ``beats_pca_seed_stability``: the ST-SAE's atoms match across seeds better than PCA's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clinssl.stsae.names import PLAIN, STSAE

__all__ = ["THRESHOLDS", "planted_checks"]

THRESHOLDS = {"ev": 0.8, "l0": 32, "r_delta_truth": 0.4, "r_delta_age": 0.1, "r_morphology": 0.5}


def _mean(table: pd.DataFrame, method: str, k: int, column: str) -> float:
    rows = table[(table["method"] == method) & (table["n_concepts"] == k)]
    values = pd.to_numeric(rows[column], errors="coerce").dropna()
    return float(values.mean()) if len(values) else float("nan")


def _check(value: Any, passed: bool, planted: bool, **details: Any) -> dict[str, Any]:
    out = {"value": value, **details}
    if planted:
        out["passed"] = bool(passed)
    return out


def planted_checks(leaderboard: pd.DataFrame, aging: dict[str, Any], grounding: dict[str, Any],
                   n_concepts: int, planted: bool) -> dict[str, Any]:  # fmt: skip
    """The checks (module docstring) from the leaderboard, aging and grounding results."""
    t = leaderboard
    family = {m: {"ev": _mean(t, m, n_concepts, "ev"), "l0": _mean(t, m, n_concepts, "l0")}
              for m in (STSAE, "topk") if (t["method"] == m).any()}  # fmt: skip
    sparse = {m: v for m, v in family.items() if v["l0"] <= THRESHOLDS["l0"]}
    best = max(sparse, key=lambda m: sparse[m]["ev"]) if sparse else None
    best_ev = sparse[best]["ev"] if best else float("nan")
    checks: dict[str, Any] = {
        "ev_at_sparse_l0": _check(best_ev, bool(best) and best_ev >= THRESHOLDS["ev"], planted,
                                  model=best, models=family, threshold=THRESHOLDS["ev"],
                                  max_l0=THRESHOLDS["l0"]),
    }  # fmt: skip
    head = aging["headline"]
    r_truth = head.get("r_delta_corrected_truth", float("nan"))
    r_age = head.get("r_delta_corrected_age", float("nan"))
    checks["delta_tracks_planted_delta"] = _check(
        r_truth, np.isfinite(r_truth) and r_truth >= THRESHOLDS["r_delta_truth"], planted,
        threshold=THRESHOLDS["r_delta_truth"], correction=aging["correction"],
        uncorrected=head.get("r_delta_truth"))  # fmt: skip
    checks["delta_uncorrelated_with_age"] = _check(
        r_age, np.isfinite(r_age) and abs(r_age) <= THRESHOLDS["r_delta_age"], planted,
        threshold=THRESHOLDS["r_delta_age"], uncorrected=head.get("r_delta_age"))  # fmt: skip
    params = grounding.get("planted_parameters", {})
    strongest = max(params.items(), key=lambda kv: abs(kv[1]["r"]) if np.isfinite(kv[1]["r"]) else -1,
                    default=(None, {"r": float("nan"), "concept": -1}))  # fmt: skip
    r_morph = strongest[1]["r"]
    checks["concept_tracks_planted_morphology"] = _check(
        r_morph, np.isfinite(r_morph) and abs(r_morph) >= THRESHOLDS["r_morphology"], planted,
        parameter=strongest[0], concept=strongest[1]["concept"],
        threshold=THRESHOLDS["r_morphology"])  # fmt: skip
    ours = {c: _mean(t, STSAE, n_concepts, c) for c in ("consistency", "lag1_autocorr")}
    plain = {c: _mean(t, PLAIN, n_concepts, c) for c in ("consistency", "lag1_autocorr")}
    margins = {c: ours[c] - plain[c] for c in ours}
    checks["beats_plain_sae"] = _check(
        margins, all(np.isfinite(v) and v > 0 for v in margins.values()), planted,
        stsae=ours, plain=plain)  # fmt: skip
    st_stab, pca_stab = (_mean(t, STSAE, n_concepts, "seed_stability"),
                         _mean(t, "pca", n_concepts, "seed_stability"))  # fmt: skip
    checks["beats_pca_seed_stability"] = _check(
        st_stab - pca_stab, np.isfinite(st_stab - pca_stab) and st_stab > pca_stab, planted,
        stsae=st_stab, pca=pca_stab)  # fmt: skip
    report: dict[str, Any] = {"planted": planted, "n_concepts": n_concepts, "checks": checks}
    if planted:
        report["all_passed"] = all(c["passed"] for c in checks.values())
    return report
