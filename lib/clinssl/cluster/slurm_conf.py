"""Render the configuration of a throwaway single-node SLURM cluster.

The files describe one node that is both controller and compute node, with every path
(state, spool, logs, PID files, the munge socket) inside one directory, no accounting
database and no cgroup plugins: that is what runs as root in a container without systemd,
which is where CI and a user's first try happen. The ``gpu`` GRES is backed by plain files
(links to ``/dev/null``, a character device) so that GPU requests (``sbatch --gpus=1``) are
schedulable on a machine without a GPU; jobs see ``CUDA_VISIBLE_DEVICES`` set by SLURM
exactly as on a real GPU node.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SlurmLayout:
    """Where a local cluster keeps its files; everything lives under ``root``."""

    root: Path

    @property
    def slurm_conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    @property
    def gres_conf(self) -> Path:
        # slurmd reads gres.conf from the directory of slurm.conf
        return self.root / "etc" / "gres.conf"

    @property
    def munge_key(self) -> Path:
        return self.root / "munge" / "munge.key"

    @property
    def munge_socket(self) -> Path:
        return self.root / "munge" / "munge.socket"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def spool_dir(self) -> Path:
        return self.root / "spool"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def bin_dir(self) -> Path:
        """Client-command shims that pin this cluster's slurm.conf."""
        return self.root / "bin"

    @property
    def gpu_dir(self) -> Path:
        return self.root / "dev"

    @property
    def pid_file(self) -> Path:
        """JSON record of the daemons' PIDs (read by ``stop`` from another process)."""
        return self.root / "daemons.json"

    def log(self, daemon: str) -> Path:
        return self.log_dir / f"{daemon}.log"

    def gpu_files(self, count: int) -> list[Path]:
        return [self.gpu_dir / f"nvidia{i}" for i in range(count)]

    def directories(self) -> list[Path]:
        return [
            self.slurm_conf.parent,
            self.munge_key.parent,
            self.state_dir,
            self.spool_dir,
            self.log_dir,
            self.run_dir,
            self.gpu_dir,
            self.bin_dir,
        ]


@dataclass(frozen=True)
class NodeSpec:
    """The one compute node: its name, CPUs, memory SLURM may hand out, and fake GPUs."""

    name: str = "clinssl-node"
    cpus: int = 2
    real_memory_mb: int = 2048
    gpus: int = 1
    partition: str = "clinssl"
    cluster_name: str = "clinssl"

    def __post_init__(self) -> None:
        if self.cpus < 1 or self.real_memory_mb < 1 or self.gpus < 0:
            raise ValueError(f"invalid node spec {self}: cpus and memory must be >= 1, gpus >= 0")


def default_node_spec(gpus: int = 1, memory_fraction: float = 0.5) -> NodeSpec:
    """A node sized to this machine: all CPUs, ``memory_fraction`` of physical memory.

    slurmd drains a node whose configured memory exceeds what it finds, so the memory
    is taken from ``/proc/meminfo`` (falling back to 2 GiB where that file is absent).
    """
    total_mb = 4096
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    total_mb = int(line.split()[1]) // 1024
                    break
    except OSError:
        pass
    return NodeSpec(
        cpus=os.cpu_count() or 1,
        real_memory_mb=max(256, int(total_mb * memory_fraction)),
        gpus=gpus,
    )


def render_slurm_conf(
    layout: SlurmLayout, node: NodeSpec, ctld_port: int, slurmd_port: int, user: str = "root"
) -> str:
    """slurm.conf for a one-node cluster on loopback (see module docstring).

    ``MinJobAge`` is long so that finished jobs stay visible to ``squeue``/``scontrol``:
    without an accounting database that is the only place the job record (its GPU request,
    its exit state) can be read back, both by Snakemake's status checks and by tests.
    """
    gres = f" Gres=gpu:{node.gpus}" if node.gpus else ""
    lines = [
        f"ClusterName={node.cluster_name}",
        "SlurmctldHost=localhost",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={slurmd_port}",
        f"SlurmUser={user}",
        f"SlurmdUser={user}",
        "AuthType=auth/munge",
        f"AuthInfo=socket={layout.munge_socket}",
        "CredType=cred/munge",
        "MpiDefault=none",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MailProg=/bin/true",
        "SwitchType=switch/none",
        "SchedulerType=sched/builtin",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "GresTypes=gpu" if node.gpus else "",
        "ReturnToService=2",
        "MinJobAge=3600",
        "KillWait=5",
        "InactiveLimit=0",
        "SlurmctldTimeout=30",
        "SlurmdTimeout=60",
        "MessageTimeout=20",
        f"StateSaveLocation={layout.state_dir}",
        f"SlurmdSpoolDir={layout.spool_dir}",
        f"SlurmctldPidFile={layout.run_dir / 'slurmctld.pid'}",
        f"SlurmdPidFile={layout.run_dir / 'slurmd.pid'}",
        f"SlurmctldLogFile={layout.log('slurmctld')}",
        f"SlurmdLogFile={layout.log('slurmd')}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        (
            f"NodeName={node.name} NodeAddr=127.0.0.1 NodeHostname=localhost "
            f"CPUs={node.cpus} RealMemory={node.real_memory_mb}{gres} State=UNKNOWN"
        ),
        (
            f"PartitionName={node.partition} Nodes={node.name} Default=YES "
            "MaxTime=INFINITE State=UP OverSubscribe=NO"
        ),
    ]
    return "\n".join(line for line in lines if line) + "\n"


def render_gres_conf(layout: SlurmLayout, node: NodeSpec) -> str:
    """gres.conf: one ``gpu`` line per GPU file, no autodetection (there is no NVML)."""
    lines = ["AutoDetect=off"]
    lines += [f"NodeName={node.name} Name=gpu File={path}" for path in layout.gpu_files(node.gpus)]
    return "\n".join(lines) + "\n"
