"""The ``config/test.yaml`` workflow on a real SLURM cluster, through ``profiles/slurm``.

Checks what issue 6 asks of cluster execution: every non-local job went through ``sbatch``
(its SLURM job id is in Snakemake's log and slurmctld has a COMPLETED record of it under the
rule's name), the GPU rules (found in the DAG: ``resources: gpu=1``) and only they asked
SLURM for a GPU, local rules stayed local, and the results equal a local run's.

To keep the test to a few minutes, it runs on SLURM, from scratch, the test-config DAG
*restricted to one job per cluster rule*: for every non-local rule of the DAG the job that
was fastest in the built workspace (its benchmark TSV), plus every input-less local rule;
Snakemake adds their upstream jobs. Every cluster rule of the workflow thus goes through
``sbatch`` once (the test asserts it), without repeating every seed and paradigm.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from clinssl.bench.rule_table import read_benchmark
from clinssl.cluster import LocalSlurm
from dagjobs import PlannedJob, local_rules, planned_jobs
from sameoutputs import compare_trees
from slurmworkflow import (
    cap_resources,
    local_profile,
    parse_run_log,
    requests_gpu,
    run_on_slurm,
    slurm_job_records,
)
from snakerunner import WorkflowRunner

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.timeout(1500)]


def wall_seconds(built: WorkflowRunner, job: PlannedJob) -> float:
    path = built.path(job.benchmark) if job.benchmark else None
    if path is None or not path.is_file():
        return math.inf
    return read_benchmark(path, path.parent).wall_s


def one_job_per_cluster_rule(built: WorkflowRunner) -> tuple[list[PlannedJob], list[str]]:
    """(every planned job of the full test DAG, targets: one fastest job per cluster rule
    plus the input-less local jobs)."""
    planned = planned_jobs(built.workdir, built.configfile)
    local = local_rules()
    fastest: dict[str, PlannedJob] = {}
    for job in planned:
        if job.rule in local:
            continue
        best = fastest.get(job.rule)
        if best is None or wall_seconds(built, job) < wall_seconds(built, best):
            fastest[job.rule] = job
    targets = [out for job in fastest.values() for out in job.outputs]
    targets += [o for j in planned if j.rule in local - {"all"} and not j.inputs for o in j.outputs]
    return planned, targets


def test_test_config_dag_on_slurm_matches_local_run(
    local_slurm: LocalSlurm, built_workspace: WorkflowRunner, tmp_path: Path
) -> None:
    full_dag, targets = one_job_per_cluster_rule(built_workspace)
    cluster_rules = {job.rule for job in full_dag} - local_rules()
    work = WorkflowRunner(tmp_path / "slurm-run", built_workspace.config)
    planned = planned_jobs(work.workdir, work.configfile, *targets)
    gpu_rules = {job.rule for job in planned if job.gpu}
    profile = local_profile(local_slurm, tmp_path / "profile")
    cap_resources(profile, planned, local_slurm)

    proc = run_on_slurm(
        local_slurm,
        work.workdir,
        profile,
        f"--configfile={work.configfile}",  # '=' form: the option takes several values
        *targets,
        timeout=1200,
    )

    jobs = parse_run_log(proc.stderr + proc.stdout)
    assert sorted(j.rule for j in jobs) == sorted(j.rule for j in planned), "run != plan"
    remote = [job for job in jobs if not job.local]
    assert {job.rule for job in remote} == cluster_rules, "not every cluster rule ran on SLURM"
    if any(built_workspace.config["branches"].values()):
        assert remote, "with branches on, some rules must run as cluster jobs (not all local)"
    unsubmitted = [f"{job.rule} (job {job.jobid})" for job in remote if job.slurm_jobid is None]
    assert not unsubmitted, f"non-local jobs without a SLURM job id: {unsubmitted}"
    assert all(job.slurm_jobid is None for job in jobs if job.local)
    assert {job.rule for job in jobs if job.local} <= local_rules()

    records = slurm_job_records(local_slurm)
    for job in remote:
        record = records.get(job.slurm_jobid)
        assert record is not None, f"slurmctld has no record of job {job.slurm_jobid}"
        assert record["Comment"].startswith(f"rule_{job.rule}"), record["Comment"]
        assert record["JobState"] == "COMPLETED", (job.rule, record["JobState"])
        assert requests_gpu(record) == (job.rule in gpu_rules), (
            f"{job.rule}: GPU request {record.get('TresPerJob')!r}, but gpu rule = "
            f"{job.rule in gpu_rules}"
        )

    compared, differences = compare_trees(work.workdir, built_workspace.workdir, partial=True)
    assert compared, "the SLURM run produced no results"
    assert not differences, "SLURM run differs from the local run:\n" + "\n".join(differences)
