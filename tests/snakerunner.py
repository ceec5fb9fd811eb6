"""Run the clinssl workflow (or one rule of it) through Snakemake in a temp workdir.

Every rule has a test that runs just that rule on tiny inputs and checks the content of its
outputs. This module is the harness those tests share:

* :class:`WorkflowRunner` owns a fresh working directory with a config derived from
  ``config/test.yaml``; ``run`` invokes ``python -m snakemake`` (a subprocess, so Snakemake's
  global state and ``chdir`` never leak into pytest).
* ``run_rule`` passes ``--allowed-rules RULE`` so that *only* that rule may run: inputs must
  already be there (staged with ``stage`` from a workspace where the upstream rules ran, or
  written by the test), and the test then inspects the returned output paths.
* ``list_rules`` / ``untested_rules`` implement the meta-test that every rule has a test.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO_ROOT / "Snakefile"
TEST_CONFIG = REPO_ROOT / "config" / "test.yaml"
RULE_TESTS_DIR = REPO_ROOT / "tests" / "rules"


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated recursively with ``override`` (lists are replaced)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_test_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """``config/test.yaml`` with ``overrides`` merged in."""
    with open(TEST_CONFIG, encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    return deep_merge(config, overrides or {})


def snakemake_command(*args: str | os.PathLike[str], snakefile: Path = SNAKEFILE) -> list[str]:
    """A ``python -m snakemake`` command line for ``snakefile`` with no profile applied."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(snakefile),
        "--workflow-profile",
        "none",
        *map(str, args),
    ]


class WorkflowRunner:
    """A Snakemake working directory with its own config (see module docstring)."""

    def __init__(
        self, workdir: Path, config: dict[str, Any] | None = None, snakefile: Path = SNAKEFILE
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.snakefile = snakefile
        self.config = load_test_config() if config is None else config
        self.configfile = self.workdir / "config.yaml"
        self.write_config(self.config)

    def write_config(self, config: dict[str, Any]) -> None:
        self.config = config
        with open(self.configfile, "w", encoding="utf-8") as fh:
            yaml.safe_dump(config, fh, sort_keys=False)

    def path(self, relative: str | os.PathLike[str]) -> Path:
        return self.workdir / relative

    def run(
        self,
        targets: Sequence[str] = (),
        *extra: str,
        cores: int = 2,
        check: bool = True,
        timeout: float = 1800,
    ) -> subprocess.CompletedProcess[str]:
        """Run Snakemake on ``targets``; raise with its output when ``check`` and it fails."""
        # targets first: several options take multiple values and would swallow them
        cmd = snakemake_command(
            *targets,
            "--directory",
            self.workdir,
            "--configfile",
            self.configfile,
            "--cores",
            str(cores),
            "--show-failed-logs",
            *extra,
            snakefile=self.snakefile,
        )
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        proc = subprocess.run(
            cmd, cwd=self.workdir, capture_output=True, text=True, timeout=timeout, env=env
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n"
                f"--- stdout ---\n{proc.stdout[-8000:]}\n--- stderr ---\n{proc.stderr[-12000:]}"
            )
        return proc

    def run_rule(
        self, rule: str, targets: Iterable[str], *extra: str, cores: int = 2
    ) -> list[Path]:
        """Run only ``rule`` to make ``targets``; return their absolute paths.

        ``--allowed-rules`` makes Snakemake refuse to schedule any other rule, so a missing
        input is an error here instead of silently rebuilding upstream steps.
        """
        targets = list(targets)
        # "--opt=value": both options take several values and would otherwise swallow the targets
        proc = self.run(
            targets, f"--allowed-rules={rule}", f"--forcerun={rule}", *extra, cores=cores
        )
        ran = ran_rules(proc.stderr)
        assert ran == {rule}, f"expected only rule {rule!r} to run, ran {sorted(ran)}"
        paths = [self.path(t) for t in targets]
        missing = [str(p) for p in paths if not p.exists()]
        assert not missing, f"rule {rule} did not create {missing}"
        return paths

    def dry_run(self, targets: Sequence[str] = (), *extra: str) -> dict[str, int]:
        """Dry-run ``targets``; return the planned job counts per rule."""
        proc = self.run(targets, "--dry-run", "--quiet", "rules", *extra)
        return parse_job_stats(proc.stdout + proc.stderr)

    def stage(self, source_root: Path, relative_paths: Iterable[str]) -> None:
        """Copy files/directories from another workdir into this one (upstream outputs).

        Modification times are preserved and a fresh Snakemake workdir has no metadata, so
        staged inputs look like ordinary existing files.
        """
        for rel in relative_paths:
            src, dst = Path(source_root) / rel, self.workdir / rel
            if not src.exists():
                raise FileNotFoundError(f"cannot stage {rel}: {src} does not exist")
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)


_JOB_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+(\d+)\s*$")


def parse_job_stats(text: str) -> dict[str, int]:
    """Parse Snakemake's "Job stats" table into {rule: count} (without the total)."""
    stats: dict[str, int] = {}
    in_table = False
    for line in text.splitlines():
        if line.startswith("Job stats"):
            in_table, stats = True, {}
            continue
        if in_table:
            match = _JOB_LINE.match(line)
            if match and match.group(1) != "total":
                stats[match.group(1)] = int(match.group(2))
            elif match and match.group(1) == "total":
                in_table = False
    return stats


_RULE_LINE = re.compile(r"^(?:local)?rule ([A-Za-z_][A-Za-z0-9_]*):\s*$", re.MULTILINE)


def ran_rules(log_text: str) -> set[str]:
    """Rules that Snakemake reports as executed in its log output."""
    return set(_RULE_LINE.findall(log_text)) - {"all"}


def list_rules(snakefile: Path = SNAKEFILE, configfile: Path = TEST_CONFIG) -> list[str]:
    """Every rule and checkpoint of ``snakefile`` (``snakemake --list-rules``)."""
    proc = subprocess.run(
        snakemake_command("--list-rules", "--configfile", configfile, snakefile=snakefile),
        cwd=snakefile.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"--list-rules failed:\n{proc.stdout}\n{proc.stderr}")
    # one rule per unindented line, optionally followed by "(its docstring"
    return [m.group(1) for m in re.finditer(r"^(\w+)(?:\s+\(|\s*$)", proc.stdout, re.MULTILINE)]


def untested_rules(rules: Iterable[str], tests_dir: Path = RULE_TESTS_DIR) -> list[str]:
    """Rules (other than ``all``) without ``tests/rules/test_<rule>.py``."""
    return sorted(r for r in rules if r != "all" and not (tests_dir / f"test_{r}.py").is_file())
