"""The quantization report: every scheme vs fp32 on the same tasks, seed and decoding.

    summary = quant_report(run_dir, out_dir, specs=[QuantSpec("int8"), QuantSpec("int4")], tasks=tasks,
                           languages=("python",), qat_steps=40)

For each variant the quantized run is saved and loaded back (what is measured is the round-tripped
model), then: pass@1 per language and syntax/compile errors (``evaluate_run``: real generation, real
sandboxed execution), agreement of the generated code with fp32 (exact string match per task and
language), ACT segments used, teacher-forced loss on the run's probe set, size (computed bits and
bytes on disk), prefill latency and decode tokens/s on this machine. Alarms (the risk register):
pass@1 down more than 10% relative to fp32, or more syntax/compile errors than fp32.
Writes ``quant_report.md`` and ``quant_report.json`` into ``out_dir``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from hrmcode.quantize import QuantSpec, measure_speed, quantize_run, size_report, teacher_forced_loss
from hrmcode.records import Sample, Task, atomic_write_json, atomic_write_text, read_jsonl

log = logging.getLogger(__name__)

PASS_DROP_ALARM = 0.10  # relative fall of pass@1 vs fp32 (the risk register: > 10% loss at 8 bits)


def agreement(ref: Sequence[Sample], other: Sequence[Sample]) -> float | None:
    """Fraction of (task, language, attempt) whose generated code is byte-identical to the reference."""
    def key(s: Sample) -> tuple[str, str, int]:
        return (s.task_id, s.language, int(s.attempt or 0))

    a = {key(s): s.solution for s in ref}
    b = {key(s): s.solution for s in other}
    common = a.keys() & b.keys()
    return sum(a[k] == b[k] for k in common) / len(common) if common else None


def alarms_for(name: str, fp32: dict[str, Any], q: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    pairs = [("overall", fp32["overall"].get("pass@1"), q["overall"].get("pass@1"))]
    pairs += [(lang, fp32["per_language"].get(lang, {}).get("pass@1"), v.get("pass@1"))
              for lang, v in q["per_language"].items()]
    for where, a, b in pairs:
        if a is None or b is None or a <= 0:
            continue
        drop = (a - b) / a
        if drop > PASS_DROP_ALARM:
            out.append({"type": "alarm", "monitor": "quant_pass_drop", "variant": name, "where": where,
                        "value": drop, "threshold": PASS_DROP_ALARM,
                        "message": f"{name}: pass@1 ({where}) {a:.3f} → {b:.3f}, {drop:.0%} lower than fp32"})
    ea, eb = fp32["syntax_or_compile_errors"], q["syntax_or_compile_errors"]
    if eb > ea:
        out.append({"type": "alarm", "monitor": "quant_compile_errors", "variant": name, "value": eb,
                    "threshold": ea, "message": f"{name}: {eb} syntax/compile errors vs {ea} for fp32"})
    return out


def _with_act(model: Any, inference: str) -> Any:
    """The same model with another ACT inference policy (speed is timed at a fixed depth)."""
    m = copy.copy(model)  # shallow: shares the weights
    m.cfg = model.cfg.model_copy(update={"act": model.cfg.act.model_copy(update={"inference": inference})})
    return m


def quant_report(run_dir: str | Path, out_dir: str | Path, *, specs: Sequence[QuantSpec], tasks: Sequence[Task],
                 languages: Sequence[str], qat_steps: int = 0, qat_spec: QuantSpec | None = None,
                 max_new_tokens: int = 128, seed: int = 0, speed_batch: int = 8, speed_new_tokens: int = 32,
                 speed_reps: int = 3, data: str | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    from hrmcode.benchmarks.builtin.protocol import GenerationPlan, evaluate_run
    from hrmcode.data.batching import build_examples, load_tasks
    from hrmcode.generate import SamplingConfig
    from hrmcode.model import count_parameters
    from hrmcode.prompts import prompt_text
    from hrmcode.runs import load_run
    from hrmcode.train.trainer import probe_examples, split_tasks

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fp32_run = load_run(run_dir)
    cfg = fp32_run.cfg
    n_params = count_parameters(fp32_run.model)["total"]
    plan = GenerationPlan(languages=tuple(languages), n=1,
                          sampling=SamplingConfig(max_new_tokens=max_new_tokens, temperature=0.0, seed=seed))
    # The probe set of the run's trainer (val split), for teacher-forced loss.
    all_tasks = load_tasks(data or cfg.data.path) if (data or cfg.data.path) else list(tasks)
    _, probe_tasks = split_tasks(all_tasks, cfg.data.max_depth)
    m = cfg.model
    probe_all, _ = build_examples(probe_tasks, fp32_run.tokenizer, cfg.data.languages, mode=m.mode,
                                  max_len=m.max_seq_len, canvas_slots=m.canvas_slots)
    probe = probe_examples(probe_all, cfg.train.probe_size)
    tok = fp32_run.tokenizer
    speed_prompts = [tok.prompt_ids(languages[i % len(languages)], prompt_text(t, languages[i % len(languages)]))
                     for i, t in enumerate(list(tasks)[:speed_batch])]

    variants: list[tuple[str, QuantSpec | None, int]] = [("fp32", None, 0)]
    variants += [(s.name, s, 0) for s in specs]
    if qat_steps > 0:
        qs = qat_spec or QuantSpec("int4")
        variants.append((f"{qs.name}-qat{qat_steps}", qs, qat_steps))
    rows: dict[str, dict[str, Any]] = {}
    fp32_samples: list[Sample] = []
    for i, (name, spec, qsteps) in enumerate(variants):
        log.info("quant report: %s (%d/%d)", name, i + 1, len(variants))
        if spec is None:
            run, info = fp32_run, {"size": size_report(fp32_run.model, n_params),
                                   "disk_bytes": _ckpt_bytes(fp32_run.checkpoint)}
        else:
            run, info = quantize_run(run_dir, spec, out / "models" / name, qat_steps=qsteps, data=data)
        run.cfg = run.cfg.model_copy(update={"name": name})
        eval_dir = out / "eval" / name
        summary = evaluate_run(run, tasks, eval_dir, plan, ks=(1,),
                               progress=(lambda s, d, t, n=name: progress(f"{n} {s}", d, t)) if progress else None)
        samples, _ = read_jsonl(eval_dir / "samples.jsonl", Sample)
        if spec is None:
            fp32_samples = samples
        speed = measure_speed(_with_act(run.model, "max") if m.recurrent else run.model, speed_prompts,
                              tok.pad_id, new_tokens=speed_new_tokens, reps=speed_reps)
        rows[name] = {
            "scheme": spec.scheme if spec else "fp32", "group_size": spec.group_size if spec else None,
            "qat": info.get("qat"), "model_dir": str(run.run_dir),
            "pass@1": summary["overall"].get("pass@1"), "pass@1_ci95": summary["overall"].get("pass@1_ci95"),
            "per_language": {k: v.get("pass@1") for k, v in summary["per_language"].items()},
            "samples": summary["samples"], "syntax_or_compile_errors": summary["syntax_or_compile_errors"],
            "syntax_or_compile_rate": summary["syntax_or_compile_errors"] / max(1, summary["samples"]),
            "verdicts": summary["verdicts"], "agreement_with_fp32": agreement(fp32_samples, samples),
            "compute": summary.get("compute", {}),
            "probe_loss": teacher_forced_loss(run.model, probe, tok.pad_id) if probe else None,
            "size": info["size"], "disk_bytes": info["disk_bytes"], "speed": speed.to_dict(),
            "summary": summary,
        }
    fp = rows["fp32"]
    alarms = [a for name, r in rows.items() if name != "fp32" for a in alarms_for(name, fp["summary"], r["summary"])]
    for r in rows.values():
        r.pop("summary")
    report = {
        "run_dir": str(run_dir), "checkpoint": str(fp32_run.checkpoint), "step": fp32_run.step,
        "tasks": len(tasks), "languages": list(languages), "seed": seed, "max_new_tokens": max_new_tokens,
        "act_inference": m.act.inference if m.recurrent else None, "parameters": n_params,
        "machine": machine(), "speed_setup": {"batch": speed_batch, "new_tokens": speed_new_tokens,
                                             "reps": speed_reps, "act_inference": "max"},
        "variants": rows, "alarms": alarms,
    }
    atomic_write_json(out / "quant_report.json", report)
    atomic_write_text(out / "quant_report.md", markdown(report))
    return report


def _ckpt_bytes(path: Path) -> int | None:
    p = Path(path)
    f = p / "model.safetensors" if p.is_dir() else p
    return f.stat().st_size if f.is_file() else None


def machine() -> dict[str, Any]:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def _loss(x: float | None) -> str:
    return "–" if x is None else f"{x:.4f}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def markdown(rep: dict[str, Any]) -> str:
    rows = rep["variants"]
    fp = rows["fp32"]
    langs = rep["languages"]
    lines = [f"# Quantization report: {Path(rep['run_dir']).name} (step {rep['step']})", "",
             f"- {rep['tasks']} tasks × {len(langs)} languages ({', '.join(langs)}), greedy, seed {rep['seed']}, "
             f"max {rep['max_new_tokens']} new tokens, ACT inference `{rep['act_inference']}`; "
             f"{rep['parameters']:,} parameters",
             f"- machine: {rep['machine']['cpu']}, {rep['machine']['cores']} cores, "
             f"{rep['machine']['threads']} threads, load {rep['machine']['load_avg_1m']:.1f} at the end, "
             f"torch {rep['machine']['torch']}",
             "- every quantized variant was saved and loaded back before it was measured", "",
             "## Accuracy", "",
             "| variant | pass@1 | " + " | ".join(langs) + " | Δ vs fp32 (points) | syntax/compile errors "
             "| agreement with fp32 | probe loss | segments/token |",
             "|---|---|" + "---|" * len(langs) + "---|---|---|---|---|"]
    for name, r in rows.items():
        delta = None if r["pass@1"] is None or fp["pass@1"] is None else 100 * (r["pass@1"] - fp["pass@1"])
        comp = r["compute"] or {}
        lines.append(
            f"| {name} | {_pct(r['pass@1'])} | " + " | ".join(_pct(r["per_language"].get(lg)) for lg in langs)
            + f" | {'–' if delta is None else f'{delta:+.1f}'} | {r['syntax_or_compile_errors']}/{r['samples']} "
            f"| {_pct(r['agreement_with_fp32'])}% | "
            f"{_loss(r['probe_loss'])} "
            f"| {comp.get('mean_token_segments', float('nan')):.2f} |")
    su = rep["speed_setup"]
    lines += ["", "## Size and speed", "",
              f"Speed: batch {su['batch']}, {su['new_tokens']} greedy tokens with the KV cache, median of "
              f"{su['reps']}, every row at the full ACT depth (`max`) so all variants run the same compute.", "",
              "| variant | computed size | bits/param | × smaller (computed) | on disk | × smaller (disk) "
              "| prefill ms | decode tok/s | decode vs fp32 |", "|---|---|---|---|---|---|---|---|---|"]
    fp_disk, fp_tok = fp["disk_bytes"], fp["speed"]["decode_tok_s"]
    for name, r in rows.items():
        s, sp = r["size"], r["speed"]
        disk = r["disk_bytes"]
        lines.append(
            f"| {name} | {s['bytes'] / 1e6:.2f} MB | {s['bits_per_param']:.2f} | {s['ratio_vs_fp32']:.2f}× "
            f"| {disk / 1e6:.2f} MB | {fp_disk / disk:.2f}× | {sp['prefill_ms']:.1f} | {sp['decode_tok_s']:.1f} "
            f"| {sp['decode_tok_s'] / fp_tok:.2f}× |")
    lines += ["", f"## Alarms ({len(rep['alarms'])})", ""]
    lines += [f"- {a['message']}" for a in rep["alarms"]] or ["none"]
    lines += ["", "Computed size counts what the quantized weights need: int4 values at 4 bits (torchao keeps "
              "them unpacked in int8 on disk, hence the larger file), plus every scale and zero point, plus "
              "whatever stays in fp32 (the q-head, the initial states).", ""]
    return "\n".join(lines)


def load_report(out_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(out_dir) / "quant_report.json").read_text(encoding="utf-8"))
