"""``profiles/slurm/profile.yaml`` without a cluster: what it must contain, that it covers
every GPU rule of the DAG, and that Snakemake accepts it (a dry run through the profile)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from dagjobs import planned_jobs
from slurmworkflow import SLURM_PROFILE
from snakerunner import REPO_ROOT, TEST_CONFIG, WorkflowRunner, list_rules, snakemake_command

DEFAULT_CONFIG = REPO_ROOT / "config" / "config.yaml"
# flags the plugin manages itself and refuses in slurm_extra (plugin >= 1.9)
MANAGED_FLAGS = ("--gres", "--gpus", "--partition", "--account", "--mem", "--time", "-C")


@pytest.fixture(scope="module")
def profile() -> dict:
    return yaml.safe_load(SLURM_PROFILE.read_text())


@pytest.fixture(scope="module")
def gpu_rules(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Rules with ``resources: gpu>=1`` in the DAGs of the default and the test config."""
    rules: set[str] = set()
    for config in (DEFAULT_CONFIG, TEST_CONFIG):
        work = tmp_path_factory.mktemp("dag")
        rules |= {job.rule for job in planned_jobs(work, config) if job.gpu}
    return rules


def test_profile_has_the_keys_a_user_must_set(profile: dict) -> None:
    assert profile["executor"] == "slurm"
    assert profile["jobs"] >= 1 and profile["retries"] >= 1 and profile["latency-wait"] >= 10
    defaults = profile["default-resources"]
    for key in ("slurm_partition", "slurm_account", "mem_mb", "runtime"):
        assert key in defaults, f"default-resources lacks {key}"


def test_every_gpu_rule_has_gpu_settings_and_only_real_rules_are_named(
    profile: dict, gpu_rules: set[str]
) -> None:
    set_resources = profile.get("set-resources") or {}
    missing = sorted(gpu_rules - set(set_resources))
    assert not missing, f"GPU rules without a set-resources entry in the profile: {missing}"
    for rule in gpu_rules:
        assert "slurm_partition" in set_resources[rule], f"{rule}: no GPU partition"
        # the GPU itself comes from the rule (gpu=1), not from the profile
        assert "gres" not in set_resources[rule] and "gpu" not in set_resources[rule]
    unknown = sorted(set(set_resources) - set(list_rules()))
    assert not unknown, f"profile names rules that do not exist: {unknown}"


def test_no_managed_flags_in_slurm_extra(profile: dict) -> None:
    entries = [profile["default-resources"], *(profile.get("set-resources") or {}).values()]
    for resources in entries:
        extra = str(resources.get("slurm_extra", ""))
        assert not any(flag in extra.split() or flag + "=" in extra for flag in MANAGED_FLAGS)


def test_snakemake_accepts_the_profile_and_applies_it(tmp_path: Path, gpu_rules: set[str]) -> None:
    work = WorkflowRunner(tmp_path / "work")
    cmd = snakemake_command(
        "--directory", work.workdir, "--configfile", work.configfile, "--dry-run"
    )
    cmd[cmd.index("--workflow-profile") + 1] = str(SLURM_PROFILE.parent)
    proc = subprocess.run(cmd, cwd=work.workdir, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    blocks = {
        m.group(1): m.group(0) for m in re.finditer(r"^rule (\w+):\n(?:[ \t]+.*\n)*", out, re.M)
    }
    # the profile's default resources reach the cluster jobs, its GPU entries the GPU rules
    assert any("slurm_partition=CHANGE_ME" in block for block in blocks.values()), out[-3000:]
    for rule in gpu_rules & set(blocks):
        assert "gpu=1" in blocks[rule] and "slurm_partition=CHANGE_ME_GPU" in blocks[rule]
