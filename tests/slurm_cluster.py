"""A throwaway single-node SLURM cluster on 127.0.0.1, started from Debian's packages."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# Daemons live in /usr/sbin, which a non-login shell may not have on PATH.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
DAEMONS = ("munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "sacct", "scancel", "scontrol", "sinfo")
CLUSTER_NAME = "audioclf"
PARTITION = "debug"
LOOPBACK = "127.0.0.1"
PR_SET_PDEATHSIG = 1


def missing_programs() -> list[str]:
    """The daemons and clients the cluster needs that are not installed here."""
    return [name for name in DAEMONS + CLIENTS if not shutil.which(name, path=SEARCH_PATH)]


@dataclass
class Daemon:
    name: str
    process: subprocess.Popen
    log: Path


@dataclass
class Cluster:
    """A running cluster: its files under `root`, the environment its clients need."""

    root: Path
    node: str
    env: dict[str, str]
    daemons: list[Daemon] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a SLURM client (sacct, squeue, ...) against this cluster."""
        return subprocess.run(
            [shutil.which(args[0], path=SEARCH_PATH) or args[0], *args[1:]],
            env=self.env, capture_output=True, text=True, timeout=60, check=check,
        )  # fmt: skip

    def log_tails(self, lines: int = 30) -> str:
        """The end of every daemon's log, for failure messages."""
        parts = []
        for daemon in self.daemons:
            text = daemon.log.read_text(errors="replace") if daemon.log.exists() else ""
            tail = "\n".join(text.splitlines()[-lines:])
            parts.append(f"--- {daemon.name} ({daemon.log})\n{tail}")
        return "\n".join(parts)


@contextmanager
def single_node_cluster(
    root: Path, cpus: int = 16, gpus: int = 1, memory_mb: int = 65536
) -> Iterator[Cluster]:
    """Start munge, MariaDB, slurmdbd, slurmctld and slurmd under `root`; stop them all after.

    The node declares `cpus` CPUs, `gpus` GPUs and `memory_mb` of memory whatever the
    machine has (slurmd is told to trust its config), so that jobs asking for a real
    cluster's share can be scheduled here; the jobs then use what there is. Every daemon
    is stopped by its pid when the block ends, however it ends, and so is any process left
    with this cluster's SLURM_CONF.
    """
    missing = missing_programs()
    if missing:
        raise RuntimeError(f"not installed: {', '.join(missing)} (run .ci/install-slurm as root)")
    node = socket.gethostname().split(".")[0]
    cluster = Cluster(root=root, node=node, env={})
    try:
        _start(cluster, cpus, gpus, memory_mb)
        yield cluster
    finally:
        stop(cluster)


