"""One target per figure: deleting a figure schedules exactly its figure rule (dry run),
rebuilding it gives the same bytes, and the README lists every figure target."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dagjobs import scheduled
from figurerules import expected_figure_rules, figure_rules, outputs_by_rule
from snakerunner import REPO_ROOT, WorkflowRunner

pytestmark = pytest.mark.slow


@pytest.fixture
def workspace_copy(built_workspace: WorkflowRunner, tmp_path: Path) -> WorkflowRunner:
    """A copy of the built test-config workspace (with Snakemake's metadata), to mutate."""
    dest = tmp_path / "work"
    shutil.copytree(built_workspace.workdir, dest, symlinks=True)
    return WorkflowRunner(dest, built_workspace.config)


def test_deleting_a_figure_schedules_only_its_rule_and_rebuilds_it(
    workspace_copy: WorkflowRunner,
) -> None:
    runner = workspace_copy
    figures = {
        path: rule
        for rule, paths in outputs_by_rule(runner).items()
        if rule in figure_rules()
        for path in paths
    }
    expected = expected_figure_rules(runner.config)
    assert expected <= set(figures.values()), f"figure rules missing from the DAG: {expected}"
    assert scheduled(runner) == {}, "the copied workspace is not up to date"

    for path, rule in sorted(figures.items()):
        figure = runner.path(path)
        original = figure.read_bytes()
        figure.unlink()

        # the default target and the figure itself both schedule just that rule
        assert scheduled(runner) == {rule: 1, "all": 1}, path
        assert scheduled(runner, [path]) == {rule: 1}, path

        runner.run([path])
        assert figure.read_bytes() == original, f"{path} rebuilt differently"
        assert scheduled(runner) == {}


def test_readme_lists_every_figure_target(built_workspace: WorkflowRunner) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Regenerating one figure", 1)[1].split("\n## ", 1)[0]
    produced = outputs_by_rule(built_workspace)
    for rule in figure_rules():
        assert rule in section, f"README 'Regenerating one figure' does not name {rule}"
        for path in produced.get(rule, []):
            assert path in section, f"README does not list the target {path}"
