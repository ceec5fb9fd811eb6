"""``python -m clinssl.cluster {start,stop,status}``: a one-node SLURM cluster to try the
SLURM profile on (see README, "Running on SLURM").

``start`` brings up munged, slurmctld and slurmd (Debian: ``apt-get install munge slurmctld
slurmd slurm-client``; run as root, as in a container) with every file under ``--dir`` and
prints the ``SLURM_CONF`` to export; ``stop`` terminates the daemons recorded there by PID.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import tempfile
from pathlib import Path

from clinssl.cluster.daemons import LocalSlurm, SlurmStartError, missing_executables
from clinssl.cluster.slurm_conf import default_node_spec


def default_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"clinssl-slurm-{getpass.getuser()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clinssl.cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument(
        "--dir", type=Path, default=default_dir(), help="cluster directory [%(default)s]"
    )
    parser.add_argument("--gpus", type=int, default=1, help="fake GPUs on the node [1]")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for idle")
    args = parser.parse_args(argv)

    cluster = LocalSlurm(args.dir, node=default_node_spec(gpus=args.gpus))
    if args.command == "start":
        missing = missing_executables()
        if missing:
            print(
                f"missing {', '.join(missing)}: apt-get install munge slurmctld slurmd "
                "slurm-client",
                file=sys.stderr,
            )
            return 2
        if any(cluster.running().values()):
            print(f"a cluster is already running in {args.dir}; stop it first", file=sys.stderr)
            return 1
        try:
            cluster.start(timeout=args.timeout)
        except SlurmStartError as err:
            print(f"could not start SLURM: {err}", file=sys.stderr)
            return 1
        node = cluster.node
        print(
            f"SLURM is up: node {node.name} ({node.cpus} CPUs, {node.real_memory_mb} MB, "
            f"{node.gpus} GPU), partition {node.partition!r}. Now:\n"
            f"  export SLURM_CONF={cluster.layout.slurm_conf}\n"
            f"  sinfo\n"
            f"and run Snakemake with the SLURM profile (README, 'Running on SLURM').\n"
            f"Stop with: python -m clinssl.cluster stop --dir {args.dir}"
        )
        return 0
    if args.command == "stop":
        cluster.stop()
        print(f"stopped the daemons recorded in {cluster.layout.pid_file}")
        return 0
    running = cluster.running()
    if not running:
        print(f"no cluster recorded in {args.dir}")
        return 1
    for name, alive in running.items():
        print(f"{name}: {'running' if alive else 'not running'}")
    if all(running.values()):
        print(f"node state: {cluster.node_state()}")
    return 0 if all(running.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
