"""Helpers for running Snakemake through snakemake-executor-plugin-slurm on a local cluster.

* :func:`local_profile` turns ``profiles/slurm/profile.yaml`` into a profile for the local
  one-node cluster by replacing only what is site-specific (partition, account, GPU model,
  CPUs per GPU, memory caps) and shortening the status-check intervals; everything else
  (executor, retries, log dir, the GPU rules' entries) is the real profile's.
* :func:`parse_run_log` reads Snakemake's log: which jobs ran, which of them locally, and
  the SLURM job id each remote job was submitted under.
* :func:`slurm_job_records` reads back what slurmctld recorded for each job (its rule, its
  GPU request, its final state) with ``scontrol``.

The GPU rules of the DAG come from a dry run (:func:`dagjobs.planned_jobs`), not a list.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from clinssl.cluster import LocalSlurm
from dagjobs import PlannedJob
from snakerunner import REPO_ROOT, SNAKEFILE, snakemake_command

SLURM_PROFILE = REPO_ROOT / "profiles" / "slurm" / "profile.yaml"
# resources that name things that only exist on the user's cluster
SITE_SPECIFIC = ("slurm_partition", "slurm_account", "gpu_model", "constraint", "qos")


def local_profile(
    cluster: LocalSlurm, dest: Path, source: Path = SLURM_PROFILE, jobs: int = 4
) -> Path:
    """Write the local-cluster variant of ``source`` to ``dest/profile.yaml``; return ``dest``."""
    profile = yaml.safe_load(source.read_text()) or {}
    node = cluster.node

    def localise(resources: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in resources.items() if k not in SITE_SPECIFIC}
        if "slurm_partition" in resources:
            out["slurm_partition"] = node.partition
        if "cpus_per_gpu" in out:
            out["cpus_per_gpu"] = min(int(out["cpus_per_gpu"]), node.cpus)
        if "mem_mb" in out and isinstance(out["mem_mb"], int):
            out["mem_mb"] = min(out["mem_mb"], node.real_memory_mb // 2)
        return out

    profile["default-resources"] = localise(profile.get("default-resources") or {})
    profile["default-resources"]["slurm_partition"] = node.partition
    profile["set-resources"] = {
        rule: localise(res) for rule, res in (profile.get("set-resources") or {}).items()
    }
    profile.update(
        {
            "jobs": jobs,
            "max-threads": node.cpus,
            "retries": 0,  # a failure must show, not be retried away
            "latency-wait": 10,
            "slurm-init-seconds-before-status-checks": 1,
            "slurm-status-command": "squeue",  # no accounting database for sacct
            "slurm-keep-successful-logs": True,
        }
    )
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "profile.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return dest


def cap_resources(profile_dir: Path, jobs: list[PlannedJob], cluster: LocalSlurm) -> None:
    """Add set-resources so that no planned job asks for more than the one node has."""
    path = profile_dir / "profile.yaml"
    profile = yaml.safe_load(path.read_text())
    set_resources = profile.setdefault("set-resources", {})
    limit = cluster.node.real_memory_mb // 2
    for job in jobs:
        mem = job.resources.get("mem_mb")
        if isinstance(mem, int) and mem > limit:
            set_resources.setdefault(job.rule, {})["mem_mb"] = limit
    path.write_text(yaml.safe_dump(profile, sort_keys=False))


def run_on_slurm(
    cluster: LocalSlurm,
    workdir: Path,
    profile_dir: Path,
    *args: str,
    snakefile: Path = SNAKEFILE,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """``snakemake --workflow-profile profile_dir ARGS`` in ``workdir``, talking to ``cluster``."""
    cmd = snakemake_command("--directory", workdir, *args, snakefile=snakefile)
    # snakemake_command disables profiles; this run is about the SLURM profile
    at = cmd.index("--workflow-profile")
    cmd[at + 1] = str(profile_dir)
    env = cluster.env({**os.environ, "PYTHONHASHSEED": "0"})
    proc = subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        slurm_logs = sorted((workdir / "results" / "logs" / "slurm").rglob("*.log"))
        tails = "\n".join(
            f"--- {p} ---\n{p.read_text(errors='replace')[-3000:]}" for p in slurm_logs[-4:]
        )
        raise AssertionError(
            f"snakemake on SLURM failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"--- stderr ---\n{proc.stderr[-12000:]}\n{tails}\n"
            f"--- slurmctld ---\n{_tail(cluster.layout.log('slurmctld'))}"
        )
    return proc


def _tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(missing)"


@dataclass
class RunJob:
    """One job of a Snakemake run as its log reports it."""

    rule: str
    jobid: int
    local: bool
    slurm_jobid: str | None = None


_JOB_BLOCK = re.compile(
    r"^(?P<local>local)?rule (?P<rule>\w+):\n(?:[ \t]+.*\n)*?[ \t]+jobid: (?P<jobid>\d+)",
    re.MULTILINE,
)
_SUBMITTED = re.compile(r"Job (?P<jobid>\d+) has been submitted with SLURM jobid (?P<slurm>\d+)")


def parse_run_log(text: str) -> list[RunJob]:
    """Jobs of a (real, not dry) run with their SLURM job ids where they were submitted."""
    submitted = {int(m["jobid"]): m["slurm"] for m in _SUBMITTED.finditer(text)}
    return [
        RunJob(m["rule"], int(m["jobid"]), bool(m["local"]), submitted.get(int(m["jobid"])))
        for m in _JOB_BLOCK.finditer(text)
    ]


def slurm_job_records(cluster: LocalSlurm) -> dict[str, dict[str, str]]:
    """``scontrol show job`` for every job slurmctld still knows, as {job id: fields}."""
    proc = cluster.scontrol("show", "job", "--oneliner", "--details", check=False)
    records: dict[str, dict[str, str]] = {}
    for line in proc.stdout.splitlines():
        fields = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
        if "JobId" in fields:
            records[fields["JobId"]] = fields
    return records


def requests_gpu(record: dict[str, str]) -> bool:
    """Whether a job record asked SLURM for a GPU (``--gpus``/``--gres``/``--gpus-per-*``)."""
    keys = ("TresPerJob", "TresPerNode", "TresPerTask", "TresPerSocket", "JOB_GRES")
    return any("gpu" in record.get(k, "") for k in keys)
