"""Params are per job: changing one paradigm's settings plans only that paradigm's jobs.

Runs dry runs in the session's built workspace (the whole test-config DAG, already complete)
with a changed copy of the config, and reads which jobs Snakemake would rerun and why.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clinssl.icu.names import PARADIGMS
from dagjobs import planned_jobs
from snakerunner import load_test_config


def _planned(workdir: Path, config: dict, tmp_path: Path) -> list:
    configfile = tmp_path / "changed.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    return planned_jobs(workdir, configfile, forceall=False)


def _paradigm_of(job) -> str:
    return Path(job.outputs[0]).parts[-3]  # results/icu/<dataset>/ssl/<paradigm>/seed<s>/...


def test_unchanged_config_plans_nothing(built_workspace, tmp_path: Path) -> None:
    assert [j.rule for j in _planned(built_workspace.workdir, load_test_config(), tmp_path)
            if j.rule != "all"] == []  # fmt: skip


@pytest.mark.parametrize(
    ("changed", "section", "key", "value"),
    [
        ("smart", "objectives", "max_ratio", 0.6),
        ("mae", "objectives", "mask_ratio", 0.4),
        ("smart", "pretrain", "overrides", {"smart": {"max_stays": 32}}),
    ],
)
def test_one_paradigms_setting_reruns_only_that_paradigm(
    built_workspace, tmp_path: Path, changed: str, section: str, key: str, value
) -> None:
    config = load_test_config()
    ssl = config["icu"]["ssl"]
    if section == "objectives":
        ssl.setdefault("objectives", {}).setdefault(changed, {})[key] = value
    else:
        ssl[section][key] = value
    jobs = _planned(built_workspace.workdir, config, tmp_path)
    training = [j for j in jobs if j.rule in ("icu_pretrain", "icu_downstream")]
    assert {j.rule for j in training} == {"icu_pretrain", "icu_downstream"}, [j.rule for j in jobs]
    assert {_paradigm_of(j) for j in training} == {changed}
    others = set(PARADIGMS) - {changed}
    assert not any(f"/ssl/{p}/" in o for j in jobs for o in j.outputs for p in others)
    # nothing of the PPG branch or the ICU data stage reruns
    assert not {j.rule for j in jobs} & {"icu_ingest", "icu_splits", "ppg_pretrain_himae"}
