"""Is a pass@1 gap between two runs the models, or the way one of them generates? A controlled check.

    .venv/bin/python bench/model_gap.py --data runs/demo12k/data --runs runs/demo12k/hrm,runs/demo12k/baseline

For each run, on the suite's depth-≤ 2 tasks of ``--splits`` in one language (Python by default):

1. generation consistency: greedy answers to ``--n`` prompts (the demo's: native prompt + the
   signature prefilled), generated in one batch with the KV cache (as the demo does), one prompt at
   a time with the cache, and one at a time by a full forward per token — identical answers rule
   out batching and cache bugs;
2. teacher-forced quality of the reference on every task, as the training probe measures it (the
   examples training builds, ``lm_stats``): exact match (every next-token argmax right, i.e. greedy
   decoding would write the reference) and the loss per token.

The training probe (64 examples) is too small to rank two runs; this scores hundreds of tasks.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hrmcode.benchmarks.builtin.prompts import builtin_prompt  # noqa: E402
from hrmcode.data.batching import build_examples, collate, difficulty_of  # noqa: E402
from hrmcode.generate import SamplingConfig, generate  # noqa: E402
from hrmcode.model.common import lm_stats  # noqa: E402
from hrmcode.records import Task, read_jsonl  # noqa: E402
from hrmcode.runs import LoadedRun, load_run  # noqa: E402


def consistency(run: LoadedRun, tasks: list[Task], lang: str, n: int, max_new_tokens: int) -> dict[str, float]:
    tok, model = run.tokenizer, run.model
    ids = []
    for t in tasks[:n]:
        p = builtin_prompt(t, lang, prefill_signature=True)
        ids.append(tok.prompt_ids(lang, p.native) + tok.encode(p.prefill))
    kw = dict(eos_id=tok.eos_id, pad_id=tok.pad_id, mask_id=tok.mask_id,
              sampling=SamplingConfig(max_new_tokens=max_new_tokens, temperature=0.0, seed=0))
    batched = [list(x) for x in generate(model, ids, **kw).tokens]
    single = [list(generate(model, [x], **kw).tokens[0]) for x in ids]
    nocache = [list(generate(model, [x], use_cache=False, **kw).tokens[0]) for x in ids]
    return {"prompts": len(ids), "batched_eq_single": sum(a == b for a, b in zip(batched, single, strict=True)),
            "single_eq_nocache": sum(a == b for a, b in zip(single, nocache, strict=True)),
            "mean_tokens": sum(map(len, batched)) / max(1, len(batched))}


def teacher_forced(run: LoadedRun, tasks: list[Task], lang: str, chunk: int = 16) -> dict[str, float]:
    """The training probe's measure (the same examples as training builds, ``lm_stats``) on every task."""
    tok, model = run.tokenizer, run.model
    examples, report = build_examples(tasks, tok, [lang], mode="causal", max_len=run.cfg.model.max_seq_len)
    exact = nll = n_tok = 0.0
    for i in range(0, len(examples), chunk):
        rows = examples[i:i + chunk]
        batch = collate(rows, tok.pad_id, max(len(e.ids) for e in rows))
        logits = model(model.initial_carry(batch), batch).outputs["logits"].float()
        stats = lm_stats(logits, batch.targets, run.cfg.model.loss)
        nll += float((stats.per_seq * stats.n_targets).sum())  # per-token loss pooled over the tasks
        n_tok += float(stats.n_targets.sum())
        exact += float(stats.exact.sum())
    return {"tasks": len(examples), "too_long": report.skipped_too_long, "exact_match": exact / max(1, len(examples)),
            "nll_per_token": nll / max(1.0, n_tok)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the built-in suite directory the runs trained on")
    ap.add_argument("--runs", required=True, help="comma-separated run directories")
    ap.add_argument("--splits", default="test,val")
    ap.add_argument("--language", default="python")
    ap.add_argument("--n", type=int, default=40, help="prompts for the generation-consistency check")
    ap.add_argument("--max-new-tokens", type=int, default=96)
    args = ap.parse_args()
    torch.manual_seed(0)
    data = Path(args.data)
    for run_dir in args.runs.split(","):
        run = load_run(run_dir)
        run.model.eval()
        with torch.no_grad():
            for split in args.splits.split(","):
                tasks = [t for t in read_jsonl(data / f"{split}.jsonl", Task)[0]
                         if t.signature and difficulty_of(t) <= 2 and args.language in t.reference]
                t0 = time.monotonic()
                tf = teacher_forced(run, tasks, args.language)
                line = (f"{run_dir} {split}: {tf['tasks']} tasks ({tf['too_long']} too long), teacher-forced exact "
                        f"match {tf['exact_match']:.3f}, loss/token {tf['nll_per_token']:.4f}")
                if split == args.splits.split(",")[0]:
                    c = consistency(run, tasks, args.language, args.n, args.max_new_tokens)
                    line += (f"; greedy answers identical batched/single {c['batched_eq_single']}/{c['prompts']}, "
                             f"cached/uncached {c['single_eq_nocache']}/{c['prompts']} (mean {c['mean_tokens']:.1f} tokens)")
                print(line + f" [{time.monotonic() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
