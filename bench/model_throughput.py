"""Model throughput, measured side by side in one run.

  * this machine's fp32 matmul peak (a large square matmul, best of several),
  * training and forward tokens/s of the tiny HRM and the tiny baseline (causal, one_step), and
    the fraction of the measured peak their model FLOPs reach,
  * the KV-cache decode speed-up over recomputation for 256 generated tokens.

Recomputation runs a full forward over prompt + generated tokens for every new token; its total
for 256 tokens is the sum of those forwards. ``--stride S`` times every S-th length and integrates
(trapezoid) between measured lengths; ``--stride 1`` times all 256 (slow on a CPU).

    .venv/bin/python bench/model_throughput.py [--threads N] [--device cpu|cuda|mps] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import platform
import time
from collections.abc import Callable

import torch

from hrmcode.config import ModelConfig, preset
from hrmcode.model import build_model, causal_batch, prompt_batch
from hrmcode.model.batch import Batch
from hrmcode.tokenizer import CausalExample

log = logging.getLogger("bench.model_throughput")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(fn: Callable[[], object], device: torch.device, reps: int, warmup: int = 1) -> float:
    """Median seconds per call."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def matmul_peak(device: torch.device, n: int) -> float:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    best = min(timed(lambda: a @ b, device, reps=1, warmup=0) for _ in range(5 if device.type == "cpu" else 20))
    return 2 * n**3 / best


# ---- model FLOPs (matmuls only; the elementwise work is the overhead the ratio exposes) ----------

def block_flops(cfg: ModelConfig, T: int) -> float:
    """Forward FLOPs per token of one block: qkv, out, SwiGLU, and attention over T keys."""
    d, f = cfg.hidden, cfg.ffn_hidden
    return 2 * (4 * d * d + 3 * d * f) + 4 * T * d


def train_flops_per_token(cfg: ModelConfig, T: int) -> float:
    lm = 2 * cfg.hidden * cfg.vocab_size
    blk = block_flops(cfg, T)
    if cfg.arch == "baseline":
        return 3 * (cfg.n_baseline_layers * blk + lm)  # forward + backward (2×)
    apps = cfg.h_cycles * (cfg.l_cycles * cfg.l_layers + cfg.h_layers)  # block applications per segment
    grad_apps = cfg.l_layers + cfg.h_layers  # one_step: the final L and H calls
    forward = apps * blk + lm
    backward = 2 * (grad_apps * blk + lm)
    q_target = apps * blk if cfg.act.enabled and cfg.act.halt_max_steps > 1 else 0  # 2nd no-grad segment
    return forward + backward + q_target


def forward_flops_per_token(cfg: ModelConfig, T: int) -> float:
    lm = 2 * cfg.hidden * cfg.vocab_size
    blk = block_flops(cfg, T)
    if cfg.arch == "baseline":
        return cfg.n_baseline_layers * blk + lm
    return cfg.h_cycles * (cfg.l_cycles * cfg.l_layers + cfg.h_layers) * blk + lm


def synthetic_batch(cfg: ModelConfig, B: int, T: int, prompt: int, seed: int) -> Batch:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(16, cfg.vocab_size, (B, T), generator=g).tolist()
    return causal_batch([CausalExample(r, prompt) for r in ids], pad_id=0)


