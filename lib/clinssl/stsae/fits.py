"""One fitted concept model, end to end: fit on the train rows, score on the test rows with
the evaluation suite, and the leaderboard over every fit's files.

This is what the branch's training and baseline jobs run; it keeps the jobs' scripts thin
and gives SAE variants and baselines exactly the same treatment (rows, factors, seeds,
subsample halves). A fit's record (``metrics.json``) holds its identity (method, K asked
for and fitted, seed), its test metrics, its subsample stability when measured and, for an
SAE, its training history; ``train_seconds`` is the one timing field.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clinssl.stsae.baselines import capped_components, fit_baseline
from clinssl.stsae.concepts import ConceptModel
from clinssl.stsae.data import STSAEInputs
from clinssl.stsae.evaluation import evaluate_model, leaderboard, match_atoms, subject_halves
from clinssl.stsae.files import FitFiles
from clinssl.stsae.losses import LossWeights
from clinssl.stsae.models import SAEConceptModel, SparseAutoencoder
from clinssl.stsae.names import PLANTED_FACTORS, VARIANTS
from clinssl.stsae.training import SAETrainConfig, train_sae, variant_config
from clinssl.utils.jsonio import read_json
from clinssl.utils.seeding import derive_seed

__all__ = ["FitRecord", "baseline_fits", "build_leaderboard", "sae_config", "sae_fit",
           "score_on_test"]  # fmt: skip

log = logging.getLogger(__name__)


@dataclass
class FitRecord:
    """A fitted model's atoms (K, d) and its record (what ``metrics.json`` holds)."""

    atoms: np.ndarray
    record: dict[str, Any] = field(default_factory=dict)


def sae_config(
    sae: Mapping[str, Any], loss: Mapping[str, Any], variant: str, n_concepts: int, seed: int,
    device: str = "auto",
) -> SAETrainConfig:
    """The training config of one variant from config ``stsae.sae`` and ``stsae.loss``."""
    base = SAETrainConfig(n_concepts=int(n_concepts), weights=LossWeights.from_dict(dict(loss)),
                          seed=int(seed), device=device, **dict(sae))  # fmt: skip
    return variant_config(base, variant)


def _factors(inputs: STSAEInputs) -> dict[str, np.ndarray]:
    if inputs.factors is None:
        return {}
    return {name: inputs.factors[name].to_numpy(float) for name in inputs.factors.columns}


def score_on_test(model: ConceptModel, inputs: STSAEInputs, seed: int, n_folds: int) -> dict[str, float]:
    """The evaluation suite on the QC-passed test rows (planted-factor probes where the
    dataset has truth)."""
    cache = inputs.cache
    return evaluate_model(model, cache.z, cache.z_aug, cache.next_index, inputs.rows("test"),
                          _factors(inputs), inputs.groups, dict(PLANTED_FACTORS), seed,
                          n_folds)  # fmt: skip


def _halves_stability(fit_rows: Callable[[np.ndarray], np.ndarray], inputs: STSAEInputs,
                      seed: int) -> float:  # fmt: skip
    """Atoms fitted on the train rows of two disjoint halves of the train subjects, matched."""
    train = inputs.rows("train")
    first = subject_halves(inputs.groups[train], derive_seed(seed, "stsae-halves"))
    return match_atoms(fit_rows(train[first]), fit_rows(train[~first]))[0]


