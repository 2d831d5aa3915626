"""One untrusted process in a jail: bubblewrap (or user namespaces), cgroup, rlimits, timeouts, output caps.

Layers, outermost first (each is detected once and reported by :func:`sandbox_layers`):

* a temp workdir per job (the caller's); the run step sees it read-only, scratch space is a tmpfs;
* cgroup v1 ``memory`` and ``pids`` limits when the hierarchy is writable (root): the reliable cap
  for JVM/node memory and for fork bombs, also the way every leftover process is found and killed;
* rlimits via ``prlimit``: CPU, DATA (never AS: node, java and Go reserve far more address space
  than they use), FSIZE, NOFILE, CORE=0, and NPROC when not root (it is ignored for root);
* bubblewrap: ``--unshare-all`` (no network, own pid namespace: when the program ends every process
  it started dies with it), read-only toolchains, tmpfs, uid 65534, ``--clearenv``,
  ``--die-with-parent``, ``--new-session``, ``--cap-drop ALL``;
  without bubblewrap (or with ``HRMCODE_SANDBOX=degraded``): ``unshare`` user/net/pid namespaces +
  rlimits, as uid 65534 when root. This degraded path does not hide host files, and says so;
* a wall-clock timeout that kills the process group, the jail's pid namespace (waiting until it is
  empty: see :func:`_kill_jail`) and the cgroup, and caps on captured output.

The process is launched through a tiny ``/bin/sh`` prologue that joins the cgroups and execs the
rest: no ``preexec_fn``, which is unsafe in the threaded worker pool.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import select
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hrmcode.languages.toolchain import JAIL_CACHE as JAIL_CACHE  # the jail's paths of toolchain caches
from hrmcode.languages.toolchain import Mount as Mount
from hrmcode.languages.toolchain import python_for_jail as python_for_jail

log = logging.getLogger(__name__)

NOBODY = 65534
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Paths inside the jail: fixed, so compiler outputs (and Go's cache keys) do not depend on the host path.
JAIL_WORK = "/w"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process (and everything it starts)."""

    wall_s: float = 10.0
    cpu_s: float | None = None  # None: wall_s + 1 (the CPU limit backs up the wall clock)
    memory_mb: int = 1024  # the cgroup's cap (the real one) and the runtimes' heap flags
    # RLIMIT_DATA; None: 2 × memory_mb (a candidate's run: its language's run_data_mb, which gives
    # the JVM its reserved regions on top of the heap). Reserved-but-untouched thread stacks and JVM
    # regions count against it, so at 1 × a JVM cannot even start its threads; the cgroup measures use.
    data_mb: int | None = None
    pids: int = 128  # cgroup pids.max; RLIMIT_NPROC when not root
    fsize_mb: int = 16  # the largest file the program may write
    nofile: int = 256
    stack_mb: int = 64  # deep recursion is common in solutions (256 MB with DATA=1 GB hangs node 20)
    tmpfs_mb: int = 64  # scratch /tmp inside bubblewrap
    stdout_bytes: int = 1 << 20  # more than this is output_limit
    stderr_bytes: int = 1 << 20
    channel_bytes: int = 64 << 20  # the driver's result channel (fd 3)

    @property
    def cpu_limit(self) -> int:
        return int(self.cpu_s if self.cpu_s is not None else self.wall_s + 1) + 1


@dataclass
class ProcResult:
    """What happened to one sandboxed process. Output is kept up to the caps."""

    returncode: int | None
    signal: int | None
    stdout: bytes
    stderr: bytes
    channel: bytes
    wall_s: float
    peak_memory_mb: float | None
    timed_out: bool = False
    killed_reason: str | None = None  # set when the harness killed it (e.g. "output_limit")
    oom: bool = False  # the memory cgroup hit its limit
    pids_limited: bool = False  # the pids cgroup refused a fork
    launch_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.killed_reason is None


# ---- layer detection --------------------------------------------------------------------------


def is_root() -> bool:
    return os.geteuid() == 0


