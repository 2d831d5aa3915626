# ruff: noqa: SIM105, SIM115  (the driver swaps std streams and tolerates dead pids on purpose)
"""LiveCodeBench / HumanEval grading driver. Runs INSIDE the sandbox, standard library only.

    python3 -I -S -B lcb_driver.pyc < spec      (this file, compiled by execute/lcb.py)

It grades many samples in one jailed process. The jobs and the problems' tests come on stdin (see
``read_spec``); results go to fd 3, one JSON line per event:

    {"b": key}                      a sample started
    {"k": key, "v": [...], ...}     its per-test verdicts (stopping at the first failure)
    {"e": key}                      it ended

Processes (every one of them inside the jail):

* the **driver** (this process) reads the jobs and the problems' tests, compares outputs and reports.
  Untrusted code never runs in it.
* the **zygote**, forked from the driver before any test data is read: a lean warm interpreter
  (the modules programs use preloaded, objects frozen) that compiles a sample and forks one process
  per test (in faithful mode one per sample). Forking is this machine's main per-test cost and grows
  with the forking process's memory, which is why the tests are forked from the zygote and not from
  the driver. A test that kills or stops the zygote fails, and the driver starts a fresh zygote for
  the next sample.
* a **test process** per test: real fds 0/1/2 (stdin from a file; stdout and stderr to in-memory
  files the driver reads), fd 3 for a functional test's answer or a script's pass record, its own
  process group, CPU and file-size rlimits, killed at its deadline.

Expected outputs never reach a process that runs untrusted code, nor anything it can read: they come
on the driver's stdin (read to the end before any test runs: the jail's pid 1 holds that pipe too),
never as files; the zygote is forked before they are read and every sample process comes from it,
so no graded program has them in its memory; the driver makes itself non-dumpable
(``forbid_inspection``), so programs of the same uid cannot read its memory or file descriptors
through /proc or ptrace; the comparison is the driver's, so a program only ever sends its answer.

Modes (``config`` → ``mode``):

* ``robust``: every test is a real process — Python with fresh ``sys.std*`` over fds 0/1/2 and
  ``__name__ == "__main__"``, any other language exec'd from ``exec_argv``; stdout is compared line
  by line (optionally with a float tolerance). Functional (LeetCode) tests run the module and call
  the function in a process per test; the driver compares the JSON answer.
* ``faithful``: reproduces lcb_runner's in-process grader, quirks included (see ``_faithful_*``), in
  one process per sample forked from the zygote (upstream too runs one process per generation). It
  sends each test's output or return value to the driver, which compares it and answers whether to
  go on, so that grading still stops at the first failing test.
* ``script`` problems (HumanEval): one run of the program; it passes iff its last statement, the call
  ``check(<entry_point>)``, returned in time, as the driver's code in the test process reports (an exit
  status 0 alone is no pass: see ``SCRIPT_PASSED``).

The interpreter runs with ``-S``: ``site`` would import whatever ``.pth`` files in site-packages
import (here ~80 modules, threading among them, whose at-fork hook alone nearly doubled the cost of
a fork).
``_site_for_programs`` then gives programs what ``site`` gives them: site-packages on ``sys.path``
and the ``exit``/``quit``/``help``/``copyright``/``credits``/``license`` builtins.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import gc
import io
import marshal
import math
import os
import resource
import select
import signal
import sys
import time
import types
from typing import Any

TRIM = 300
DRIVER_PATH = os.path.abspath(__file__)  # what a replacement zygote runs


def trim(s: str, n: int = TRIM) -> str:
    return s if len(s) <= n else s[: n // 2] + f"…[{len(s) - n} chars]…" + s[-n // 2:]


def _print_exc() -> None:
    """The traceback of the exception being handled, as the interpreter prints an uncaught one (the
    C hook: no ``traceback`` module to load into every test process)."""
    sys.excepthook(*sys.exc_info())


# ---- output comparison --------------------------------------------------------------------------
# The rules are hrmcode/execute/compare.py's, shipped beside this driver as COMPARE_PYC (compiled, as
# the driver is) and loaded by the driver after the zygote is forked: the graded programs never need it.

COMPARE_PYC = "hrm_compare.pyc"
upstream_lines_match: Any = None
robust_lines_match: Any = None
values_equal: Any = None


def load_compare() -> None:
    global upstream_lines_match, robust_lines_match, values_equal
    with open(COMPARE_PYC, "rb") as fh:
        code = marshal.loads(fh.read()[16:])
    mod = types.ModuleType("hrm_compare")
    exec(code, mod.__dict__)
    upstream_lines_match, robust_lines_match = mod.upstream_lines_match, mod.robust_lines_match
    values_equal = mod.values_equal


def normalize(v: Any) -> Any:
    """Tuples become lists at every depth (JSON has no tuples)."""
    if isinstance(v, (list, tuple)):
        return [normalize(x) for x in v]
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items()}
    return v


# ---- process helpers ----------------------------------------------------------------------------


class Run:
    """What one forked child did: wait status (None: killed at the deadline), captured output."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.out = b""
        self.out_total = 0
        self.err = b""
        self.res = b""
        self.elapsed = 0.0
        self.killed: str | None = None  # "timeout"

    @property
    def exited_ok(self) -> bool:
        return self.status is not None and os.WIFEXITED(self.status) and os.WEXITSTATUS(self.status) == 0


class Captures:
    """Three in-memory files (memfd) a child writes its stdout, stderr and result (fd 3) to: no pipe
    to drain while it runs (one wake-up per test instead of one per chunk), no writable directory
    needed, and RLIMIT_FSIZE caps them. The driver makes them before forking the zygote, so the
    zygote's children write where the driver reads."""

    NAMES = ("stdout", "stderr", "result")

    def __init__(self, fds: tuple[int, ...] | None = None) -> None:
        self.fds = fds or tuple(os.memfd_create(name, 0) for name in self.NAMES)

    def reset(self) -> None:
        for fd in self.fds:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)

    @staticmethod
    def _read(fd: int, cap: int) -> tuple[bytes, int]:
        size = os.fstat(fd).st_size
        return os.pread(fd, min(size, cap), 0), size

    def collect(self, run: Run, out_cap: int) -> Run:
        run.out, run.out_total = self._read(self.fds[0], out_cap)
        run.err, _ = self._read(self.fds[1], 1 << 16)
        run.res, _ = self._read(self.fds[2], 8 << 20)
        return run


MAX_FD = min(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 4096)
FSIZE_HARD = resource.getrlimit(resource.RLIMIT_FSIZE)[1]