def sae_fit(
    inputs: STSAEInputs, config: SAETrainConfig, variant: str, *, n_folds: int, subsample: bool,
    checkpoint_path: str | Path | None = None, fingerprint: dict[str, Any] | None = None,
) -> tuple[SparseAutoencoder, FitRecord]:
    """Train one SAE variant on the train triplets, score it on test; with ``subsample``
    also train it on two halves of the train subjects and match their atoms."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {tuple(VARIANTS)}, got {variant!r}")
    cache = inputs.cache
    start = time.perf_counter()
    model, result = train_sae(cache.z, cache.z_aug, cache.next_index, inputs.rows("train"),
                              config, checkpoint_path=checkpoint_path,
                              fingerprint=fingerprint)  # fmt: skip
    seconds = time.perf_counter() - start
    concepts = SAEConceptModel(model)
    record: dict[str, Any] = {"method": variant, "n_concepts": config.n_concepts,
                              "n_fitted": config.n_concepts, "seed": config.seed}  # fmt: skip
    record.update(score_on_test(concepts, inputs, config.seed, n_folds))
    if subsample:

        def fit_rows(rows: np.ndarray) -> np.ndarray:
            half, _ = train_sae(cache.z, cache.z_aug, cache.next_index, rows, config)
            return SAEConceptModel(half).atoms

        record["subsample_stability"] = _halves_stability(fit_rows, inputs, config.seed)
    record["train_seconds"] = seconds
    record["history"] = result.history
    record["config"] = config.to_dict()
    return model, FitRecord(atoms=concepts.atoms, record=record)


def _fit_rows(rows: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    if max_rows is None or rows.size <= max_rows:
        return rows
    rng = np.random.default_rng(derive_seed(seed, "stsae-baseline-rows"))
    return np.sort(rng.choice(rows, size=max_rows, replace=False))


def baseline_fits(
    inputs: STSAEInputs, methods: Iterable[str], sizes: Iterable[int], seeds: list[int], *,
    max_iter: int, max_rows: int | None, n_folds: int, subsample: bool,
) -> dict[tuple[str, int, int], FitRecord]:
    """Every baseline at every requested size K and seed, fitted on (at most ``max_rows`` of)
    the train rows and scored on test; subsample stability at the first seed.

    A linear baseline holds at most ``min(K, d)`` components (:func:`capped_components`), so
    every K ≥ d asks for the same fit: it is fitted and scored once and recorded under each
    K that asked for it (``n_fitted`` says what was fitted). Keys: (method, K, seed).
    """
    z = inputs.cache.z
    out: dict[tuple[str, int, int], FitRecord] = {}
    done: dict[tuple[str, int, int], FitRecord] = {}
    for method in methods:
        for k in sizes:
            for seed in seeds:
                rows = _fit_rows(inputs.rows("train"), max_rows, seed)
                fitted = capped_components(method, np.asarray(z[rows]), int(k))
                key = (method, fitted, seed)
                if key not in done:
                    done[key] = _baseline_fit(inputs, method, int(k), seed, max_iter, max_rows,
                                              n_folds, subsample and seed == seeds[0])  # fmt: skip
                fit = done[key]
                out[(method, int(k), seed)] = FitRecord(atoms=fit.atoms,
                                                        record={**fit.record, "n_concepts": int(k)})  # fmt: skip
    return out


def _baseline_fit(inputs: STSAEInputs, method: str, k: int, seed: int, max_iter: int,
                  max_rows: int | None, n_folds: int, subsample: bool) -> FitRecord:  # fmt: skip
    z = inputs.cache.z
    start = time.perf_counter()
    rows = _fit_rows(inputs.rows("train"), max_rows, seed)
    model = fit_baseline(method, np.asarray(z[rows]), k, seed, max_iter)
    seconds = time.perf_counter() - start
    record: dict[str, Any] = {"method": method, "n_concepts": k, "n_fitted": model.n_concepts,
                              "seed": seed}  # fmt: skip
    record.update(score_on_test(model, inputs, seed, n_folds))
    if subsample:

        def fit_rows(half: np.ndarray) -> np.ndarray:
            half = _fit_rows(half, max_rows, seed)
            return fit_baseline(method, np.asarray(z[half]), k, seed, max_iter).atoms

        record["subsample_stability"] = _halves_stability(fit_rows, inputs, seed)
    record["train_seconds"] = seconds
    log.info("%s (%d components) seed %d: EV %.3f, L0 %.1f (%.1f s)", method, model.n_concepts,
             seed, record["ev"], record["l0"], seconds)  # fmt: skip
    return FitRecord(atoms=model.atoms, record=record)


#: record fields the leaderboard leaves out: nested ones, and the timing (a result table holds
#: no field a rerun cannot reproduce; the time stays in each fit's metrics.json)
_NOT_IN_TABLE = ("history", "config", "train_seconds")


def build_leaderboard(fits: Iterable[FitFiles]) -> pd.DataFrame:
    """The leaderboard over fit files: per-fit metrics, seed stability per (method, K) from
    the atoms of its seeds, subsample stability from the fit that measured it."""
    rows, atoms, subsample = [], {}, {}
    for files in fits:
        record = read_json(files.metrics)
        key = (record["method"], int(record["n_concepts"]))
        atoms.setdefault(key, []).append(np.load(files.atoms, allow_pickle=False))
        if record.get("subsample_stability") is not None:
            subsample[key] = float(record["subsample_stability"])
        rows.append({k: np.nan if v is None else v for k, v in record.items()
                     if k not in _NOT_IN_TABLE})  # fmt: skip
    return leaderboard(rows, seed_atoms=atoms, subsample=subsample)
