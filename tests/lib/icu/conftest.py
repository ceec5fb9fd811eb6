"""Small synthetic ricu exports for the ICU lib tests (generated once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clinssl.icu.synthetic import SyntheticICUSpec, write_ricu_export, write_yaib_cohorts

SMALL_CONCEPTS = ("hr", "sbp", "map", "resp", "o2sat", "temp", "crea", "bun", "urine", "lact", "avpu", "mech_vent", "abx")  # fmt: skip


@pytest.fixture(scope="session")
def small_export_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("icu-export")
    spec = SyntheticICUSpec(
        n_stays=240, n_patients=160, concepts=SMALL_CONCEPTS, stays_per_part=70, seed=3
    )
    write_ricu_export(root / "ricu", spec)
    write_yaib_cohorts(root / "ricu", root / "yaib")
    return root


@pytest.fixture
def small_export(small_export_master: Path, tmp_path: Path) -> Path:
    """A private copy of the small ricu export (tests may corrupt it)."""
    dst = tmp_path / "ricu"
    shutil.copytree(small_export_master / "ricu", dst)
    return dst
