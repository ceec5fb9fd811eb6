"""Resumability: kill a running workflow while a training rule runs, rerun, and get complete
outputs equal to an uninterrupted run's, the training having resumed from its last
per-epoch checkpoint; no partial output may look complete in between (after the kill
Snakemake must plan the job again). Kills, all during training:

* SIGTERM to the whole process group: what SLURM does at a time limit or on preemption
  (and a terminal's Ctrl-C, with SIGINT);
* SIGKILL to the whole process group: a crash, the OOM killer, a node failure.

(SIGTERM to Snakemake alone is its graceful stop: it lets running jobs finish.)

Training rules are found, not listed: GPU-capable rules (``resources: gpu=1``) of the test
DAG whose log in the built workspace shows the shared loop's ``epoch k/N`` lines. Their
epoch count is raised (every ``epochs`` key of the branch's config) so that training lasts
long enough to be interrupted between epochs (at least 3: the kill lands in the last
epoch, after epoch 2's log line, i.e. after epoch 1's checkpoint). One uninterrupted run
with the same config is the reference both kills are compared with.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from dagjobs import PlannedJob, planned_jobs, scheduled
from sameoutputs import TIMING_KEYS, compare_file
from snakerunner import WorkflowRunner, snakemake_command

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

EPOCH_LINE = re.compile(r"epoch (\d+)/(\d+) .*?\bseconds=([0-9.e+-]+)")
# timings and where a run resumed differ between an interrupted and an uninterrupted run
NOT_REPRODUCIBLE = re.compile(f"{TIMING_KEYS.pattern}|(^|_)resumed")
TARGET_TRAINING_SECONDS = 3.0


def epoch_records(log: Path) -> list[tuple[int, int, float]]:
    if not log.is_file():
        return []
    return [(int(m[1]), int(m[2]), float(m[3])) for m in EPOCH_LINE.finditer(log.read_text())]


def training_job(built: WorkflowRunner) -> tuple[PlannedJob, float]:
    """The training job of the test DAG with the fastest epochs, and its seconds per epoch.

    Only jobs that train one model (a single ``epoch 1/N`` run in their log) qualify: in a
    job that fits several models one after another the earlier ones are already done.
    """
    candidates = []
    for job in planned_jobs(built.workdir, built.configfile):
        records = epoch_records(built.path(job.logs[0])) if job.gpu and job.logs else []
        if records and sum(r[0] == 1 for r in records) == 1:
            seconds = max(sum(r[2] for r in records) / len(records), 1e-3)
            candidates.append((seconds, job.rule, job))
    if not candidates:
        pytest.fail(
            "the test DAG has no training rule (a gpu=1 rule whose log shows one run of "
            "'epoch k/N' lines of clinssl.train.loop): switch a branch with one on"
        )
    seconds, _, job = min(candidates, key=lambda c: (c[0], c[1]))
    return job, seconds


def with_epochs(config: dict[str, Any], branch: str, epochs: int) -> dict[str, Any]:
    """``config`` with every ``epochs`` key under ``config[branch]`` set to ``epochs``."""
    config = copy.deepcopy(config)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "epochs" and isinstance(value, int):
                    node[key] = epochs
                else:
                    visit(value)

    visit(config[branch])
    return config


def workspace(built: WorkflowRunner, dest: Path, config: dict[str, Any]) -> WorkflowRunner:
    shutil.copytree(built.workdir, dest, symlinks=True)
    return WorkflowRunner(dest, config)


def only(job: PlannedJob, *extra: str) -> list[str]:
    """Options that let only this job's rule run (``=`` form: see dagjobs.scheduled)."""
    return [f"--allowed-rules={job.rule}", *extra]


@pytest.fixture(scope="module")
def training(
    built_workspace: WorkflowRunner, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PlannedJob, int, dict[str, Any], WorkflowRunner]:
    """(training job, epochs, config with those epochs, uninterrupted reference run)."""
    job, seconds_per_epoch = training_job(built_workspace)
    epochs = min(400, max(3, math.ceil(TARGET_TRAINING_SECONDS / seconds_per_epoch) + 2))
    config = with_epochs(built_workspace.config, job.rule.split("_")[0], epochs)
    reference = workspace(built_workspace, tmp_path_factory.mktemp("resume") / "ref", config)
    reference.run(job.outputs, *only(job, f"--forcerun={job.rule}"))
    return job, epochs, config, reference


