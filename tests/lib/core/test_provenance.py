"""Unit tests of clinssl.provenance."""

from __future__ import annotations

import subprocess
from pathlib import Path

from clinssl.provenance import collect_manifest, config_digest, git_revision, package_versions


def test_config_digest_ignores_key_order() -> None:
    assert config_digest({"a": 1, "b": {"c": 2, "d": 3}}) == config_digest(
        {"b": {"d": 3, "c": 2}, "a": 1}
    )
    assert config_digest({"a": 1}) != config_digest({"a": 2})


def test_package_versions_reports_missing_as_none() -> None:
    versions = package_versions(("numpy", "surely-not-installed-pkg"))
    assert versions["numpy"] and versions["surely-not-installed-pkg"] is None


def test_git_revision(tmp_path: Path) -> None:
    assert git_revision(tmp_path) == {}

    def run(*a):
        return subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True)

    run("init", "-q")
    (tmp_path / "f").write_text("x")
    run("add", "f")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    rev = git_revision(tmp_path)
    assert len(rev["commit"]) == 40 and rev["dirty"] is False
    (tmp_path / "f").write_text("y")
    assert git_revision(tmp_path)["dirty"] is True


def test_collect_manifest_has_config_and_digest(tmp_path: Path) -> None:
    manifest = collect_manifest({"seed": 3}, tmp_path)
    assert manifest["config"] == {"seed": 3}
    assert manifest["config_sha256"] == config_digest({"seed": 3})
    assert manifest["python"].count(".") == 2
