"""Does HRM learn code per step as fast as the same-size transformer? Probe loss at equal steps.

Every variant trains with the project's own trainer (``hrmcode train``) on one recipe
(``configs/tiny-quick.yaml`` by default: tiny, Python, composition depth ≤ 2, batch 16) for the same
number of optimizer steps and therefore the same examples in the same order, one thread each, two
runs side by side. Printed: the probe loss (64 fixed validation programs, teacher-forced) and exact
match at fixed steps, mean and spread over seeds, and each variant's probe loss over the baseline's
of the same seed. Steps, not minutes, so the numbers do not depend on the machine's load.

    .venv/bin/python bench/recipe_parity.py                         # hrm vs baseline, 300 steps, 3 seeds
    .venv/bin/python bench/recipe_parity.py --variants baseline,hrm,deep_supervision,q_loss,post_norm,z_random,original

Variants (each a set of config overrides on the recipe; ``hrm`` is the default causal-LM recipe):
    baseline          the same-size transformer (model.arch: baseline)
    hrm               HRM, causal-LM recipe (one pass, fixed random initial states, pre-norm, truncated 2→5, no ACT)
    deep_supervision  + two ACT segments of deep supervision (q-head detached, correctness target)
    q_loss            + two segments and the q-loss flowing into the trunk (q_detach off)
    post_norm         HRM's post-norm blocks instead of pre-norm
    z_zeros           zero initial states
    z_embed           HRM-Text's initial states: z_H = the input embeddings, z_L = 0
    no_warmup         truncated backprop through the last 5 calls from the first step
    one_step          HRM's one-step gradient instead of truncated backprop
    original          the original HRM recipe in causal mode (configs/tiny-quick-hrm-original.yaml)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TWO_SEGMENTS = {"act": {"enabled": True, "halt_max_steps": 2, "q_target": "correctness"}}
VARIANTS: dict[str, dict] = {
    "baseline": {"model": {"arch": "baseline"}},
    "hrm": {},
    "deep_supervision": {"model": TWO_SEGMENTS},
    "q_loss": {"model": {"act": {**TWO_SEGMENTS["act"], "q_detach": False}}},
    "post_norm": {"model": {"norm": "post"}},
    "z_zeros": {"model": {"z_init": "zeros"}},
    "z_embed": {"model": {"z_init": "embed"}},
    "no_warmup": {"model": {"grad_warmup_from": None}},
    "one_step": {"model": {"grad_mode": "one_step"}},
    "original": {"model": {"recipe": "hrm", "act": {"halt_max_steps": 2, "q_target": "correctness",
                                                    "inference": "per_token"}}},
}


def flatten(d: dict, prefix: str = "") -> list[str]:
    """{"model": {"arch": "baseline"}} → ["model.arch=baseline"] (values as JSON, which YAML reads)."""
    out = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        out += flatten(v, key + ".") if isinstance(v, dict) and v else [f"{key}={json.dumps(v)}"]
    return out


def ensure_data(data: Path, seed: int) -> None:
    if (data / "tasks.jsonl").is_file():
        return
    subprocess.run([sys.executable, "-m", "hrmcode", "data", "build", "--suite", "builtin", "--seed", str(seed),
                    "--n", "3000", "--out", str(data)], check=True, cwd=ROOT)


def run_one(config: Path, variant: str, seed: int, steps: int, every: int, data: Path, out: Path) -> dict:
    run_dir = out / f"{variant}-s{seed}"
    metrics = run_dir / "metrics.jsonl"
    if not (run_dir / "done.json").is_file():
        over = {"name": f"{variant}-s{seed}", "data": {"path": str(data)},
                "train": {"seed": seed, "steps": steps, "time_budget_minutes": None, "threads": 1,
                          "eval_every": every, "ckpt_every": steps, "log_every": every, "plots": False}}
        sets = flatten(over) + flatten(VARIANTS[variant])
        cmd = [sys.executable, "-m", "hrmcode", "train", str(config), "--out", str(run_dir), "--no-progress"]
        for s in sets:
            cmd += ["--set", s]
        if run_dir.exists():
            subprocess.run(["rm", "-rf", str(run_dir)], check=True)
        t0 = time.perf_counter()
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{variant} seed {seed} failed:\n{proc.stderr[-3000:]}")
        (run_dir / "done.json").write_text(json.dumps({"seconds": time.perf_counter() - t0}))
    evals = {}
    for line in metrics.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("type") == "eval":
            evals[rec["step"]] = {"loss": rec["loss"], "exact_match": rec["exact_match"]}
    seconds = json.loads((run_dir / "done.json").read_text())["seconds"]
    return {"variant": variant, "seed": seed, "evals": evals, "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "configs/tiny-quick.yaml"))
    ap.add_argument("--variants", default="baseline,hrm")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=100, help="probe every this many steps")
    ap.add_argument("--data", default=str(ROOT / "data/builtin"), help="built-in suite (built here if missing)")
    ap.add_argument("--out", default=str(ROOT / "runs/recipe_parity"))
    ap.add_argument("--workers", type=int, default=2, help="runs side by side (one thread each)")
    ap.add_argument("--max-ratio", type=float, default=1.05, help="pass: hrm's final probe loss ≤ this × baseline's")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    variants = [v for v in args.variants.split(",") if v]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        sys.exit(f"--variants: unknown {unknown}; expected some of {', '.join(VARIANTS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ensure_data(data, 0)
    jobs = [(v, s) for s in seeds for v in variants]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(lambda j: run_one(Path(args.config), j[0], j[1], args.steps, args.every, data, out),
                                jobs))
    by = {(r["variant"], r["seed"]): r for r in results}
    at = list(range(args.every, args.steps + 1, args.every))
    print(f"recipe parity: {args.config}, {args.steps} steps, seeds {seeds}, one thread per run, "
          f"{args.workers} side by side; {time.perf_counter() - t0:.0f} s")
    head = " / ".join(f"@{s}" for s in at)
    print(f"{'variant':18} {'probe loss ' + head + ' (mean over seeds [min, max] at the last)':70} "
          f"{'exact @' + str(args.steps):12} {'s/step':7} {'÷ baseline per seed':24}")
    summary: dict = {"config": args.config, "steps": args.steps, "seeds": seeds, "variants": {}}
    for v in variants:
        losses = {s: [by[(v, sd)]["evals"].get(s, {}).get("loss", float("nan")) for sd in seeds] for s in at}
        exact = [by[(v, sd)]["evals"].get(args.steps, {}).get("exact_match", float("nan")) for sd in seeds]
        last = losses[args.steps]
        ratios = []
        if "baseline" in variants:
            ratios = [by[(v, sd)]["evals"][args.steps]["loss"] / by[("baseline", sd)]["evals"][args.steps]["loss"]
                      for sd in seeds]
        sec = statistics.mean(by[(v, sd)]["seconds"] for sd in seeds) / args.steps
        curve = " / ".join(f"{statistics.mean(losses[s]):.3f}" for s in at)
        print(f"{v:18} {curve + f'  [{min(last):.3f}, {max(last):.3f}]':70} {statistics.mean(exact):<12.3f} "
              f"{sec:<7.3f} {' '.join(f'{r:.3f}' for r in ratios):24}")
        summary["variants"][v] = {"probe_loss": {str(s): losses[s] for s in at}, "exact_match": exact,
                                  "ratio_to_baseline": ratios, "seconds_per_step": sec}
    if "hrm" in variants and "baseline" in variants:
        worst = max(summary["variants"]["hrm"]["ratio_to_baseline"])
        ok = worst <= args.max_ratio
        print(f"hrm / baseline probe loss at step {args.steps}: worst seed {worst:.3f} "
              f"({'PASS' if ok else 'FAIL'}: target ≤ {args.max_ratio})")
        summary["pass"] = ok
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