def _child_setup(stdin_path: str | None, fds: tuple[int, ...], cpu_s: float, fsize: int,
                 null_stdout: bool) -> None:
    # As little Python as possible runs here: every object it touches is a copy-on-write fault.
    os.setpgid(0, 0)  # its own group: killing it kills whatever it started
    inp = os.open(stdin_path or os.devnull, os.O_RDONLY)
    os.dup2(inp, 0)
    for i, fd in enumerate(fds, 1):
        os.dup2(fd, i)  # 1 stdout, 2 stderr, 3 result
    if null_stdout:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    # Nothing else stays open: not the driver's channel, not the zygote's pipes.
    os.closerange(1 + len(fds), MAX_FD)
    cpu = math.ceil(cpu_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if fsize:
        cap = fsize if FSIZE_HARD == resource.RLIM_INFINITY else min(fsize, FSIZE_HARD)
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, FSIZE_HARD))
    # ``random`` (if loaded) reseeds itself after fork: a child does not replay its siblings' numbers.


def _fork_wait(body: Any, timeout: float, stdin_path: str | None, fds: tuple[int, ...], cpu_s: float,
               fsize: int, null_stdout: bool) -> tuple[int, float]:
    """Fork a child with fd 0 ``stdin_path`` (or /dev/null) and fds 1, 2, … ``fds`` (fd 1 /dev/null
    with ``null_stdout``), run ``body()`` in it (which must not return), wait until it exits or
    ``timeout``, then kill its process group. Its wait status (-1: killed at the deadline) and the
    seconds it took. ``fds`` are all above ``len(fds)`` (the driver made them while it held 0–3)."""
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            _child_setup(stdin_path, fds, cpu_s, fsize, null_stdout)
            body()
        except BaseException:
            _print_exc()
        os._exit(70)
    try:
        os.setpgid(pid, pid)  # also here, so that the group exists whenever the deadline comes
    except OSError:
        pass
    pidfd = os.pidfd_open(pid)
    try:
        if select.select([pidfd], [], [], timeout)[0]:
            status = os.waitpid(pid, 0)[1]
        else:
            status = -1
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os.waitpid(pid, 0)
        elapsed = time.monotonic() - t0
        try:
            os.killpg(pid, signal.SIGKILL)  # whatever it started and left in its group
        except OSError:
            pass
    finally:
        os.close(pidfd)
    return status, elapsed


def sweep_strays(keep: set[int]) -> None:
    """Kill every process of the jail's pid namespace but its init, this driver and ``keep`` (the
    zygote): a sample that escaped its process group (setsid) must not run on into the next
    sample's time."""
    spare = {1, os.getpid(), os.getppid(), *keep}
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in spare:
            try:
                os.kill(int(name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break


# ---- what a test process runs -------------------------------------------------------------------


def _new_stdio() -> tuple[Any, Any, Any]:
    """sys.std* as a fresh interpreter builds them over fds 0/1/2 (with the jail's UTF-8 locale)."""
    return (open(0, encoding="utf-8", errors="surrogateescape", closefd=False),
            open(1, "w", encoding="utf-8", errors="surrogateescape", closefd=False),
            open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1))


_STDIO: tuple[Any, Any, Any] | None = None  # built once by the zygote, adopted by every test process


def prepare_stdio(caps: Captures) -> None:
    """In the zygote: build the std streams every test process adopts, over the kinds of file a
    test has (a regular file at offset 0 as stdin, the empty in-memory files as stdout and stderr),
    so that they are what a fresh build in the test would be. Building them in each test touched
    ~100 pages of the zygote's memory: ~100 copy-on-write faults per test."""
    global _STDIO
    caps.reset()
    saved = [os.dup(fd) for fd in (0, 1, 2)]
    source = os.open(DRIVER_PATH, os.O_RDONLY)
    try:
        for fd, target in zip((0, 1, 2), (source, caps.fds[0], caps.fds[1]), strict=True):
            os.dup2(target, fd)
        _STDIO = _new_stdio()
    finally:
        for fd, s in zip((0, 1, 2), saved, strict=True):
            os.dup2(s, fd)
            os.close(s)
        os.close(source)


def _fresh_stdio() -> None:
    sys.stdin, sys.stdout, sys.stderr = _STDIO or _new_stdio()
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr


def _interpreter_exit(code: int) -> None:
    """What the interpreter does after __main__: join non-daemon threads, atexit, flush, exit."""
    try:
        threading = sys.modules.get("threading")  # only a program that imported it has threads
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
        atexit._run_exitfuncs()
    except BaseException:
        _print_exc()
        code = code or 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            code = code or 120  # CPython's status when flushing stdout at exit fails
    os._exit(code)


def _exit_code(e: SystemExit) -> int:
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xFF
    print(e.code, file=sys.stderr)
    return 1


def run_python_main(code_obj: Any) -> None:
    """In a forked child whose fds are set: run the program as __main__, then exit as Python would."""
    os.close(3)  # a whole program gets only stdin, stdout and stderr
    _fresh_stdio()
    sys.argv = ["main.py"]
    g = {"__name__": "__main__", "__builtins__": builtins, "__file__": "main.py", "__doc__": None,
         "__package__": None, "__spec__": None}
    code = 0
    try:
        exec(code_obj, g)
    except SystemExit as e:
        code = _exit_code(e)
    except BaseException:
        _print_exc()
        code = 1
    _interpreter_exit(code)


# ---- HumanEval: a pass is check() returning, reported by the driver's code -------------------------
#
# Exit status 0 says nothing: ``sys.exit(0)`` or ``os._exit(0)`` before the asserts run ends a program
# with status 0 too (upstream counts both as failures). So the test process runs the program but for its
# last statement, then that statement, ``check(<entry_point>)``, and only when that call has returned does
# the code below write the pass record — ``SCRIPT_PASSED`` with a token the driver drew for this run —
# to the result channel, which the driver reads after the process has ended. The record never appears
# on stdout, and the functions, the descriptor and the token it needs are bound before the program runs,
# so replacing ``os.write`` or ``eval``, closing the channel, dup2-ing another file over it, writing to
# it, exiting (any way) or killing itself all leave no valid record. What remains: the program runs in
# this process, so one that walks the interpreter's frames or memory on purpose can find the token and
# the descriptor and forge the record — as it can defeat check()'s asserts without one (a returned object
# equal to everything): the limit of grading in-process, upstream's too.

SCRIPT_PASSED = b"check() returned %s\n"


def _split_script(code: str) -> tuple[Any, Any]:
    """A script compiled in two: everything before its last statement, and that statement, the call
    ``check(...)`` (an expression) whose return is the pass. ValueError if the program does not end so."""
    import _ast as ast  # the C module alone: ``ast`` would add its Python half to every fork's zygote

    tree = compile(code, "main.py", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    last = tree.body[-1] if tree.body else None
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Name) and last.value.func.id == "check"):
        raise ValueError("the program does not end with the call check(<entry_point>)")
    head = ast.Module(body=tree.body[:-1], type_ignores=tree.type_ignores)
    return (compile(head, "main.py", "exec", dont_inherit=True),
            compile(ast.Expression(last.value), "main.py", "eval", dont_inherit=True))


