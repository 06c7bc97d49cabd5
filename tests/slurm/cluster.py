"""A real one-node Slurm cluster on this machine, for tests.

munged, slurmctld and slurmd run in the foreground as children of the test, with a private
config (slurm.conf.in), key, sockets, ports and state; stop() ends exactly those processes, by
pid. Needs root and the Debian packages munge, slurmctld, slurmd and slurm-client.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import string
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE = Path(__file__).with_name("slurm.conf.in")
NODE = "localhost"
BINARIES = (
    "munged",
    "slurmctld",
    "slurmd",
    "sbatch",
    "srun",
    "squeue",
    "scancel",
    "sacct",
    "sinfo",
)
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


class ClusterUnavailable(RuntimeError):
    """Slurm cannot run here; the message says why."""


@dataclass
class Cluster:
    root: Path
    conf: Path
    cpus: int
    # Environment for Slurm clients (and Snakemake) to reach this cluster.
    env: dict[str, str]
    munge_dir: Path
    # The daemons started, by name, in start order.
    daemons: dict[str, subprocess.Popen] = field(default_factory=dict)

    def run(self, *cmd: str) -> str:
        """A Slurm client command against this cluster; its stdout."""
        env = {**os.environ, **self.env}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip()}")
        return proc.stdout

    def records(self, job_ids: list[str], fields: list[str]) -> dict[str, dict[str, str]]:
        """Slurm's own records of finished jobs (jobcomp file via `sacct -c`), by job id."""
        # -S: sacct's default start is today's midnight.
        out = self.run(
            "sacct", "-c", "-n", "-P", "-S", "2000-01-01", "-j", ",".join(job_ids),
            "-o", ",".join(["JobID", *fields]),
        )  # fmt: skip
        rows = [line.split("|") for line in out.splitlines() if line]
        return {row[0]: dict(zip(fields, row[1:], strict=True)) for row in rows}

    def stop(self) -> None:
        """Cancel every job of this cluster, then end the daemons started, newest first."""
        try:
            if _running(self.daemons.get("slurmctld")):
                self._cancel_all_jobs()
        finally:
            for process in reversed(self.daemons.values()):
                _terminate(process)
            self.daemons.clear()
            shutil.rmtree(self.munge_dir, ignore_errors=True)

    def _cancel_all_jobs(self) -> None:
        # Job processes run under slurmstepd, not under our daemons: end them through Slurm.
        active = ("squeue", "-h", "-o", "%i", "-t", "PD,R,CG,S")
        ids = self.run(*active).split()
        if ids:
            self.run("scancel", *ids)
        _wait_for(lambda: not self.run(*active).split(), "all jobs had ended", STOP_TIMEOUT)


def start(root: Path) -> Cluster:
    """Start the cluster with its config, state and logs under `root` (the test's temp dir)."""
    _check_prerequisites()
    conf = root / "slurm.conf"
    cluster = Cluster(
        root=root,
        conf=conf,
        cpus=len(os.sched_getaffinity(0)),
        env={"SLURM_CONF": str(conf), "PATH": f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}"},
        munge_dir=_munge_dir(),
    )
    try:
        _boot(cluster)
    except ClusterUnavailable as error:
        logs = _log_tails(root, cluster.munge_dir)
        cluster.stop()
        raise ClusterUnavailable(f"{error}\n{logs}") from None
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _boot(cluster: Cluster) -> None:
    _write_conf(cluster)
    _write_srun_wrapper(cluster)
    _start_munged(cluster)
    ctld = _start_daemon(cluster, "slurmctld", "-D", "-f", str(cluster.conf))
    _wait_for(lambda: _node_state(cluster) != "", "slurmctld answered", START_TIMEOUT, ctld)
    slurmd = _start_daemon(cluster, "slurmd", "-D", "-N", NODE, "-f", str(cluster.conf))
    idle = f"node {NODE} was idle"
    _wait_for(lambda: _node_state(cluster) == "idle", idle, START_TIMEOUT, slurmd)


def _check_prerequisites() -> None:
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        raise ClusterUnavailable(
            f"Slurm binaries missing: {', '.join(missing)} (apt-get install "
            "--no-install-recommends munge slurmctld slurmd slurm-client; see .ci/run)"
        )
    if os.geteuid() != 0:
        raise ClusterUnavailable("slurmd must run as root to start jobs; tests are not root")
    try:
        pwd.getpwnam("munge")
    except KeyError:
        raise ClusterUnavailable("no `munge` user (the munge package creates it)") from None