def train_and_forward(cfg: ModelConfig, device: torch.device, B: int, T: int, reps: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = build_model(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch = synthetic_batch(cfg, B, T, prompt=T // 4, seed=1).to(device)
    state = {"carry": model.initial_carry(batch)}

    def train_step() -> None:
        out = model(state["carry"], batch)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        state["carry"] = out.carry

    model.train()
    t_train = timed(train_step, device, reps=reps, warmup=2)
    model.eval()
    eval_carry = model.initial_carry(batch)

    def forward() -> None:
        with torch.inference_mode():
            model(eval_carry, batch)  # one segment + heads, no gradient

    t_fwd = timed(forward, device, reps=reps, warmup=1)
    tokens = B * T
    return {"train_tok_s": tokens / t_train, "forward_tok_s": tokens / t_fwd,
            "train_flops_s": tokens * train_flops_per_token(cfg, T) / t_train,
            "forward_flops_s": tokens * forward_flops_per_token(cfg, T) / t_fwd}


def decode_speedup(cfg: ModelConfig, device: torch.device, B: int, prompt: int, n_new: int,
                   stride: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = build_model(cfg).to(device).eval()
    g = torch.Generator().manual_seed(2)
    prompts = torch.randint(16, cfg.vocab_size, (B, prompt), generator=g).tolist()
    pb = prompt_batch(prompts, 0).to(device)

    def cached() -> torch.Tensor:
        logits, st = model.start_decode(pb, prompt + n_new)
        toks = []
        for i in range(n_new):  # no stop at <eos>: always n_new tokens
            toks.append(logits.argmax(-1))
            if i < n_new - 1:
                logits = model.decode_step(st, toks[-1])
        return torch.stack(toks, 1)

    sync(device)
    t = time.perf_counter()
    toks = cached()
    sync(device)
    t_cached = time.perf_counter() - t

    def recompute_at(k: int) -> float:
        """Seconds of the full forward that predicts token k (prompt + k generated tokens)."""
        inputs = torch.cat([pb.inputs, toks[:, :k]], 1)
        b = Batch(inputs, torch.full_like(inputs, -100), pb.start, pb.prefix_end,
                  torch.full_like(pb.end, inputs.shape[1]))
        return timed(lambda: model.infer(b), device, reps=1, warmup=0)

    recompute_at(0)  # warm-up
    ks = sorted(set(range(0, n_new, stride)) | {n_new - 1})
    times = {k: recompute_at(k) for k in ks}
    # Σ_k f(k) over integer k ≈ trapezoid integral + half of each end point (exact for linear f)
    total = sum((times[a] + times[b]) / 2 * (b - a) for a, b in itertools.pairwise(ks))
    total += (times[ks[0]] + times[ks[-1]]) / 2
    return {"cached_s": t_cached, "recompute_s": total, "speedup": total / t_cached,
            "cached_tok_s": B * n_new / t_cached, "measured_lengths": len(ks)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--decode-batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--stride", type=int, default=16)
    ap.add_argument("--json", help="also write the numbers to this file")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    peak = matmul_peak(device, 2048 if device.type == "cpu" else 8192)
    log.info("machine: %s, %s, torch %s, %d threads, load avg %s", platform.processor() or platform.machine(),
             device, torch.__version__, torch.get_num_threads(), os.getloadavg() if hasattr(os, "getloadavg") else "?")
    log.info("fp32 matmul peak: %.1f GFLOP/s", peak / 1e9)
    results: dict[str, object] = {"peak_flops_s": peak, "threads": torch.get_num_threads(), "device": str(device)}
    for arch in ("hrm", "baseline"):
        cfg = preset("tiny", arch=arch, max_seq_len=max(args.seq, 32 + args.new_tokens))
        r = train_and_forward(cfg, device, args.batch, args.seq, args.reps)
        results[f"{arch}_train"] = r
        log.info("%-8s train %7.0f tok/s (%4.1f%% of peak)   forward %7.0f tok/s (%4.1f%% of peak)   [%d×%d]",
                 arch, r["train_tok_s"], 100 * r["train_flops_s"] / peak, r["forward_tok_s"],
                 100 * r["forward_flops_s"] / peak, args.batch, args.seq)
    for arch in ("hrm", "baseline"):
        cfg = preset("tiny", arch=arch, max_seq_len=32 + args.new_tokens)
        for B in args.decode_batch:
            d = decode_speedup(cfg, device, B, 32, args.new_tokens, args.stride)
            results[f"{arch}_decode_b{B}"] = d
            log.info("%-8s decode %d tokens, batch %d: cache %.2fs vs recompute %.2fs → speed-up %.1f×  "
                     "(%.0f tok/s cached)", arch, args.new_tokens, B, d["cached_s"], d["recompute_s"],
                     d["speedup"], d["cached_tok_s"])
    if args.json:
        from hrmcode.records import atomic_write_json

        atomic_write_json(args.json, results)


if __name__ == "__main__":
    main()
