"""The adversarial suite: hostile candidates get the right verdict, the host stays untouched (the
planted secret is never read, no file appears outside the workdir, no process outlives the call, the
loopback server is never reached) and the good samples of the same call are still evaluated.

Modes: bubblewrap (``bwrap``), the degraded path (``degraded``: HRMCODE_SANDBOX=degraded), and both
again with the harness itself running as uid 65534 (``test_as_non_root``, see its docstring).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attacks import BY_LANGUAGE, GOOD, OUTSIDE, TASK, Attack

from hrmcode.execute import ExecConfig, Limits, evaluate_samples, sandbox_layers
from hrmcode.execute.sandbox import CGROUP_ROOT, _unshare_works, detect_layers
from hrmcode.execute.sandbox import run as run_in_jail
from hrmcode.languages import LANGUAGES
from hrmcode.records import Sample

# The wall clock is generous because memory this VM has not touched lately faults in slowly: 87–150
# MB/s (4 GiB touched in 27–47 s here), against ~900 MB/s for recently freed memory. The memory bomb
# ran out of 3 s on CI, and out of 5 s here right after a demo had used and freed gigabytes (so did
# the output flood, then one 100 MB string). A time-out is never what these attacks are after.
CFG = ExecConfig(run=Limits(wall_s=8.0, memory_mb=256, pids=64))
# Without root there is no memory cgroup: the memory bomb meets RLIMIT_DATA (2 × the cap by default)
# instead, so Python's address space is held to 384 MB here, as little as its attacks allow.
CFG_BY_LANGUAGE = {"python": ExecConfig(run=Limits(wall_s=8.0, memory_mb=256, data_mb=384, pids=64))}
INNER = os.environ.get("HRMCODE_ADVERSARIAL_INNER") == "1"
REPO = Path(__file__).resolve().parents[2]
# Without bubblewrap and without root there is no mount isolation at all: the program sees the
# harness user's files and the host's /tmp (the summary says so). These attacks then succeed.
NO_MOUNT_ISOLATION = {"read_secret", "write_outside", "disk_fill"}


class LoopbackServer:
    """A TCP server on 127.0.0.1 that records every connection (there must be none)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def _fill(code: str, token: str, secret: Path, port: int) -> str:
    outside = [p.replace("{TOKEN}", token).replace("{SECRET_DIR}", str(secret.parent)) for p in OUTSIDE]
    return (code.replace("{OUTSIDE_LIST}", json.dumps(outside))
            .replace("{OUTSIDE_GO}", "{" + ", ".join(json.dumps(p) for p in outside) + "}")
            .replace("{SECRET}", str(secret)).replace("{TOKEN}", token).replace("{PORT}", str(port)))


def _processes_with(token: str) -> list[str]:
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if token in cmd and "pytest" not in cmd:
                found.append(f"{d.name}: {cmd}")
    return found


def _host_files_with(token: str, secret_dir: Path) -> list[str]:
    found = []
    for root in ("/tmp", "/var/tmp", "/dev/shm", str(Path.home()), str(secret_dir)):
        try:
            found += [str(p) for p in Path(root).iterdir() if token in p.name and p != secret_dir]
        except OSError:
            continue
    return found


def run_attacks(language: str, attacks: list[Attack]) -> None:
    """Evaluate the attacks of one language in one call, good samples between them; assert everything."""
    token = f"hrmtok{uuid.uuid4().hex[:12]}"
    secret_dir = Path(tempfile.mkdtemp(prefix=f"{token}-secret-", dir="/tmp"))
    secret_dir.chmod(0o755)  # world-readable: only the sandbox stands between the program and it
    secret = secret_dir / "secret.txt"
    secret.write_text(f"{token}-SECRET\n")
    secret.chmod(0o644)
    server = LoopbackServer()
    try:
        samples, wanted = [], []
        for a in attacks:
            samples += [Sample(task_id="attack", language=language, solution=_fill(a.code, token, secret, server.port)),
                        Sample(task_id="attack", language=language, solution=GOOD[language])]
            wanted += [a.verdicts, frozenset({"pass"})]
        results = evaluate_samples([TASK], samples, config=CFG_BY_LANGUAGE.get(language, CFG))
        files = _host_files_with(token, secret_dir)
        procs = _processes_with(token)
    finally:
        server.close()
        shutil.rmtree(secret_dir, ignore_errors=True)
    names = [n for a in attacks for n in (a.name, "good")]
    got = {f"{i}:{n}": r.verdict.value for i, (n, r) in enumerate(zip(names, results, strict=True))}
    bad = {k: (v, sorted(w)) for (k, v), w in zip(got.items(), wanted, strict=True) if v not in w}
    assert not bad, f"wrong verdicts: {bad}"
    dump = json.dumps([r.model_dump(mode="json") for r in results])
    assert f"{token}-SECRET" not in dump, "the secret was read"
    assert server.connections == 0, "the loopback server was reached"
    assert not files, f"files appeared outside the workdir: {files}"
    assert not procs, f"processes outlived the call: {procs}"
    mine = [p for p in (CGROUP_ROOT / "memory" / "hrmcode").glob(f"{os.getpid()}-*")]
    assert not mine, f"cgroups left behind: {mine}"


