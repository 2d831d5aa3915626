# ruff: noqa: SIM105, SIM115  (the driver swaps std streams and tolerates dead pids on purpose)
"""LiveCodeBench / HumanEval grading driver. Runs INSIDE the sandbox, standard library only.

    python3 -I -B lcb_driver.py jobs.json

It grades many samples in one jailed process: each sample gets its own forked process (upstream too
runs one process per generation), so a warm interpreter is reused and nothing a sample does can
reach the others' results. Results go to fd 3, one JSON line per event:

    {"b": key}                      a sample started
    {"k": key, "v": [...], ...}     its per-test verdicts (stopping at the first failure)
    {"e": key}                      it ended

Modes (``jobs.json`` → ``mode``):

* ``robust``: every test is a real process with real fds 0/1/2 — Python forked from this warm
  interpreter with fresh ``sys.std*`` over those fds and ``__name__ == "__main__"``, any other
  language exec'd from ``exec_argv``; stdout is compared line by line (optionally with a float
  tolerance). Functional (LeetCode) tests run in a process forked per test after the module ran once.
* ``faithful``: reproduces lcb_runner's in-process grader, quirks included (see ``_faithful_*``).
* ``script`` problems (HumanEval): one run of the program; it passes iff it exits 0 in time.
"""

from __future__ import annotations

import ast
import atexit
import builtins
import contextlib
import io
import json
import math
import os
import resource
import select
import signal
import sys
import threading
import time
import traceback
import types
from decimal import Decimal
from typing import Any

TRIM = 300
RESULT_FILE_CAP = 1 << 20


def trim(s: str, n: int = TRIM) -> str:
    return s if len(s) <= n else s[: n // 2] + f"…[{len(s) - n} chars]…" + s[-n // 2:]


# ---- output comparison --------------------------------------------------------------------------


def stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(tok) for tok in line.split()]
    except Exception:
        return None


def upstream_lines_match(pred: str, expected: str) -> bool:
    """lcb_runner's rule: same number of stripped lines; each equal as text or as Decimal lists."""
    a, b = stripped_lines(pred), stripped_lines(expected)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        dx, dy = decimals(x), decimals(y)
        if dx is None or dy is None or dx != dy:
            return False
    return True


def _float(tok: str) -> float | None:
    try:
        v = float(tok)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def robust_lines_match(pred: str, expected: str, tol: float | None) -> bool:
    """The upstream rule, plus (with ``tol``) numbers equal within an absolute or relative ``tol``."""
    if upstream_lines_match(pred, expected):
        return True
    if tol is None:
        return False
    a, b = stripped_lines(pred), stripped_lines(expected)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=False):
        tx, ty = x.split(), y.split()
        if len(tx) != len(ty):
            return False
        for s, t in zip(tx, ty, strict=False):
            if s == t:
                continue
            fs, ft = _float(s), _float(t)
            if fs is None or ft is None or not math.isclose(fs, ft, rel_tol=tol, abs_tol=tol):
                return False
    return True


def normalize(v: Any) -> Any:
    """Tuples become lists at every depth (JSON has no tuples)."""
    if isinstance(v, (list, tuple)):
        return [normalize(x) for x in v]
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items()}
    return v


def robust_values_equal(got: Any, exp: Any, tol: float | None) -> bool:
    """JSON-value equality: bools are not numbers, ints and floats compare by value (optionally within tol)."""
    if isinstance(exp, bool) or isinstance(got, bool):
        return isinstance(exp, bool) and isinstance(got, bool) and got == exp
    if isinstance(exp, (int, float)) and isinstance(got, (int, float)):
        if got == exp:
            return True
        return tol is not None and math.isclose(got, exp, rel_tol=tol, abs_tol=tol)
    if isinstance(exp, list):
        return (isinstance(got, list) and len(got) == len(exp)
                and all(robust_values_equal(g, e, tol) for g, e in zip(got, exp, strict=False)))
    if isinstance(exp, dict):
        return (isinstance(got, dict) and got.keys() == exp.keys()
                and all(robust_values_equal(got[k], exp[k], tol) for k in exp))
    return type(got) is type(exp) and got == exp


# ---- process helpers ----------------------------------------------------------------------------


