"""Unit tests of clinssl.cluster that need no SLURM installed: the rendered config, the
files ``write_config`` lays out, and the error path when a daemon dies at start."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from clinssl.cluster import LocalSlurm, NodeSpec, SlurmLayout, SlurmStartError
from clinssl.cluster.slurm_conf import default_node_spec, render_gres_conf, render_slurm_conf


def conf_dict(text: str) -> dict[str, str]:
    """slurm.conf lines as {first key: rest of line}."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        out[key] = value
    return out


def test_slurm_conf_keeps_everything_in_root_and_needs_no_cgroups_or_database(
    tmp_path: Path,
) -> None:
    layout = SlurmLayout(tmp_path)
    node = NodeSpec(cpus=3, real_memory_mb=1500, gpus=2)
    conf = conf_dict(render_slurm_conf(layout, node, ctld_port=7001, slurmd_port=7002))

    assert conf["SlurmctldPort"] == "7001" and conf["SlurmdPort"] == "7002"
    assert conf["ProctrackType"] == "proctrack/linuxproc"
    assert conf["TaskPlugin"] == "task/none"
    assert conf["SelectType"] == "select/cons_tres"
    assert conf["AccountingStorageType"] == "accounting_storage/none"
    assert conf["GresTypes"] == "gpu"
    assert conf["AuthInfo"] == f"socket={layout.munge_socket}"
    for key in ("StateSaveLocation", "SlurmdSpoolDir", "SlurmctldPidFile", "SlurmdLogFile"):
        assert Path(conf[key]).is_relative_to(tmp_path), key
    node_line = conf["NodeName"]
    assert "CPUs=3" in node_line and "RealMemory=1500" in node_line
    assert "Gres=gpu:2" in node_line
    assert conf["PartitionName"].startswith(f"{node.partition} Nodes={node.name}")


def test_gpu_free_node_declares_no_gres(tmp_path: Path) -> None:
    text = render_slurm_conf(SlurmLayout(tmp_path), NodeSpec(gpus=0), 1, 2)
    assert "Gres" not in text


def test_gres_conf_has_one_device_file_per_gpu(tmp_path: Path) -> None:
    layout = SlurmLayout(tmp_path)
    lines = render_gres_conf(layout, NodeSpec(gpus=2)).splitlines()
    assert lines[0] == "AutoDetect=off"
    assert lines[1:] == [
        f"NodeName=clinssl-node Name=gpu File={tmp_path / 'dev' / f'nvidia{i}'}" for i in (0, 1)
    ]


def test_node_spec_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="cpus"):
        NodeSpec(cpus=0)


def test_default_node_fits_this_machine() -> None:
    node = default_node_spec(gpus=1)
    assert node.cpus == os.cpu_count()
    assert 256 <= node.real_memory_mb


def test_write_config_lays_out_key_devices_and_client_shims(tmp_path: Path) -> None:
    cluster = LocalSlurm(tmp_path / "c", node=NodeSpec(gpus=1))
    cluster.write_config()
    key = cluster.layout.munge_key
    assert key.stat().st_size == 1024
    assert stat.S_IMODE(key.stat().st_mode) == 0o400  # munged refuses readable keys
    gpu = cluster.layout.gpu_files(1)[0]
    assert stat.S_ISCHR(gpu.stat().st_mode)  # slurmd wants a character device
    env = cluster.env({"PATH": "/usr/bin"})
    assert env["SLURM_CONF"] == str(cluster.layout.slurm_conf)
    assert env["PATH"].split(os.pathsep)[0] == str(cluster.layout.bin_dir)
    for shim in cluster.layout.bin_dir.iterdir():
        assert f'SLURM_CONF="{cluster.layout.slurm_conf}" exec' in shim.read_text()
        assert os.access(shim, os.X_OK)
    # a second write keeps the key (jobs of a running cluster still authenticate)
    before = key.read_bytes()
    cluster.write_config()
    assert key.read_bytes() == before


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)


def test_start_reports_a_dying_daemon_with_its_output_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    # a munged that creates its socket and waits; a slurmctld that dies at once
    _fake(
        bin_dir,
        "munged",
        """
        for a in "$@"; do case "$a" in --socket=*) touch "${a#--socket=}";; esac; done
        exec sleep 60
        """,
    )
    _fake(bin_dir, "slurmctld", 'echo "fatal: port already in use"; exit 1\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    cluster = LocalSlurm(tmp_path / "c")

    with pytest.raises(SlurmStartError, match="slurmctld exited") as err:
        cluster.start(timeout=5)

    assert "port already in use" in str(err.value)
    assert cluster.pids == {} and not cluster.layout.pid_file.exists()
    assert cluster.running() == {}