def forced_mode() -> str | None:
    """``HRMCODE_SANDBOX=degraded`` forces the path without bubblewrap (to test and compare it)."""
    mode = os.environ.get("HRMCODE_SANDBOX", "").strip().lower()
    return mode or None


@functools.cache
def _bwrap_works(bwrap: str) -> bool:
    try:
        out = subprocess.run([bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                             capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


@functools.cache
def _unshare_works() -> bool:
    try:
        out = subprocess.run(["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "true"],
                             capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def _cgroup_writable(controller: str) -> bool:
    base = CGROUP_ROOT / controller
    probe = base / f"hrmcode-probe-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        probe.mkdir()
        probe.rmdir()
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class Layers:
    mode: str  # "bwrap" | "unshare" | "rlimits-only"
    bwrap: str | None
    cgroup_memory: bool
    cgroup_pids: bool
    root: bool

    @property
    def degraded(self) -> bool:
        return self.mode != "bwrap"

    @property
    def private_tmp(self) -> bool:
        """The jail's /tmp is a tmpfs of its own (bubblewrap, or the degraded path as root), not the host's."""
        return self.mode == "bwrap" or (self.root and Path(STAGE_ROOT).is_dir())

    def describe(self) -> dict[str, object]:
        rl = ["CPU", "DATA", "FSIZE", "NOFILE", "CORE=0"] + ([] if self.root else ["NPROC"])
        notes = []
        if self.mode == "unshare":
            notes.append("DEGRADED: no bubblewrap; user/net/pid namespaces + rlimits only: host files are "
                         "visible to the program (as uid 65534 when the harness is root), no tmpfs, "
                         "no read-only toolchain mounts")
        elif self.mode == "rlimits-only":
            notes.append("DEGRADED: neither bubblewrap nor user namespaces: rlimits and timeouts only")
        if not self.cgroup_memory:
            notes.append("no memory cgroup: memory is capped by RLIMIT_DATA and runtime flags only")
        if not self.cgroup_pids:
            notes.append("no pids cgroup: fork bombs are capped by RLIMIT_NPROC (per uid) and the pid namespace")
        return {
            "mode": self.mode,
            "degraded": self.degraded,
            "bubblewrap": self.bwrap,
            "cgroup_memory": self.cgroup_memory,
            "cgroup_pids": self.cgroup_pids,
            "root": self.root,
            "rlimits": rl,
            "uid_in_jail": NOBODY,
            "network": "none (network namespace)" if self.mode != "rlimits-only" else "host network",
            "timeout": "wall clock, kills the process group and the cgroup",
            "notes": notes,
        }


@functools.cache
def _detect(mode_override: str | None) -> Layers:
    root = is_root()
    bwrap = shutil.which("bwrap")
    mode = "rlimits-only"
    if mode_override != "degraded" and bwrap and _bwrap_works(bwrap):
        mode = "bwrap"
    elif _unshare_works():
        mode = "unshare"
    if mode != "bwrap":
        log.warning("sandbox is degraded (%s): bubblewrap %s", mode,
                    "disabled by HRMCODE_SANDBOX" if mode_override == "degraded" else "unavailable")
    cg_ok = root and os.environ.get("HRMCODE_CGROUPS", "1") != "0"
    return Layers(mode=mode, bwrap=bwrap if mode == "bwrap" else None,
                  cgroup_memory=cg_ok and _cgroup_writable("memory"),
                  cgroup_pids=cg_ok and _cgroup_writable("pids"), root=root)


def detect_layers() -> Layers:
    return _detect(forced_mode())


# ---- cgroups ------------------------------------------------------------------------------------


class CGroup:
    """A per-process cgroup v1 pair (memory, pids), removed after every process in it is killed."""

    def __init__(self, layers: Layers, limits: Limits):
        self.dirs: dict[str, Path] = {}
        name = f"hrmcode/{os.getpid()}-{uuid.uuid4().hex[:10]}"
        if layers.cgroup_memory:
            d = CGROUP_ROOT / "memory" / name
            d.mkdir(parents=True)
            self.dirs["memory"] = d
            limit = str(limits.memory_mb << 20)
            (d / "memory.limit_in_bytes").write_text(limit)
            with contextlib.suppress(OSError):  # absent without swap accounting
                (d / "memory.memsw.limit_in_bytes").write_text(limit)
        if layers.cgroup_pids:
            d = CGROUP_ROOT / "pids" / name
            d.mkdir(parents=True)
            self.dirs["pids"] = d
            (d / "pids.max").write_text(str(limits.pids))

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def _read(self, ctl: str, fname: str) -> str:
        d = self.dirs.get(ctl)
        if d is None:
            return ""
        try:
            return (d / fname).read_text()
        except OSError:
            return ""

    def peak_mb(self) -> float | None:
        raw = self._read("memory", "memory.max_usage_in_bytes").strip()
        return int(raw) / 2**20 if raw else None

    def oom(self) -> bool:
        failcnt = self._read("memory", "memory.failcnt").strip()
        ctl = self._read("memory", "memory.oom_control")
        kills = 0
        for line in ctl.splitlines():
            if line.startswith("oom_kill "):
                kills = int(line.split()[1])
        # failcnt alone also counts reclaimable page-cache pressure; an OOM kill is the real signal,
        # but older kernels lack the counter, so a failcnt with usage at the limit also counts.
        return kills > 0 or (bool(failcnt) and failcnt != "0" and "oom_kill" not in ctl)

    def pids_limited(self) -> bool:
        for line in self._read("pids", "pids.events").splitlines():
            if line.startswith("max "):
                return int(line.split()[1]) > 0
        return False

    def kill_all(self) -> None:
        """SIGKILL every process still in the cgroup, then remove it."""
        for d in self.dirs.values():
            for _ in range(50):
                try:
                    pids = [int(p) for p in (d / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.01)
        for d in self.dirs.values():
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


@contextlib.contextmanager
def cpu_meter() -> Iterator[Callable[[], float | None]]:
    """For benchmarks: yields a function giving the CPU seconds used so far by this process and
    every process it starts (jails, compilers, programs), read from a cpuacct cgroup (v1) that
    the process joins for the duration; the function gives None where no such cgroup can be
    made (not root, cgroup v2 only). Unlike wall-clock time, this does not depend on the load
    other work puts on the machine."""
    root = CGROUP_ROOT / "cpuacct"
    group = root / f"hrmcode-cpu-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        group.mkdir()
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        with contextlib.suppress(OSError):
            group.rmdir()
        yield lambda: None
        return
    try:
        yield lambda: int((group / "cpuacct.usage").read_text()) / 1e9
    finally:
        with contextlib.suppress(OSError):
            (root / "cgroup.procs").write_text(str(os.getpid()))
        for _ in range(100):  # processes that just ended may still be leaving the group
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.05)


# ---- command construction -----------------------------------------------------------------------


def _rlimit_args(limits: Limits, layers: Layers) -> list[str]:
    args = [
        f"--cpu={limits.cpu_limit}",
        f"--data={(limits.data_mb or 2 * limits.memory_mb) << 20}",
        f"--fsize={limits.fsize_mb << 20}",
        f"--nofile={limits.nofile}",
        f"--stack={limits.stack_mb << 20}",
        "--core=0",
    ]
    if not layers.root:
        # NPROC counts every process of the uid, including the harness and parallel jobs: generous.
        args.append(f"--nproc={limits.pids * 8 + 256}")
    return ["prlimit", *args, "--"]


def _bwrap_args(layers: Layers, workdir: Path, *, work_writable: bool, limits: Limits,
                ro_paths: Sequence[str], mounts: Sequence[Mount], env: dict[str, str]) -> list[str]:
    assert layers.bwrap is not None
    args = [layers.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--clearenv", "--uid", str(NOBODY), "--gid", str(NOBODY),
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--proc", "/proc", "--dev", "/dev",
            "--size", str(limits.tmpfs_mb << 20), "--tmpfs", "/tmp"]
    for link in ("bin", "sbin", "lib", "lib64", "lib32"):
        p = Path("/") / link
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), f"/{link}"]
        elif p.is_dir():
            args += ["--ro-bind", str(p), f"/{link}"]
    seen: set[str] = set()
    for path in ro_paths:
        if path in seen or path.startswith(("/usr/", "/etc/")) or not Path(path).exists():
            continue
        seen.add(path)
        args += ["--ro-bind", path, path]
    args += ["--bind" if work_writable else "--ro-bind", str(workdir), JAIL_WORK]
    for m in mounts:
        args += ["--bind" if m.writable else "--ro-bind", m.host, m.jail]
    for k, v in env.items():
        args += ["--setenv", k, v]
    args += ["--chdir", JAIL_WORK, "--"]
    return args


def _unshare_args(layers: Layers) -> list[str]:
    args = []
    if layers.root:
        # Drop to nobody first: file permissions are then the only thing between the program and
        # the host's files (the degraded path has no mount isolation).
        args += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--no-new-privs", "--"]
    if layers.mode == "unshare":
        args += ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child", "--"]
    return args


def _blocking_ancestor(path: str) -> str | None:
    """The highest directory above ``path`` that others (uid 65534) cannot traverse, if any."""
    p = Path(path).resolve()
    for a in reversed(p.parents):  # from / down
        try:
            if not os.stat(a).st_mode & 0o001:
                return str(a)
        except OSError:
            return None
    return None


SCRATCH_DIRS = ("/tmp", "/var/tmp", "/run/lock", "/dev/shm")  # world-writable on a usual host
STAGE_ROOT = "/dev/shm"  # covered last, so the staging area disappears from the program's view


def _degraded_mounts(paths: Sequence[tuple[str, bool]], stage: Path, cwd: Path, tmpfs_mb: int) -> list[str]:
    """The degraded path's mount namespace, when the harness is root (no bubblewrap, but ``unshare``).

    In a private mount namespace (nothing propagates to the host):

    * every world-writable scratch directory (/tmp, /var/tmp, /run/lock, /dev/shm) is covered by a
      fresh size-limited tmpfs: the program cannot leave files on the host or read others' files there;
    * every directory uid 65534 cannot traverse above a needed path (toolchains under a 0700 /root)
      is covered by an empty tmpfs, which hides the rest of it;
    * the needed ``paths`` (path, writable) — the workdir, the toolchains, the caches — are first
      bound to ``stage/i`` (a 0700 directory of the harness on /dev/shm), then bound back at their
      own place, read-only unless writable.
    """
    q = shlex.quote
    needed = [(str(Path(p)), w) for p, w in paths if Path(p).is_dir()]
    covers = [d for d in SCRATCH_DIRS if Path(d).is_dir() and not Path(d).is_symlink() and d != STAGE_ROOT]
    for p, _ in needed:
        a = _blocking_ancestor(p)
        if a:
            covers.append(a)
    tops: list[str] = []
    for a in sorted(set(covers), key=len):
        if not any(a == t or a.startswith(t.rstrip("/") + "/") for t in tops):
            tops.append(a)
    lines = ["set -e"]
    for i, (p, _) in enumerate(needed):
        (stage / str(i)).mkdir()
        lines.append(f"mount --bind {q(p)} {q(str(stage / str(i)))}")
    for t in tops:
        mode = "1777" if t in SCRATCH_DIRS else "0755"
        lines.append(f"mount -t tmpfs -o mode={mode},size={tmpfs_mb << 20},nosuid,nodev hrmcode-degraded {q(t)}")
    for i, (p, writable) in enumerate(needed):
        lines += [f"mkdir -p {q(p)}", f"mount --bind {q(str(stage / str(i)))} {q(p)}"]
        if not writable:
            lines.append(f"mount -o remount,bind,ro {q(p)}")
    lines.append(f"mount -t tmpfs -o mode=1777,size={tmpfs_mb << 20},nosuid,nodev hrmcode-degraded {STAGE_ROOT}")
    lines += [f"cd {q(str(cwd))}", 'exec "$@"']
    return ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", "\n".join(lines), "sh"]


def jail_path(layers: Layers, workdir: Path, path: str) -> str:
    """Where a path under the host workdir appears to the jailed program."""
    if layers.mode == "bwrap":
        rel = Path(path).relative_to(workdir) if Path(path).is_absolute() else Path(path)
        return str(Path(JAIL_WORK) / rel)
    return str(Path(path) if Path(path).is_absolute() else workdir / path)


def _prepare_degraded_workdir(workdir: Path, writable: bool) -> None:
    """The degraded path runs as nobody when root: it must be able to read (and maybe write) the workdir."""
    for dirpath, dirnames, filenames in os.walk(workdir):
        for name in [*dirnames, *filenames, "."]:
            p = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                if writable:
                    os.chown(p, NOBODY, NOBODY, follow_symlinks=False)
                else:
                    os.chown(p, 0, 0, follow_symlinks=False)
                    st = os.lstat(p)
                    os.chmod(p, st.st_mode | 0o555 if os.path.isdir(p) else st.st_mode | 0o444)


# ---- running ------------------------------------------------------------------------------------


def run(argv: Sequence[str], workdir: Path, limits: Limits, *, work_writable: bool = False,
        ro_paths: Sequence[str] = (), mounts: Sequence[Mount] = (), env: dict[str, str] | None = None,
        stdin: bytes | None = None, channel: bool = False,
        on_channel_line: Callable[[bytes], None] | None = None,
        should_kill: Callable[[], str | None] | None = None,
        layers: Layers | None = None) -> ProcResult:
    """Run ``argv`` (paths as the jail sees them) in the jail with ``workdir`` mounted at /w.

    ``channel=True`` opens fd 3 in the program as a pipe back to the harness (the test driver's
    result lines); ``on_channel_line`` sees each complete line as it arrives and ``should_kill``
    is polled while the process runs (the batch runner's per-candidate deadlines).
    """
    layers = layers or detect_layers()
    env = dict(env or {})
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("HOME", "/tmp")
    env.setdefault("LANG", "C.UTF-8")
    env.setdefault("TMPDIR", "/tmp")
    cg = CGroup(layers, limits) if (layers.cgroup_memory or layers.cgroup_pids) else None
    stage: Path | None = None
    if layers.mode == "bwrap":
        inner = _bwrap_args(layers, workdir, work_writable=work_writable, limits=limits,
                            ro_paths=ro_paths, mounts=mounts, env=env)
        popen_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        cwd = str(workdir)
    else:
        inner = []
        if layers.root:
            _prepare_degraded_workdir(workdir, work_writable)
            for m in mounts:
                if m.writable:
                    _prepare_degraded_workdir(Path(m.host), True)
            if Path(STAGE_ROOT).is_dir():
                stage = Path(tempfile.mkdtemp(prefix="hrmcode-stage-", dir=STAGE_ROOT))
                needed = [(str(workdir), work_writable), *((p, False) for p in ro_paths),
                          *((m.host, m.writable) for m in mounts)]
                inner = _degraded_mounts(needed, stage, workdir, limits.tmpfs_mb)
        inner += _unshare_args(layers)
        # No mount namespace of the jail's own: paths the language gives as jail paths (its caches)
        # are the host paths here.
        for m in mounts:
            env = {k: v.replace(m.jail, m.host, 1) if v.startswith(m.jail) else v for k, v in env.items()}
        env["HOME"] = str(workdir)
        env["TMPDIR"] = "/tmp"  # a private tmpfs when the harness is root (see _degraded_mounts)
        popen_env = env
        cwd = str(workdir)
    # The prologue joins the cgroups from inside the child, before anything untrusted runs.
    prologue = "".join(f'echo $$ > "{p}" || exit 121; ' for p in (cg.procs_files() if cg else []))
    r_fd = w_fd = None
    if channel:
        r_fd, w_fd = os.pipe()
        if layers.mode != "bwrap" and layers.root:
            # The JVM reopens fd 3 by its /proc path, which checks the pipe's owner: the jail's uid.
            with contextlib.suppress(OSError):
                os.fchown(w_fd, NOBODY, NOBODY)
        # The driver writes its result lines to fd 3: move the pipe's write end there (bash, because
        # dash cannot name a descriptor above 9).
        prologue += f"exec 3>&{w_fd} {w_fd}>&-; "
    full = ["/bin/bash", "-c", prologue + 'exec "$@"', "bash", *_rlimit_args(limits, layers), *inner, *argv]
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(
            full, cwd=cwd, env=popen_env, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            pass_fds=(w_fd,) if w_fd is not None else (),
        )
    except OSError as e:
        if cg:
            cg.kill_all()
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        for fd in (r_fd, w_fd):
            if fd is not None:
                os.close(fd)
        return ProcResult(None, None, b"", b"", b"", 0.0, None, launch_error=str(e))
    if w_fd is not None:
        os.close(w_fd)
    try:
        res = _supervise(proc, r_fd, limits, stdin, on_channel_line, should_kill, t0)
        _kill_group(proc)
        if cg:
            res.peak_memory_mb = cg.peak_mb() or res.peak_memory_mb
            res.oom = cg.oom()
            res.pids_limited = cg.pids_limited()
    finally:
        _kill_group(proc)
        if cg:
            cg.kill_all()
        if stage is not None:
            # Empty directories on the host: the mounts on them lived in the program's namespace only.
            shutil.rmtree(stage, ignore_errors=True)
        if r_fd is not None:
            with contextlib.suppress(OSError):
                os.close(r_fd)
    return res


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)


JAIL_EXIT_WAIT_S = 10.0  # how long a killed jail may take to empty before the harness gives up on it


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):  # a kernel without CONFIG_PROC_CHILDREN: scan every process's parent
        pass
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit() and _parent(int(d)) == pid:
            kids.append(int(d))
    return kids


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _kill_jail(proc: subprocess.Popen[bytes]) -> None:
    """Kill a program the harness stops (timeout, output flood…) and wait until all of it is gone.

    The process the harness started (bwrap's monitor, or ``unshare --fork``) has one child: the init
    of the jail's pid namespace. Killing that init makes the kernel kill every process in the
    namespace, and the init only counts as exited once they all have. Killing the process group is
    not enough: bwrap's ``--new-session`` puts the namespace in a session of its own, and
    ``--die-with-parent`` then tears it down only after the harness moved on. Without a pids cgroup
    (a non-root harness) a fork bomb's hundreds of processes, still dying, kept uid 65534 at its
    RLIMIT_NPROC and the next programs could not start (``unshare: fork failed``).
    """
    pidfds = []
    if hasattr(os, "pidfd_open"):
        for child in _children(proc.pid):
            try:
                fd = os.pidfd_open(child)
            except OSError:
                continue
            # Still our child once pinned by the pidfd: the pid was not reused for another process.
            if _parent(child) == proc.pid:
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                pidfds.append(fd)
            else:
                os.close(fd)
    _kill_group(proc)
    deadline = time.monotonic() + JAIL_EXIT_WAIT_S
    for fd in pidfds:
        try:
            # A pidfd is readable once its process has exited (for a namespace's init: after all the rest).
            if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                log.warning("a killed jail was still exiting after %.0f s", JAIL_EXIT_WAIT_S)
        finally:
            os.close(fd)