class Run:
    """What one forked child did: wait status (None: killed at the deadline), captured output."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.out = b""
        self.out_total = 0
        self.err = b""
        self.res = bytearray()
        self.elapsed = 0.0
        self.killed: str | None = None  # "timeout"

    @property
    def exited_ok(self) -> bool:
        return self.status is not None and os.WIFEXITED(self.status) and os.WEXITSTATUS(self.status) == 0


class _Capture:
    """An in-memory file (memfd) a child writes its stdout or stderr to: no pipe to drain while it
    runs (one wake-up per test instead of one per chunk), no writable directory needed, and
    RLIMIT_FSIZE caps it."""

    def __init__(self, name: str):
        self.fd = os.memfd_create(name, 0)

    def reset(self) -> None:
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)

    def read(self, cap: int) -> tuple[bytes, int]:
        size = os.fstat(self.fd).st_size
        return os.pread(self.fd, min(size, cap), 0), size


_CAPTURES: dict[str, _Capture] = {}


def _capture(name: str) -> _Capture:
    # One pair per process: a sample process and the driver each have their own after fork.
    key = f"{name}-{os.getpid()}"
    if key not in _CAPTURES:
        _CAPTURES[key] = _Capture(name)
    return _CAPTURES[key]


def _max_fd() -> int:
    return min(resource.getrlimit(resource.RLIMIT_NOFILE)[0], 4096)


def _child_setup(stdin_path: str | None, out_fd: int, err_fd: int, res_w: int, cpu_s: float,
                 fsize: int) -> None:
    os.setpgid(0, 0)  # its own group: killing it kills whatever it started
    inp = os.open(stdin_path or os.devnull, os.O_RDONLY)
    # Private descriptions of the capture files (the parent's offsets are not shared).
    out = os.open(f"/proc/self/fd/{out_fd}", os.O_WRONLY | os.O_APPEND)
    err = os.open(f"/proc/self/fd/{err_fd}", os.O_WRONLY | os.O_APPEND)
    for src, dst in ((inp, 0), (out, 1), (err, 2), (res_w, 3)):
        os.dup2(src, dst)
    # Nothing else stays open: not the driver's channel, not another sample's pipes.
    os.closerange(4, _max_fd())
    cpu = math.ceil(cpu_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if fsize:
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        cap = fsize if hard == resource.RLIM_INFINITY else min(fsize, hard)
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, hard))
    if "random" in sys.modules:
        sys.modules["random"].seed()  # a forked child must not replay its siblings' random numbers


def fork_run(body: Any, timeout: float, *, stdin_path: str | None = None, out_cap: int = 16 << 20,
             cpu_s: float | None = None, limit_output: bool = True) -> Run:
    """Fork a child with fds 0 (``stdin_path`` or /dev/null), 1 and 2 (capture files) and 3 (its
    result pipe), run ``body()`` in it (which must not return), wait until it exits or ``timeout``."""
    out, err = _capture("stdout"), _capture("stderr")
    out.reset()
    err.reset()
    res_r, res_w = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            _child_setup(stdin_path, out.fd, err.fd, res_w, cpu_s or timeout, out_cap if limit_output else 0)
            body()
        except BaseException:
            traceback.print_exc()
        os._exit(70)
    os.close(res_w)
    run = Run()
    pidfd = os.pidfd_open(pid)
    res_open = True
    try:
        while True:
            got, status = os.waitpid(pid, os.WNOHANG)
            if got:
                run.status = status
                break
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                run.killed = "timeout"
                break
            ready, _, _ = select.select([pidfd, res_r] if res_open else [pidfd], [], [], left)
            if res_r in ready:
                chunk = os.read(res_r, 1 << 16)
                if chunk and len(run.res) < (8 << 20):
                    run.res += chunk
                res_open = bool(chunk)
        if run.killed:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        run.elapsed = time.monotonic() - t0
        # What the child wrote is in the pipe; a straggler it left may still hold it open, so drain
        # without waiting for end-of-file, then kill the stragglers.
        os.set_blocking(res_r, False)
        while res_open:
            try:
                chunk = os.read(res_r, 1 << 16)
            except BlockingIOError:
                break
            run.res += chunk
            res_open = bool(chunk)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    finally:
        os.close(res_r)
        os.close(pidfd)
    run.out, run.out_total = out.read(out_cap)
    run.err, _ = err.read(1 << 16)
    return run


def sweep_strays() -> None:
    """Kill every process of the jail's pid namespace but its init and this driver: a sample that
    escaped its process group (setsid) must not run on into the next sample's time."""
    me, parent = os.getpid(), os.getppid()
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in (1, me, parent):
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


