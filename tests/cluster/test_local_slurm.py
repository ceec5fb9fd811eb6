"""The SLURM plumbing on its own: a three-rule Snakefile (a CPU rule, a ``gpu=1`` rule and a
local rule) through snakemake-executor-plugin-slurm and the real profile, against real
daemons. Proves submission, GPU requests, status checks and local rules independently of
which workflow rules exist."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from clinssl.cluster import LocalSlurm
from slurmworkflow import (
    local_profile,
    parse_run_log,
    requests_gpu,
    run_on_slurm,
    slurm_job_records,
)

pytestmark = [pytest.mark.system, pytest.mark.timeout(600)]

SNAKEFILE = textwrap.dedent(
    """
    rule all:
        input:
            "summary.txt",


    rule cpu_step:
        output:
            "cpu.txt",
        log:
            "logs/cpu_step.log",
        resources:
            mem_mb=200,
            runtime=5,
        shell:
            'echo "job=${{SLURM_JOB_ID:-none}} gpus=${{CUDA_VISIBLE_DEVICES:-none}}" > {output}'


    rule gpu_step:
        input:
            "cpu.txt",
        output:
            "gpu.txt",
        log:
            "logs/gpu_step.log",
        resources:
            gpu=1,
            mem_mb=200,
            runtime=5,
        shell:
            'echo "job=${{SLURM_JOB_ID:-none}} gpus=${{CUDA_VISIBLE_DEVICES:-none}}" > {output}'


    rule summary:
        input:
            "cpu.txt",
            "gpu.txt",
        output:
            "summary.txt",
        log:
            "logs/summary.log",
        localrule: True
        shell:
            'cat {input} > {output}; echo "job=${{SLURM_JOB_ID:-none}}" >> {output}'
    """
)


def test_plugin_submits_cpu_and_gpu_rules_and_keeps_local_rules_local(
    local_slurm: LocalSlurm, tmp_path: Path
) -> None:
    workdir = tmp_path / "wf"
    workdir.mkdir()
    snakefile = workdir / "Snakefile"
    snakefile.write_text(SNAKEFILE)
    profile = local_profile(local_slurm, tmp_path / "profile")

    proc = run_on_slurm(local_slurm, workdir, profile, snakefile=snakefile)

    jobs = {job.rule: job for job in parse_run_log(proc.stderr + proc.stdout)}
    assert set(jobs) == {"cpu_step", "gpu_step", "summary", "all"}, proc.stderr[-3000:]
    # remote rules went through sbatch, local ones did not
    for rule in ("cpu_step", "gpu_step"):
        assert not jobs[rule].local and jobs[rule].slurm_jobid, f"{rule} was not submitted"
    assert jobs["summary"].local and jobs["summary"].slurm_jobid is None

    # slurmctld's own record: right rule, finished, GPU requested exactly by the GPU rule
    records = slurm_job_records(local_slurm)
    for rule in ("cpu_step", "gpu_step"):
        record = records[jobs[rule].slurm_jobid]
        assert record["Comment"] == f"rule_{rule}"
        assert record["JobState"] == "COMPLETED", record
        assert requests_gpu(record) == (rule == "gpu_step"), record

    # the jobs really ran inside those allocations; SLURM bound the GPU for the GPU rule
    cpu = (workdir / "cpu.txt").read_text().split()
    gpu = (workdir / "gpu.txt").read_text().split()
    assert cpu == [f"job={jobs['cpu_step'].slurm_jobid}", "gpus=none"]
    assert gpu == [f"job={jobs['gpu_step'].slurm_jobid}", "gpus=0"]
    assert (workdir / "summary.txt").read_text().splitlines()[-1] == "job=none"

    # SLURM's job logs are where the profile puts them, one per submitted job
    for rule in ("cpu_step", "gpu_step"):
        log = (
            workdir
            / "results"
            / "logs"
            / "slurm"
            / f"rule_{rule}"
            / f"{jobs[rule].slurm_jobid}.log"
        )
        assert log.is_file(), f"missing SLURM log {log}"