@dataclass
class _Stream:
    cap: int
    data: bytearray = field(default_factory=bytearray)
    total: int = 0
    partial: bytearray = field(default_factory=bytearray)


def _supervise(proc: subprocess.Popen[bytes], r_fd: int | None, limits: Limits, stdin: bytes | None,
               on_line: Callable[[bytes], None] | None, should_kill: Callable[[], str | None] | None,
               t0: float) -> ProcResult:
    assert proc.stdout is not None and proc.stderr is not None
    sel = selectors.DefaultSelector()
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    streams: dict[int, _Stream] = {out_fd: _Stream(limits.stdout_bytes), err_fd: _Stream(limits.stderr_bytes)}
    sel.register(proc.stdout.fileno(), selectors.EVENT_READ)
    sel.register(proc.stderr.fileno(), selectors.EVENT_READ)
    chan_fd = r_fd
    if chan_fd is not None:
        streams[chan_fd] = _Stream(limits.channel_bytes)
        sel.register(chan_fd, selectors.EVENT_READ)
    if stdin is not None:
        assert proc.stdin is not None
        # Small inputs fit the pipe buffer; larger ones are written from a thread-free loop below.
        pending_in = memoryview(stdin)
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE)
    else:
        pending_in = memoryview(b"")
    deadline = t0 + limits.wall_s
    timed_out = False
    killed: str | None = None
    open_fds = set(streams)
    while open_fds or (stdin is not None and proc.stdin and not proc.stdin.closed):
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            break
        reason = should_kill() if should_kill else None
        if reason:
            killed = reason
            break
        events = sel.select(timeout=min(0.05, deadline - now))
        for key, _ in events:
            fd = key.fd
            if proc.stdin is not None and not proc.stdin.closed and fd == proc.stdin.fileno():
                try:
                    n = os.write(fd, pending_in[:65536])
                    pending_in = pending_in[n:]
                except (BrokenPipeError, OSError):
                    pending_in = memoryview(b"")
                if not pending_in:
                    sel.unregister(fd)
                    proc.stdin.close()
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(fd)
                open_fds.discard(fd)
                continue
            st = streams[fd]
            st.total += len(chunk)
            room = st.cap - len(st.data)
            if room > 0:
                st.data += chunk[:room]
            if fd == chan_fd and on_line is not None:
                st.partial += chunk
                *lines, rest = bytes(st.partial).split(b"\n")
                st.partial = bytearray(rest)
                for line in lines:
                    on_line(line)
            if st.total > st.cap:
                killed = "output_limit"
                break
        if killed:
            break
        if not open_fds and proc.poll() is not None:
            break
    if timed_out or killed:
        _kill_jail(proc)
    # Reap and measure (the rusage covers descendants the child reaped: the fallback peak memory).
    peak = None
    try:
        remaining = max(0.1, deadline + 2 - time.monotonic()) if not (timed_out or killed) else 5
        end = time.monotonic() + remaining
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                peak = ru.ru_maxrss / 1024
                break
            if time.monotonic() > end:
                timed_out = timed_out or killed is None
                _kill_jail(proc)
                break
            time.sleep(0.005)
    except ChildProcessError:
        pass
    wall = time.monotonic() - t0
    for fd in list(open_fds):
        with contextlib.suppress(Exception):
            sel.unregister(fd)
    sel.close()
    for pipe in (proc.stdout, proc.stderr, proc.stdin):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    rc = proc.returncode
    sig = -rc if rc is not None and rc < 0 else None
    if sig is None and rc is not None and 128 < rc < 128 + signal.NSIG:
        # bwrap (like a shell) reports a child killed by signal N as exit status 128 + N.
        sig = rc - 128
    return ProcResult(
        returncode=rc, signal=sig,
        stdout=bytes(streams[out_fd].data), stderr=bytes(streams[err_fd].data),
        channel=bytes(streams[chan_fd].data) if chan_fd is not None else b"",
        wall_s=wall, peak_memory_mb=peak, timed_out=timed_out, killed_reason=killed,
    )


def python_paths() -> list[str]:
    """What the jail must see of :func:`python_for_jail`'s installation (read-only)."""
    return [sys.base_prefix]
