"""Start and stop a single-node SLURM cluster (munged, slurmctld, slurmd) by PID.

Used by the test suite (to run the workflow through snakemake-executor-plugin-slurm against
real daemons) and by ``python -m clinssl.cluster`` (for users who want to try the SLURM
profile on one machine). No systemd and no files outside the cluster directory are needed:
each daemon runs in the foreground as a child process, its PID is recorded in
``daemons.json``, and ``stop`` terminates exactly those PIDs (after checking that each PID
still runs the daemon it was recorded for).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from clinssl.cluster.slurm_conf import (
    NodeSpec,
    SlurmLayout,
    default_node_spec,
    render_gres_conf,
    render_slurm_conf,
)

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")
# Shimmed in ``<root>/bin`` when installed (sacct/sacctmgr/sshare come with slurm-client).
SHIMMED_CLIENTS = (*CLIENTS, "sacct", "sacctmgr", "sshare", "salloc")


class SlurmStartError(RuntimeError):
    """The local cluster could not be brought up; the message says which daemon and why."""


def missing_executables() -> list[str]:
    """Daemons and client commands not on PATH (Debian: munge slurmctld slurmd slurm-client)."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [name for name in DAEMONS + CLIENTS if shutil.which(name, path=search) is None]


def _executable(name: str) -> str:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    found = shutil.which(name, path=search)
    if found is None:
        raise SlurmStartError(
            f"{name} not found on PATH or in /usr/sbin; install the Debian packages "
            "munge slurmctld slurmd slurm-client"
        )
    return found


