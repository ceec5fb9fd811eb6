"""Which downstream tasks a dataset can have, known from its config before anything runs.

Why at planning time: a YAIB cohort is built for one task (``mortality24`` fills only
``mortality_hospital``), so the default four-task list would plan jobs that can only fail —
and they would fail deep inside the label-fraction sampling with an error naming neither
task nor dataset. The rules plan only :func:`plan_tasks`'s ``planned`` tasks and the jobs
log the ``left_out`` ones with the reason. A task that is planned but ends up without labels
after ingest (e.g. a ricu export without creatinine) stops the job with
:class:`TaskLabelsError`, naming dataset, task, split and labels file.

Light on purpose (no numpy/pandas): the Snakefile imports it while parsing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clinssl.icu.names import TASKS, YAIB_TASK_LABELS

__all__ = ["TaskLabelsError", "TaskPlan", "check_task_labels", "plan_tasks", "stratify_task"]

#: the task splits are stratified on when the config says ``auto``: the headline outcome,
#: else the first binary task the dataset has
STRATIFY_PREFERENCE: tuple[str, ...] = ("mortality_hospital", "aki_kdigo", "mortality_24h")


class TaskLabelsError(ValueError):
    """A requested task has no (or only one class of) labels in a split after ingest."""


@dataclass(frozen=True)
class TaskPlan:
    """The tasks a dataset's jobs run (in the requested order) and why the others are not."""

    planned: tuple[str, ...]
    left_out: dict[str, str] = field(default_factory=dict)

    def describe(self, dataset: str) -> str:
        """One log line: what runs and, for each left-out task, why."""
        text = f"dataset {dataset!r}: tasks {list(self.planned)}"
        if self.left_out:
            why = "; ".join(f"{t}: {r}" for t, r in self.left_out.items())
            text += f"; left out: {why}"
        return text


def plan_tasks(dataset: str, dataset_config: Mapping[str, Any], requested: Sequence[str]) -> TaskPlan:
    """The requested tasks dataset ``dataset`` can have (config ``icu.datasets.<dataset>``).

    ricu exports and the synthetic cohort carry what every task needs (mortality table,
    hourly creatinine, LOS); a YAIB cohort carries the one label of its YAIB task.
    """
    unknown = [t for t in requested if t not in TASKS]
    if unknown:
        raise ValueError(f"config icu.ssl.downstream.tasks: unknown tasks {unknown}; known: {list(TASKS)}")
    fmt = dataset_config.get("format")
    if fmt == "yaib":
        yaib_task = dataset_config.get("task")
        if yaib_task not in YAIB_TASK_LABELS:
            raise ValueError(
                f"config icu.datasets.{dataset}.task: {yaib_task!r} is not a YAIB task clinssl "
                f"reads; known: {sorted(YAIB_TASK_LABELS)}"
            )
        available = {YAIB_TASK_LABELS[yaib_task]}
        reason = f"a YAIB {yaib_task} cohort has labels for {YAIB_TASK_LABELS[yaib_task]} only"
    else:
        available, reason = set(TASKS), ""
    planned = tuple(t for t in requested if t in available)
    left_out = {t: reason for t in requested if t not in available}
    if not planned:
        raise ValueError(
            f"dataset {dataset!r}: none of the requested tasks {list(requested)} can be built "
            f"({reason}); add {sorted(available)} to icu.ssl.downstream.tasks"
        )
    return TaskPlan(planned, left_out)


def stratify_task(setting: str | None, plan: TaskPlan, kinds: Mapping[str, str]) -> str | None:
    """The task the splits are stratified on: ``setting`` (config ``icu.splits.stratify_by``)
    if it is a planned binary task, the preferred planned binary task for ``auto``, or None
    (``null``: unstratified patient split)."""
    if setting is None:
        return None
    if setting != "auto":
        if setting not in plan.planned or kinds.get(setting) != "binary":
            raise ValueError(
                f"config icu.splits.stratify_by: {setting!r} is not a planned binary task "
                f"(planned: {list(plan.planned)})"
            )
        return setting
    for task in STRATIFY_PREFERENCE:
        if task in plan.planned and kinds.get(task) == "binary":
            return task
    return None


def check_task_labels(
    dataset: str, task: str, kind: str, counts: Mapping[str, tuple[int, int]], labels_file: str
) -> None:
    """Stop with a named error if ``task`` cannot be trained and scored on every split.

    ``counts`` maps split name to ``(labelled stays, positive stays)``. A split without labels,
    or a binary task whose training split lacks a class, cannot give a model or a metric.
    """
    for split, (n, positives) in counts.items():
        if n == 0:
            raise TaskLabelsError(
                f"dataset {dataset!r}, task {task!r}: no labelled stays in the {split} split "
                f"after ingest ({labels_file}, column {task!r}); remove the task from "
                "icu.ssl.downstream.tasks or check the export provides what it needs"
            )
        if kind == "binary" and split == "train" and positives in (0, n):
            cls = "positive" if positives == 0 else "negative"
            raise TaskLabelsError(
                f"dataset {dataset!r}, task {task!r}: the train split has no {cls} stays "
                f"({n} labelled; {labels_file}, column {task!r}); a classifier needs both classes"
            )
