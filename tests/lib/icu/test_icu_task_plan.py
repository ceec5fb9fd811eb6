"""Tasks per dataset (clinssl.icu.tasks): a YAIB cohort plans only its own task, the others
are left out with the reason, and a task without labels stops with a named error; the
label-stratified patient split balances a rare outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clinssl.icu.names import TASK_KINDS, TASKS
from clinssl.icu.tasks import TaskLabelsError, check_task_labels, plan_tasks, stratify_task
from clinssl.io.splits import patient_level_split


def test_yaib_mortality_cohort_plans_only_hospital_mortality() -> None:
    plan = plan_tasks("yaib_mort", {"format": "yaib", "task": "mortality24"}, list(TASKS))
    assert plan.planned == ("mortality_hospital",)
    assert set(plan.left_out) == {"mortality_24h", "aki_kdigo", "los_remaining"}
    assert all("mortality24" in why for why in plan.left_out.values())
    line = plan.describe("yaib_mort")
    assert "yaib_mort" in line and "aki_kdigo" in line and "left out" in line


def test_ricu_and_synthetic_plan_every_requested_task_in_order() -> None:
    requested = ["los_remaining", "mortality_hospital"]
    for fmt in ("ricu", "synthetic"):
        plan = plan_tasks("d", {"format": fmt}, requested)
        assert plan.planned == tuple(requested) and not plan.left_out


def test_plan_errors_name_dataset_and_task() -> None:
    with pytest.raises(ValueError, match="yaib_aki.*los_remaining"):
        plan_tasks("yaib_aki", {"format": "yaib", "task": "aki"}, ["los_remaining"])
    with pytest.raises(ValueError, match="icu.datasets.y.task"):
        plan_tasks("y", {"format": "yaib", "task": "sepsis"}, list(TASKS))


def test_task_without_labels_names_dataset_task_and_split() -> None:
    with pytest.raises(TaskLabelsError, match=r"'miiv'.*'aki_kdigo'.*val split.*labels.parquet"):
        check_task_labels("miiv", "aki_kdigo", "binary", {"train": (50, 5), "val": (0, 0)}, "labels.parquet")
    with pytest.raises(TaskLabelsError, match="no positive stays"):
        check_task_labels("miiv", "aki_kdigo", "binary", {"train": (50, 0)}, "labels.parquet")
    check_task_labels("miiv", "los_remaining", "regression", {"train": (50, 0)}, "l.parquet")


def test_stratify_task_choice() -> None:
    yaib = plan_tasks("y", {"format": "yaib", "task": "mortality24"}, list(TASKS))
    los_only = plan_tasks("y", {"format": "yaib", "task": "los"}, ["los_remaining"])
    full = plan_tasks("s", {"format": "synthetic"}, list(TASKS))
    assert stratify_task("auto", yaib, TASK_KINDS) == "mortality_hospital"
    assert stratify_task("auto", los_only, TASK_KINDS) is None
    assert stratify_task("aki_kdigo", full, TASK_KINDS) == "aki_kdigo"
    assert stratify_task(None, full, TASK_KINDS) is None
    with pytest.raises(ValueError, match="stratify_by"):
        stratify_task("aki_kdigo", yaib, TASK_KINDS)


def _cohort(n_patients: int, rate: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    stays_per = rng.integers(1, 4, n_patients)
    patient = np.repeat(np.arange(n_patients) + 1000, stays_per)
    y = (rng.random(len(patient)) < rate).astype(float)
    y[rng.random(len(patient)) < 0.1] = np.nan
    static = pd.DataFrame({"stay_id": np.arange(len(patient)), "patient_id": patient})
    return static, y


def test_stratified_split_balances_a_rare_outcome_and_stays_patient_level() -> None:
    worst_plain, worst_strat = 0.0, 0.0
    for seed in range(5):
        static, y = _cohort(600, 0.04, seed)
        for stratify, name in ((None, "plain"), (y, "strat")):
            split = patient_level_split(static, seed, (0.7, 0.15, 0.15), stratify)
            assert split.groupby("patient_id")["split"].nunique().max() == 1
            pos = pd.Series(y == 1).groupby(split["split"]).sum()
            total = pos.sum()
            # positives per split relative to the split's share of patients
            share = split.drop_duplicates("patient_id")["split"].value_counts(normalize=True)
            dev = float((pos / total - share).abs().max())
            if name == "plain":
                worst_plain = max(worst_plain, dev)
            else:
                worst_strat = max(worst_strat, dev)
    assert worst_strat < 0.03 < worst_plain


def test_stratified_split_is_deterministic_and_rejects_non_binary_labels() -> None:
    static, y = _cohort(200, 0.1, 0)
    a = patient_level_split(static, 3, stratify=y)
    b = patient_level_split(static, 3, stratify=y)
    assert a.equals(b)
    with pytest.raises(ValueError, match="0, 1 or missing"):
        patient_level_split(static, 3, stratify=np.where(np.isnan(y), 2.0, y * 3))


def test_planned_tasks_stop_a_job_whose_task_has_no_labels(caplog) -> None:
    from clinssl.icu.benchmark import SplitTensors
    from clinssl.icu.inputs import planned_tasks

    def split(aki: float) -> SplitTensors:
        labels = pd.DataFrame({t: np.full(4, np.nan) for t in TASKS})
        labels["mortality_hospital"] = [0.0, 1.0, 0.0, 1.0]
        labels["aki_kdigo"] = aki
        return SplitTensors(np.zeros((4, 2, 3)), np.zeros((4, 2, 3), bool), np.arange(4), np.arange(4), labels)

    splits = {"train": split(np.nan), "val": split(np.nan), "test": split(np.nan)}
    with caplog.at_level("INFO"):
        tasks = planned_tasks("yaib_mort", ["mortality_hospital"], {"aki_kdigo": "a YAIB mortality24 cohort ..."},
                              splits, "labels.parquet")  # fmt: skip
    assert tasks == {"mortality_hospital": "binary"}
    assert "aki_kdigo left out" in caplog.text
    with pytest.raises(TaskLabelsError, match="'miiv', task 'aki_kdigo': no labelled stays in the train split"):
        planned_tasks("miiv", ["mortality_hospital", "aki_kdigo"], {}, splits, "labels.parquet")
