"""The testthat tests of workflow_scripts/icu/extract_with_ricu.R, run with Debian's R.

They cover everything around the ricu calls (concept selection, batching with retry,
reshaping, masks, horizon cut, stays/mortality tables, writing, CLI) on in-memory tables
shaped like ricu's output. Skip where R is absent; in CI (CLINSSL_REQUIRE_SYSTEM_TOOLS=1)
a missing R or R package is a failure.
"""

from __future__ import annotations

import subprocess

from snakerunner import REPO_ROOT
from systemtools import require_executables, skip_or_fail

TEST_DIR = REPO_ROOT / "workflow_scripts" / "icu" / "tests" / "testthat"
R_PACKAGES = ("data.table", "optparse", "yaml", "testthat")


def test_extract_with_ricu_testthat() -> None:
    require_executables("Rscript", why="to test workflow_scripts/icu/extract_with_ricu.R")
    check = subprocess.run(
        [
            "Rscript",
            "-e",
            f"quit(status = !all(sapply(c({', '.join(map(repr, R_PACKAGES))}), requireNamespace, quietly = TRUE)))",
        ],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        skip_or_fail(f"R packages {R_PACKAGES} are needed (Debian: see .ci/apt/icu.txt)")
    proc = subprocess.run(
        [
            "Rscript",
            "-e",
            f"testthat::test_dir({str(TEST_DIR)!r}, stop_on_failure = TRUE, reporter = 'summary')",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "DONE" in out, out
    # the summary reporter prints one dot per passed expectation
    dots = out.split("extract_with_ricu:", 1)[1].split("\n", 1)[0]
    assert dots.count(".") >= 50, out
