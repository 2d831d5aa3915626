"""hrmcode test driver for Python candidates (runs inside the sandbox, standard library only).

Reads cases.json: [{"k": key, "file": path, "fn": name, "tests": ["[args as JSON]", ...]}] and runs
the candidates named on the command line (all when none), writing one line per event to fd 3, the
candidate's token (stdin: one "key token" line each, read before any candidate runs), a space, and JSON:
{"b": k} begin, {"k", "t", "s": ok|err|mem|bad, "v"|"m"} per test, {"k", "s": "ce"} a candidate
that does not load, {"e": k} end. Each candidate runs in a fresh namespace; every line is flushed
so a crash or a timeout later never loses the results already written.
"""

import gc
import json
import os
import sys

sys.setrecursionlimit(20000)
_out = os.fdopen(3, "w", encoding="utf-8", buffering=1)
_tokens = {}
_token = "-"


def send(line):
    _out.write(_token + " " + line + "\n")
    _out.flush()


def emit(obj):
    send(json.dumps(obj, ensure_ascii=False))


def read_tokens():
    for line in sys.stdin.buffer.read().decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2:
            _tokens[int(parts[0])] = parts[1]


def message(exc):
    return (type(exc).__name__ + ": " + str(exc))[:500]


def run_candidate(case):
    global _token
    k = case["k"]
    _token = _tokens.get(k, "-")
    emit({"b": k})
    try:
        with open(case["file"], encoding="utf-8") as fh:
            code = compile(fh.read(), case["file"], "exec")
    except (SyntaxError, ValueError) as exc:
        emit({"k": k, "s": "ce", "m": message(exc)})
        emit({"e": k})
        return
    namespace = {"__name__": "__solution__", "__builtins__": __builtins__}
    try:
        exec(code, namespace)
    except MemoryError as exc:
        emit({"k": k, "s": "loadmem", "m": message(exc)})
        emit({"e": k})
        return
    except BaseException as exc:  # a module-level crash fails every test of this candidate
        emit({"k": k, "s": "loaderr", "m": message(exc)})
        emit({"e": k})
        return
    fn = namespace.get(case["fn"])
    if not callable(fn):
        emit({"k": k, "s": "ce", "m": f"function {case['fn']} is not defined"})
        emit({"e": k})
        return
    for i, raw in enumerate(case["tests"]):
        args = json.loads(raw)  # parsed per test: a solution that mutates its input cannot leak
        try:
            value = fn(*args)
        except MemoryError as exc:
            emit({"k": k, "t": i, "s": "mem", "m": message(exc)})
            continue
        except BaseException as exc:
            emit({"k": k, "t": i, "s": "err", "m": message(exc)})
            continue
        try:
            line = json.dumps({"k": k, "t": i, "s": "ok", "v": value}, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            emit({"k": k, "t": i, "s": "bad", "m": repr(value)[:200]})
            continue
        send(line)
    emit({"e": k})
    namespace.clear()
    gc.collect()


def main():
    with open("cases.json", encoding="utf-8") as fh:
        cases = json.load(fh)
    read_tokens()
    wanted = {int(a) for a in sys.argv[1:]}
    # The driver's own objects (modules, the cases) to the permanent generation: the collection
    # after each candidate then walks only what candidates made, not the whole heap (~5 ms each).
    gc.freeze()
    for case in cases:
        if not wanted or case["k"] in wanted:
            run_candidate(case)
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown: a candidate's atexit hooks or threads cannot change the outcome


main()
