"""LiveCodeBench's protocol: from local data files (and a model) to results and summaries.

Library entry points (the CLI is a thin layer over them):

* :func:`eval_livecodebench` — ``hrmcode eval livecodebench --data PATH (--samples FILE | --run DIR)``
  (and :func:`hrmcode.benchmarks.humaneval.protocol.eval_humaneval`, HumanEval's, the same way);
* :func:`livecodebench_with_backend` — the same with any backend generating (``--backend``).

Each takes either ``samples`` (a samples.jsonl path, a list of Sample records, or for LiveCodeBench
an upstream ``[{"question_id", "code_list"}]`` JSON file) or ``generate``, a callable
``generate(prompts: list[str], language: str, n: int) -> list[list[str]]`` returning ``n`` raw model
outputs per prompt. Each writes into ``out_dir``: results.jsonl (one Result per sample),
summary.json, report.md, tasks.jsonl (the Task records graded — every test, the entry points, the
check programs and the grading options in each — which ``hrmcode eval files --tasks`` regrades with
the same verdicts) and, for LiveCodeBench, ``livecodebench_<language>_eval_all.json`` in the
shape of upstream's ``*_eval_all.json`` (per problem: code_list, graded_list, pass@1, metadata).
Both grade through :func:`hrmcode.execute.grade.grade_in_jail`.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from hrmcode.backends.base import Backend, Job
from hrmcode.backends.cache import GenerationCache, run_jobs
from hrmcode.benchmarks.common import (
    Extract,
    GenerateFn,
    Progress,
    add_generation,
    backend_samples,
    default_cache,
    extract_sample,
    generated,
    stage_progress,
)
from hrmcode.benchmarks.livecodebench import data as lcb
from hrmcode.benchmarks.livecodebench.prompts import livecodebench_extract, livecodebench_prompt
from hrmcode.evaluate.metrics import pass_at_k
from hrmcode.evaluate.render import failure_examples, render_report
from hrmcode.evaluate.summary import build_summary
from hrmcode.execute import sandbox_layers
from hrmcode.execute.grade import grade_in_jail, with_grading
from hrmcode.execute.lcb import GradeConfig
from hrmcode.generate import SamplingConfig
from hrmcode.prompts import prompt_text
from hrmcode.records import (
    LANGUAGES,
    JsonlWriter,
    RecordError,
    Result,
    Sample,
    Task,
    atomic_write_json,
    atomic_write_text,
    read_jsonl,
    write_jsonl,
)

log = logging.getLogger(__name__)

WAVE_PROBLEMS = 32  # problems whose private tests are decoded and held at once


# ---- samples in ---------------------------------------------------------------------------------


def _read_samples(samples: str | Path | Sequence[Sample], skip_bad: bool) -> tuple[list[Sample], list[str]]:
    """Sample records from a list, a samples.jsonl, or upstream's ``[{"question_id", "code_list"}]`` JSON."""
    if not isinstance(samples, str | Path):
        return list(samples), []
    path = Path(samples)
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise RecordError(f"{path}:{e.lineno}: <json>: {e.msg}") from None
        if not isinstance(data, list):
            raise RecordError(f"{path}:1: <record>: expected a list of {{question_id, code_list}}")
        out: list[Sample] = []
        bad: list[str] = []
        for i, item in enumerate(data):
            ok = (isinstance(item, dict) and isinstance(item.get("question_id"), str)
                  and isinstance(item.get("code_list"), list) and all(isinstance(c, str) for c in item["code_list"]))
            if not ok:
                msg = f"{path}:item {i}: question_id/code_list: expected a string id and a list of strings"
                if not skip_bad:
                    raise RecordError(msg)
                bad.append(msg)
                continue
            out += [Sample(task_id=item["question_id"], language="python", solution=c) for c in item["code_list"]]
        return out, bad
    got, rep = read_jsonl(path, Sample, skip_bad=skip_bad)
    return got, rep.skipped


# ---- results and summaries ----------------------------------------------------------------------


def _pass_table(groups: dict[str, list[bool]], ks: Sequence[int]) -> dict[str, Any]:
    """Mean pass@k over problems; a k is reported only when every problem has at least k samples."""
    row: dict[str, Any] = {"problems": len(groups)}
    for k in ks:
        if not groups or any(len(g) < k for g in groups.values()):
            row[f"pass@{k}"] = None
            continue
        row[f"pass@{k}"] = sum(pass_at_k(len(g), sum(g), k) for g in groups.values()) / len(groups)
    return row