def run_check_script(head: Any, call: Any, token: bytes) -> None:
    """In a forked child whose fds are set: ``head`` as __main__, then ``call``; the pass record on the
    result channel only if the call returned (see ``SCRIPT_PASSED``). Never returns."""
    # Bound before the program runs: it may replace any of these names, not the objects bound here.
    run, evaluate, write, exit_ = exec, eval, os.write, os._exit
    fstat, ftruncate, pwrite = os.fstat, os.ftruncate, os.pwrite
    res_fd = os.dup(3)  # close-on-exec: a program it execs has no channel
    os.close(3)
    st = fstat(res_fd)
    channel, record = (st.st_dev, st.st_ino), SCRIPT_PASSED % token
    _fresh_stdio()
    sys.argv = ["main.py"]
    g = {"__name__": "__main__", "__builtins__": builtins, "__file__": "main.py", "__doc__": None,
         "__package__": None, "__spec__": None}
    try:
        run(head, g)
        evaluate(call, g)
    except SystemExit:  # its code is not formatted: that would run the program's __repr__ here
        write(2, b"the program exited (SystemExit) before check() returned\n")
        exit_(1)
    except BaseException:
        _print_exc()
        exit_(1)
    # check() returned. The channel must still be the file the driver reads (not closed, nor another
    # file dup2-ed over it); what the program wrote to it is discarded.
    try:
        st = fstat(res_fd)
        if (st.st_dev, st.st_ino) != channel:
            raise OSError("another file")
        ftruncate(res_fd, 0)
        pwrite(res_fd, record, 0)
    except OSError as e:
        write(2, f"the program closed or replaced the result channel ({e})\n".encode())
        exit_(1)
    exit_(0)  # no atexit hooks, no thread joins: the outcome is settled (upstream's process ends alike)


def exec_program(argv: list[str]) -> None:
    os.close(3)
    os.execvp(argv[0], argv)


def _find_callable(g: dict[str, Any], fn: str) -> Any:
    cls = g.get("Solution")
    if isinstance(cls, type) and hasattr(cls, fn):
        return lambda *a: getattr(cls(), fn)(*a)  # a fresh instance per test, as LeetCode does
    f = g.get(fn)
    return f if callable(f) else None


def _call_in_child(code_obj: Any, fn: str, args: list[Any]) -> None:
    """Runs the module, calls the function, writes the JSON of the answer to fd 3. The comparison is
    the driver's: this process runs untrusted code, so what it reports is only its answer."""
    import json

    res_fd = os.dup(3)
    os.close(3)
    _fresh_stdio()  # fd 1 is /dev/null: a function's prints are not its answer
    g: dict[str, Any] = {"__name__": "solution", "__builtins__": builtins}
    try:
        exec(code_obj, g)
        target = _find_callable(g, fn)
        if target is None:
            rec: dict[str, Any] = {"error": f"no class Solution with a method {fn} and no function {fn}"}
        else:
            rec = {"value": json.dumps(normalize(target(*args)))}
    except MemoryError:
        rec = {"error": "MemoryError", "memory": True}
    except BaseException as e:
        rec = {"error": trim(f"{type(e).__name__}: {e}")}
    try:
        data = json.dumps(rec).encode()
    except (TypeError, ValueError) as e:
        data = json.dumps({"error": trim(f"the answer is not JSON: {e}")}).encode()
    while data:
        data = data[os.write(res_fd, data):]
    os._exit(0)


# ---- the zygote: compiles a sample, forks a process per test ---------------------------------------
#
# After each fork every page of the zygote is shared with the test process, and each page the zygote
# then writes to costs a copy-on-write fault: so the zygote does as little as it can between tests.
# A sample is loaded once with everything its tests need (b"L<n>\n" and n bytes of marshal, answered
# alike); a test is then one line ("3\n") in and one line (wait status or -1 if killed at the deadline,
# seconds) out. The zygote imports neither json nor the rest of the driver's modules (see _preload).


