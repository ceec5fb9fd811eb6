"""Run provenance: what software, code and config produced a results tree.

Clinical ML results are only reproducible if the exact config, package versions and code
revision are kept next to them; the manifest rule writes this record at every run.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = (
    "clinssl",
    "snakemake",
    "torch",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "polars",
    "duckdb",
    "scikit-learn",
    "h5py",
    "wfdb",
    "captum",
    "matplotlib",
)


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (``None`` when it is not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(repo_dir: str | Path) -> dict[str, Any]:
    """Commit hash and dirty flag of the checkout at ``repo_dir``; empty when not a git repo."""

    def _git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo_dir), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = _git("rev-parse", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return {}
    return {"commit": commit, "dirty": dirty}


def config_digest(config: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON form of ``config`` (key order does not matter)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def torch_devices() -> dict[str, Any]:
    """CUDA availability and device names as torch sees them."""
    try:
        import torch
    except ImportError:
        return {"torch": False}
    info: dict[str, Any] = {"cuda_available": torch.cuda.is_available(), "cuda_devices": []}
    if info["cuda_available"]:
        info["cuda_devices"] = [
            torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
        ]
    return info


def collect_manifest(config: dict[str, Any], repo_dir: str | Path) -> dict[str, Any]:
    """The full provenance record written to ``results/manifest.json``."""
    return {
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_revision(repo_dir),
        "devices": torch_devices(),
        "config_sha256": config_digest(config),
        "config": config,
    }
