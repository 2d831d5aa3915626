"""`hrmcode serve` throughput, measured side by side in one run on the same greedy requests:

  * direct: the run in this process, one request at a time (``HrmBackend``, batch 1) and all at once;
  * serve, one at a time: the same requests over HTTP from one client (official ``openai`` client);
  * serve, concurrent: ``--clients`` clients at once, each sending its share one after another —
    the server batches what arrives together.

Reported: completion tokens/s of each, the concurrent/sequential speed-up (target ≥ 3× from
batching) and serve/direct tokens/s one at a time (target ≥ 0.8×). Every mode must produce the
same texts (greedy), so the token counts are equal and the ratios compare equal work.

When ``--run DIR`` does not exist yet, a tiny-preset HRM (``configs/tiny.yaml``) is trained there
for ``--train-steps`` steps on a fresh built-in suite (DIR/../data) first: the speed does not depend
on how well it is trained, and later runs of the bench reuse it.

    .venv/bin/python bench/serve_throughput.py --run runs/bench-serve [--clients 8] [--per-client 2] \
        [--max-tokens 32] [--threads 1] [--batch-window-ms 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import torch
from openai import OpenAI

from hrmcode.backends import HrmBackend, Job
from hrmcode.benchmarks.builtin.generate import build
from hrmcode.benchmarks.builtin.prompts import builtin_prompt
from hrmcode.config import load_config
from hrmcode.data.batching import load_tasks
from hrmcode.generate import SamplingConfig
from hrmcode.runs import load_run
from hrmcode.train.trainer import train

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("bench.serve_throughput")


def tiny_run(run_dir: Path, steps: int) -> None:
    data_dir = run_dir.parent / "data"
    build(0, 300, data_dir)
    cfg = load_config(ROOT / "configs" / "tiny.yaml")
    data = cfg.model_dump()
    data["train"].update(steps=steps, time_budget_minutes=None, eval_every=steps, ckpt_every=steps, plots=False,
                         probe_size=8)
    data["data"]["path"] = str(data_dir)
    cfg = type(cfg).model_validate(data)
    train(cfg, run_dir, tasks=load_tasks(data_dir / "tasks.jsonl"), progress=False)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="a trained run (trained here first if missing)")
    ap.add_argument("--train-steps", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-client", type=int, default=2, help="requests each client sends, one after another")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="torch threads, here and in the server (more than the "
                    "free cores makes OpenMP threads wait on each other: 6.6x slower at 2 threads under load 11)")
    ap.add_argument("--batch-window-ms", type=float, default=50.0, help="the server's --batch-window-ms")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)

    if not (args.run / "config.yaml").exists():
        tiny_run(args.run, args.train_steps)
    run_dir = args.run
    run = load_run(run_dir)
    suite = run.cfg.data.path
    tasks = [t for t in load_tasks(Path(suite) / "tasks.jsonl") if t.meta.get("split") == "test"]
    n = args.clients * args.per_client
    prompts = [builtin_prompt(tasks[i % len(tasks)], "python").native for i in range(n)]
    sampling = SamplingConfig(max_new_tokens=args.max_tokens)
    jobs = [Job(builtin_prompt(tasks[i % len(tasks)], "python")) for i in range(n)]

    one = HrmBackend(run, batch_size=1)
    list(one.generate(jobs[:1], sampling))  # warm-up
    t0 = time.perf_counter()
    direct = dict(one.generate(jobs, sampling))
    direct_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    batched = dict(HrmBackend(run, batch_size=n).generate(jobs, sampling))
    batched_s = time.perf_counter() - t0
    texts = [direct[i].text for i in range(n)]
    tokens = sum(c.completion_tokens for c in direct.values())

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "hrmcode", "serve", str(run_dir), "--port", str(port),
                             "--max-batch", str(n), "--threads", str(args.threads),
                             "--batch-window-ms", str(args.batch_window_ms)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("hrmcode serve did not start") from None
                time.sleep(0.2)
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0)
        name = client.models.list().data[0].id

        def ask(i: int) -> tuple[str, int]:
            r = client.completions.create(model=name, prompt=prompts[i], max_tokens=args.max_tokens,
                                          temperature=0, extra_body={"language": "python"})
            return r.choices[0].text, r.usage.completion_tokens

        ask(0)  # warm-up
        t0 = time.perf_counter()
        seq = [ask(i) for i in range(n)]
        seq_s = time.perf_counter() - t0
        conc: dict[int, tuple[str, int]] = {}
        barrier = threading.Barrier(args.clients)

        def client_loop(c: int) -> None:
            barrier.wait()
            for k in range(args.per_client):
                i = c * args.per_client + k
                conc[i] = ask(i)

        threads = [threading.Thread(target=client_loop, args=(c,)) for c in range(args.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        conc_s = time.perf_counter() - t0
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/health").read())
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    same = [t for t, _ in seq] == texts == [conc[i][0] for i in range(n)] == [batched[i].text for i in range(n)]
    result = {
        "requests": n, "clients": args.clients, "max_tokens": args.max_tokens, "completion_tokens": tokens,
        "threads": args.threads, "batch_window_ms": args.batch_window_ms, "params": sum(p.numel() for p in run.model.parameters()),
        "arch": run.cfg.model.arch, "same_texts_in_every_mode": same,
        "direct_one_at_a_time_tok_s": tokens / direct_s, "direct_all_at_once_tok_s": tokens / batched_s,
        "serve_one_at_a_time_tok_s": sum(k for _, k in seq) / seq_s,
        "serve_concurrent_tok_s": sum(k for _, k in conc.values()) / conc_s,
        "server_batches": health["batches"], "server_rows": health["rows"],
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "load_avg_1min_at_end": os.getloadavg()[0],
    }
    result["concurrent_vs_one_at_a_time"] = result["serve_concurrent_tok_s"] / result["serve_one_at_a_time_tok_s"]
    result["serve_vs_direct_one_at_a_time"] = result["serve_one_at_a_time_tok_s"] / result["direct_one_at_a_time_tok_s"]
    for k, v in result.items():
        log.info("%-32s %s", k, f"{v:.3f}" if isinstance(v, float) else v)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
