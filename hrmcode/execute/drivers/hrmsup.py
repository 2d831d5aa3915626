"""hrmcode's candidate supervisor (runs inside the sandbox, standard library only).

One process per candidate, so no candidate can change what a batch-mate's process computes:

    python -I -S hrmsup.py [--pidns] [--scratch DIR] --keys K1,K2,... (--fork DRIVER.py | -- ARGV...)

For each key in order it reads the candidate's line ``<key> <token>`` from stdin — one line at a
time, so a candidate never holds a later candidate's token in its memory — writes ``<token>
{"b":key}`` to fd 3, and starts the candidate's process:

* ``--fork DRIVER.py``: DRIVER (a Python module: ``prepare(keys)``, then ``run(key, token)``) is
  loaded once, warm, and every candidate runs in a fresh ``fork()`` of this process;
* ``-- ARGV``: ARGV with the key appended is executed, its stdin a pipe holding only its own line.

The candidate's process writes its test lines and ``{"e":key}`` to fd 3 itself. When it has ended,
every process it left behind is killed (``--pidns``: the jail's own pid namespace, so ``kill(-1)``
reaches exactly the jail; otherwise this process is a child subreaper and kills what is reparented
to it), the private scratch directory (``--scratch``, a tmpfs of the jail) is emptied, and
``<token> {"x":key,"c":exit status,"g":signal,"cpu":seconds,"rss":MB}`` is written. Only then does
the next candidate start. This process is not dumpable: a candidate cannot read its memory or its
descriptors through /proc, nor trace it. With a single key, it ends the way the candidate's
process ended (same exit status or signal), so an isolated run reports the candidate's own fate.
"""

import ctypes
import os
import signal
import sys

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
CHANNEL = 3


def _prctl(option, value):
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _read_line(fd):
    """One line from fd, byte by byte: nothing after it is read (the next tokens stay in the pipe)."""
    buf = bytearray()
    while True:
        b = os.read(fd, 1)
        if not b or b == b"\n":
            return buf.decode("ascii", "replace")
        buf += b


def _emit(token, body):
    data = (token + " " + body + "\n").encode()
    while data:
        try:
            n = os.write(CHANNEL, data)
        except OSError:
            return
        data = data[n:]


def _kill_leftovers(pidns):
    """Kill every process but this one (and the namespace's init), then reap what is ours."""
    for _ in range(1000):
        for pid in [-1] if pidns else _children():
            _signal(pid, signal.SIGKILL)
        try:
            while True:
                pid, _ = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
        except ChildProcessError:
            return  # no child left: everything the candidate started is gone
        os.sched_yield()


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:  # gone already, or nothing left to signal
        return False
    return True


def _children():
    me = os.getpid()
    kids = []
    try:
        for tid in os.listdir(f"/proc/{me}/task"):
            with open(f"/proc/{me}/task/{tid}/children") as fh:
                kids += [int(p) for p in fh.read().split()]
        return kids
    except (OSError, ValueError):
        pass
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == me:
                        kids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def _empty(path):
    """Remove what candidates left in a scratch directory (never the directory itself)."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                _empty(e.path)
                os.rmdir(e.path)
            else:
                os.unlink(e.path)
        except OSError:
            pass


def _start_exec(argv, key, token):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(r, 0)
            # Python ignores these; a candidate's runtime must start with the defaults.
            for sig in (signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(sig, signal.SIG_DFL)
            os.closerange(4, 65536)
            os.execvp(argv[0], [*argv, str(key)])
        finally:
            os._exit(127)
    os.close(r)
    os.write(w, f"{key} {token}\n".encode())
    os.close(w)
    return pid


def _start_fork(driver, key, token):
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        status = 70
        try:
            fd = os.open(os.devnull, os.O_RDONLY)
            os.dup2(fd, 0)
            os.close(fd)
            driver["run"](key, token)
            status = 0
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(status)
    return pid


def _mirror(status):
    """End this process the way the candidate's ended."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):  # these have no handler to reset
            signal.signal(sig, signal.SIG_DFL)
        _signal(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def main(args):
    pidns, scratch, keys, fork, argv = False, None, [], None, []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--pidns":
            pidns = True
        elif a == "--scratch":
            i += 1
            scratch = args[i]
        elif a == "--keys":
            i += 1
            keys = [int(k) for k in args[i].split(",") if k]
        elif a == "--fork":
            i += 1
            fork = args[i]
        elif a == "--":
            argv = args[i + 1:]
            break
        else:
            sys.stderr.write(f"hrmsup: unknown argument {a!r}\n")
            os._exit(2)
        i += 1
    if not _prctl(PR_SET_DUMPABLE, 0):
        sys.stderr.write("hrmsup: cannot make the supervisor non-dumpable\n")
        os._exit(2)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # orphans come back to us, to be killed and reaped
    driver = None
    if fork:
        driver = {"__name__": "hrmcode_fork_driver", "__file__": fork}
        with open(fork, encoding="utf-8") as fh:
            exec(compile(fh.read(), fork, "exec"), driver)
        driver["prepare"](keys)
    status = 0
    for key in keys:
        parts = _read_line(0).split()
        if len(parts) != 2 or parts[0] != str(key):
            sys.stderr.write(f"hrmsup: no token for candidate {key}\n")
            os._exit(3)
        token = parts[1]
        _emit(token, f'{{"b":{key}}}')
        pid = _start_fork(driver, key, token) if driver is not None else _start_exec(argv, key, token)
        _, status, ru = os.wait4(pid, 0)
        _kill_leftovers(pidns)
        if scratch:
            _empty(scratch)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        c, g = "null" if code is None else code, "null" if sig is None else sig
        _emit(token, f'{{"x":{key},"c":{c},"g":{g},"cpu":{ru.ru_utime + ru.ru_stime:.4f},"rss":{ru.ru_maxrss / 1024:.1f}}}')
    if len(keys) == 1:
        _mirror(status)
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