def _breakdown(results: Sequence[Result], attr: dict[str, dict[str, Any]], ks: Sequence[int],
               errata: set[str]) -> dict[str, Any]:
    """Per language: overall, per difficulty, per platform, and without the errata problems."""
    out: dict[str, Any] = {}
    by_lang: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        by_lang[r.language][r.task_id].append(r.passed)
    for lang, groups in sorted(by_lang.items()):
        row: dict[str, Any] = {"overall": _pass_table(groups, ks)}
        for key, name in (("difficulty", "by_difficulty"), ("platform", "by_platform")):
            split: dict[str, dict[str, list[bool]]] = defaultdict(dict)
            for tid, g in groups.items():
                split[str(attr[tid].get(key))][tid] = g
            row[name] = {v: _pass_table(gs, ks) for v, gs in sorted(split.items())}
        row["excluding_errata"] = _pass_table({t: g for t, g in groups.items() if t not in errata}, ks)
        row["errata"] = {t: {"reason": lcb.ERRATA.get(t), "samples": len(g), "passed": sum(g)}
                         for t, g in sorted(groups.items()) if t in errata}
        out[lang] = row
    return out


def _eval_all(problems: list[lcb.Problem], samples_of: dict[tuple[str, str], list[tuple[Sample, str, Result]]],
              language: str) -> list[dict[str, Any]]:
    """Upstream's *_eval_all.json shape: the problem's fields plus output/code/graded lists and pass@1."""
    rows = []
    for p in problems:
        got = samples_of.get((p.question_id, language))
        if not got:
            continue
        graded = [r.passed for _, _, r in got]
        rows.append({
            "question_title": p.question_title, "question_content": p.question_content, "platform": p.platform,
            "question_id": p.question_id, "contest_id": p.contest_id, "contest_date": p.contest_date.isoformat(),
            "starter_code": p.starter_code, "difficulty": p.difficulty,
            "output_list": [s.solution for s, _, _ in got], "code_list": [c for _, c, _ in got],
            "graded_list": graded, "pass@1": sum(graded) / len(graded),
            "metadata": [json.dumps({k: v for k, v in {"upstream_codes": (r.model_extra or {}).get("upstream_codes"),
                                                         **((r.model_extra or {}).get("failure") or {})}.items()
                                     if v is not None}) for _, _, r in got],
        })
    return rows


def livecodebench_section(summary: Mapping[str, Any]) -> list[str]:
    """The LiveCodeBench block of report.md: grading, window, pass@k per difficulty and platform, errata."""
    ks = summary["k"]
    lines = ["## LiveCodeBench", "",
             f"Grading: **{summary['grading']}** ({summary['grading_note']}). Release: {summary['release']}. "
             f"Window: {summary['window']['start_date'] or 'any'} … {summary['window']['end_date'] or 'any'} "
             f"(inclusive, midnight). Problems selected: {summary['problems']['selected']}, graded: "
             f"{summary['problems']['graded']}.", ""]
    for lang, row in summary["livecodebench"].items():
        lines += [f"### {lang}", "", "| split | problems | " + " | ".join(f"pass@{k}" for k in ks) + " |",
                  "|---|---:|" + "---:|" * len(ks)]

        splits = [("overall", row["overall"]), *row["by_difficulty"].items(), *row["by_platform"].items(),
                  ("without errata", row["excluding_errata"])]
        for name, r in splits:
            cells = " | ".join("–" if r.get(f"pass@{k}") is None else f"{r[f'pass@{k}']:.4f}" for k in ks)
            lines.append(f"| {name} | {r['problems']} | {cells} |")
        if row["errata"]:
            lines += ["", "Errata problems (known defective upstream; included in overall): "
                      + ", ".join(f"{t} ({e['reason']}: {e['passed']}/{e['samples']})" for t, e in row["errata"].items())]
        lines.append("")
    return lines


def _release_name(data: str | Path | Sequence[str | Path], release: str | None) -> str:
    if release:
        return release
    one_dir = isinstance(data, str | Path) and Path(data).is_dir()
    return "release_latest" if one_dir else "explicit files"


GRADING_NOTES = {
    "faithful": "lcb_runner's verdicts reproduced, its documented stdin/stdout quirks included",
    "robust": "real processes with real stdin/stdout; upstream's line comparison",
}


