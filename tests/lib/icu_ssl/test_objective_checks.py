"""Objective checks: each SSL objective, briefly pretrained on learnable toy series, beats the
trivial predictor of its own pretext targets on held-out stays; a broken one does not; the
evaluation is deterministic and mirrors each objective's loss; the pass/fail logic."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from clinssl.icu.benchmark.checks import objective_check
from clinssl.icu.objective_checks import evaluate_objective, train_feature_mean
from clinssl.icu.objectives import build_objective
from clinssl.icu.pretraining import PretrainConfig, encoder_spec, initial_encoder, pretrain
from clinssl.nn.ssl import nt_xent
from snakerunner import REPO_ROOT

T, D = 24, 6
PARADIGMS = ("mae", "jepa", "contrastive", "smart")
ENCODERS = {  # config/test.yaml's sizes, no dropout (a short budget)
    "transformer": {"d_model": 32, "d_ff": 64, "dropout": 0.0},
    "mart": {"d_model": 16, "d_ff": 32, "dropout": 0.0},
}
BUDGET = PretrainConfig(epochs=6, batch_size=32, lr=3e-3, warmup_epochs=0, device="cpu")
OFFSET = np.array([0.5, -0.3, 0.2, 0.0, 0.8, -0.6])  # feature means away from 0
_THRESHOLDS = yaml.safe_load((REPO_ROOT / "config/schema/icu_ssl.schema.yaml").read_text())
THRESHOLDS = {  # the shipped defaults
    key: spec["default"]
    for key, spec in _THRESHOLDS["properties"]["objective_checks"]["properties"].items()
}


def make_stays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stays whose features share one oscillation (random phase and frequency) around a
    per-stay level: masked hours and entries are predictable from the visible ones."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    freq = rng.uniform(0.15, 0.35, (n, 1, 1))
    level = rng.normal(0, 1, (n, 1, 1))
    loading = np.array([1.0, -0.8, 0.6, 1.2, -1.0, 0.5])
    values = OFFSET + level + loading * np.sin(freq * t + phase) + rng.normal(0, 0.15, (n, T, D))
    mask = rng.random((n, T, D)) < 0.6
    mask[:, 0, 0] = True
    return np.where(mask, values, 0.0).astype(np.float32), mask


@pytest.fixture(scope="module")
def stays():
    train_v, train_m = make_stays(256, 1)
    val_v, val_m = make_stays(100, 2)  # batches of 32, 32, 32 and 4
    return {
        "train": (train_v, train_m),
        "val": (val_v, val_m),
        "mean": train_feature_mean(train_v, train_m),
    }


@pytest.fixture(scope="module")
def trained(stays) -> dict[str, nn.Module]:
    """Each paradigm's objective after a short pretraining on the training stays."""
    values, mask = stays["train"]
    out = {}
    for paradigm in PARADIGMS:
        spec = encoder_spec(paradigm, D, ENCODERS)
        out[paradigm] = pretrain(paradigm, values, mask, spec, {}, BUDGET, seed=0).objective
    return out


def _evaluate(paradigm: str, objective: nn.Module, stays, seed: int = 0) -> dict:
    values, mask = stays["val"]
    return evaluate_objective(
        paradigm,
        objective,
        values,
        mask,
        train_feature_mean=stays["mean"],
        batch_size=32,
        seed=seed,
    )


def _check(records: list[dict]) -> dict:
    return objective_check(records, **THRESHOLDS)


def _head(paradigm: str, objective: nn.Module) -> nn.Linear:
    """The last linear layer of the paradigm's prediction (or projection) head."""
    if paradigm == "mae":
        return objective.decoder.out
    if paradigm == "jepa":
        return objective.predictor.out
    if paradigm == "smart":
        return objective.proj_out
    return objective.projection[-1]


def test_train_feature_mean_over_observed_entries_only() -> None:
    values = np.zeros((2, 2, 3), dtype=np.float32)
    mask = np.zeros((2, 2, 3), dtype=bool)
    values[0, 0, 0], values[1, 1, 0], values[0, 1, 1] = 1.0, 3.0, -2.0
    mask[0, 0, 0] = mask[1, 1, 0] = mask[0, 1, 1] = True
    values[1, 0, 1] = 100.0  # not observed: ignored
    np.testing.assert_allclose(train_feature_mean(values, mask), [2.0, -2.0, 0.0])
    with pytest.raises(ValueError, match="equal"):
        train_feature_mean(values, mask[:, :1])


