"""Identical runs give identical outputs: the whole test-config DAG, run again in a fresh
directory, reproduces every output of the session's run byte for byte — model files and
figures included — except the documented timing fields of JSON files (keys matching
``sameoutputs.TIMING_KEYS``: seconds, samples_per_s, ...) and the manifest's time and place.
"""

from __future__ import annotations

import pytest

from sameoutputs import identical_file, result_files
from snakerunner import WorkflowRunner, load_test_config

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_a_rerun_reproduces_every_output(built_workspace: WorkflowRunner, tmp_path) -> None:
    again = WorkflowRunner(tmp_path / "again", load_test_config())
    again.run()
    first, second = result_files(built_workspace.workdir), result_files(again.workdir)
    assert first == second, sorted(set(first) ^ set(second))
    assert any(f.endswith(".pt") for f in first) and any(f.endswith(".png") for f in first)
    problems = [
        p for rel in first
        for p in identical_file(rel, again.path(rel), built_workspace.path(rel))
    ]  # fmt: skip
    assert not problems, "\n".join(problems[:30])