def _read_message(fd: int, wait: float | None = None) -> tuple[bytes, bytes]:
    """One message from a pipe: a line, and after a line b"L<n>" the n bytes it announces. The peer
    sends one message and waits for the answer, so nothing follows it. (b"", b"") at end of file;
    TimeoutError after ``wait`` seconds."""
    deadline = None if wait is None else time.monotonic() + wait
    data = b""
    end = need = -1
    while need < 0 or len(data) < need:
        if deadline is not None and not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise TimeoutError
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"", b""
        data += chunk
        if need < 0 and (end := data.find(b"\n")) >= 0:
            need = end + 1 + (int(data[1:end]) if data[:1] == b"L" else 0)
    return data[:end], data[end + 1:need]


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _drain(fd: int, limit: int = 1 << 26) -> bytes:
    """What is in the pipe ``fd`` now, without waiting (up to about ``limit`` bytes)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit and select.select([fd], [], [], 0)[0]:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _load_program(msg: dict[str, Any], fds: tuple[int, ...], talk: tuple[int, int]) -> tuple[Any, dict[str, Any]]:
    """The zygote's half of a load: the plan its tests run by (see ``_test_process``), or the reason
    there is nothing to run. ``fds``: stdout, stderr and result files; ``talk``: a faithful sample's
    pipes to and from the driver."""
    kind = msg["kind"]
    timeout = msg["timeout"]
    if kind == "call" and "statistics" not in sys.modules:
        _preload(_ALL_MODULES)
    if kind == "faithful":  # one process runs all the sample's tests (it compiles the code itself, as upstream)
        if "ast" not in sys.modules:  # upstream's prelude, its AST rewrites, its guard's modules
            # (subprocess imports threading, whose at-fork hook then runs once per sample, not per test)
            _preload((*_ALL_MODULES, "ast", "shutil", "subprocess"))
        _drain(talk[1])  # answers meant for an earlier sample's process that ended before reading them
        return (lambda t: faithful_sample(msg), [None], timeout, 0, False, (fds[0], fds[1], *talk)), {}
    if kind == "exec":
        argv = msg["argv"]
        body: Any = lambda t: exec_program(argv)  # noqa: E731
    elif kind == "script":
        try:
            head, call = _split_script(msg["code"])
        except SyntaxError as e:
            return None, {"v": ["compile_error"], "error": trim(f"{type(e).__name__}: {e}", 1000)}
        except Exception as e:  # not ending with check(...); RecursionError, MemoryError
            return None, {"v": ["runtime_error"], "error": trim(f"{type(e).__name__}: {e}", 1000)}
        token = msg["token"]
        body = lambda t: run_check_script(head, call, token)  # noqa: E731
    else:
        try:
            code_obj = compile(msg["code"], "main.py" if kind == "main" else "solution.py", "exec",
                               dont_inherit=True)
            if kind == "call":
                # LeetCode's judge pre-imports typing, collections, heapq… and starter code relies on it
                # (``List[int]`` with no import): upstream's prelude, so that a correct solution passes.
                code_obj = compile(faithful_prelude() + msg["code"], "solution.py", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:  # ValueError: a null byte in the source
            return None, {"v": ["compile_error"], "error": trim(f"{type(e).__name__}: {e}", 1000)}
        except Exception as e:  # RecursionError, MemoryError: what `python main.py` would die of at start
            return None, {"v": ["runtime_error"], "error": trim(f"{type(e).__name__}: {e}", 1000)}
        if kind == "call":
            fn, args = msg["func"], msg["args"]
            body = lambda t: _call_in_child(code_obj, fn, args[t])  # noqa: E731
        else:
            body = lambda t: run_python_main(code_obj)  # noqa: E731
    stdin = msg.get("stdin") or [None] * msg["tests"]
    return (body, stdin, timeout, msg["cap"], kind == "call", fds), {}


def _test_process(plan: tuple[Any, ...], t: int) -> tuple[int, float]:
    body, stdin, timeout, cap, null_stdout, fds = plan
    return _fork_wait(lambda: body(t), timeout, stdin[t], fds, timeout, cap, null_stdout)


def zygote_loop(cmd_fd: int, reply_fd: int, caps: Captures, talk: tuple[int, int]) -> None:
    """Serve the driver until end of input: a load (reply: ``{}``, or the sample's result when it
    cannot run); a test number (reply: its status and seconds)."""
    prepare_stdio(caps)
    gc.freeze()  # a collection in a test process never walks (nor copies) what the zygote holds
    plan: Any = None
    while True:
        line, payload = _read_message(cmd_fd)
        if not line:
            os._exit(0)
        if line[0] == 76:  # "L": load a sample
            plan, reply = _load_program(marshal.loads(payload), caps.fds, talk)
            data = marshal.dumps(reply)
            _write_all(reply_fd, b"L%d\n" % len(data) + data)
        else:
            status, elapsed = _test_process(plan, int(line))
            _write_all(reply_fd, b"%d %.6f\n" % (status, elapsed))


class ZygoteLost(Exception):
    """The zygote died or stopped answering during a test: that test's doing (it runs as the same
    user and can signal it). ``verdict`` is what the test gets."""

    def __init__(self, verdict: str, why: str):
        super().__init__(why)
        self.verdict, self.why = verdict, why


class Zygote:
    """The driver's handle on the zygote. The first is forked before any test data is read; a
    replacement (after a test killed or stopped one) is a fresh interpreter, so that it too holds
    no expected outputs."""

    def __init__(self, caps: Captures):
        self.caps = caps
        self.sweep = False  # whether the jail's pid namespace is private (set by the driver)
        self.timeout, self.out_cap = 0.0, 0  # the loaded sample's
        # A faithful sample's process sends the driver each test's outcome (``records``) and reads its
        # b"+" (go on) or b"-" (stop) (``answers``). Made once, like ``caps``, and handed to every
        # zygote; the driver's ends are never in one.
        self.records, rec_w = os.pipe()
        ans_r, self.answers = os.pipe()
        os.set_blocking(self.records, False)
        os.set_blocking(self.answers, False)
        self.talk = (rec_w, ans_r)
        self._start(fresh=False)

    def _start(self, fresh: bool) -> None:
        cmd_r, cmd_w = os.pipe()
        rep_r, rep_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                for fd in (cmd_w, rep_r, self.records, self.answers):
                    os.close(fd)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)  # not the driver's stdin, the pipe the tests come through
                os.close(null)
                with contextlib.suppress(OSError):
                    os.close(3)  # the result channel is the driver's alone
                if fresh:
                    fds = [cmd_r, rep_w, *self.caps.fds, *self.talk]
                    for fd in fds:
                        os.set_inheritable(fd, True)
                    os.execv(sys.executable, [sys.executable, "-I", "-S", "-B", DRIVER_PATH, "--zygote",
                                              *map(str, fds)])
                zygote_loop(cmd_r, rep_w, self.caps, self.talk)
            finally:
                os._exit(70)
        os.close(cmd_r)
        os.close(rep_w)
        self.pid, self.cmd, self.replies = pid, cmd_w, rep_r

    def close(self) -> None:
        """End the zygote (end of input) and reap it, so that its CPU time counts in the driver's."""
        with contextlib.suppress(OSError):
            os.close(self.cmd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        os.close(self.replies)

    def _replace(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)
        self.close()
        if self.sweep:
            sweep_strays(set())  # the test it was running, if that is still alive
        self._start(fresh=True)

    def _ask(self, msg: bytes, wait: float) -> tuple[bytes, bytes]:
        with contextlib.suppress(OSError):  # a dead zygote: the reply says so
            _write_all(self.cmd, msg)
        return self._reply(wait)

    def _reply(self, wait: float) -> tuple[bytes, bytes]:
        try:
            line, payload = _read_message(self.replies, wait)
        except TimeoutError:
            self._replace()
            raise ZygoteLost("timeout", "time limit exceeded (the test stopped the grading process)") from None
        except OSError:
            line = payload = b""
        if not line:
            self._replace()
            raise ZygoteLost("runtime_error", "the test killed the grading process")
        return line, payload

    def load(self, msg: dict[str, Any], wait: float) -> dict[str, Any] | None:
        """Compile a sample in the zygote and give it what its tests need (``kind``, ``code`` or
        ``argv``, ``func``, ``tests`` and per test ``stdin`` or ``args``, ``timeout``, ``cap``).
        None, or the sample's result when it cannot run."""
        self.timeout, self.out_cap = msg["timeout"], msg["cap"]
        data = marshal.dumps(msg)
        try:
            return marshal.loads(self._ask(b"L%d\n" % len(data) + data, wait)[1]) or None
        except ZygoteLost as e:  # compiling the sample killed or hung the zygote
            return {"v": [e.verdict], "error": "the grading process died or hung compiling the sample"}

    def run(self, t: int) -> Run:
        """Test ``t`` of the loaded sample in a fresh process; raises ZygoteLost."""
        self.caps.reset()
        return self._ran(self._ask(b"%d\n" % t, 2 * self.timeout + 10)[0])

    def converse(self, judge: FaithfulJudge, wait: float) -> Run:
        """Run the loaded faithful sample (one process for all its tests), handing ``judge`` what it
        sends as it comes; raises ZygoteLost."""
        self.caps.reset()
        with contextlib.suppress(OSError):
            _write_all(self.cmd, b"0\n")
        deadline = time.monotonic() + wait
        while True:
            ready = select.select([self.records, self.replies], [], [], max(0.0, deadline - time.monotonic()))[0]
            if self.records in ready:
                judge.feed(_drain(self.records, 1 << 20))
            if not ready or self.replies in ready:
                break
        line = self._reply(max(0.0, deadline - time.monotonic()))[0]
        judge.feed(_drain(self.records))  # what it sent just before it ended
        return self._ran(line)

    def _ran(self, line: bytes) -> Run:
        status, elapsed = line.split()
        run = Run()
        run.status = None if status == b"-1" else int(status)
        run.killed = "timeout" if run.status is None else None
        run.elapsed = float(elapsed)
        return self.caps.collect(run, self.out_cap)


# ---- robust: one real process per test, compared here -----------------------------------------------


def _proc_verdict(run: Run, out_cap: int) -> tuple[str, str]:
    """The verdict of a test process that did not exit 0."""
    tail = bytes(run.err[-2000:]).decode("utf-8", "replace")
    if run.out_total >= out_cap or "File too large" in tail:
        return "output_limit", "output exceeded the cap"
    if run.killed == "timeout":
        return "timeout", "time limit exceeded"
    if "MemoryError" in tail or "out of memory" in tail.lower() or "bad_alloc" in tail:
        return "memory_limit", "memory limit exceeded"
    assert run.status is not None
    if os.WIFSIGNALED(run.status):
        sig = os.WTERMSIG(run.status)
        if sig == signal.SIGXCPU:
            return "timeout", "CPU time limit exceeded"
        if sig == signal.SIGKILL:
            return "memory_limit", "killed (SIGKILL: the memory cgroup)"
        return "runtime_error", f"killed by {signal.Signals(sig).name}"
    return "runtime_error", f"exit status {os.waitstatus_to_exitcode(run.status)}: {trim(tail)}"


def robust_stdin(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any], zyg: Zygote) -> dict[str, Any]:
    timeout, tol = cfg["timeout"], cfg.get("float_tol")
    out_cap = cfg.get("output_cap", 16 << 20)
    argv = cfg.get("exec_argv")
    load = {"kind": "exec", "argv": argv} if argv else {"kind": "main", "code": job["code"]}
    failed = zyg.load({**load, "tests": len(prob["outputs"]), "stdin": prob["input_files"], "timeout": timeout,
                       "cap": out_cap}, sample_budget(cfg, len(prob["outputs"])))
    if failed:
        return failed
    verdicts: list[str] = []
    fail: dict[str, Any] = {}
    elapsed = 0.0
    for t, expected in enumerate(prob["outputs"]):
        try:
            run = zyg.run(t)
        except ZygoteLost as e:
            verdicts.append(e.verdict)
            fail = {"test": t, "expected": trim(expected), "error": e.why}
            break
        elapsed += run.elapsed
        got = run.out.decode("utf-8", "replace")
        why = ""
        if run.exited_ok and not run.killed and run.out_total < out_cap:
            v = "pass" if robust_lines_match(got, expected, tol) else "wrong_answer"
        else:
            v, why = _proc_verdict(run, out_cap)
        verdicts.append(v)
        if v != "pass":
            fail = {"test": t, "expected": trim(expected), "got": trim(got)}
            if why:
                fail["error"] = why
            if run.err:
                fail["stderr"] = trim(bytes(run.err).decode("utf-8", "replace"), 1000)
            break
    return {"v": verdicts, "time_s": round(elapsed, 4), **({"failure": fail} if fail else {})}