def free_port() -> int:
    """An unused TCP port on loopback (so two clusters or other services do not collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _pid_runs(pid: int, name: str) -> bool:
    """Whether ``pid`` is alive and its command line names ``name`` (guards PID reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and Path(cmdline[0].decode(errors="replace")).name == name


@dataclass
class LocalSlurm:
    """A throwaway single-node SLURM cluster living in ``root``.

    ``start()`` writes the config, generates a munge key, starts the three daemons and
    waits until the node is idle; ``stop()`` cancels remaining jobs and terminates the
    daemons. ``env()`` is what client commands (and Snakemake) need to talk to it.
    Usable as a context manager.
    """

    root: Path
    node: NodeSpec = field(default_factory=default_node_spec)
    pids: dict[str, int] = field(default_factory=dict)
    _procs: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.layout = SlurmLayout(self.root)

    # -- configuration -------------------------------------------------------------------
    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for SLURM client commands (and Snakemake) to use this cluster.

        ``SLURM_CONF`` names the config, and ``<root>/bin`` goes first on ``PATH``: it
        holds shims of the client commands that pin ``SLURM_CONF`` themselves. The shims
        are needed because the plugin's in-job executor (slurm-jobstep) strips every
        ``SLURM_*`` variable before calling ``srun``; on a real cluster ``srun`` then
        finds ``/etc/slurm/slurm.conf`` (or the configless cache), a throwaway cluster
        must not write there.
        """
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.layout.slurm_conf)
        env["PATH"] = os.pathsep.join([str(self.layout.bin_dir), env.get("PATH", "")])
        return env

    def _write_client_shims(self) -> None:
        own = str(self.layout.bin_dir)
        search = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != own]
        for name in SHIMMED_CLIENTS:
            real = shutil.which(name, path=os.pathsep.join([*search, "/usr/bin", "/bin"]))
            if real is None:
                continue
            shim = self.layout.bin_dir / name
            shim.write_text(
                "#!/bin/sh\n"
                "# clinssl local SLURM: always talk to this cluster (see LocalSlurm.env)\n"
                f'SLURM_CONF="{self.layout.slurm_conf}" exec "{real}" "$@"\n'
            )
            shim.chmod(0o755)

    def write_config(self) -> None:
        """Create the directory tree, GPU backing files, munge key, slurm.conf, gres.conf."""
        for directory in self.layout.directories():
            directory.mkdir(parents=True, exist_ok=True)
        # munged refuses keys and sockets in group/world-writable directories
        for directory in (self.root, self.layout.munge_key.parent):
            directory.chmod(0o700)
        for gpu in self.layout.gpu_files(self.node.gpus):
            # slurmd wants a character device; a link to /dev/null is one and needs no
            # privilege (CUDA_VISIBLE_DEVICES comes from the trailing digit of the name)
            if not gpu.is_symlink():
                gpu.unlink(missing_ok=True)
                gpu.symlink_to("/dev/null")
        key = self.layout.munge_key
        if not key.exists():
            # munge needs >= 32 bytes of key material; 1024 is what mungekey writes
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            with os.fdopen(fd, "wb") as fh:
                fh.write(os.urandom(1024))
        ctld_port, slurmd_port = free_port(), free_port()
        while slurmd_port == ctld_port:
            slurmd_port = free_port()
        self.layout.slurm_conf.write_text(
            render_slurm_conf(self.layout, self.node, ctld_port, slurmd_port)
        )
        self.layout.gres_conf.write_text(render_gres_conf(self.layout, self.node))
        self._write_client_shims()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        """Start munged, slurmctld and slurmd; return once the node accepts jobs.

        Raises :class:`SlurmStartError` (with the daemon's log tail) when a daemon exits
        or the node does not become idle within ``timeout`` seconds; whatever was started
        is stopped again before raising.
        """
        try:
            self.write_config()
            self._start_munged()
            self._launch(
                "slurmctld",
                [_executable("slurmctld"), "-D", "-i", "-f", str(self.layout.slurm_conf)],
            )
            self._launch(
                "slurmd",
                [
                    _executable("slurmd"),
                    "-D",
                    "-N",
                    self.node.name,
                    "-f",
                    str(self.layout.slurm_conf),
                ],
            )
            self._record_pids()
            self.wait_until_idle(timeout)
        except BaseException:
            self.stop()
            raise

    def _start_munged(self) -> None:
        munged = _executable("munged")
        self._launch(
            "munged",
            [
                munged,
                "--foreground",
                "--force",
                f"--key-file={self.layout.munge_key}",
                f"--socket={self.layout.munge_socket}",
                f"--pid-file={self.layout.run_dir / 'munged.pid'}",
                f"--log-file={self.layout.log('munged')}",
                f"--seed-file={self.layout.run_dir / 'munged.seed'}",
            ],
        )
        deadline = time.monotonic() + 15
        while not self.layout.munge_socket.exists():
            self._check_alive("munged")
            if time.monotonic() > deadline:
                raise SlurmStartError(
                    f"munged did not create its socket {self.layout.munge_socket} within "
                    f"15 s; log:\n{_tail(self.layout.log('munged'))}"
                )
            time.sleep(0.1)

    def _launch(self, name: str, cmd: list[str]) -> None:
        stdout = open(self.layout.log_dir / f"{name}.stdout", "ab")  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                env=self.env(),
                cwd=self.root,
                start_new_session=True,  # a Ctrl-C in the terminal does not kill the cluster
            )
        finally:
            stdout.close()
        self._procs[name] = proc
        self.pids[name] = proc.pid
        time.sleep(0.2)
        self._check_alive(name)

    def _check_alive(self, name: str) -> None:
        proc = self._procs.get(name)
        if proc is not None and proc.poll() is not None:
            raise SlurmStartError(
                f"{name} exited with status {proc.returncode} right after starting.\n"
                f"--- {name} log ---\n{_tail(self.layout.log(name))}\n"
                f"--- {name} stdout/stderr ---\n{_tail(self.layout.log_dir / (name + '.stdout'))}"
            )

    def _record_pids(self) -> None:
        self.layout.pid_file.write_text(json.dumps(self.pids, indent=2) + "\n")

    def scontrol(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_executable("scontrol"), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            check=check,
            timeout=30,
        )

    def node_state(self) -> str:
        """The node's state as slurmctld reports it (``IDLE``, ``MIXED``, ``DOWN+...``)."""
        proc = self.scontrol("show", "node", self.node.name, "--oneliner", check=False)
        for token in proc.stdout.split():
            if token.startswith("State="):
                return token.removeprefix("State=")
        return f"unknown ({(proc.stderr or proc.stdout).strip()})"

    def wait_until_idle(self, timeout: float = 60.0) -> None:
        """Block until the node is ``IDLE`` (registered with slurmctld, GPU GRES included)."""
        deadline = time.monotonic() + timeout
        state = "not queried"
        while time.monotonic() < deadline:
            for name in DAEMONS:
                self._check_alive(name)
            state = self.node_state()
            if state.split("+")[0] == "IDLE":
                return
            time.sleep(0.5)
        reason = self.scontrol("show", "node", self.node.name, check=False).stdout
        raise SlurmStartError(
            f"node {self.node.name} not idle after {timeout:.0f} s (state {state}).\n"
            f"{reason}\n--- slurmctld log ---\n{_tail(self.layout.log('slurmctld'))}\n"
            f"--- slurmd log ---\n{_tail(self.layout.log('slurmd'))}"
        )

    def stop(self, timeout: float = 15.0) -> None:
        """Cancel this cluster's jobs, then SIGTERM (and if needed SIGKILL) each daemon PID."""
        pids = dict(self.pids)
        if not pids and self.layout.pid_file.exists():
            pids = json.loads(self.layout.pid_file.read_text())
        if pids.get("slurmctld") and _pid_runs(pids["slurmctld"], "slurmctld"):
            subprocess.run(
                [_executable("scancel"), "--partition", self.node.partition],
                env=self.env(),
                capture_output=True,
                check=False,
                timeout=30,
            )
        for name in reversed(DAEMONS):
            pid = pids.get(name)
            if pid is None:
                continue
            proc = self._procs.get(name)
            if proc is not None:
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(timeout)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(timeout)
                continue
            if _pid_runs(pid, name):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + timeout
                while _pid_runs(pid, name) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if _pid_runs(pid, name):
                    os.kill(pid, signal.SIGKILL)
        self.pids.clear()
        self._procs.clear()
        self.layout.pid_file.unlink(missing_ok=True)

    def running(self) -> dict[str, bool]:
        """Which recorded daemons are alive (from ``daemons.json`` when not started here)."""
        pids = self.pids or (
            json.loads(self.layout.pid_file.read_text()) if self.layout.pid_file.exists() else {}
        )
        return {name: _pid_runs(pid, name) for name, pid in pids.items()}

    def __enter__(self) -> LocalSlurm:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
