"""Shared fixtures: a tiny config, a fresh Snakemake workdir, and a workspace in which the
whole ``config/test.yaml`` DAG has run once per session (for staging upstream inputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from snakerunner import REPO_ROOT, WorkflowRunner, load_test_config


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def tiny_config() -> dict:
    """``config/test.yaml`` as a dict; tests modify their copy freely."""
    return load_test_config()


@pytest.fixture
def runner(tmp_path: Path, tiny_config: dict) -> WorkflowRunner:
    """A fresh workdir with the tiny config written to it."""
    return WorkflowRunner(tmp_path / "work", tiny_config)


@pytest.fixture(scope="session")
def built_workspace(tmp_path_factory: pytest.TempPathFactory) -> WorkflowRunner:
    """The full test-config DAG, run once per session. Per-rule tests ``stage`` their inputs
    from here, so upstream rules are not re-run by every test."""
    built = WorkflowRunner(tmp_path_factory.mktemp("built") / "work")
    built.run()
    return built
