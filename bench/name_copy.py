"""Why does a trained model not write the function name it is given? A controlled experiment.

`make demo`'s models, asked for whole answers to the hand-written tasks, define the requested
function in 0 % of samples: they write a plausible name of the training vocabulary instead
(`def calculate_signal(nums)` for `count_negatives`). The prompt holds the starter code, so the
name is there to copy. Two hypotheses: copying needs more steps than the demo gives, or the
suite's names make copying unnecessary to learn, because a name is drawn from a small vocabulary
keyed by the signature's types (~260 words), so the model lowers its loss on name tokens by
learning that prior instead of an induction (copy) mechanism.

A third: the model memorises a small suite (train loss near 0 while the probe loss stays high), and
a memorised task needs no copying. This trains the same model for the same steps in two variants,
side by side, one thread each, and scores each kept checkpoint:

    suite   the suite's own names
    wide    every training and validation task renamed to a pseudo-word name that no vocabulary
            predicts (``vokira_stelum``), in each language's convention, everywhere it occurs
            (statement, starter code, reference): only copying from the prompt gets it right
    big     another, larger suite (``--big-data``, e.g. ``hrmcode data build --n 12000``): the same
            names and phrasings, more distinct tasks, so fewer repeats of each in the same steps
    tied    the suite's own names, the model with ``model.tie_embeddings``: the output projection is
            the embedding table, so a copied token can be written out through the vectors that read it
    renamed the suite, each training task also trained under two pseudo-word names
            (``data.rename_copies=2``, hrmcode.data.names): its own name is still there, but it no
            longer predicts the name, so only copying does; ``tied-renamed`` is both changes

Scores per checkpoint on the hand-written tasks (depth ≤ 2, names no training name uses) and on
the suite's test tasks: teacher-forced accuracy on the function-name tokens of the reference
(first token, and the whole name right), and signature adherence of whole answers generated
greedily without prefill (the demo's measure: the share that define the requested function).

    .venv/bin/python bench/name_copy.py --config runs/demo/baseline/config.yaml \\
        --data runs/demo/data --tokenizer runs/demo/tokenizer.json --steps 3000 --every 500
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hrmcode.benchmarks.builtin.protocol import GenerationPlan, generate_samples  # noqa: E402
from hrmcode.data.batching import Example, collate  # noqa: E402
from hrmcode.data.names import pseudo_name, rename_task  # noqa: E402
from hrmcode.evaluate.summary import signature_adherence  # noqa: E402
from hrmcode.generate import SamplingConfig  # noqa: E402
from hrmcode.languages import get_language  # noqa: E402
from hrmcode.model.batch import Batch  # noqa: E402
from hrmcode.prompts import prompt_text  # noqa: E402
from hrmcode.records import Task, read_jsonl, write_jsonl  # noqa: E402
from hrmcode.runs import LoadedRun, load_run  # noqa: E402
from hrmcode.train.checkpoint import list_checkpoints  # noqa: E402


def wide_data(src: Path, dst: Path, seed: int) -> None:
    """A copy of the suite whose train and val tasks (``meta.split``) have pseudo-word names, the same
    name for a task in every file (training reads ``tasks.jsonl``; the split files are views of it)."""
    if (dst / "done").is_file():
        return
    dst.mkdir(parents=True, exist_ok=True)
    rng, taken = random.Random(seed), set()
    names: dict[str, str] = {}
    for f in sorted(src.glob("*.jsonl")):
        tasks, _ = read_jsonl(f, Task)
        out = []
        for t in tasks:
            if t.signature and t.meta.get("split") in ("train", "val"):
                t = rename_task(t, names.setdefault(t.task_id, pseudo_name(rng, taken)))
            out.append(t)
        write_jsonl(dst / f.name, out)
    for f in src.glob("*.json"):
        (dst / f.name).write_bytes(f.read_bytes())
    (dst / "done").write_text(json.dumps({"renamed": len(names)}))


# A variant's config change; the others change the data they read.
VARIANT_SETS = {"tied": ["model.tie_embeddings=true"], "renamed": ["data.rename_copies=2"],
                "tied-renamed": ["model.tie_embeddings=true", "data.rename_copies=2"],
                "copy": ["model.copy_head=true"], "copy-pointer": ["model.copy_head=true", "model.copy_match=false"],
                "copy-renamed": ["model.copy_head=true", "data.rename_copies=2"],
                "copy4-renamed": ["model.copy_head=true", "model.copy_match_len=4", "data.rename_copies=2"],
                "copy4-renamed1": ["model.copy_head=true", "model.copy_match_len=4", "data.rename_copies=1"],
                "copy4cap10-renamed1": ["model.copy_head=true", "model.copy_match_len=4", "model.copy_score_cap=10",
                                        "data.rename_copies=1"],
                "copy4cap5-renamed1": ["model.copy_head=true", "model.copy_match_len=4", "model.copy_score_cap=5",
                                       "data.rename_copies=1"],
                "copy4cap10fixed-renamed1": ["model.copy_head=true", "model.copy_match_len=4",
                                             "model.copy_score_cap=10", "model.copy_match_weights=fixed",
                                             "data.rename_copies=1"],
                "copy4cap10floor0-renamed1": ["model.copy_head=true", "model.copy_match_len=4",
                                              "model.copy_score_cap=10", "model.copy_score_floor=0",
                                              "data.rename_copies=1"],
                "copy4cap10floor0-renamed1words": ["model.copy_head=true", "model.copy_match_len=4",
                                                   "model.copy_score_cap=10", "model.copy_score_floor=0",
                                                   "data.rename_copies=1", "data.rename_names=words"]}


def train(config: Path, variant: str, data: Path, tokenizer: Path, steps: int, every: int, out: Path) -> Path:
    run_dir = out / variant
    if (run_dir / "done.json").is_file():
        return run_dir
    sets = [f"name=name-copy-{variant}", f"data.path={data}", f"tokenizer.path={tokenizer}",
            f"train.steps={steps}", "train.time_budget_minutes=null", "train.threads=1",
            f"train.ckpt_every={every}", f"train.keep_last={steps // every + 1}", f"train.eval_every={every}",
            "train.plots=false", *VARIANT_SETS.get(variant, [])]
    cmd = [sys.executable, "-m", "hrmcode", "train", str(config), "--out", str(run_dir), "--no-progress"]
    for s in sets:
        cmd += ["--set", s]
    subprocess.run(["rm", "-rf", str(run_dir)], check=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{proc.stderr[-3000:]}")
    (run_dir / "done.json").write_text(json.dumps({"seconds": time.perf_counter() - t0}))
    return run_dir


def name_example(run: LoadedRun, task: Task, lang: str) -> tuple[Batch, int, list[int]] | None:
    """The prompt and reference of ``task`` in ``lang`` as one training batch, the prompt's length and
    the reference tokens that hold the function's name (first occurrence); None when the reference
    lacks the name or the example is longer than the model's context."""
    tok, code = run.tokenizer, task.reference.get(lang)
    name = get_language(lang).ident(task.signature.name)
    at = code.find(name) if code else -1
    if at < 0:
        return None
    prefix = tok.prompt_ids(lang, prompt_text(task, lang))
    enc = tok._tok.encode(code, add_special_tokens=False)
    span = [i for i, (a, b) in enumerate(enc.offsets) if b > at and a < at + len(name)]
    ids = (*prefix, *enc.ids, tok.eos_id)
    if len(ids) > run.cfg.model.max_seq_len:
        return None
    return collate([Example(task.task_id, lang, 1, ids, len(prefix))], tok.pad_id, len(ids)), len(prefix), span