@pytest.mark.parametrize("paradigm", PARADIGMS)
def test_trained_objective_passes_its_check_on_held_out_stays(paradigm, trained, stays) -> None:
    record = _evaluate(paradigm, trained[paradigm], stays)
    check = _check([record])
    assert check["passed"], check
    assert record["n_stays"] == 100 and record["n_targets"] > 0
    assert record["higher_is_better"] == (paradigm == "contrastive")
    if paradigm == "contrastive":
        assert record["measure"] == "top1_retrieval"
        # each stay's chance is 1/(its batch's size): (3 * 32/32 + 4/4) / 100
        assert record["baseline"] == pytest.approx(4 / 100)
    else:
        assert record["measure"] == "masked_mse"


@pytest.mark.parametrize("paradigm", PARADIGMS)
def test_zeroed_head_fails_its_check(paradigm, trained, stays) -> None:
    """Output weights zeroed (the learned bias kept): a constant prediction, which the
    trivial baseline (the best constant) matches or beats; a constant projection ties every
    stay, retrieval at exactly chance."""
    broken = copy.deepcopy(trained[paradigm])
    with torch.no_grad():
        _head(paradigm, broken).weight.zero_()
    record = _evaluate(paradigm, broken, stays)
    assert not _check([record])["passed"], record
    if paradigm == "contrastive":
        assert record["model"] == pytest.approx(record["baseline"])
    else:
        assert record["model"] >= 0.99 * record["baseline"], record


@pytest.mark.parametrize("paradigm", ["mae", "jepa", "smart"])
def test_untrained_objective_fails_its_check(paradigm, stays) -> None:
    spec = encoder_spec(paradigm, D, ENCODERS)
    objective = build_objective(paradigm, initial_encoder(paradigm, spec, 0))
    assert not _check([_evaluate(paradigm, objective, stays)])["passed"]


def test_mae_decoder_outputting_the_train_mean_scores_the_baseline(trained, stays) -> None:
    broken = copy.deepcopy(trained["mae"])
    with torch.no_grad():
        broken.decoder.out.weight.zero_()
        broken.decoder.out.bias.copy_(torch.as_tensor(stays["mean"]))
    record = _evaluate("mae", broken, stays)
    assert record["baseline_name"] == "train_feature_mean"
    assert record["model"] == pytest.approx(record["baseline"], rel=1e-5)


def test_evaluation_is_deterministic_and_leaves_state_alone(trained, stays) -> None:
    objective = trained["smart"]
    objective.train()
    objective.target_encoder.eval()
    torch.manual_seed(123)
    rng_before = torch.random.get_rng_state()
    first = _evaluate("smart", objective, stays, seed=5)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # caller's RNG untouched
    assert objective.training and objective.predictor.training  # flags restored
    assert not objective.target_encoder.training
    assert first == _evaluate("smart", objective, stays, seed=5)
    assert first["mask_seed"] == 5
    assert first["model"] != _evaluate("smart", objective, stays, seed=6)["model"]  # new masks


def test_record_is_the_eval_mode_error_under_the_seeded_masks(trained, stays) -> None:
    """SMART's predictor has dropout: the record must be the eval-mode error of the masks
    drawn from ``seed``, whatever mode the objective was in."""
    objective = copy.deepcopy(trained["smart"]).train()
    values, mask = stays["val"]
    record = evaluate_objective(
        "smart",
        objective,
        values,
        mask,
        train_feature_mean=stays["mean"],
        batch_size=len(values),
        seed=3,
    )
    objective.eval()
    with torch.no_grad():
        torch.manual_seed(3)
        pred, target, w = objective.pretext(torch.as_tensor(values), torch.as_tensor(mask))
        model = float((((pred - target) ** 2).mean(-1) * w).sum() / w.sum())
        mean = (target * w.unsqueeze(-1)).sum((0, 2)) / w.sum((0, 2)).unsqueeze(-1)  # (V, d)
        baseline = float((((mean[None, :, None] - target) ** 2).mean(-1) * w).sum() / w.sum())
    assert record["model"] == pytest.approx(model, rel=1e-5)
    assert record["baseline"] == pytest.approx(baseline, rel=1e-4)


def _loss_from_batch(paradigm: str, objective: nn.Module, v: torch.Tensor, m: torch.Tensor):
    if paradigm == "mae":
        recon, w = objective.pretext(v, m)
        return ((recon - v) ** 2 * w).sum() / w.sum()
    if paradigm == "jepa":
        pred, target, w = objective.pretext(v, m)
        if objective.loss_type == "cosine":
            per_tok = 1.0 - F.cosine_similarity(pred, target, dim=-1)
        else:
            per_tok = ((pred - target) ** 2).mean(-1)
        return (per_tok * w).sum() / w.sum()
    if paradigm == "smart":
        pred, target, w = objective.pretext(v, m)
        per_tok = F.smooth_l1_loss(pred, target, beta=objective.beta, reduction="none").mean(-1)
        return (per_tok * w).sum() / w.sum()
    z1, z2 = objective.pretext(v, m)
    return nt_xent(z1, z2, objective.temperature)


