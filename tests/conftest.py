"""Shared fixtures: a tiny config, a fresh Snakemake workdir, and a workspace in which the
whole ``config/test.yaml`` DAG has run once per session (for staging upstream inputs)."""

from __future__ import annotations

import os
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
    """Factory: ``built_branch("icu")`` returns a workdir where the test-config DAG including
    those branches has run (once per session). Per-rule tests ``stage`` their inputs from it.

    By default every request is served by ONE build of all branches enabled in
    ``config/test.yaml`` (the whole suite builds the test DAG once, which keeps CI fast).
    ``CLINSSL_TEST_ISOLATED_BRANCHES=1`` builds just the requested branches instead, for
    working on one branch while another is broken.
    """
    cache: dict[tuple[str, ...], WorkflowRunner] = {}
    enabled = tuple(sorted(b for b, on in load_test_config()["branches"].items() if on))
    isolated = os.environ.get("CLINSSL_TEST_ISOLATED_BRANCHES", "") not in ("", "0")

    def build(*branches: str) -> WorkflowRunner:
        key = tuple(sorted(set(branches)))
        unknown = set(key) - set(BRANCHES)
        assert not unknown, f"unknown branches {unknown}"
        if not isolated and set(key) <= set(enabled):
            key = enabled
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
def built_workspace(built_branch: Callable[..., WorkflowRunner]) -> WorkflowRunner:
    """The full test-config DAG, run once per session. Per-rule tests ``stage`` their inputs
    from here, so upstream rules are not re-run by every test."""
    enabled = [b for b, on in load_test_config()["branches"].items() if on]
    return built_branch(*enabled)