@torch.no_grad()
def name_accuracy(run: LoadedRun, tasks: list[Task], languages: list[str]) -> dict[str, float]:
    """Teacher-forced argmax accuracy on the reference's function-name tokens (first occurrence)."""
    model = run.model
    first = whole = tokens = right = n = 0
    for t in tasks:
        for lang in languages:
            example = name_example(run, t, lang)
            if example is None:
                continue
            batch, p, span = example
            out = model(model.initial_carry(batch), batch)
            pred = out.outputs["logits"][0].argmax(-1)
            ok = [bool(pred[p - 1 + i] == batch.targets[0, p - 1 + i]) for i in span]
            n += 1
            first += ok[0]
            whole += all(ok)
            tokens += len(ok)
            right += sum(ok)
    return {"first_token": first / n, "whole_name": whole / n, "name_tokens": right / tokens, "n": n}


def score(run_dir: Path, step: int, data: Path, languages: list[str], max_new_tokens: int) -> dict:
    """Name accuracy and adherence at one checkpoint: hand-written depth ≤ 2 tasks (the same in every
    suite) and the first 60 depth ≤ 2 test tasks of the suite the variant trained on."""
    run = load_run(run_dir, which=step)
    hand = [t for t in read_jsonl(data / "handwritten.jsonl", Task)[0] if t.signature and int(t.difficulty or 0) <= 2]
    test = [t for t in read_jsonl(data / "test.jsonl", Task)[0] if t.signature and int(t.difficulty or 0) <= 2][:60]
    plan = GenerationPlan(languages=tuple(languages), n=1, batch_size=32, prefill_signature=False,
                          sampling=SamplingConfig(max_new_tokens=max_new_tokens, temperature=0.0, seed=0))
    samples = generate_samples(run, hand, plan)
    write_jsonl(run_dir / f"adherence-{step}.jsonl", samples)
    return {"step": step, "handwritten": name_accuracy(run, hand, languages),
            "test": name_accuracy(run, test, languages),
            "adherence_handwritten": signature_adherence(hand, samples)["rate"], "samples": len(samples)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="the training recipe (e.g. runs/demo/baseline/config.yaml)")
    ap.add_argument("--data", required=True, help="a built-in suite directory (hrmcode data build)")
    ap.add_argument("--tokenizer", required=True, help="tokenizer.json shared by both variants")
    ap.add_argument("--variants", default="suite,wide", help="two of suite, wide, big, " + ", ".join(VARIANT_SETS))
    ap.add_argument("--big-data", default=None, help="the larger suite the big variant trains on")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--every", type=int, default=500, help="keep and score a checkpoint every this many steps")
    ap.add_argument("--languages", default="python,javascript,java,cpp,go,rust")
    ap.add_argument("--max-new-tokens", type=int, default=96, help="enough for the signature line and some body")
    ap.add_argument("--seed", type=int, default=0, help="of the pseudo-word names")
    ap.add_argument("--out", default=str(ROOT / "runs/name_copy"))
    args = ap.parse_args()

    out, data = Path(args.out), Path(args.data)
    out.mkdir(parents=True, exist_ok=True)
    variants = args.variants.split(",")
    sources = {"suite": data, "wide": out / "data-wide", "big": Path(args.big_data) if args.big_data else None,
               **dict.fromkeys(VARIANT_SETS, data)}  # config variants train on the suite as built
    if "big" in variants and sources["big"] is None:
        ap.error("the big variant needs --big-data DIR")
    if "wide" in variants:
        wide_data(data, sources["wide"], args.seed)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        dirs = dict(zip(variants, pool.map(lambda v: train(Path(args.config), v, sources[v], Path(args.tokenizer),
                                                           args.steps, args.every, out), variants), strict=True))
    print(f"trained {variants}: {time.perf_counter() - t0:.0f} s (one thread each, side by side)", flush=True)
    languages = args.languages.split(",")
    rows = []
    for v in variants:
        steps = sorted(s for s, _ in list_checkpoints(dirs[v] / "checkpoints"))
        for step in steps:
            cached = dirs[v] / f"score-{step}.json"
            if not cached.is_file():
                cached.write_text(json.dumps(score(dirs[v], step, sources[v], languages, args.max_new_tokens)))
            r = {"variant": v, **json.loads(cached.read_text())}
            rows.append(r)
            h, t = r["handwritten"], r["test"]
            print(f"{v:6} step {step:5}: hand-written first name token {h['first_token']:.3f}, whole name "
                  f"{h['whole_name']:.3f} (n={h['n']}); adherence {r['adherence_handwritten']:.3f} "
                  f"({r['samples']} samples) | test whole name {t['whole_name']:.3f}", flush=True)
    (out / "results.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
