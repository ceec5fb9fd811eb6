"""Downstream protocols on toy tensors with planted severity: probes/fine-tuning learn it,
each protocol uses the encoder it is given, summaries and checks are consistent.

The toy severity is a level shift that a random encoder's pooled features already expose
(its probe reaches ~0.93 AUROC), so these tables cannot show that pretraining beats a random
initialisation; that is tested on the generator's trajectory signal in
``test_planted_trajectory.py``."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from clinssl.icu.benchmark import (
    paired_vs_supervised,
    planted_checks,
    probe_vs_random,
    run_protocols,
    summarize,
    summary_markdown,
)
from clinssl.icu.downstream import DownstreamConfig, label_fraction_indices, sqrt_balanced_weights
from clinssl.icu.labels import ICU_TASKS
from clinssl.icu.pretraining import (
    PretrainConfig,
    encoder_spec,
    fresh_encoder,
    pretrain,
    pretrain_budget,
    rebuild_encoder,
)

SMALL = {"transformer": {"d_model": 16, "d_ff": 32, "n_heads": 2}}
CONFIG = DownstreamConfig(epochs=3, patience=2, batch_size=64, finetune_lr=1e-3,
                          supervised_lr=1e-3, device="cpu")  # fmt: skip


def test_label_fraction_is_stratified_and_deterministic() -> None:
    y = np.r_[np.zeros(95), np.ones(5)]
    idx = label_fraction_indices(y, 0.1, 0, "aki_kdigo", "binary")
    assert y[idx].sum() == 1 and (y[idx] == 0).sum() == 10  # round(9.5) = 10 negatives, 1 positive
    assert np.array_equal(idx, label_fraction_indices(y, 0.1, 0, "aki_kdigo", "binary"))
    assert not np.array_equal(idx, label_fraction_indices(y, 0.1, 1, "aki_kdigo", "binary"))
    assert len(label_fraction_indices(y, 1.0, 0, "x", "binary")) == 100
    with pytest.raises(ValueError, match="label fraction"):
        label_fraction_indices(y, 0.0, 0, "x", "binary")


def test_sqrt_balanced_weights() -> None:
    w = sqrt_balanced_weights(np.r_[np.zeros(90), np.ones(10)])
    assert w == pytest.approx(np.sqrt([100 / 180, 100 / 20]))


def test_budget_overrides_apply_to_one_paradigm() -> None:
    cfg = {
        "epochs": 5,
        "batch_size": 32,
        "max_stays": None,
        "lr": 1e-3,
        "overrides": {"smart": {"epochs": 1, "max_stays": 8, "lr": 3e-3}},
    }
    smart, smart_max = pretrain_budget(cfg, "smart")
    mae, mae_max = pretrain_budget(cfg, "mae")
    assert (smart.epochs, smart_max, mae.epochs, mae_max) == (1, 8, 5, None)
    assert smart.batch_size == mae.batch_size == 32
    assert (smart.lr, mae.lr) == (3e-3, 1e-3)
    with pytest.raises(ValueError, match="unknown keys"):
        pretrain_budget({**cfg, "overrides": {"mae": {"momentum": 0.9}}}, "mae")


@pytest.fixture(scope="module")
def benchmark_tables(toy_splits):
    spec = encoder_spec("mae", 6, SMALL)
    train = toy_splits["train"]
    encoder, result, _ = pretrain(
        "mae", train.values, train.mask, spec, {}, PretrainConfig(epochs=3, batch_size=64,
        warmup_epochs=0, device="cpu"), seed=0,
    )  # fmt: skip
    assert len(result.history) == 3
    tasks = dict(ICU_TASKS)
    fractions = [0.25, 1.0]
    runs = [
        ("mae", ["linear_probe", "finetune"], lambda: copy.deepcopy(encoder)),
        ("supervised", ["supervised"], lambda: fresh_encoder(spec, 0)),
        ("random", ["linear_probe"], lambda: fresh_encoder(spec, 0)),
    ]
    metrics, predictions = [], []
    for paradigm, protocols, factory in runs:
        m, p = run_protocols(paradigm, protocols, factory, "transformer", toy_splits, tasks,
                             fractions, CONFIG, 0, n_resamples=100)  # fmt: skip
        metrics.append(m)
        predictions.append(p)
    return pd.concat(metrics, ignore_index=True), pd.concat(predictions, ignore_index=True)


def test_protocols_learn_planted_severity(benchmark_tables) -> None:
    metrics, predictions = benchmark_tables
    auroc = metrics[(metrics["metric"] == "auroc") & (metrics["label_fraction"] == 1.0)]
    for protocol in ("linear_probe", "finetune", "supervised"):
        sub = auroc[(auroc["protocol"] == protocol) & (auroc["paradigm"] != "random")]
        assert (sub["value"] > 0.75).all(), sub[["protocol", "task", "value"]]
    # the probe of the pretrained encoder and that of the random one see different features
    probes = predictions[predictions["protocol"] == "linear_probe"]
    ssl_scores = probes[probes["paradigm"] == "mae"]["y_score"].to_numpy()
    rnd_scores = probes[probes["paradigm"] == "random"]["y_score"].to_numpy()
    assert ssl_scores.shape == rnd_scores.shape and not np.allclose(ssl_scores, rnd_scores)
    # trained protocols record the epochs they ran, probes the regularization they chose
    trained = metrics[metrics["protocol"] != "linear_probe"]
    assert trained["epochs_run"].between(1, CONFIG.epochs).all()
    chosen = metrics.loc[metrics["protocol"] == "linear_probe", "regularization"]
    assert chosen.isin([*CONFIG.probe_c_grid, *CONFIG.probe_alpha_grid]).all()
    assert (metrics["ci_low"] <= metrics["ci_high"]).all()
    # (percentile CIs of biased metrics such as ECE need not contain the point estimate)
    au = metrics[metrics["metric"] == "auroc"]
    assert ((au["ci_low"] <= au["value"]) & (au["value"] <= au["ci_high"])).all()
    # AKI has missing labels: those stays are not evaluated
    n_test = metrics.groupby("task")["n_test"].first()
    assert n_test["aki_kdigo"] < n_test["mortality_24h"] == 160
    assert set(predictions["protocol"]) == {"linear_probe", "finetune", "supervised"}


def test_summary_paired_and_checks(benchmark_tables) -> None:
    metrics, predictions = benchmark_tables
    table = summarize(metrics)
    assert {"mean", "sd", "ci_low", "ci_high", "n_seeds"} <= set(table.columns)
    assert (table["n_seeds"] == 1).all()
    paired = paired_vs_supervised(predictions, ICU_TASKS, n_resamples=50)
    assert set(paired["protocol"]) == {"linear_probe", "finetune"}
    assert (paired["ci_low"] <= paired["ci_high"]).all()
    assert set(paired.loc[paired["task"] == "los_remaining", "metric"]) == {"mae"}
    md = summary_markdown(table)
    assert "| paradigm |" in md and "mortality_hospital auroc" in md
    fairness = pd.DataFrame(
        {"attribute": ["age_group"], "task": ["mortality_hospital"], "label_fraction": [1.0],
         "protocol": ["supervised"], "auroc_gap": [0.1], "worst_group_auroc": ["80+"]}
    )  # fmt: skip
    checks = planted_checks(table, fairness)
    assert checks["supervised_supervised_aki_kdigo_auroc"]["passed"]
    assert "probe_mae_beats_random_mortality_hospital" in checks
    assert checks["age_group_auroc_gap_mortality_hospital"]["passed"]


def _probe_predictions(signal: dict[str, float], n: int = 400) -> pd.DataFrame:
    """Linear-probe test predictions of three seeds whose scores carry ``signal[paradigm]``
    of the label (plus independent noise); the random encoder is paradigm ``random``."""
    frames = []
    for seed in range(3):
        rng = np.random.default_rng(seed)
        y = (rng.random(n) < 0.2).astype(float)
        for paradigm, strength in signal.items():
            frames.append(pd.DataFrame({
                "paradigm": paradigm, "encoder": "mart" if paradigm != "mae" else "transformer",
                "protocol": "linear_probe", "task": "mortality_hospital", "label_fraction": 1.0,
                "seed": seed, "stay_id": np.arange(n), "patient_id": np.arange(n) // 2, "y_true": y,
                "y_score": strength * y + rng.normal(0, 1, n),
            }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def test_probe_vs_random_separates_a_real_margin_from_noise() -> None:
    preds = _probe_predictions({"random": 0.3, "smart": 1.5, "jepa": 0.3})
    preds.loc[preds["paradigm"] == "jepa", "encoder"] = "mart"
    out = probe_vs_random(preds, n_resamples=200).set_index("paradigm")
    assert set(out.index) == {"smart", "jepa"}
    assert out.loc["smart", "delta"] > 0.2 and out.loc["smart", "ci_low"] > 0
    assert out.loc["smart", "seeds_better"] == out.loc["smart", "n_seeds"] == 3
    # same signal as the random encoder: the CI straddles zero
    assert out.loc["jepa", "ci_low"] < 0 < out.loc["jepa", "ci_high"]
    # no random probe of the paradigm's encoder: nothing to compare
    only_mae = _probe_predictions({"random": 0.3, "mae": 1.5})
    assert probe_vs_random(only_mae, n_resamples=50).empty
    table = summarize(pd.DataFrame({
        "paradigm": ["smart", "random", "jepa"], "encoder": "mart", "protocol": "linear_probe",
        "task": "mortality_hospital", "kind": "binary", "label_fraction": 1.0, "seed": 0,
        "metric": "auroc", "value": [0.7, 0.6, 0.61], "ci_low": 0.5, "ci_high": 0.8,
    }))  # fmt: skip
    checks = planted_checks(table, pd.DataFrame(), probe_comparison=out.reset_index())
    # SMART is an external reference: its margin is a finding, never a planted check
    assert not any("smart" in name for name in checks)
    jepa = checks["probe_jepa_beats_random_mortality_hospital"]
    assert jepa["passed"] and not jepa["clear_of_test_noise"]  # a pass within the noise
    assert jepa["paired_margin_ci95"][0] < 0


def test_model_file_roundtrip_rebuilds_encoder(tmp_path, toy_splits) -> None:
    from clinssl.train import load_model_file, save_model_file

    spec = encoder_spec("contrastive", 6, SMALL)
    encoder = fresh_encoder(spec, 3)
    save_model_file(tmp_path / "enc.pt", encoder, {"spec": spec})
    state, meta = load_model_file(tmp_path / "enc.pt")
    again = rebuild_encoder(meta["spec"], state).eval()
    import torch

    v = torch.as_tensor(toy_splits["test"].values[:4])
    m = torch.as_tensor(toy_splits["test"].mask[:4])
    assert torch.allclose(again(v, m), encoder.eval()(v, m))
