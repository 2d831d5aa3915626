"""Training throughput of HRM and the baseline, and the fraction of this machine's matmul peak.

Measured in ONE run, side by side: the fp32 (and bf16) matmul peak at 1 and 2 threads, then
tokens/s of a training step (forward, backward, clip, AdamW step, per-module grad norms — what
hrmcode.train.trainer does per step) for the tiny HRM and the tiny baseline, 1 vs 2 threads,
fp32 vs bf16. FLOPs per step are counted by torch's FlopCounterMode on the real step, so the
fraction of peak needs no hand-written FLOP model.

    .venv/bin/python bench/train_throughput.py                  # CPU grid (a few minutes)
    .venv/bin/python bench/train_throughput.py --device cuda    # small and hrm-27m on the GPU, bf16
    .venv/bin/python bench/train_throughput.py --device cuda --compile   # + torch.compile rows

On a GPU, MFU is the FLOP rate of the step over the card's dense bf16 peak: both the bf16 matmul rate
measured in this run (8192³) and the datasheet figure (``--datasheet-tflops``, 989 for H100/H200 SXM).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from hrmcode.config import preset
from hrmcode.model import build_model
from hrmcode.model.batch import IGNORE, Batch
from hrmcode.train.monitors import grad_norms


def matmul_peak(dtype: torch.dtype, device: str, n: int = 1024, seconds: float = 1.0) -> float:
    """Sustained FLOP/s of an n×n matmul."""
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    a @ b
    sync(device)
    reps, t0 = 0, time.perf_counter()
    while reps == 0 or time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def random_batch(B: int, T: int, vocab: int, prompt: int, device: str, gen: torch.Generator) -> Batch:
    """A causal training batch of random tokens: prompt of ``prompt`` tokens, loss on the rest."""
    ids = torch.randint(16, vocab, (B, T), generator=gen)
    targets = torch.full((B, T), IGNORE, dtype=torch.long)
    targets[:, prompt - 1:T - 1] = ids[:, prompt:]
    return Batch(ids, targets, torch.zeros(B, dtype=torch.long), torch.full((B,), prompt, dtype=torch.long),
                 torch.full((B,), T, dtype=torch.long)).to(device)


def measure(arch: str, preset_name: str, precision: str, device: str, B: int, T: int, steps: int, *,
            compile_model: bool = False) -> dict:
    torch.manual_seed(0)
    cfg = preset(preset_name, arch=arch, max_seq_len=max(T, 64))
    model = build_model(cfg).to(device).train()
    compiled = torch.compile(model) if compile_model else model
    run = compiled
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, foreach=device != "cpu")
    gen = torch.Generator().manual_seed(0)
    batch = random_batch(B, T, cfg.vocab_size, T // 4, device, gen)
    carry = model.initial_carry(batch)
    amp = (torch.autocast(torch.device(device).type, dtype=torch.bfloat16) if precision == "bf16"
           else contextlib.nullcontext())

    def step() -> None:
        nonlocal carry
        with amp:
            out = run(carry, batch)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        grad_norms(model.named_parameters())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        carry = out.carry

    t_first = time.perf_counter()
    step()  # warm-up (allocations, first-call overheads, compilation)
    sync(device)
    first_s = time.perf_counter() - t_first
    run = model  # FLOPs are counted on the eager model (the same step); compiled code hides them
    with FlopCounterMode(display=False) as fc:
        step()
    flops = fc.get_total_flops()
    if compile_model:
        run = compiled
        step()  # back on the compiled graph before timing
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    dt = (time.perf_counter() - t0) / steps
    return {"arch": arch, "preset": preset_name, "precision": precision, "tok_s": B * T / dt,
            "flop_s": flops / dt, "step_s": dt, "params": sum(p.numel() for p in model.parameters()),
            "compiled": compile_model, "first_step_s": first_s, "batch": B, "seq": T}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    ap.add_argument("--compile", action="store_true", help="GPU: also time torch.compile'd models")
    ap.add_argument("--presets", default="small,hrm-27m", help="GPU: presets to time")
    ap.add_argument("--datasheet-tflops", type=float, default=989.0, help="GPU: the card's dense bf16 peak")
    args = ap.parse_args()
    rows = []
    if args.device == "cpu":
        for threads in (1, 2):
            torch.set_num_threads(threads)
            # bf16 matmuls are emulated on CPUs without AVX512-BF16/AMX: a smaller n keeps this quick.
            peaks = {"fp32": matmul_peak(torch.float32, "cpu"), "bf16": matmul_peak(torch.bfloat16, "cpu", n=256)}
            for precision in ("fp32", "bf16"):
                for arch in ("hrm", "baseline"):
                    r = measure(arch, "tiny", precision, "cpu", args.batch, args.seq, args.steps)
                    r.update(threads=threads, peak_fp32=peaks["fp32"], peak_same=peaks[precision])
                    rows.append(r)
    else:
        peak = matmul_peak(torch.bfloat16, args.device, n=8192, seconds=2.0)
        for name in args.presets.split(","):
            for compiled in (False, True) if args.compile else (False,):
                for arch in ("hrm", "baseline"):
                    r = measure(arch, name, "bf16", args.device, args.batch * 8, args.seq * 4, args.steps * 5,
                                compile_model=compiled)
                    r.update(threads=torch.get_num_threads(), peak_bf16=peak)
                    rows.append(r)
                    print(json.dumps(r), flush=True)
        print(f"{torch.cuda.get_device_name()}: bf16 matmul 8192³ measured {peak / 1e12:.0f} TFLOP/s, "
              f"datasheet {args.datasheet_tflops:.0f}")
        print(f"{'preset':8} {'arch':9} {'compile':7} {'B×T':>9} {'tok/s':>11} {'TFLOP/s':>8} {'MFU meas.':>9} "
              f"{'MFU sheet':>9} {'1st step s':>10}")
        for r in rows:
            print(f"{r['preset']:8} {r['arch']:9} {r['compiled']!s:7} {r['batch']:>4}×{r['seq']:<4} {r['tok_s']:11.0f} "
                  f"{r['flop_s'] / 1e12:8.1f} {100 * r['flop_s'] / peak:8.1f}% "
                  f"{100 * r['flop_s'] / (args.datasheet_tflops * 1e12):8.1f}% {r['first_step_s']:10.1f}")
        if args.json:
            print(json.dumps(rows, indent=1))
        return
    import os

    print(f"matmul peak measured in this run; B={args.batch} T={args.seq} on {args.device}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'preset':8} {'arch':9} {'thr':>3} {'prec':5} {'tok/s':>9} {'GFLOP/s':>9} {'%fp32 peak':>10} "
          f"{'%same-dtype peak':>16}")
    for r in rows:
        print(f"{r['preset']:8} {r['arch']:9} {r['threads']:>3} {r['precision']:5} {r['tok_s']:9.0f} "
              f"{r['flop_s'] / 1e9:9.2f} {100 * r['flop_s'] / r['peak_fp32']:9.1f}% {100 * r['flop_s'] / r['peak_same']:15.1f}%")
    if args.device == "cpu":
        by = {(r["arch"], r["threads"], r["precision"]): r["tok_s"] for r in rows}
        for arch in ("hrm", "baseline"):
            print(f"{arch}: 2 vs 1 thread (fp32) ×{by[(arch, 2, 'fp32')] / by[(arch, 1, 'fp32')]:.2f}; "
                  f"bf16 vs fp32 (2 threads) ×{by[(arch, 2, 'bf16')] / by[(arch, 2, 'fp32')]:.2f}")
        for t in (1, 2):
            print(f"{t} thread(s): HRM / baseline tokens/s ×{by[('hrm', t, 'fp32')] / by[('baseline', t, 'fp32')]:.2f} (fp32)")
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