def _start(cluster: Cluster, cpus: int, gpus: int, memory_mb: int) -> None:
    root = cluster.root
    for sub in ("etc", "log", "run", "munge", "db", "state", "spool"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        (root / sub).chmod(0o700)
    ports = dict(zip(("mariadb", "slurmdbd", "slurmctld", "slurmd"), _free_ports(4), strict=True))
    munge_socket = root / "munge" / "munge.socket"
    shims = root / "bin"
    shims.mkdir(exist_ok=True)
    # The job step drops every SLURM_* variable, SLURM_CONF too, before it calls srun, which
    # then looks for /etc/slurm/slurm.conf and next for a config server in DNS. Jobs find
    # this shim first on their PATH (sbatch --export=ALL), and srun this cluster's config.
    srun = shims / "srun"
    srun.write_text(
        f'#!/bin/sh\nexport SLURM_CONF="{cluster.conf}"\n'
        f'exec "{shutil.which("srun", path=SEARCH_PATH)}" "$@"\n'
    )
    srun.chmod(0o755)
    cluster.env = {
        **os.environ,
        "PATH": os.pathsep.join([str(shims), SEARCH_PATH]),
        "SLURM_CONF": str(cluster.conf),  # SLURM's clients and daemons find the rest in it
    }
    _write_configs(cluster, ports, munge_socket, cpus, gpus, memory_mb)

    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    _spawn(cluster, "munged", [
        "munged", "--foreground", "--force",
        f"--socket={munge_socket}", f"--key-file={key}",
        f"--log-file={root / 'log' / 'munged.log'}", f"--pid-file={root / 'run' / 'munged.pid'}",
        f"--seed-file={root / 'munge' / 'munged.seed'}",
        f"--origin={LOOPBACK}",  # rather than looking up this host's name
    ])  # fmt: skip
    _wait(cluster, "munged", lambda: munge_socket.exists())

    _spawn(cluster, "mariadbd", [
        "mariadbd", "--no-defaults", f"--datadir={root / 'db'}", "--user=root",
        f"--socket={root / 'run' / 'mariadb.sock'}", f"--pid-file={root / 'run' / 'mariadb.pid'}",
        f"--bind-address={LOOPBACK}", f"--port={ports['mariadb']}",
        # Reached only from this machine's loopback by slurmdbd, in a throwaway datadir.
        "--skip-grant-tables", "--skip-name-resolve", "--skip-log-bin",
        "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M",
    ])  # fmt: skip
    _wait(cluster, "mariadbd", lambda: _port_open(ports["mariadb"]))

    _spawn(cluster, "slurmdbd", ["slurmdbd", "-D"])
    _wait(cluster, "slurmdbd", lambda: _port_open(ports["slurmdbd"]))

    _spawn(cluster, "slurmctld", ["slurmctld", "-D", "-i"])
    _wait(cluster, "slurmctld", lambda: "UP" in cluster.run("scontrol", "ping", check=False).stdout)

    _spawn(cluster, "slurmd", ["slurmd", "-D", "-N", cluster.node])
    _wait(cluster, "slurmd", lambda: _node_state(cluster) in {"idle", "mixed", "allocated"})


def _write_configs(
    cluster: Cluster, ports: dict, munge_socket: Path, cpus: int, gpus: int, memory_mb: int
) -> None:
    root, node = cluster.root, cluster.node
    auth = f"AuthType=auth/munge\nAuthInfo=socket={munge_socket}\n"
    cluster.conf.write_text(
        f"""# Written by tests/slurm_cluster.py: one node, loopback only, no systemd or cgroups.
ClusterName={CLUSTER_NAME}
SlurmctldHost={node}({LOOPBACK})
SlurmctldPort={ports["slurmctld"]}
SlurmdPort={ports["slurmd"]}
SlurmUser=root
SlurmdUser=root
{auth}CredType=cred/munge
StateSaveLocation={root / "state"}
SlurmdSpoolDir={root / "spool"}
SlurmctldPidFile={root / "run" / "slurmctld.pid"}
SlurmdPidFile={root / "run" / "slurmd.pid"}
SlurmctldLogFile={root / "log" / "slurmctld.log"}
SlurmdLogFile={root / "log" / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost={LOOPBACK}
AccountingStoragePort={ports["slurmdbd"]}
AccountingStoragePass={munge_socket}
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
# The node trusts this file ({cpus} CPUs, {gpus} GPUs, {memory_mb} MB), not the machine.
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=300
KillWait=5
InactiveLimit=0
SlurmctldDebug=info
SlurmdDebug=info
NodeName={node} NodeAddr={LOOPBACK} NodeHostname={node} CPUs={cpus} RealMemory={memory_mb} \
Gres=gpu:{gpus} State=UNKNOWN
PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""
    )
    # Stand-ins for GPU device files (slurmd wants a character device whose name ends in
    # its index): GPUs that are only counted, so that --gpus=1 jobs can run here.
    devices = []
    for index in range(gpus):
        devices.append(root / "etc" / f"fakegpu{index}")
        devices[-1].symlink_to("/dev/null")
    lines = [f"NodeName={node} Name=gpu File={device}\n" for device in devices]
    (root / "etc" / "gres.conf").write_text("".join(lines))
    dbd_conf = root / "etc" / "slurmdbd.conf"
    dbd_conf.write_text(
        f"""{auth}DbdHost={node}
DbdAddr={LOOPBACK}
DbdPort={ports["slurmdbd"]}
SlurmUser=root
PidFile={root / "run" / "slurmdbd.pid"}
LogFile={root / "log" / "slurmdbd.log"}
StorageType=accounting_storage/mysql
StorageHost={LOOPBACK}
StoragePort={ports["mariadb"]}
StorageUser=root
StorageLoc=slurm_acct_db
"""
    )
    dbd_conf.chmod(0o600)  # slurmdbd refuses a config that others can read


def _spawn(cluster: Cluster, name: str, argv: list[str]) -> None:
    log = cluster.root / "log" / f"{name}.out"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [shutil.which(argv[0], path=SEARCH_PATH), *argv[1:]],
            env=cluster.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=cluster.root, start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
    cluster.daemons.append(Daemon(name, process, log))


def _die_with_parent() -> None:
    """In the child: SIGKILL when the test process dies, even if it gets no chance to stop us."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass  # not Linux: stop() still ends every daemon when the test ends normally


def _wait(cluster: Cluster, name: str, ready, timeout: float = 60) -> None:
    daemon = next(d for d in cluster.daemons if d.name == name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise RuntimeError(
                f"{name} exited with {daemon.process.returncode} while starting\n"
                + cluster.log_tails()
            )
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} was not ready after {timeout:.0f} s\n" + cluster.log_tails())


def stop(cluster: Cluster) -> list[int]:
    """Cancel the cluster's jobs, stop its daemons by pid, newest first; verify all are gone.

    Returns the pids that were stopped. Raises when one survives SIGKILL.
    """
    ctld = next((d for d in cluster.daemons if d.name == "slurmctld"), None)
    if ctld is not None and ctld.process.poll() is None:
        jobs = cluster.run("squeue", "-h", "-o", "%i", check=False).stdout.split()
        if jobs:
            cluster.run("scancel", *jobs, check=False)
    stopped = []
    for daemon in reversed(cluster.daemons):
        process = daemon.process
        stopped.append(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    # Job steps and their programs outlive slurmd; they carry this cluster's SLURM_CONF.
    strays = _processes_with_env("SLURM_CONF", str(cluster.conf)) if cluster.env else []
    for pid in strays:
        _kill(pid)
    stopped += strays
    survivors = [pid for pid in stopped if _alive(pid)]
    if survivors:
        raise RuntimeError(f"SLURM test processes still alive after SIGKILL: {survivors}")
    return stopped


def _processes_with_env(name: str, value: str) -> list[int]:
    wanted = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ:
            found.append(int(entry.name))
    return found


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def _node_state(cluster: Cluster) -> str:
    result = cluster.run("sinfo", "-h", "-N", "-o", "%T", check=False)
    return result.stdout.strip().rstrip("*~#") if result.returncode == 0 else ""


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOOPBACK, port)) == 0


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