def kill_mid_training(work: WorkflowRunner, job: PlannedJob, epochs: int, sig: signal.Signals) -> None:
    """Start the job, kill the whole process group once epoch k >= 2 of N runs (epoch k-1's
    checkpoint is then on disk), and unlock the directory as a user would."""
    log = work.path(job.logs[0])
    log.unlink(missing_ok=True)
    cmd = snakemake_command(
        "--directory",
        work.workdir,
        "--configfile",
        work.configfile,
        "--cores",
        "2",
        *only(job, f"--forcerun={job.rule}"),
        *job.outputs,
        snakefile=work.snakefile,
    )
    proc = subprocess.Popen(
        cmd,
        cwd=work.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so SIGKILL takes the job down too
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    try:
        deadline = time.monotonic() + 600
        while True:
            done = [r for r in epoch_records(log) if r[1] == epochs]
            if done and 2 <= done[-1][0] < epochs:
                break
            assert proc.poll() is None, f"workflow ended before it could be killed: {done}"
            assert time.monotonic() < deadline, "training never reached epoch 2"
            time.sleep(0.01)
        os.killpg(proc.pid, sig)  # the whole group: Snakemake and the training job
        returncode = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert returncode != 0
    time.sleep(0.5)
    work.run((), "--unlock")  # a killed Snakemake cannot release its lock


def assert_same_outputs(job: PlannedJob, work: WorkflowRunner, reference: WorkflowRunner, why: str) -> None:
    for output in job.outputs:
        differences = compare_file(
            output, work.path(output), reference.path(output), NOT_REPRODUCIBLE
        )
        assert not differences, f"{why}: {output} differs:\n" + "\n".join(differences[:20])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_training_resumes_from_checkpoint(
    sig: signal.Signals,
    training: tuple[PlannedJob, int, dict[str, Any], WorkflowRunner],
    built_workspace: WorkflowRunner,
    tmp_path: Path,
) -> None:
    job, epochs, config, reference = training
    work = workspace(built_workspace, tmp_path / "work", config)
    kill_mid_training(work, job, epochs, sig)

    # nothing the killed run left behind counts as done
    assert scheduled(work, job.outputs, *only(job)) == {job.rule: 1}
    work.run(job.outputs, *only(job, "--rerun-incomplete"))
    text = work.path(job.logs[0]).read_text()
    resumed = re.search(r"resumed from .* after epoch (\d+)", text)
    assert resumed and int(resumed[1]) >= 1, f"training restarted from scratch:\n{text}"
    assert [r[0] for r in epoch_records(work.path(job.logs[0]))][0] == int(resumed[1]) + 1
    assert_same_outputs(job, work, reference, "resumed run vs an uninterrupted run")


#: the learning rate each training rule's params carry (config key path)
LEARNING_RATE = {
    "icu_pretrain": ("icu", "ssl", "pretrain", "lr"),
    "icu_downstream": ("icu", "ssl", "downstream", "finetune_lr"),
    "ppg_pretrain_himae": ("ppg", "himae", "lr"),
    "ecg_pretrain": ("ecg", "pretrain", "lr"),
    "ecg_evaluate": ("ecg", "evaluate", "finetune", "lr"),
    "stsae_train": ("stsae", "sae", "lr"),
    "events_train": ("events", "train", "lr"),
}


def with_halved_learning_rate(config: dict[str, Any], rule: str, built: WorkflowRunner) -> dict[str, Any]:
    """``config`` with ``rule``'s learning rate halved (its current value from the built
    run's manifest, where the schema's defaults are filled in)."""
    if rule not in LEARNING_RATE:
        pytest.fail(f"no learning-rate key known for training rule {rule!r}: add it to LEARNING_RATE")
    keys = LEARNING_RATE[rule]
    node = json.loads(built.path("results/manifest.json").read_text())["config"]
    for key in keys:
        node = node[key]
    config = copy.deepcopy(config)
    target = config
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = float(node) / 2
    return config


def test_checkpoint_of_a_changed_job_is_discarded(
    training: tuple[PlannedJob, int, dict[str, Any], WorkflowRunner],
    built_workspace: WorkflowRunner,
    tmp_path: Path,
) -> None:
    """Kill a training job, change its learning rate, rerun: the old checkpoint must not be
    resumed (it belongs to the old settings) and the result must equal a clean run with the
    new settings. (The same holds when an input file changes: tests/lib/train/test_loop.py.)"""
    job, epochs, config, _ = training
    changed = with_halved_learning_rate(config, job.rule, built_workspace)
    clean = workspace(built_workspace, tmp_path / "clean", changed)
    clean.run(job.outputs, *only(job, f"--forcerun={job.rule}"))
    work = workspace(built_workspace, tmp_path / "work", config)
    kill_mid_training(work, job, epochs, signal.SIGKILL)
    checkpoints = [p for p in work.workdir.rglob("*.ckpt")]
    assert checkpoints, "the killed job left no checkpoint to be stale"
    work.write_config(changed)
    work.run(job.outputs, *only(job, "--rerun-incomplete"))
    text = work.path(job.logs[0]).read_text()
    assert "discarding checkpoint" in text and "caller.job.params" in text, text[-3000:]
    assert "resumed from" not in text
    assert_same_outputs(job, work, clean, "run after a discarded checkpoint vs a clean run")
    assert not any(work.workdir.rglob("*.ckpt"))
