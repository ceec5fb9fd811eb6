"""A throwaway single-node SLURM cluster for trying and testing the SLURM profile.

Knows nothing of Snakemake: it writes slurm.conf/gres.conf into a directory, runs munged,
slurmctld and slurmd from the distribution's packages, and stops them by PID. See
:mod:`clinssl.cluster.daemons` and ``python -m clinssl.cluster --help``.
"""

from clinssl.cluster.daemons import LocalSlurm, SlurmStartError, missing_executables
from clinssl.cluster.slurm_conf import NodeSpec, SlurmLayout, default_node_spec

__all__ = [
    "LocalSlurm",
    "NodeSpec",
    "SlurmLayout",
    "SlurmStartError",
    "default_node_spec",
    "missing_executables",
]