@pytest.mark.parametrize(
    ("paradigm", "kwargs"),
    [
        ("mae", {}),
        ("jepa", {}),
        ("jepa", {"loss_type": "cosine"}),
        ("contrastive", {}),
        ("smart", {}),
    ],
)
def test_batch_passes_mirror_the_training_loss(paradigm, kwargs, stays) -> None:
    """Same seed, same masks: the loss rebuilt from the check's forward pass is the loss."""
    spec = encoder_spec(paradigm, D, ENCODERS)
    objective = build_objective(paradigm, initial_encoder(paradigm, spec, 0), **kwargs).eval()
    values, mask = stays["val"]
    v, m = torch.as_tensor(values[:16]), torch.as_tensor(mask[:16])
    with torch.no_grad():
        torch.manual_seed(7)
        expected = objective.loss(v, m)
        torch.manual_seed(7)
        rebuilt = _loss_from_batch(paradigm, objective, v, m)
    torch.testing.assert_close(rebuilt, expected)


def test_jepa_cosine_measure(stays) -> None:
    spec = encoder_spec("jepa", D, ENCODERS)
    objective = build_objective("jepa", initial_encoder("jepa", spec, 0), loss_type="cosine")
    record = _evaluate("jepa", objective, stays)
    assert record["measure"] == "masked_cosine_distance" and not record["higher_is_better"]
    assert 0.0 <= record["baseline"] <= 2.0 and 0.0 <= record["model"] <= 2.0


def test_evaluate_objective_rejects_mismatched_inputs(trained, stays) -> None:
    values, mask = stays["val"]
    kwargs = {"train_feature_mean": stays["mean"], "batch_size": 32, "seed": 0}
    with pytest.raises(ValueError, match="needs a MAEObjective"):
        evaluate_objective("mae", trained["jepa"], values, mask, **kwargs)
    with pytest.raises(ValueError, match="unknown SSL paradigm"):
        evaluate_objective("byol", trained["mae"], values, mask, **kwargs)
    with pytest.raises(ValueError, match="train_feature_mean must have shape"):
        evaluate_objective(
            "mae", trained["mae"], values, mask, **{**kwargs, "train_feature_mean": np.zeros(3)}
        )


def _record(model: float, baseline: float, measure: str = "masked_mse", **extra) -> dict:
    retrieval = measure == "top1_retrieval"
    return {
        "paradigm": "contrastive" if retrieval else "mae",
        "measure": measure,
        "model": model,
        "baseline": baseline,
        "baseline_name": "chance" if retrieval else "train_feature_mean",
        "higher_is_better": retrieval,
        "n_stays": 100,
        **extra,
    }


def test_objective_check_mse_logic() -> None:
    good = [_record(0.50, 1.0, seed=0), _record(0.94, 1.0, seed=1)]
    check = objective_check(good, 0.05, 5.0)
    assert check["passed"] and check["measure"] == "masked_mse"
    assert check["model_mean"] == pytest.approx(0.72) and check["baseline_mean"] == 1.0
    assert [e["seed"] for e in check["per_seed"]] == [0, 1]
    assert "0.95" in check["criterion"] and "train_feature_mean" in check["criterion"]
    # one seed within 5 % of the baseline fails the whole check
    check = objective_check([*good, _record(0.96, 1.0, seed=2)], 0.05, 5.0)
    assert not check["passed"] and [e["passed"] for e in check["per_seed"]] == [True, True, False]
    assert objective_check([_record(0.95, 1.0)], 0.05, 5.0)["passed"]  # boundary: <=
    assert not objective_check([_record(0.0, 0.0)], 0.05, 5.0)["passed"]  # collapsed targets
    assert not objective_check([_record(1.2, 1.0)], 0.0, 5.0)["passed"]


def test_objective_check_retrieval_logic() -> None:
    chance = 1 / 32
    check = objective_check([_record(0.2, chance, "top1_retrieval")] * 2, 0.05, 5.0)
    assert check["passed"] and "5 x chance" in check["criterion"]
    assert not objective_check([_record(4 * chance, chance, "top1_retrieval")], 0.05, 5.0)["passed"]
    assert objective_check([_record(5 * chance, chance, "top1_retrieval")], 0.05, 5.0)["passed"]


def test_objective_check_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        objective_check([], 0.05, 5.0)
    with pytest.raises(ValueError, match="mix measure"):
        objective_check(
            [_record(0.5, 1.0), {**_record(0.5, 1.0), "measure": "masked_cosine_distance"}],
            0.05,
            5.0,
        )
    with pytest.raises(ValueError, match="min_relative_improvement"):
        objective_check([_record(0.5, 1.0)], 1.0, 5.0)
