"""The ICU jobs that train nothing import neither torch nor scikit-learn, and pretraining
does not import scikit-learn: each job is its own process, and those imports cost seconds
of every job's wall time (part of the ICU budget).

The import statements of each workflow script are executed in a fresh interpreter (the
script itself needs Snakemake's ``snakemake`` object), then the loaded modules are read.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from snakerunner import REPO_ROOT

SCRIPTS = REPO_ROOT / "workflow_scripts" / "icu_ssl"

#: script -> modules its imports must not load
MUST_NOT_LOAD = {
    "summary.py": ("torch", "sklearn"),
    "fairness.py": ("torch", "sklearn"),
    "figure_paradigms.py": ("torch", "sklearn"),
    "pretrain.py": ("sklearn",),
}


def import_statements(script: Path) -> str:
    """The script's top-level import statements, as source."""
    tree = ast.parse(script.read_text())
    nodes = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return "\n".join(ast.unparse(n) for n in nodes)


def loaded_after(source: str, candidates: tuple[str, ...]) -> list[str]:
    probe = (
        f"{source}\nimport json, sys\n"
        f"print(json.dumps([m for m in {list(candidates)!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("script", sorted(MUST_NOT_LOAD))
def test_job_imports_stay_light(script: str) -> None:
    source = import_statements(SCRIPTS / script)
    assert "clinssl" in source, f"{script}: no clinssl import found to check"
    assert loaded_after(source, MUST_NOT_LOAD[script]) == []


def test_probe_detects_a_heavy_import() -> None:
    """The probe itself can fail: a downstream job does load both."""
    source = import_statements(SCRIPTS / "downstream.py")
    assert loaded_after(source, ("torch", "sklearn")) == ["torch", "sklearn"]
