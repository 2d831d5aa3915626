"""The CPU and memory of one candidate's process, per language (the cost of a process per candidate).

    .venv/bin/python bench/candidate_process.py [--n 30] [--seed 0] [--languages ...]

Evaluates the built-in suite's first ``--n`` references per language, batched with one worker, and
reads the supervisor's exit lines (hrmcode/execute/drivers/hrmsup.py), which carry each candidate
process's own rusage: user + system CPU and peak RSS. That is the process alone (its fork or exec,
its runtime's start, the tests), not the jail or the build; it does not depend on the machine's load
the way wall-clock time does.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from hrmcode.benchmarks.builtin.generate import generate
from hrmcode.execute import evaluate_samples, runner
from hrmcode.records import LANGUAGES, Sample


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--languages", default=",".join(LANGUAGES))
    args = ap.parse_args()
    exits: dict[int, dict[int, dict[str, Any]]] = {}
    feed = runner.Tracker.feed

    def recording_feed(self: runner.Tracker, raw: bytes) -> None:
        feed(self, raw)
        exits.setdefault(id(self), {}).update(self.exits)

    runner.Tracker.feed = recording_feed  # type: ignore[method-assign]
    tasks = generate(args.seed, args.n).tasks
    print("| language | processes | CPU median (ms) | CPU mean (ms) | peak RSS median (MB) |")
    print("|---|---|---|---|---|")
    for lang in [x for x in args.languages.split(",") if x]:
        exits.clear()
        samples = [Sample(task_id=t.task_id, language=lang, solution=t.reference[lang]) for t in tasks]
        results = evaluate_samples(tasks, samples, workers=1)
        if any(not r.passed for r in results):
            raise SystemExit(f"{lang}: a reference failed: {[r.verdict.value for r in results if not r.passed]}")
        xs = [x for per_run in exits.values() for x in per_run.values()]
        cpu = [1000 * x["cpu"] for x in xs]
        print(f"| {lang} | {len(xs)} | {statistics.median(cpu):.1f} | {statistics.mean(cpu):.1f} "
              f"| {statistics.median(x['rss'] for x in xs):.0f} |", flush=True)


if __name__ == "__main__":
    main()
