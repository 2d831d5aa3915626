"""Where does a copy-head model miss the function name it is given? A teacher-forced autopsy.

For each hand-written task (depth ≤ 2) and language, the reference answer is fed to a checkpoint of a
model with ``model.copy_head``, and at the function name's tokens (and the one after the name) the
first position whose argmax is wrong is taken apart: did the pointer's best position offer the wrong
token (and then how much of its score was the learned q·k, how much the match terms, against the
best position offering the right token), or did the vocabulary side win? Torch forward hooks read
the head's inputs; nothing in the model changes.

    .venv/bin/python bench/copy_failures.py RUN_DIR --step 3000 --data runs/demo/data

It printed the finding in docs/benchmarks.md ("Why the renamed copies fall back").
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.name_copy import name_example  # noqa: E402
from hrmcode.languages import get_language  # noqa: E402
from hrmcode.model.copy_head import history  # noqa: E402
from hrmcode.records import Task, read_jsonl  # noqa: E402
from hrmcode.runs import load_run  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="a training run whose model has a copy head")
    ap.add_argument("--step", type=int, default=None, help="the checkpoint (default: the latest)")
    ap.add_argument("--data", required=True, help="a built-in suite directory with handwritten.jsonl")
    ap.add_argument("--languages", default="python,javascript,java,cpp,go,rust")
    ap.add_argument("--show", type=int, default=12, help="print this many failures in full")
    args = ap.parse_args()

    run = load_run(Path(args.run), which=args.step)
    tok, model = run.tokenizer, run.model
    head = model.copy if hasattr(model, "copy") else model.core.copy
    if head is None:
        ap.error(f"{args.run}: the model has no copy head (model.copy_head)")
    seen: dict[str, torch.Tensor] = {}
    head.query.register_forward_hook(lambda m, i, o: seen.update(h=i[0]))
    head.key.register_forward_hook(lambda m, i, o: seen.update(k=o))
    hand = [t for t in read_jsonl(Path(args.data) / "handwritten.jsonl", Task)[0]
            if t.signature and int(t.difficulty or 0) <= 2]
    piece = lambda i: repr(tok._tok.decode([int(i)]))  # noqa: E731
    kinds: collections.Counter[str] = collections.Counter()
    names = shown = 0
    for t in hand:
        for lang in args.languages.split(","):
            example = name_example(run, t, lang)
            if example is None:
                continue
            batch, P, span = example
            ids = batch.inputs[0].tolist()  # the prompt, the reference and EOS
            name = get_language(lang).ident(t.signature.name)
            with torch.no_grad():
                logits = model(model.initial_carry(batch), batch).outputs["logits"][0]
                names += 1
                for i in [*span, span[-1] + 1]:  # the name's tokens, then the one after it
                    j = P - 1 + i
                    target, pred = ids[j + 1], int(logits[j].argmax())
                    if pred == target:
                        continue
                    # the query at j against every earlier position (start = 0): learned part and all
                    h, keys = seen["h"][:, j:j + 1], seen["k"][:, :j]
                    past = history(batch.inputs, head.history)
                    qk = head.pointer(h, keys)[0, 0].float()
                    score = head.scores(h, keys, past[:, :j], past[:, j:j + 1])[0, 0].float()
                    match = score - qk
                    offers = torch.tensor(ids[1:j + 1])
                    top = int(score.argmax())
                    where = "after the name" if i == span[-1] + 1 else "in the name"
                    kind = f"pointer at a wrong position, {where}" if int(offers[top]) == pred else f"vocabulary, {where}"
                    kinds[kind] += 1
                    if shown < args.show:
                        shown += 1
                        right = [p for p in range(j) if int(offers[p]) == target]
                        best = max(right, key=lambda p: float(score[p])) if right else None
                        print(f"{lang:10} {name:24} after {piece(ids[j]):12} want {piece(target):10} got {piece(pred):10}"
                              f" | best position {top}: q·k {float(qk[top]):5.1f} + match {float(match[top]):5.1f}"
                              + (f" | best right {best}: q·k {float(qk[best]):5.1f} + match {float(match[best]):5.1f}"
                                 if best is not None else " | no position offers it"))
                    break
    print(f"{names} names, {sum(kinds.values())} with a wrong token (the first one counted):")
    for k, v in kinds.most_common():
        print(f"  {v:4}  {k}")


if __name__ == "__main__":
    main()
