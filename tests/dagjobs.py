"""The jobs a dry run plans, with rule, resources, outputs and log (parsed from Snakemake's
job blocks). Tests find GPU and training rules this way instead of hard-coding names."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snakerunner import (
    REPO_ROOT,
    SNAKEFILE,
    WorkflowRunner,
    parse_job_stats,
    snakemake_command,
)


@dataclass
class PlannedJob:
    """A job of a dry run: its rule, resources, files and scheduling priority."""

    rule: str
    resources: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    benchmark: str | None = None
    inputs: list[str] = field(default_factory=list)
    priority: int = 0

    @property
    def gpu(self) -> int:
        value = self.resources.get("gpu", 0)
        return int(value) if isinstance(value, int) else 0


_BLOCK = re.compile(r"^(?:local)?rule (?P<rule>\w+):\n(?P<body>(?:[ \t]+.*\n)*)", re.MULTILINE)


def _field(body: str, name: str) -> str | None:
    match = re.search(rf"^[ \t]+{name}: (.*)$", body, re.MULTILINE)
    return match.group(1) if match else None


def _parse_resources(line: str) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for item in re.split(r",\s*", line):
        if "=" in item:
            key, value = (s.strip() for s in item.split("=", 1))
            resources[key] = int(value) if value.isdigit() else value
    return resources


def parse_planned(text: str) -> list[PlannedJob]:
    jobs = []
    for match in _BLOCK.finditer(text):
        body = match["body"]
        resources, outputs, logs, bench, inputs, priority = (
            _field(body, k)
            for k in ("resources", "output", "log", "benchmark", "input", "priority")
        )
        jobs.append(
            PlannedJob(
                match["rule"],
                _parse_resources(resources) if resources else {},
                outputs.split(", ") if outputs else [],
                logs.split(", ") if logs else [],
                bench,
                inputs.split(", ") if inputs else [],
                int(priority) if priority else 0,
            )
        )
    return jobs


def planned_jobs(
    workdir: Path,
    configfile: Path,
    *targets: str,
    snakefile: Path = SNAKEFILE,
    forceall: bool = True,
) -> list[PlannedJob]:
    """Every job a dry run of ``targets`` (default: the default target) plans: all of them
    (``forceall``), or only those Snakemake would rerun in ``workdir`` as it is."""
    cmd = snakemake_command(
        "--directory",
        workdir,
        "--configfile",
        configfile,
        "--dry-run",
        *(["--forceall"] if forceall else []),
        "--cores",
        "2",
        *targets,
        snakefile=snakefile,
    )
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"dry run failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return parse_planned(proc.stdout + "\n" + proc.stderr)


def scheduled(runner: WorkflowRunner, targets: list[str] = (), *extra: str) -> dict[str, int]:
    """Job counts per rule that a dry run of ``targets`` schedules.

    Options with several values (``--quiet``, ``--allowed-rules``, ``--forcerun``) must
    be given in ``--opt=value`` form here, or argparse takes the targets as their values.
    """
    proc = runner.run(list(targets), "--dry-run", "--quiet=rules", *extra)
    return parse_job_stats(proc.stdout + proc.stderr)


def local_rules(rules_dir: Path = REPO_ROOT / "rules") -> set[str]:
    """Rules marked ``localrule: True`` (or listed in ``localrules:``) in ``rules/*.smk``."""
    local: set[str] = set()
    for smk in sorted(rules_dir.glob("*.smk")):
        text = smk.read_text()
        for match in re.finditer(r"^(?:rule|checkpoint) (\w+):\n((?:[ \t]+.*\n|\n)*)", text, re.M):
            if re.search(r"^[ \t]+localrule:\s*True", match.group(2), re.M):
                local.add(match.group(1))
        for match in re.finditer(r"^localrules:\s*(.+)$", text, re.M):
            local |= {name.strip() for name in match.group(1).split(",") if name.strip()}
    return local | {"all"}
