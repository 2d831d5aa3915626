"""Decode tokens/s and prefill latency per quantization scheme vs fp32, measured side by side in one run.

Every variant starts from the same weights (a trained run with ``--run``, else the tiny preset at
random init), is quantized the way ``hrmcode quantize`` does it, and is timed on the same prompts:
one prefill of the prompt batch, then ``--new-tokens`` greedy KV-cached decode steps, median of
``--reps`` after a warm-up. HRM runs every token at the full ACT depth (``max``) so all variants do
the same compute. Variants are interleaved round-robin per repetition, so a change of machine load
hits them all alike. The ratios (variant / fp32) are the result; absolute numbers depend on the load.

    .venv/bin/python bench/quant_speed.py [--run runs/quant/hrm] [--arch hrm|baseline] [--threads 1]
        [--batch 1 8] [--prompt-len 64] [--new-tokens 32] [--reps 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import platform
import statistics
import warnings

import torch

from hrmcode.config import preset
from hrmcode.model import build_model
from hrmcode.quantize import QuantSpec, measure_speed, quantize_model

log = logging.getLogger("bench.quant_speed")

VARIANTS = ("fp32", "int8", "int4", "bf16", "mixed", "legacy-int8")


def variants(base: torch.nn.Module, group_size: int) -> dict[str, torch.nn.Module]:
    out = {"fp32": base}
    for name in VARIANTS[1:]:
        out[name] = quantize_model(copy.deepcopy(base), QuantSpec(name, group_size=group_size))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="a trained run directory (default: the tiny preset, random init)")
    ap.add_argument("--arch", default="hrm", choices=["hrm", "baseline"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--group-size", type=int, default=32)
    ap.add_argument("--json", help="also write the numbers to this file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.run:
        from hrmcode.runs import load_run

        base = load_run(args.run).model
    else:
        base = build_model(preset("tiny", arch=args.arch, max_seq_len=args.prompt_len + args.new_tokens + 8)).eval()
    if base.cfg.arch == "hrm":
        base.cfg = base.cfg.model_copy(update={"act": base.cfg.act.model_copy(update={"inference": "max"})})
    models = variants(base, args.group_size)
    vocab = base.cfg.vocab_size
    log.info("machine: %s, %d cores, torch %s, %d threads, load avg %.1f; model %s, %d new tokens",
             platform.processor() or platform.machine(), os.cpu_count(), torch.__version__, args.threads,
             os.getloadavg()[0], base.cfg.arch, args.new_tokens)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for B in args.batch:
        g = torch.Generator().manual_seed(B)
        prompts = torch.randint(8, vocab, (B, args.prompt_len), generator=g).tolist()
        prefill: dict[str, list[float]] = {n: [] for n in models}
        decode: dict[str, list[float]] = {n: [] for n in models}
        for m in models.values():  # warm-up
            measure_speed(m, prompts, 0, new_tokens=args.new_tokens, reps=1)
        for _ in range(args.reps):
            for n, m in models.items():
                s = measure_speed(m, prompts, 0, new_tokens=args.new_tokens, reps=1)
                prefill[n].append(s.prefill_ms)
                decode[n].append(s.decode_tok_s)
        res = {n: {"prefill_ms": statistics.median(prefill[n]), "decode_tok_s": statistics.median(decode[n])}
               for n in models}
        fp = res["fp32"]
        log.info("batch %d, prompt %d:", B, args.prompt_len)
        log.info("  %-12s %12s %10s %14s %10s", "variant", "prefill ms", "vs fp32", "decode tok/s", "vs fp32")
        for n, r in res.items():
            r["prefill_speedup"] = fp["prefill_ms"] / r["prefill_ms"]
            r["decode_speedup"] = r["decode_tok_s"] / fp["decode_tok_s"]
            log.info("  %-12s %12.1f %9.2f× %14.1f %9.2f×", n, r["prefill_ms"], r["prefill_speedup"],
                     r["decode_tok_s"], r["decode_speedup"])
        results[f"batch{B}"] = res
    if args.json:
        from hrmcode.records import atomic_write_json

        atomic_write_json(args.json, {"args": vars(args), "load_avg": os.getloadavg()[0], "results": results})
    else:
        log.debug(json.dumps(results))


if __name__ == "__main__":
    main()
