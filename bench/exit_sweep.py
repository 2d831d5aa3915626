"""The convergence exit against always running the maximum depth, on one trained recurrent run.

    .venv/bin/python bench/exit_sweep.py --run runs/exit-tq --data data/builtin --max-cycles 4 \
        --thresholds 1e-3,1e-2,1e-1 --out runs/exit-sweep

Evaluates the run (``hrmcode eval builtin``, greedy, signature prefilled) at its training mean of H
cycles, at ``--max-cycles``, and with ``--act converge`` up to ``--max-cycles`` at each threshold,
on the same tasks; then prints, per threshold, module calls per generated token against the fixed
maximum depth (the share saved), pass@1 of both with the paired difference (95 % bootstrap CI over
tasks, the same samples), and Spearman's correlation of task depth with calls per token, also with
the answer's length held fixed (a partial rank correlation: long answers settle sooner). The
issue's bar: ≥ 30 % fewer calls at pass@1 within 1 point, more calls on deeper tasks. Finished
evaluations are kept (rerun to resume).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from hrmcode.data.batching import difficulty_of, load_tasks
from hrmcode.evaluate.report import paired_difference
from hrmcode.records import Result, Sample, read_jsonl
from hrmcode.runs import load_run
from hrmcode.study import calls_per_token, partial_spearman, spearman

ROOT = Path(__file__).resolve().parents[1]


def evaluate(args: argparse.Namespace, out: Path, extra: list[str]) -> tuple[list[Result], list[Sample]]:
    if not (out / "summary.json").is_file():
        cmd = [sys.executable, "-m", "hrmcode", "eval", "builtin", "--run", args.run, "--data", args.data,
               "--split", args.split, "--max-depth", str(args.max_depth), "--languages", args.languages,
               "--max-new-tokens", str(args.max_new_tokens), "--prefill-signature", "--out", str(out), *extra]
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return read_jsonl(out / "results.jsonl", Result)[0], read_jsonl(out / "samples.jsonl", Sample)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a recurrent run (arch hrm or looped), ideally trained at sampled depth")
    ap.add_argument("--data", default=str(ROOT / "data/builtin"))
    ap.add_argument("--split", default="test,val")
    ap.add_argument("--max-depth", type=int, default=2)
    ap.add_argument("--languages", default="python")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--max-cycles", type=int, default=4)
    ap.add_argument("--thresholds", default="1e-3,1e-2,1e-1")
    ap.add_argument("--out", default=str(ROOT / "runs/exit-sweep"))
    args = ap.parse_args()
    out = Path(args.out)
    mean = load_run(args.run).cfg.model.h_cycles
    tasks = {t.task_id: t for t in load_tasks(Path(args.data) / "tasks.jsonl")}

    def row(name: str, results: list[Result], samples: list[Sample]) -> dict:
        calls = [(difficulty_of(tasks[s.task_id]), c, s.model_extra["generated_tokens"]) for s in samples
                 if (c := calls_per_token(s)) is not None]
        depth, per_token, length = ([v[i] for v in calls] for i in range(3))
        passed = float(np.mean([r.passed for r in results])) if results else float("nan")
        return {"name": name, "pass@1": passed, "calls": float(np.mean(per_token)),
                "spearman": spearman(depth, per_token), "spearman_given_length": partial_spearman(depth, per_token, length),
                "spearman_length": spearman(length, per_token), "n": len(results)}

    at_mean = evaluate(args, out / f"c{mean}", ["--cycles", str(mean)])
    full = evaluate(args, out / f"c{args.max_cycles}", ["--cycles", str(args.max_cycles)])
    rows = [row(f"fixed {mean} cycles (training mean)", *at_mean), row(f"fixed {args.max_cycles} cycles", *full)]
    for th in args.thresholds.split(","):
        conv = evaluate(args, out / f"converge-{th}", ["--cycles", str(args.max_cycles), "--act", "converge",
                                                        "--act-threshold", th])
        r = row(f"converge, KL < {th}", *conv)
        r["vs_full"] = paired_difference(full[0], conv[0])
        rows.append(r)
    print(f"exit sweep: {args.run}, {rows[0]['n']} samples ({args.languages}, {args.split}, depth ≤ {args.max_depth}), "
          f"greedy, prefilled")
    print("| inference | calls/token | saved vs fixed max | pass@1 | − fixed max (points, 95 % CI) | Spearman(depth, calls) "
          "| same, answer length held fixed | Spearman(length, calls) |")
    print("|---|---|---|---|---|---|---|---|")
    top = rows[1]["calls"]
    for r in rows:
        d = r.get("vs_full")
        diff = f"{100 * d['diff']:+.1f} [{100 * d['ci95'][0]:+.1f}, {100 * d['ci95'][1]:+.1f}]" if d else "—"
        sp = ["—" if r[k] is None else f"{r[k]:.2f}" for k in ("spearman", "spearman_given_length", "spearman_length")]
        print(f"| {r['name']} | {r['calls']:.2f} | {100 * (1 - r['calls'] / top):.1f} % | {100 * r['pass@1']:.1f} % | "
              f"{diff} | {' | '.join(sp)} |")
    (out / "sweep.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
