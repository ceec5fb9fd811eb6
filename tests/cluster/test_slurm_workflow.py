"""The ``config/test.yaml`` workflow on a real SLURM cluster, through ``profiles/slurm``.

Checks what issue 6 asks of cluster execution: every non-local job went through ``sbatch``
(its SLURM job id is in Snakemake's log and slurmctld has a COMPLETED record of it under the
rule's name), the GPU rules (found in the DAG: ``resources: gpu=1``) and only they asked
SLURM for a GPU, local rules stayed local, and the results equal a local run's.

It runs the *whole* test-config DAG (``rule all``) on SLURM from scratch, as a user would
with ``snakemake --workflow-profile profiles/slurm``, and compares every file both runs
wrote with the session's local build of the same DAG (``built_workspace``): deterministic
outputs must be byte-identical; the comparison's exceptions are documented in
``sameoutputs``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clinssl.cluster import LocalSlurm
from dagjobs import local_rules, planned_jobs
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


def test_test_config_dag_on_slurm_matches_local_run(
    local_slurm: LocalSlurm, built_workspace: WorkflowRunner, tmp_path: Path
) -> None:
    work = WorkflowRunner(tmp_path / "slurm-run", built_workspace.config)
    planned = planned_jobs(work.workdir, work.configfile)
    cluster_rules = {job.rule for job in planned} - local_rules()
    gpu_rules = {job.rule for job in planned if job.gpu}
    profile = local_profile(local_slurm, tmp_path / "profile")
    cap_resources(profile, planned, local_slurm)

    proc = run_on_slurm(
        local_slurm,
        work.workdir,
        profile,
        f"--configfile={work.configfile}",  # '=' form: the option takes several values
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

    compared, differences = compare_trees(work.workdir, built_workspace.workdir)
    assert compared, "the SLURM run produced no results"
    assert not differences, "SLURM run differs from the local run:\n" + "\n".join(differences)