def robust_function(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any], zyg: Zygote) -> dict[str, Any]:
    """LeetCode style, each test in its own process: prelude + module, a fresh Solution(), the call,
    the JSON of the answer back to this (trusted) process, which compares."""
    import json

    timeout, tol = cfg["timeout"], cfg.get("float_tol")
    out_cap = cfg.get("output_cap", 16 << 20)  # the program's own prints go to /dev/null
    failed = zyg.load({"kind": "call", "code": job["code"], "func": prob["func_name"], "args": prob["inputs"],
                       "tests": len(prob["outputs"]), "timeout": timeout, "cap": out_cap},
                      sample_budget(cfg, len(prob["outputs"])))
    if failed:
        return failed
    verdicts: list[str] = []
    fail: dict[str, Any] = {}
    elapsed = 0.0
    for t, (args, expected) in enumerate(zip(prob["inputs"], prob["outputs"], strict=False)):
        try:
            run = zyg.run(t)
        except ZygoteLost as e:
            verdicts.append(e.verdict)
            fail = {"test": t, "input": trim(json.dumps(args)), "expected": trim(json.dumps(expected)),
                    "error": e.why}
            break
        elapsed += run.elapsed
        rec: dict[str, Any] = {}
        if run.exited_ok and not run.killed:
            try:
                rec = json.loads(run.res)
            except ValueError:
                rec = {"error": "no answer"}
        if "value" in rec:
            try:
                got = json.loads(rec["value"])
                v, why = ("pass" if values_equal(got, expected, tol) else "wrong_answer"), ""
            except (TypeError, ValueError):
                got, v, why = None, "runtime_error", "the answer is not JSON"
        elif rec:
            got, v, why = None, ("memory_limit" if rec.get("memory") else "runtime_error"), str(rec.get("error"))
        else:
            got = None
            v, why = _proc_verdict(run, 1 << 30)
        verdicts.append(v)
        if v != "pass":
            fail = {"test": t, "input": trim(json.dumps(args)), "expected": trim(json.dumps(expected))}
            if got is not None:
                fail["got"] = trim(json.dumps(got))
            if why:
                fail["error"] = why
            break
    return {"v": verdicts, "time_s": round(elapsed, 4), **({"failure": fail} if fail else {})}


def run_script(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any], zyg: Zygote) -> dict[str, Any]:
    """HumanEval: program = prompt + completion + test + check(entry_point); pass iff check() returned,
    which the test process's driver code reports with this run's token (see ``SCRIPT_PASSED``)."""
    timeout = cfg["timeout"]
    token = os.urandom(16).hex().encode()  # drawn per run: a record from another run is no pass
    failed = zyg.load({"kind": "script", "code": job["code"], "token": token, "tests": 1, "timeout": timeout,
                       "cap": 16 << 20}, sample_budget(cfg, 1))
    if failed:
        return failed
    try:
        run = zyg.run(0)
    except ZygoteLost as e:
        return {"v": [e.verdict], "failure": {"test": 0, "error": e.why}}
    ended = run.exited_ok and not run.killed
    if ended and run.res == SCRIPT_PASSED % token:
        return {"v": ["pass"], "time_s": round(run.elapsed, 4)}
    text = bytes(run.err).decode("utf-8", "replace")
    if ended:  # status 0 and no record: it ended its process itself (os._exit(0)) before check() returned
        v, why = "runtime_error", "the program exited with status 0 before check() returned"
    else:
        v, why = _proc_verdict(run, 16 << 20)
    if v == "runtime_error" and "AssertionError" in text:
        v = "wrong_answer"  # check() asserts: a failed assertion is a wrong answer, not a crash
    return {"v": [v], "time_s": round(run.elapsed, 4),
            "failure": {"test": 0, "error": why, "stderr": trim(text, 1000)}}


# ---- faithful: lcb_runner's grader, quirks included ----------------------------------------------

# lcb_runner prepends these star-imports and imports to every program and raises the recursion limit.
_PRELUDE_MODULES = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
                    "statistics", "itertools", "functools", "operator", "io", "sys", "json")
_STAR_ONLY = ("builtins", "typing")


def faithful_prelude() -> str:
    # The order matters: builtins comes after sys and io, so ``exit`` and ``open`` are the builtins'.
    lines = [f"from {m} import *" for m in (*_PRELUDE_MODULES, *_STAR_ONLY)]
    lines += [f"import {m}" for m in _PRELUDE_MODULES]
    lines.append("sys.setrecursionlimit(50000)")
    return "\n".join(lines) + "\n"


