"""Skip-or-fail for tests that need a system tool (R, SLURM, munge).

On a user's laptop such a test skips with the reason printed. ``.ci/run`` installs the tools
and sets ``CLINSSL_REQUIRE_SYSTEM_TOOLS=1``, which turns the skip into a failure: in CI
everything runs.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_ENV = "CLINSSL_REQUIRE_SYSTEM_TOOLS"


def system_tools_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``, or fail with it when system tools are required."""
    if system_tools_required():
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1, so this is a failure, not a skip)")
    pytest.skip(reason)


def require_executables(*names: str, why: str) -> None:
    """Skip/fail unless every executable in ``names`` is on PATH."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        skip_or_fail(f"{', '.join(missing)} not found on PATH; needed {why}")
