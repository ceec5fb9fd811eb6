"""Shared fixtures: a tiny config, a fresh Snakemake workdir, and a workspace in which the
whole ``config/test.yaml`` DAG has run once per session (for staging upstream inputs)."""

from __future__ import annotations

from collections.abc import Callable
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


BRANCHES = ("icu", "ecg", "ppg", "stsae", "events")


@pytest.fixture(scope="session")
def built_branch(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., WorkflowRunner]:
    """Factory: ``built_branch("icu")`` returns a workdir where the test-config DAG of just
    those branches has run (once per session per branch set). Per-rule tests ``stage`` their
    inputs from it, so each branch's tests do not depend on the other branches."""
    cache: dict[tuple[str, ...], WorkflowRunner] = {}

    def build(*branches: str) -> WorkflowRunner:
        key = tuple(sorted(set(branches)))
        unknown = set(key) - set(BRANCHES)
        assert not unknown, f"unknown branches {unknown}"
        if key not in cache:
            config = load_test_config()
            config["branches"] = {b: b in key for b in BRANCHES}
            workdir = tmp_path_factory.mktemp("built-" + "-".join(key)) / "work"
            runner = WorkflowRunner(workdir, config)
            runner.run()
            cache[key] = runner
        return cache[key]

    return build


@pytest.fixture(scope="session")
def built_workspace(tmp_path_factory: pytest.TempPathFactory) -> WorkflowRunner:
    """The full test-config DAG, run once per session. Per-rule tests ``stage`` their inputs
    from here, so upstream rules are not re-run by every test."""
    built = WorkflowRunner(tmp_path_factory.mktemp("built") / "work")
    built.run()
    return built