def _munge_dir() -> Path:
    """Key and socket of our munged, owned by the munge user, which must reach them: the test's
    temp dir is root-only, so this lives directly under /tmp."""
    munge = pwd.getpwnam("munge")
    path = Path(tempfile.mkdtemp(prefix="ovflow-munge-"))
    path.chmod(0o755)  # munged insists that everyone may reach its socket
    key = path / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    for item in (path, key):
        os.chown(item, munge.pw_uid, munge.pw_gid)
    return path


def _write_srun_wrapper(cluster: Cluster) -> None:
    """An `srun` first on the clients' PATH that knows SLURM_CONF. Inside each job, the
    slurm-jobstep plugin (0.6.1) drops every SLURM_* variable but a few ids before it calls
    srun, SLURM_CONF included; srun then finds no config (ours is not in /etc/slurm) and every
    job fails with "Could not establish a configuration source"."""
    bin_dir = cluster.root / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "srun"
    wrapper.write_text(f'#!/bin/sh\nSLURM_CONF={cluster.conf} exec {shutil.which("srun")} "$@"\n')
    wrapper.chmod(0o755)


def _write_conf(cluster: Cluster) -> None:
    for sub in ("state", "spool"):
        (cluster.root / sub).mkdir(exist_ok=True)
    text = string.Template(TEMPLATE.read_text()).substitute(
        root=cluster.root,
        cpus=cluster.cpus,
        memory_mb=_memory_mb(),
        munge_socket=cluster.munge_dir / "munge.socket",
        slurmctld_port=_free_port(),
        slurmd_port=_free_port(),
    )
    cluster.conf.write_text(text)


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterUnavailable("no MemTotal in /proc/meminfo")


def _free_port() -> int:
    # Private ports, so a Slurm already on this machine (6817/6818) is left alone.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_munged(cluster: Cluster) -> None:
    munge = cluster.munge_dir
    _start_daemon(
        cluster,
        "munged",
        "--foreground",
        f"--socket={munge / 'munge.socket'}",
        f"--key-file={munge / 'munge.key'}",
        f"--pid-file={munge / 'munged.pid'}",
        f"--seed-file={munge / 'munged.seed'}",
        f"--log-file={munge / 'munged.log'}",
        user="munge",
    )
    up = (munge / "munge.socket").exists
    _wait_for(up, "munged's socket was up", START_TIMEOUT, cluster.daemons["munged"])


def _start_daemon(
    cluster: Cluster, name: str, *args: str, user: str | None = None
) -> subprocess.Popen:
    """Run a daemon in the foreground as our child; its pid is the one stop() ends."""
    with open(cluster.root / f"{name}.out", "w") as out:
        process = subprocess.Popen(
            [name, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SLURM_CONF": str(cluster.conf)},
            user=user,
            group=user,
            extra_groups=[] if user else None,
        )
    cluster.daemons[name] = process
    return process


def _running(process: subprocess.Popen | None) -> bool:
    return process is not None and process.poll() is None


def _node_state(cluster: Cluster) -> str:
    try:
        return cluster.run("sinfo", "-h", "-n", NODE, "-o", "%T").strip()
    except RuntimeError:
        return ""


def _wait_for(
    condition: Callable[[], bool],
    what: str,
    timeout: float,
    process: subprocess.Popen | None = None,
) -> None:
    """Poll `condition`; give up after `timeout` or as soon as `process` has exited."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and not _running(process):
            name = process.args[0]
            raise ClusterUnavailable(f"{name} exited with code {process.returncode} before {what}")
        if time.monotonic() > deadline:
            raise ClusterUnavailable(f"timed out ({timeout:.0f} s) before {what}")
        time.sleep(0.2)


def _terminate(process: subprocess.Popen) -> None:
    if not _running(process):
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _log_tails(*dirs: Path, lines: int = 15) -> str:
    tails = []
    for log in sorted(
        log for d in dirs for pattern in ("*.out", "*.log") for log in d.glob(pattern)
    ):
        text = log.read_text(errors="replace").splitlines()[-lines:]
        tails.append(f"--- {log.name}\n" + "\n".join(text))
    return "\n".join(tails)