class FaithfulTimeout(Exception):
    """Named so that ``"timeoutexception" in repr(e).lower()`` holds, which is how upstream spots it."""

    def __repr__(self) -> str:
        return "TimeoutException()"


def _alarm(signum: int, frame: Any) -> None:
    raise FaithfulTimeout()


class _ReplayBuffer:
    """Upstream's ``sys.stdin.buffer``: read() gives all input, readline() the FIRST line, every time."""

    def __init__(self, text: str):
        self._data = text.encode("utf-8")

    def read(self, *args: Any) -> bytes:
        return self._data

    def readline(self, *args: Any) -> bytes:
        return self._data.split(b"\n")[0] + b"\n"


class FaithfulStdin:
    """Upstream's stdin stand-in. read() returns the whole input on every call; readline() reads
    lines in turn; readlines() splits on "\\n" (no line ends kept); no __iter__, so ``for line in
    sys.stdin`` raises TypeError; other attributes come from a StringIO of the input."""

    def __init__(self, text: str):
        self._text = text
        self._io = io.StringIO(text)
        self.buffer = _ReplayBuffer(text)

    def read(self, *args: Any) -> str:
        return self._text

    def readline(self, *args: Any) -> str:
        return self._io.readline(*args)

    def readlines(self, *args: Any) -> list[str]:
        return self._text.split("\n")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._io, name)


def _strip_main_guard(code: str) -> str:
    """A trailing ``if __name__ == '__main__':`` block is replaced by its body (upstream does this)."""
    import ast  # faithful mode only (the driver loads it once when it grades faithfully)

    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            return ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)
    except Exception:
        pass
    return code


def _wrap_in_function(code: str) -> str:
    """Upstream keeps top-level imports and moves every other statement into ``wrapped_function()``:
    module variables become locals, which is why ``global`` statements break."""
    import ast

    try:
        tree = ast.parse(code)
        imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
        rest = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
        fn = ast.FunctionDef(name="wrapped_function",
                             args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
                             body=rest, decorator_list=[], lineno=-1)
        return faithful_prelude() + "\n" + ast.unparse(imports) + "\n" + ast.unparse(fn)
    except Exception:
        return code  # upstream then executes the code unchanged (and usually fails to find the function)


def _reliability_guard() -> None:
    """The parts of upstream's guard that change verdicts: exit/quit gone, destructive os calls nulled."""
    builtins.exit = None  # type: ignore[assignment]
    builtins.quit = None  # type: ignore[assignment]
    for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork",
                 "forkpty", "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod", "fchown",
                 "chmod", "chown", "chroot", "lchown", "getcwd", "chdir"):
        if hasattr(os, name):
            setattr(os, name, None)
    import shutil
    import subprocess
    shutil.rmtree = shutil.move = shutil.chown = None  # type: ignore[assignment]
    subprocess.Popen = None  # type: ignore[assignment,misc]
    for mod in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[mod] = None  # type: ignore[assignment]


def _compile_module(code: str, timeout: int) -> Any:
    signal.alarm(timeout)
    try:
        mod = types.ModuleType("tmp_sol", "")
        exec(code, mod.__dict__)
        return mod.Solution() if "class Solution" in code else mod
    finally:
        signal.alarm(0)


_FAITHFUL_ERRORS = {-3: "Time Limit Exceeded", -4: "Runtime Error"}


def _faithful_error(e: BaseException) -> dict[str, Any]:
    code = -3 if "timeoutexception" in repr(e).lower() else -4
    return {"code": code, "error": trim(repr(e))}


# Deeper than this, a returned value is sent as opaque: the driver, which decodes JSON at the default
# recursion limit, could hold no expected output so deep, so it never equals one.
MAX_DEPTH = 900


def _json_exact(v: Any, depth: int = 0) -> bool:
    """Whether ``json.dumps(v)`` gives ``v`` back exactly: JSON's built-in types, no subclass, finite
    floats, string keys."""
    t = type(v)
    if t is str or t is int or t is bool or v is None:
        return True
    if t is float:
        return math.isfinite(v)
    if depth >= MAX_DEPTH:
        raise RecursionError
    if t is list:
        return all(_json_exact(x, depth + 1) for x in v)
    if t is dict:
        return all(type(k) is str and _json_exact(x, depth + 1) for k, x in v.items())
    return False


def _tagged(v: Any, depth: int = 0) -> list[Any]:
    """``v`` as tagged JSON keeping what upstream's ``pred == expected`` tells apart, ``expected`` being
    JSON data: subclasses of int, float, str, list and dict compare as their base type; infinities,
    complex numbers (``3+0j == 3``) and non-string keys are kept; anything else (a nested tuple, a set,
    an object) never equals JSON data and is kept as its type's name. (An object whose ``__eq__`` is
    always true passed upstream; here it does not.)"""
    if depth >= MAX_DEPTH:
        raise RecursionError
    if v is None:
        return ["n"]
    if isinstance(v, bool):
        return ["b", bool(v)]
    if isinstance(v, int):
        return ["i", int.__int__(v)]
    if isinstance(v, float):
        f = float.__float__(v)
        return ["f", f if math.isfinite(f) else repr(f)]
    if isinstance(v, complex):
        return ["c", _tagged(v.real), _tagged(v.imag)]
    if isinstance(v, str):
        return ["s", str.__str__(v)]
    if isinstance(v, list):
        return ["l", [_tagged(x, depth + 1) for x in v]]
    if isinstance(v, dict):
        return ["d", [[_tagged(k, depth + 1), _tagged(x, depth + 1)] for k, x in v.items()]]
    return ["o", type(v).__name__]


def _value_record(v: Any) -> dict[str, Any]:
    """A return value for the driver to compare: JSON when it is plain JSON data (the usual case),
    else tagged (``_tagged``)."""
    import json

    try:
        return {"json": json.dumps(v)} if _json_exact(v) else {"tagged": _tagged(v)}
    except (RecursionError, ValueError):  # nested past MAX_DEPTH; an int too long for str()
        return {"tagged": ["o", type(v).__name__]}


def _faithful_stdin(msg: dict[str, Any], send: Any, go_on: Any) -> None:
    timeout = msg["alarm"]
    code = _wrap_in_function(_strip_main_guard(msg["code"]))
    try:
        method = _compile_module(code, timeout).wrapped_function
    except BaseException as e:
        send({"compile": trim(f"Error during testing: {e}")})
        return
    for inp in msg["inputs"]:
        real_stdout, real_stdin = sys.stdout, sys.stdin
        captured = io.StringIO()
        captured.close = lambda *a: None  # type: ignore[method-assign]  # upstream makes close() a no-op
        sys.stdout, sys.stdin = captured, FaithfulStdin(inp)
        rec: dict[str, Any] | None = None
        signal.alarm(timeout)
        try:
            try:
                method()
            except SystemExit:
                pass
            signal.alarm(0)
        except BaseException as e:  # upstream catches Exception; a KeyboardInterrupt would end its process
            signal.alarm(0)
            rec = _faithful_error(e)
        finally:
            signal.alarm(0)
            sys.stdout, sys.stdin = real_stdout, real_stdin
        send(rec or {"out": captured.getvalue()})
        if not go_on():
            return