def eval_livecodebench(
    data: str | Path | Sequence[str | Path], out_dir: str | Path, *,
    samples: str | Path | Sequence[Sample] | None = None, generate: GenerateFn | None = None,
    release: str | None = None, start_date: str | None = None, end_date: str | None = None,
    platforms: Sequence[str] = (), difficulties: Sequence[str] = (),
    grading: Literal["faithful", "robust"] = "robust", float_tol: float | None = None, timeout: float = 6.0,
    k: Sequence[int] = (1, 5), n: int = 10, languages: Sequence[str] = ("python",), extract: Extract = "auto",
    prompt_style: Literal["upstream", "hrmcode"] = "upstream", skip_bad: bool = False,
    workers: int | None = None, progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Grade LiveCodeBench code generation samples; write results and summaries to ``out_dir``.

    ``data``: a directory of shards (test.jsonl … test6.jsonl, or .parquet) selected by ``release``
    (release_vN | vN | vA_vB | release_latest, the default), or explicit files. ``start_date`` /
    ``end_date``: YYYY-MM-DD, inclusive, parsed to midnight as upstream does. ``platforms`` /
    ``difficulties`` filter further. ``grading``: ``faithful`` reproduces upstream's verdicts
    (Python; quirks included), ``robust`` runs real processes (``float_tol`` allows numeric error).
    ``samples``: samples.jsonl / Sample list / upstream code_list JSON; or ``generate`` with ``n``
    samples per problem and language in ``languages`` (``prompt_style`` upstream: the chat format
    as one text; hrmcode: :func:`hrmcode.prompts.prompt_text`). ``extract``: how code is taken from
    a sample (auto: upstream's fence extraction when the text has a fence, else as is).
    Returns the summary (also in summary.json).
    """
    if (samples is None) == (generate is None):
        raise ValueError("pass exactly one of --samples FILE or --run DIR (samples= or generate=)")
    ks = sorted(set(k))
    if not ks or ks[0] < 1:
        raise ValueError(f"--k: expected positive integers, got {list(k)}")
    for lang in languages:
        if lang not in LANGUAGES:
            raise ValueError(f"--language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    GradeConfig(mode=grading, timeout=timeout, float_tol=float_tol, workers=workers)  # the options' errors, early
    window = lcb.Window(start_date, end_date, tuple(platforms), tuple(difficulties))
    sel = lcb.load_problems(data, release=release, window=window, skip_bad=skip_bad)
    by_id = {p.question_id: p for p in sel.problems}

    skipped_samples: list[str] = []
    if samples is not None:
        all_samples, skipped_samples = _read_samples(samples, skip_bad)
    else:
        assert generate is not None
        all_samples = []
        for lang in languages:
            prompts = {}
            for p in sel.problems:
                if not lcb.supports(p, lang):
                    continue
                if prompt_style == "hrmcode":
                    prompts[p.question_id] = prompt_text(lcb.to_task(p, with_private=False), lang)
                else:
                    prompts[p.question_id] = lcb.prompt_text(p, lang)
            all_samples += generated(prompts, lang, n, generate)
    outside = [s for s in all_samples if s.task_id not in by_id]
    inside = [s for s in all_samples if s.task_id in by_id]
    if outside:
        log.info("livecodebench: %d samples name problems outside the selection; not graded", len(outside))

    # Private tests are decoded a wave of problems at a time: a full release does not fit in memory.
    order: list[str] = []
    per_problem: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(inside):
        if s.task_id not in per_problem:
            order.append(s.task_id)
        per_problem[s.task_id].append(i)
    counters: dict[tuple[str, str], int] = defaultdict(int)
    index_of = []
    for s in inside:
        index_of.append(counters[(s.task_id, s.language)])
        counters[(s.task_id, s.language)] += 1
    codes = [extract_sample(s.solution, extract) for s in inside]
    results: list[Result | None] = [None] * len(inside)
    bad_problems: list[str] = []
    t0 = time.monotonic()
    done = 0
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with JsonlWriter(out / "tasks.jsonl") as exported:
        for w in range(0, len(order), WAVE_PROBLEMS):
            wave: dict[str, Task] = {}
            for tid in order[w: w + WAVE_PROBLEMS]:
                try:
                    wave[tid] = with_grading(lcb.to_task(by_id[tid]), grading=grading, timeout=timeout,
                                             float_tol=float_tol)
                except lcb.LCBFormatError as e:
                    if not skip_bad:
                        raise
                    bad_problems.append(str(e))
            exported.write_all(wave.values())  # the records graded, every test in them (`eval files` regrades)
            picked = [i for tid in wave for i in per_problem[tid]]

            def tick(d: int, _t: int, base: int = done) -> None:
                if progress:
                    progress(base + d, len(inside))

            got = grade_in_jail(wave, [(inside[i], index_of[i], codes[i]) for i in picked], workers=workers,
                                progress=tick)
            for i, r in zip(picked, got, strict=True):
                results[i] = r
            done += len(picked)
    elapsed = time.monotonic() - t0
    final = [r for r in results if r is not None]
    graded_ids = {r.task_id for r in final}
    attr = {p.question_id: {"difficulty": p.difficulty, "platform": p.platform} for p in sel.problems}
    errata = {p.question_id for p in sel.problems if p.errata}
    without = sorted(set(by_id) - {s.task_id for s in inside})
    if without:
        log.warning("livecodebench: %d selected problems have no samples; they are not in pass@k", len(without))
    summary = build_summary(
        final, benchmark="livecodebench", ks=ks, sandbox=sandbox_layers(), n_tasks=len(graded_ids),
        skipped={"tasks": len(sel.report.skipped) + len(bad_problems), "samples": len(skipped_samples),
                 "reasons": [*sel.report.skipped, *bad_problems, *skipped_samples][:200]},
        timing={"elapsed_s": round(elapsed, 3),
                "samples_per_s": round(len(final) / elapsed, 3) if elapsed > 0 else None},
        extra={
            "grading": grading, "grading_note": GRADING_NOTES[grading]
            + (f"; float tolerance {float_tol}" if float_tol is not None else ""),
            "timeout_s": timeout, "extraction": extract, "release": _release_name(data, release),
            "files": sel.report.files, "window": window.describe(),
            "problems": {"selected": len(sel.problems), "graded": len(graded_ids), "without_samples": len(without),
                         "without_samples_ids": without[:200], "bad_records": len(sel.report.skipped),
                         "bad_tests": len(bad_problems)},
            "samples_outside_selection": len(outside),
            "errata_selected": sel.errata,
            "livecodebench": _breakdown(final, attr, ks, errata),
        })
    write_jsonl(out / "results.jsonl", final)
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "report.md", render_report(summary, title="LiveCodeBench", sections=[livecodebench_section],
                                                       examples=failure_examples(final)))
    samples_of: dict[tuple[str, str], list[tuple[Sample, str, Result]]] = defaultdict(list)
    for i, r in enumerate(results):
        if r is not None:
            samples_of[(r.task_id, r.language)].append((inside[i], codes[i], r))
    for lang in sorted({r.language for r in final}):
        atomic_write_json(out / f"livecodebench_{lang}_eval_all.json", _eval_all(sel.problems, samples_of, lang))
    return summary


# ---- with any backend ---------------------------------------------------------------------------


def livecodebench_with_backend(backend: Backend, data: str | Path | Sequence[str | Path], out_dir: str | Path, *,
                               sampling: SamplingConfig, n: int, languages: Sequence[str], release: str | None,
                               start_date: str | None, end_date: str | None, platforms: Sequence[str],
                               difficulties: Sequence[str], gen_cache: str | Path | None = None,
                               progress: Progress | None = None, **grade: Any) -> dict[str, Any]:
    """Upstream's prompts (chat messages, or one text for completion models; hrmcode's for our runs)."""
    window = lcb.Window(start_date, end_date, tuple(platforms), tuple(difficulties))
    sel = lcb.load_problems(data, release=release, window=window, skip_bad=grade.get("skip_bad", False))
    jobs = [Job(livecodebench_prompt(p, lang), i, {"task_id": p.question_id, "language": lang})
            for lang in languages for p in sel.problems if lcb.supports(p, lang) for i in range(n)]
    comps, stats = run_jobs(backend, jobs, sampling, GenerationCache(default_cache(out_dir, gen_cache)),
                            progress=stage_progress(progress, "generate"))
    samples = backend_samples(backend, jobs, comps)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_jsonl(Path(out_dir) / "samples.jsonl", samples)
    summary = eval_livecodebench(data, out_dir, samples=samples, release=release, start_date=start_date,
                                 end_date=end_date, platforms=platforms, difficulties=difficulties, n=n,
                                 languages=languages, extract=livecodebench_extract(backend.style),  # type: ignore[arg-type]
                                 progress=stage_progress(progress, "execute"), **grade)
    return add_generation(out_dir, summary, stats.to_json())


__all__ = ["eval_livecodebench", "livecodebench_section", "livecodebench_with_backend"]
