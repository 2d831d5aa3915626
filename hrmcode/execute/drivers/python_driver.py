"""hrmcode test driver for Python candidates (runs inside the sandbox, standard library only).

Loaded once by the supervisor (hrmsup.py ``--fork``), which calls ``prepare(keys)`` in its own warm
process and ``run(key, token)`` in a fresh fork of it per candidate: nothing a candidate does to the
interpreter (builtins, modules, the driver's functions) outlives its own process.

cases.json: [{"k": key, "file": path, "fn": name, "tests": ["[args as JSON]", ...]}]. Per candidate it
writes one line per event to fd 3, the candidate's token, a space, and JSON: {"k", "t", "s":
ok|err|mem|bad, "v"|"m"} per test, {"k", "s": "ce"} a candidate that does not load, {"e": k} the
end of its tests (the supervisor writes the begin and exit lines). Every line is flushed, so a
crash or a timeout later never loses the results already written.
"""

import gc
import json
import os
import sys

sys.setrecursionlimit(20000)
_cases = {}
_out = None
_token = "-"


def send(line):
    _out.write(_token + " " + line + "\n")
    _out.flush()


def emit(obj):
    send(json.dumps(obj, ensure_ascii=False))


def message(exc):
    return (type(exc).__name__ + ": " + str(exc))[:500]


def run_candidate(case):
    k = case["k"]
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


def prepare(keys):
    """In the supervisor, once: the cases, parsed before any candidate's process exists."""
    wanted = set(keys)
    with open("cases.json", encoding="utf-8") as fh:
        for case in json.load(fh):
            if case["k"] in wanted:
                _cases[case["k"]] = case
    # Everything loaded so far to the permanent generation: a candidate's collections then walk
    # only what it made, and its fork shares the supervisor's pages instead of copying them.
    gc.freeze()


def run(key, token):
    """In the candidate's own process (a fork of the supervisor): its tests, then its end line."""
    global _out, _token
    _out = os.fdopen(3, "w", encoding="utf-8", buffering=1)
    _token = token
    case = _cases.get(key)
    if case is not None:
        run_candidate(case)
    sys.stdout.flush()