def _faithful_function(msg: dict[str, Any], send: Any, go_on: Any) -> None:
    timeout = msg["alarm"]
    code = faithful_prelude() + "\n\n" + msg["code"]
    try:
        method = getattr(_compile_module(code, timeout), msg["func"])
    except BaseException as e:
        send({"compile": trim(f"Error during testing: {e}")})
        return
    for args in msg["inputs"]:
        signal.alarm(timeout)
        try:
            pred = method(*args)
            signal.alarm(0)
            if isinstance(pred, tuple):
                pred = list(pred)  # top level only, as upstream
            rec = _value_record(pred)
        except BaseException as e:
            signal.alarm(0)
            rec = _faithful_error(e)
        finally:
            signal.alarm(0)
        send(rec)
        if not go_on():
            return


def faithful_sample(msg: dict[str, Any]) -> None:
    """A faithful sample's process, forked from the zygote with the driver's pipes as fds 3 and 4: upstream's
    grader, which sends each test's outcome (b"<n>\\n" and n bytes of JSON) and goes on only when the
    driver, which alone has the expected outputs, answers b"+"."""
    import json

    dumps, write, read = json.dumps, os.write, os.read  # bound before the program can replace them
    out_fd, ans_fd = os.dup(3), os.dup(4)
    os.close(3)
    os.close(4)

    def send(rec: dict[str, Any]) -> None:
        data = dumps(rec).encode()
        data = b"%d\n" % len(data) + data
        while data:
            data = data[write(out_fd, data):]

    def go_on() -> bool:
        try:
            return read(ans_fd, 1) == b"+"
        except OSError:
            return False

    # Upstream's grader runs in a multiprocessing child: stdin is /dev/null there and nothing the
    # program writes outside the captured sys.stdout is seen.
    for fd, mode in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        nul = os.open(os.devnull, mode)
        os.dup2(nul, fd)
        os.close(nul)
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    signal.signal(signal.SIGALRM, _alarm)
    _reliability_guard()
    (_faithful_function if msg["fkind"] == "function" else _faithful_stdin)(msg, send, go_on)
    os._exit(0)


def verdict_of_code(c: Any) -> str:
    if c is True:
        return "pass"
    return {False: "wrong_answer", -2: "wrong_answer", -3: "timeout", -4: "runtime_error"}.get(c, "harness_error")


# ---- the job loop ---------------------------------------------------------------------------------


def sample_budget(cfg: dict[str, Any], n_tests: int) -> float:
    """Upstream's global budget per generation: (timeout + 1) · tests + 5 seconds."""
    return (int(cfg["timeout"]) + 1) * max(1, n_tests) + 5


def emit(obj: dict[str, Any]) -> None:
    """One event line on the result channel (fd 3, held by the driver alone)."""
    import json

    data = (json.dumps(obj) + "\n").encode()
    while data:
        data = data[os.write(3, data):]


class Opaque:
    """A returned value of a type JSON data never equals (see ``_tagged``): equal only to itself."""

    def __init__(self, name: Any):
        self.name = str(name)

    def __repr__(self) -> str:
        return f"<{self.name}>"


def untagged(x: list[Any]) -> Any:
    """The value ``_tagged`` describes (built-in types and ``Opaque`` only)."""
    tag = x[0]
    if tag == "n":
        return None
    if tag in ("b", "i", "s"):
        return x[1]
    if tag == "f":
        return float(x[1])
    if tag == "c":
        return complex(untagged(x[1]), untagged(x[2]))
    if tag == "l":
        return [untagged(y) for y in x[1]]
    if tag == "d":
        return {untagged(k): untagged(y) for k, y in x[1]}
    if tag == "o":
        return Opaque(x[1])
    raise ValueError(f"unknown tag {tag!r}")


class FaithfulJudge:
    """The driver's half of a faithful sample: takes each test's outcome as the sample's process sends
    it, compares it with the expected output as upstream does, and answers b"+" (go on) or b"-" (a
    failure, or the last test). Whatever the process sends (the program can write on that pipe too) is
    at most its answer to the next test, judged in turn: it never sees an expected output."""

    def __init__(self, prob: dict[str, Any], answers: int):
        self.function = prob["kind"] == "function"
        self.inputs, self.outputs = prob["inputs"], prob["outputs"]
        self.answers = answers
        self.codes: list[Any] = []
        self.meta: dict[str, Any] = {}
        self.compile_error: str | None = None
        self.done = not self.outputs
        self.buf = bytearray()

    def feed(self, data: bytes) -> None:
        if self.done:
            return
        self.buf += data
        while not self.done:
            end = self.buf.find(b"\n", 0, 20)
            head = bytes(self.buf[:end])
            if end < 0 and len(self.buf) < 20:
                return  # the rest is on its way
            if end < 0 or not head.isdigit():
                self._fail(-4, error="the sample's process sent an unreadable answer")
                return
            start, stop = end + 1, end + 1 + int(head)
            if len(self.buf) < stop:
                return
            payload = bytes(self.buf[start:stop])
            del self.buf[:stop]
            self._judge(payload)

    def _judge(self, payload: bytes) -> None:
        import json

        t = len(self.codes)
        try:
            rec = json.loads(payload)
            # Messages come trimmed (as upstream's were); the bound is for what the program may write there.
            if "compile" in rec and t == 0:
                self.compile_error, self.done = str(rec["compile"])[:2 * TRIM], True
                return
            if "code" in rec:  # the program raised, or ran out of time
                self._fail(-3 if rec["code"] == -3 else -4, error=str(rec.get("error"))[:2 * TRIM])
                return
            expected = self.outputs[t]
            if self.function:
                try:
                    pred = json.loads(rec["json"]) if "json" in rec else untagged(rec["tagged"])
                except RecursionError:  # deeper than any expected output this process could load
                    pred = Opaque("value nested too deep")
                ok = pred == expected
            else:
                pred = rec["out"]
                ok = isinstance(pred, str) and upstream_lines_match(pred, expected)
        except (ValueError, TypeError, KeyError, IndexError, RecursionError):
            self._fail(-4, error="the sample's process sent an unreadable answer")
            return
        if ok:
            self.codes.append(True)
            self._answer()
        elif self.function:
            self._fail(False, output=trim(repr(pred)))
        else:
            self._fail(-2, output=trim(pred))

    def _fail(self, code: Any, *, error: str | None = None, output: str | None = None) -> None:
        """Upstream's record of the failing test."""
        import json

        t = len(self.codes)
        inputs, expected = self.inputs[t], self.outputs[t]
        if self.function:
            inputs, expected = json.dumps(inputs), json.dumps(expected)
        self.codes.append(code)
        if error is not None:
            self.meta = {"error": error, "error_code": code, "error_message": _FAITHFUL_ERRORS[code]}
        else:
            self.meta = {"error_code": -2, "error_message": "Wrong Answer" if self.function else "Wrong answer",
                         "output": output}
        self.meta.update({"inputs": trim(inputs), "expected": trim(expected), "test": t})
        self._answer()

    def _answer(self) -> None:
        self.done = self.codes[-1] is not True or len(self.codes) == len(self.outputs)
        try:
            os.write(self.answers, b"-" if self.done else b"+")
        except OSError:
            pass  # a pipe the program filled: its process then waits out its budget