# ---- robust: one real process per test ----------------------------------------------------------


def _fresh_stdio() -> None:
    """sys.std* as a fresh interpreter builds them over fds 0/1/2 (with the jail's UTF-8 locale)."""
    sys.stdin = sys.__stdin__ = open(0, encoding="utf-8", errors="surrogateescape", closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", encoding="utf-8", errors="surrogateescape", closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False,
                                       buffering=1)


def _interpreter_exit(code: int) -> None:
    """What the interpreter does after __main__: join non-daemon threads, atexit, flush, exit."""
    try:
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
        atexit._run_exitfuncs()
    except BaseException:
        traceback.print_exc()
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
        traceback.print_exc()
        code = 1
    _interpreter_exit(code)


def exec_program(argv: list[str]) -> None:
    os.close(3)
    os.execvp(argv[0], argv)


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


def robust_stdin(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    timeout, tol = cfg["timeout"], cfg.get("float_tol")
    out_cap = cfg.get("output_cap", 16 << 20)
    argv = cfg.get("exec_argv")
    body: Any
    if argv is None:
        try:
            code_obj = compile(job["code"], "main.py", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            return {"v": ["compile_error"], "error": trim(f"{type(e).__name__}: {e}", 1000)}
        body = lambda: run_python_main(code_obj)  # noqa: E731
    else:
        body = lambda: exec_program(argv)  # noqa: E731
    verdicts: list[str] = []
    fail: dict[str, Any] = {}
    elapsed = 0.0
    for t, expected in enumerate(prob["outputs"]):
        run = fork_run(body, timeout, stdin_path=prob["input_files"][t], out_cap=out_cap)
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


def _find_callable(g: dict[str, Any], fn: str) -> Any:
    cls = g.get("Solution")
    if isinstance(cls, type) and hasattr(cls, fn):
        return lambda *a: getattr(cls(), fn)(*a)  # a fresh instance per test, as LeetCode does
    f = g.get(fn)
    return f if callable(f) else None


def _call_in_child(code_obj: Any, fn: str, args: list[Any]) -> None:
    """Runs the module, calls the function, writes the JSON of the answer to fd 3. The comparison is
    the parent's: this process runs untrusted code, so what it reports is only its answer."""
    res_fd = os.dup(3)
    os.close(3)
    _fresh_stdio()
    sys.stdout = sys.__stdout__ = open(os.devnull, "w")
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


def robust_function(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """LeetCode style, each test in its own process: prelude + module, a fresh Solution(), the call,
    the JSON of the answer back to this (trusted) process, which compares."""
    timeout, tol = cfg["timeout"], cfg.get("float_tol")
    try:
        # LeetCode's judge pre-imports typing, collections, heapq… and starter code relies on it
        # (``List[int]`` with no import): the same prelude as upstream's, so a correct solution passes.
        compile(job["code"], "solution.py", "exec", dont_inherit=True)
        code_obj = compile(faithful_prelude() + job["code"], "solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        return {"v": ["compile_error"], "error": trim(f"{type(e).__name__}: {e}", 1000)}
    verdicts: list[str] = []
    fail: dict[str, Any] = {}
    elapsed = 0.0
    fn = prob["func_name"]
    for t, (args, expected) in enumerate(zip(prob["inputs"], prob["outputs"], strict=False)):
        run = fork_run(lambda a=args: _call_in_child(code_obj, fn, a), timeout)
        elapsed += run.elapsed
        rec: dict[str, Any] = {}
        if run.exited_ok and not run.killed:
            try:
                rec = json.loads(bytes(run.res))
            except ValueError:
                rec = {"error": "no answer"}
        if "value" in rec:
            try:
                got = json.loads(rec["value"])
                v, why = ("pass" if robust_values_equal(got, expected, tol) else "wrong_answer"), ""
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


def run_script(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """HumanEval: program = prompt + completion + test + check(entry_point); pass iff it exits 0."""
    timeout = cfg["timeout"]
    try:
        code_obj = compile(job["code"], "main.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        return {"v": ["compile_error"], "error": trim(f"{type(e).__name__}: {e}", 1000)}
    run = fork_run(lambda: run_python_main(code_obj), timeout)
    if run.exited_ok and not run.killed:
        return {"v": ["pass"], "time_s": round(run.elapsed, 4)}
    text = bytes(run.err).decode("utf-8", "replace")
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


def _faithful_error(e: BaseException) -> tuple[int, str]:
    if "timeoutexception" in repr(e).lower():
        return -3, "Time Limit Exceeded"
    return -4, "Runtime Error"


def faithful_stdin(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    timeout = int(cfg["timeout"])
    code = _wrap_in_function(_strip_main_guard(job["code"]))
    try:
        sol = _compile_module(code, timeout)
        method = sol.wrapped_function
    except BaseException as e:
        return {"codes": [-4], "meta": {"error_code": -4, "error_message": trim(f"Error during testing: {e}")}}
    codes: list[Any] = []
    meta: dict[str, Any] = {}
    for t, (inp, expected) in enumerate(zip(prob["inputs"], prob["outputs"], strict=False)):
        real_stdout, real_stdin = sys.stdout, sys.stdin
        captured = io.StringIO()
        captured.close = lambda *a: None  # type: ignore[method-assign]  # upstream makes close() a no-op
        sys.stdout, sys.stdin = captured, FaithfulStdin(inp)
        failed: tuple[int, str] | None = None
        signal.alarm(timeout)
        try:
            try:
                method()
            except SystemExit:
                pass
            signal.alarm(0)
        except BaseException as e:  # upstream catches Exception; a KeyboardInterrupt would end its process
            signal.alarm(0)
            failed = _faithful_error(e)
            meta = {"error": trim(repr(e)), "error_code": failed[0], "error_message": failed[1],
                    "inputs": trim(inp), "expected": trim(expected), "test": t}
        finally:
            signal.alarm(0)
            sys.stdout, sys.stdin = real_stdout, real_stdin
        if failed:
            codes.append(failed[0])
            break
        pred = captured.getvalue()
        if not upstream_lines_match(pred, expected):
            codes.append(-2)
            meta = {"error_code": -2, "error_message": "Wrong answer", "output": trim(pred),
                    "inputs": trim(inp), "expected": trim(expected), "test": t}
            break
        codes.append(True)
    return {"codes": codes, **({"meta": meta} if meta else {})}


def faithful_function(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    timeout = int(cfg["timeout"])
    code = faithful_prelude() + "\n\n" + job["code"]
    try:
        sol = _compile_module(code, timeout)
        method = getattr(sol, prob["func_name"])
    except BaseException as e:
        return {"codes": [-4], "meta": {"error_code": -4, "error_message": trim(f"Error during testing: {e}")}}
    codes: list[Any] = []
    meta: dict[str, Any] = {}
    for t, (args, expected) in enumerate(zip(prob["inputs"], prob["outputs"], strict=False)):
        signal.alarm(timeout)
        try:
            pred = method(*args)
            signal.alarm(0)
            if isinstance(pred, tuple):
                pred = list(pred)  # top level only, as upstream
            ok = pred == expected
        except BaseException as e:
            signal.alarm(0)
            c, msg = _faithful_error(e)
            codes.append(c)
            meta = {"error": trim(repr(e)), "error_code": c, "error_message": msg,
                    "inputs": trim(json.dumps(args)), "expected": trim(json.dumps(expected)), "test": t}
            break
        finally:
            signal.alarm(0)
        codes.append(bool(ok))
        if not ok:
            meta = {"error_code": -2, "error_message": "Wrong Answer", "output": trim(repr(pred)),
                    "inputs": trim(json.dumps(args)), "expected": trim(json.dumps(expected)), "test": t}
            break
    return {"codes": codes, **({"meta": meta} if meta else {})}


def faithful_child(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
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
    grade = faithful_function if prob["kind"] == "function" else faithful_stdin
    res = grade(job, prob, cfg)
    res["v"] = [verdict_of_code(c) for c in res["codes"]]
    if res.get("meta", {}).get("error_message", "").startswith("Error during testing"):
        res["v"] = ["compile_error"]
    return res


def verdict_of_code(c: Any) -> str:
    if c is True:
        return "pass"
    return {False: "wrong_answer", -2: "wrong_answer", -3: "timeout", -4: "runtime_error"}.get(c, "harness_error")


# ---- the job loop ---------------------------------------------------------------------------------


def sample_budget(cfg: dict[str, Any], n_tests: int) -> float:
    """Upstream's global budget per generation: (timeout + 1) · tests + 5 seconds."""
    return (int(cfg["timeout"]) + 1) * max(1, n_tests) + 5


def grade_one(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    if prob["kind"] == "script":
        return run_script(job, prob, cfg)
    if cfg["mode"] == "faithful":
        return faithful_child(job, prob, cfg)
    if prob["kind"] == "function":
        return robust_function(job, prob, cfg)
    return robust_stdin(job, prob, cfg)


def emit(obj: dict[str, Any]) -> None:
    """One event line on the result channel (fd 3, held by the driver alone)."""
    data = (json.dumps(obj) + "\n").encode()
    while data:
        data = data[os.write(3, data):]


def _sample_body(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any]) -> None:
    res_fd = os.dup(3)
    os.close(3)
    data = json.dumps(grade_one(job, prob, cfg)).encode()
    while data:
        data = data[os.write(res_fd, data):]
    os._exit(0)


def run_job(job: dict[str, Any], prob: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """Grade one sample in its own process (group); the driver only waits, reads and reports."""
    budget = sample_budget(cfg, len(prob["outputs"]))
    run = fork_run(lambda: _sample_body(job, prob, cfg), budget, out_cap=1 << 16, cpu_s=budget,
                   limit_output=False)
    if cfg.get("sweep"):
        sweep_strays()
    if run.exited_ok:
        try:
            res = json.loads(bytes(run.res))
            res.setdefault("time_s", round(run.elapsed, 4))
            return res
        except ValueError:
            pass
    n = len(prob["outputs"])
    if run.killed == "timeout":
        v, why = "timeout", f"the sample exceeded its total budget of {budget:.0f} s"
    elif run.status is not None and os.WIFSIGNALED(run.status):
        sig = os.WTERMSIG(run.status)
        v = "memory_limit" if sig == signal.SIGKILL else "runtime_error"
        why = f"the sample's process was killed by {signal.Signals(sig).name}"
    else:
        v, why = "runtime_error", "the sample's process ended without a result: " + trim(
            bytes(run.err).decode("utf-8", "replace"), 1000)
    # Upstream's answer when its per-generation process dies or overruns: -1 for every test.
    return {"v": [v], "codes": [-1] * n, "error": why, "time_s": round(run.elapsed, 4)}


def _preload() -> None:
    """Import once, here, what every sample process would import again: the prelude's modules and
    the guard's. Forked children find them loaded (and reseed ``random``)."""
    for name in (*_PRELUDE_MODULES, *_STAR_ONLY, "shutil", "subprocess", "decimal", "fractions"):
        __import__(name)


def main() -> None:
    _preload()
    with open(sys.argv[1]) as fh:
        spec = json.load(fh)
    cfg = spec["config"]
    cfg["tmp"] = os.environ.get("TMPDIR", "/tmp")
    problems = spec["problems"]
    loaded: dict[str, dict[str, Any]] = {}
    for job in spec["jobs"]:
        pid = job["p"]
        if pid not in loaded:
            loaded.clear()  # jobs come grouped by problem: keep one problem's tests in memory
            with open(problems[pid]["file"]) as fh:
                loaded[pid] = {**problems[pid], **json.load(fh)}
        emit({"b": job["k"]})
        res = run_job(job, loaded[pid], cfg)
        res["k"] = job["k"]
        emit(res)
        emit({"e": job["k"]})
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    emit({"cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime})


if __name__ == "__main__":
    main()
