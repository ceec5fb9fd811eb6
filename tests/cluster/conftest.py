"""The ``local_slurm`` fixture: a real one-node SLURM cluster for the session.

It starts munged, slurmctld and slurmd from the Debian packages (``.ci/apt/cluster.txt``)
with all state in a temp dir, waits until the node is idle, and stops the daemons by PID
at the end. Where that is impossible (packages missing, not root, a daemon refuses to
start) the tests skip with the reason on a laptop and FAIL in CI
(``CLINSSL_REQUIRE_SYSTEM_TOOLS=1``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from clinssl.cluster import LocalSlurm, SlurmStartError, missing_executables
from systemtools import skip_or_fail


@pytest.fixture(scope="session")
def local_slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSlurm]:
    missing = missing_executables()
    if missing:
        skip_or_fail(
            f"{', '.join(missing)} not installed; needed to run the workflow on a real SLURM "
            "(apt-get install munge slurmctld slurmd slurm-client, see .ci/apt/cluster.txt)"
        )
    if os.geteuid() != 0:
        skip_or_fail("slurmd must run as root to launch jobs; run the SLURM tests as root")
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start(timeout=90)
    except SlurmStartError as err:
        skip_or_fail(f"could not start a local SLURM cluster: {err}")
    try:
        yield cluster
    finally:
        cluster.stop()