def _cases() -> list:
    params = []
    for mode in ("bwrap", "degraded"):
        for lang in BY_LANGUAGE:
            # The default suite: Python in both modes, C++ with bubblewrap; the rest is `slow`.
            fast = lang == "python" or (lang == "cpp" and mode == "bwrap")
            params.append(pytest.param(lang, mode, id=f"{lang}-{mode}", marks=[] if fast or INNER else [pytest.mark.slow]))
    return params


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("language", "mode"), _cases())
def test_attacks_are_contained(language: str, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if mode == "degraded":
        monkeypatch.setenv("HRMCODE_SANDBOX", "degraded")
    elif shutil.which("bwrap") is None or detect_layers().mode != "bwrap":
        pytest.skip("bubblewrap is not usable here")
    layers = sandbox_layers()
    assert layers["degraded"] == (mode == "degraded")
    attacks = BY_LANGUAGE[language]
    if layers["degraded"] and not layers["root"]:
        attacks = [a for a in attacks if a.name not in NO_MOUNT_ISOLATION]
    if not layers["cgroup_pids"]:
        # KNOWN GAP: without a pids cgroup (non-root) a fork bomb is capped by RLIMIT_NPROC, which
        # counts every process of the uid: while the bomb runs, programs evaluated beside it in the
        # same call (other workers) cannot fork either, nor can bubblewrap start. It gets its own call.
        bombs = [a for a in attacks if a.name == "fork_bomb"]
        run_attacks(language, [a for a in attacks if a.name != "fork_bomb"])
        if bombs:
            run_attacks(language, bombs)
            # The bomb's processes are gone when its verdict is: the next program of the uid can start
            # at once (they used to die after the harness moved on, holding RLIMIT_NPROC meanwhile).
            after = evaluate_samples([TASK], [Sample(task_id="attack", language=language, solution=GOOD[language])],
                                     config=CFG_BY_LANGUAGE.get(language, CFG))
            assert after[0].verdict.value == "pass", after[0].model_dump(mode="json")
        return
    run_attacks(language, attacks)


@pytest.mark.parametrize("mode", ["bwrap", "degraded"], ids=["python-bwrap", "python-degraded"])
def test_a_killed_jail_is_gone_when_run_returns(mode: str) -> None:
    """A program the harness kills leaves nothing running once ``sandbox.run`` returns, with no
    cgroup to clean up (as in a non-root harness; this test runs there too, see test_as_non_root).
    A killed bubblewrap's namespace, in a session of its own, used to die after the harness had
    moved on: a fork bomb's dying processes then kept uid 65534 at its RLIMIT_NPROC and the next
    programs could not start."""
    found = detect_layers()
    if mode == "bwrap" and found.mode != "bwrap":
        pytest.skip("bubblewrap is not usable here")
    if mode == "degraded" and not _unshare_works():
        pytest.skip("user namespaces are not usable here")
    layers = replace(found, mode="bwrap" if mode == "bwrap" else "unshare", cgroup_memory=False, cgroup_pids=False,
                     bwrap=found.bwrap if mode == "bwrap" else None)
    token = f"hrmtok{uuid.uuid4().hex[:12]}"
    python = LANGUAGES["python"]
    workdir = Path(tempfile.mkdtemp(prefix="hrmcode-kill-"))
    try:
        # A child in a session of its own (out of reach of a process-group kill), then a busy loop.
        (workdir / "main.py").write_text(
            "import subprocess\n"
            f"subprocess.Popen(['/bin/sh', '-c', 'sleep 60; echo {token}'], start_new_session=True)\n"
            "print('started', flush=True)\nwhile True:\n    pass\n")
        res = run_in_jail(python.stdin_run_command({}, 256), workdir, Limits(wall_s=1.5, memory_mb=256),
                          ro_paths=python.toolchain_paths(), env=python.jail_env(), layers=layers)
        left = _processes_with(token)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert res.timed_out and b"started" in res.stdout, res
    assert not left, f"still running after run returned: {left}"


def _nonroot_prefix(home: Path) -> list[str]:
    """A root-made bubblewrap (no user namespace: it only arranges mounts) that shows the harness
    the host as it is, except /root: a tmpfs with only the toolchains re-bound read-only (the venv's
    interpreter and rustup live there; /root itself is 0700). Then setpriv drops to uid 65534."""
    binds: list[str] = []
    for p in (sys.base_prefix, os.path.expanduser("~/.rustup"), os.path.expanduser("~/.cargo")):
        if Path(p).is_dir() and p.startswith("/root/"):
            binds += ["--ro-bind", p, p]
    return ["bwrap", "--dev-bind", "/", "/", "--tmpfs", "/root", *binds, "--bind", str(home), str(home),
            "--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


@pytest.mark.timeout(600)
@pytest.mark.skipif(INNER, reason="this is the inner run")
def test_as_non_root() -> None:
    """The harness itself as uid 65534: no cgroups (RLIMIT_NPROC and the pid namespace cap fork
    bombs), an unprivileged bubblewrap, and the degraded path without root. The same tests run in a
    child pytest as uid 65534: Python's attacks and the killed-jail check, in both modes (~30 s)."""
    if os.geteuid() != 0:
        pytest.skip("already non-root: the other tests are the non-root run")
    if shutil.which("bwrap") is None:
        pytest.skip("needs bubblewrap to arrange the non-root run's view of /root")
    # Not under pytest's own 0700 temp root: uid 65534 must reach its HOME.
    home = Path(tempfile.mkdtemp(prefix="hrmcode-nonroot-"))
    try:
        os.chown(home, 65534, 65534)
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home),
               "HRMCODE_ADVERSARIAL_INNER": "1", "LANG": "C.UTF-8"}
        argv = [*_nonroot_prefix(home), sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "--basetemp", str(home / "pytest"), str(Path(__file__)), "-k", "python", "-m", "not slow"]
        out = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=540)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "4 passed" in out.stdout, out.stdout[-2000:]