def run_faithful(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any], zyg: Zygote) -> dict[str, Any]:
    """Grade one sample upstream's way, all its tests in one process forked from the zygote; the
    driver judges each test as the process reports it (``FaithfulJudge``)."""
    n = len(prob["outputs"])
    budget = sample_budget(cfg, n)
    judge = FaithfulJudge(prob, zyg.answers)
    _drain(zyg.records)  # whatever an earlier sample's processes left there (they are gone)
    failed = zyg.load({"kind": "faithful", "fkind": prob["kind"], "code": job["code"], "func": prob.get("func_name"),
                       "inputs": prob["inputs"], "alarm": int(cfg["timeout"]), "tests": 1, "timeout": budget,
                       "cap": 0}, budget)
    if failed:
        return {**failed, "codes": [-1] * n}
    run: Run | None = None
    lost: ZygoteLost | None = None
    try:
        run = zyg.converse(judge, budget + 10)
    except ZygoteLost as e:
        lost = e
    elapsed = round(run.elapsed, 4) if run else 0.0
    if judge.compile_error is not None:
        return {"v": ["compile_error"], "codes": [-4], "time_s": elapsed,
                "meta": {"error_code": -4, "error_message": judge.compile_error}}
    if judge.done:
        res = {"v": [verdict_of_code(c) for c in judge.codes], "codes": judge.codes, "time_s": elapsed}
        return {**res, "meta": judge.meta} if judge.meta else res
    # Upstream's answer when its per-generation process dies or overruns: -1 for every test.
    if lost is not None:
        v, why = lost.verdict, lost.why
    elif run is not None and run.killed == "timeout":
        v, why = "timeout", f"the sample exceeded its total budget of {budget:.0f} s"
    elif run is not None and run.status is not None and os.WIFSIGNALED(run.status):
        sig = os.WTERMSIG(run.status)
        v = "memory_limit" if sig == signal.SIGKILL else "runtime_error"
        why = f"the sample's process was killed by {signal.Signals(sig).name}"
    else:
        err = bytes(run.err).decode("utf-8", "replace") if run else ""
        v, why = "runtime_error", "the sample's process ended without a result: " + trim(err, 1000)
    return {"v": [v], "codes": [-1] * n, "error": why, "time_s": elapsed}


def grade_one(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any], zyg: Zygote) -> dict[str, Any]:
    if prob["kind"] == "script":
        return run_script(job, prob, cfg, zyg)
    if cfg["mode"] == "faithful":
        return run_faithful(job, prob, cfg, zyg)
    if prob["kind"] == "function":
        return robust_function(job, prob, cfg, zyg)
    return robust_stdin(job, prob, cfg, zyg)


def _site_for_programs() -> None:
    """Under ``-S``: what ``site`` gives a program, without running the .pth files of site-packages."""
    if not sys.flags.no_site:
        return
    import site

    site.setquit()
    site.setcopyright()
    site.sethelper()
    for d in site.getsitepackages():
        if os.path.isdir(d) and d not in sys.path:
            sys.path.append(d)


# What stdin programs commonly import, loaded once into the zygote before it forks. Not json, random,
# statistics, datetime, decimal, fractions: each costs every fork a few hundred KB of page tables to
# copy (random also reseeds itself in every forked process); a program that needs one imports it. The
# first functional sample loads them all (upstream's prelude, which every LeetCode test runs).
_PROGRAM_MODULES = ("string", "re", "collections", "heapq", "bisect", "copy", "math", "itertools", "functools",
                    "operator", "io", "typing")
_ALL_MODULES = (*_PRELUDE_MODULES, *_STAR_ONLY, "decimal", "fractions")


def _preload(names: tuple[str, ...]) -> None:
    """Import once, here, what every test process would import again. Never ``threading`` nor
    anything that imports it: its at-fork hook would run in every forked process."""
    for name in names:
        __import__(name)
    gc.freeze()  # collections (here and in forked processes) skip what is loaded for good


PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4  # <linux/prctl.h>


def forbid_inspection() -> None:
    """Make the driver non-dumpable: processes of its uid — every program it grades — can then neither
    ptrace it nor open its /proc/<pid>/mem, environ or fd/, where the expected outputs are. (The
    zygote, forked before, holds none.) A driver that cannot do this does not grade."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 or libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise SystemExit(f"lcb_driver: prctl(PR_SET_DUMPABLE, 0) failed ({os.strerror(ctypes.get_errno())}): "
                         "programs could read the expected outputs from the driver's memory")


def read_spec() -> tuple[dict[str, Any], bytes]:
    """The batch from stdin: one JSON line (``config``, ``problems``, ``jobs``; a problem's ``tests`` is
    the [offset, size] of its tests' JSON in the rest), then the tests. Read to the end before any
    test runs: the jail's init holds the same pipe (as its stdin), so anything left in it could be
    read through /proc/1/fd/0."""
    import json

    chunks = []
    while chunk := os.read(0, 1 << 20):
        chunks.append(chunk)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    data = b"".join(chunks)
    end = data.index(b"\n")
    return json.loads(data[:end]), data[end + 1:]


def main() -> None:
    _site_for_programs()
    _preload(_PROGRAM_MODULES)
    if sys.argv[1:2] == ["--zygote"]:  # a replacement zygote (see Zygote)
        cmd_fd, reply_fd, *fds = map(int, sys.argv[2:])
        zygote_loop(cmd_fd, reply_fd, Captures(tuple(fds[:3])), (fds[3], fds[4]))  # never returns
    caps = Captures()
    zyg = Zygote(caps)  # before the tests are read (and before json): no process forked from it has them
    forbid_inspection()
    load_compare()
    import json

    spec, tests = read_spec()
    cfg = spec["config"]
    problems = spec["problems"]
    zyg.sweep = sweep = bool(cfg.get("sweep"))
    loaded: dict[str, dict[str, Any]] = {}
    for job in spec["jobs"]:
        pid = job["p"]
        if pid not in loaded:
            loaded.clear()  # jobs come grouped by problem: one problem's tests decoded at a time
            start, size = problems[pid]["tests"]
            loaded[pid] = {**problems[pid], **json.loads(tests[start:start + size])}
        emit({"b": job["k"]})
        res = grade_one(job, loaded[pid], cfg, zyg)
        if sweep:
            sweep_strays({zyg.pid})
        res["k"] = job["k"]
        emit(res)
        emit({"e": job["k"]})
    zyg.close()
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    emit({"cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime})


if __name__ == "__main__":
    main()
