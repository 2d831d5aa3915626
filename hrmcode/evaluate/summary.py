"""summary.json and report.md from Result records: shared by `hrmcode eval` and the benchmark drivers.

A summary is a plain JSON object. Everything in it is deterministic for a given set of results
except the ``timing`` block, so tests (and users diffing two runs) can compare the rest exactly.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from hrmcode.evaluate.metrics import mean_pass_at_k, per_language, verdict_histogram
from hrmcode.languages import get_language
from hrmcode.records import Result, Sample, Task

SUMMARY_VERSION = 1


def build_summary(results: Sequence[Result], *, ks: Sequence[int], sandbox: Mapping[str, Any],
                  n_tasks: int, skipped: Mapping[str, Any] | None = None,
                  timing: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary of one evaluation.

    ``sandbox`` is :func:`hrmcode.execute.sandbox_layers` (reported in every summary, degraded or
    not); ``skipped`` what the readers set aside (``--skip-bad``); ``extra`` benchmark-specific
    fields (a benchmark name, a run directory) merged in at the top level.
    """
    modes = Counter(str((r.model_extra or {}).get("mode", "unknown")) for r in results)
    summary: dict[str, Any] = {
        "version": SUMMARY_VERSION,
        "tasks": n_tasks,
        "samples": len(results),
        "passed": sum(r.passed for r in results),
        "k": list(ks),
        **mean_pass_at_k(results, ks),
        "per_language": per_language(results, ks),
        "verdicts": verdict_histogram(results),
        "execution_modes": dict(sorted(modes.items())),
        "sandbox": dict(sandbox),
        "skipped": dict(skipped) if skipped else {"tasks": 0, "samples": 0, "reasons": []},
    }
    if timing:
        summary["timing"] = dict(timing)
    if extra:
        summary.update(extra)
    return summary


def signature_adherence(tasks: Sequence[Task], samples: Sequence[Sample]) -> dict[str, Any]:
    """The share of samples that define the function their task names, with the right arity.

    Only samples of tasks with a signature (typed ``function`` tasks) count. A model that ignores its
    starter code shows up here, not only as compile errors. Overall, per language and per split
    (``meta.split``): ``samples``, ``adherent``, ``wrong_arity`` (the name is defined, never with the
    task's arity) and ``rate``. The check per language is a reading of the text
    (``Language.defined_arities``). Empty when no sample counts.
    """
    by_id = {t.task_id: t for t in tasks}
    groups: dict[str, dict[str, Counter[str]]] = {"per_language": defaultdict(Counter), "per_split": defaultdict(Counter)}
    total: Counter[str] = Counter()
    for s in samples:
        task = by_id.get(s.task_id)
        if task is None or task.signature is None:
            continue
        language = get_language(s.language)
        arities = language.defined_arities(s.solution, language.ident(task.signature.name))
        arity = len(task.signature.params)
        outcome = Counter(samples=1, adherent=int(arity in arities), wrong_arity=int(bool(arities) and arity not in arities))
        total += outcome
        groups["per_language"][s.language] += outcome
        groups["per_split"][str(task.meta.get("split", "?"))] += outcome

    def block(c: Counter[str]) -> dict[str, Any]:
        return {"samples": c["samples"], "adherent": c["adherent"], "wrong_arity": c["wrong_arity"],
                "rate": c["adherent"] / c["samples"]}

    if not total:
        return {}
    return {**block(total), **{key: {g: block(c) for g, c in sorted(rows.items())} for key, rows in groups.items()}}


def adherence_markdown(adh: Mapping[str, Any]) -> list[str]:
    """The "Signature adherence" section of a report (no lines when nothing was measured)."""
    if not adh:
        return []
    lines = ["## Signature adherence", "",
             f"{100 * adh['rate']:.1f} % of {adh['samples']} samples define the function the task names with its "
             f"arity ({adh['wrong_arity']} define it with another arity).", "",
             "| group | samples | defines the function (%) | wrong arity |", "|---|---:|---:|---:|"]
    for key in ("per_language", "per_split"):
        for g, row in adh.get(key, {}).items():
            lines.append(f"| {g} | {row['samples']} | {100 * row['rate']:.1f} | {row['wrong_arity']} |")
    return [*lines, ""]


def _fmt(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.3f}"
    return str(x)


def render_report(summary: Mapping[str, Any], *, title: str = "Evaluation", examples: Sequence[Result] = ()) -> str:
    """A markdown report of a summary; ``examples`` are failing results shown with their evidence."""
    ks = summary["k"]
    lines = [f"# {title}", ""]
    sb = summary["sandbox"]
    if sb.get("degraded"):
        lines += [f"> **Sandbox degraded ({sb.get('mode')})**: " + " ".join(sb.get("notes", [])), ""]
    lines += [f"{summary['tasks']} tasks, {summary['samples']} samples, {summary['passed']} passed. "
              + ", ".join(f"pass@{k} = {_fmt(summary.get(f'pass@{k}'))}" for k in ks) + ".", ""]
    lines += ["## Per language", "",
              "| language | tasks | samples | " + " | ".join(f"pass@{k}" for k in ks) + " |",
              "|---|---:|---:|" + "---:|" * len(ks)]
    for lang, row in summary["per_language"].items():
        lines.append(f"| {lang} | {row['tasks']} | {row['samples']} | "
                     + " | ".join(_fmt(row.get(f"pass@{k}")) for k in ks) + " |")
    lines += ["", *adherence_markdown(summary.get("signature_adherence") or {})]
    verdicts = [v for v, n in summary["verdicts"].items() if n]
    lines += ["## Verdicts", ""]
    if verdicts:
        lines += ["| language | " + " | ".join(verdicts) + " |", "|---|" + "---:|" * len(verdicts)]
        for lang, row in summary["per_language"].items():
            lines.append(f"| {lang} | " + " | ".join(str(row["verdicts"].get(v, 0)) for v in verdicts) + " |")
        lines.append("| **all** | " + " | ".join(str(summary["verdicts"][v]) for v in verdicts) + " |")
    else:
        lines.append("No samples.")
    lines += ["", "## Sandbox", "", f"- mode: `{sb.get('mode')}`" + (" (degraded)" if sb.get("degraded") else ""),
              f"- cgroup memory: {sb.get('cgroup_memory')}, cgroup pids: {sb.get('cgroup_pids')}",
              f"- rlimits: {', '.join(sb.get('rlimits', []))}; network: {sb.get('network')}",
              f"- runs as uid {sb.get('uid_in_jail')}; timeout: {sb.get('timeout')}"]
    lines += [f"- note: {n}" for n in sb.get("notes", [])]
    modes = summary.get("execution_modes") or {}
    if modes:
        lines.append("- execution: " + ", ".join(f"{m} {n}" for m, n in modes.items()))
    sk = summary["skipped"]
    if sk.get("tasks") or sk.get("samples"):
        lines += ["", "## Skipped records", "", f"{sk['tasks']} tasks and {sk['samples']} samples were skipped "
                  "(`--skip-bad`):", ""] + [f"- {r}" for r in sk.get("reasons", [])]
    if examples:
        lines += ["", "## Failures (first of each verdict)", ""]
        for r in examples:
            extra = r.model_extra or {}
            lines.append(f"### {r.task_id} · {r.language} · sample {r.sample_index}: {r.verdict.value}")
            evidence = {k: extra[k] for k in ("failure", "error", "compile_log", "stderr") if extra.get(k)}
            for k, v in evidence.items():
                lines += ["", f"{k}:", "", "```", str(v)[:1500], "```"]
            lines.append("")
    timing = summary.get("timing")
    if timing:
        lines += ["", "## Timing", ""] + [f"- {k}: {_fmt(v)}" for k, v in timing.items()]
    return "\n".join(lines).rstrip() + "\n"


def failure_examples(results: Sequence[Result], per_verdict: int = 1) -> list[Result]:
    """The first ``per_verdict`` failing results of each verdict, in input order."""
    seen: Counter[str] = Counter()
    out = []
    for r in results:
        if r.passed or seen[r.verdict.value] >= per_verdict:
            continue
        seen[r.verdict.value] += 1
        out.append(r)
    return out
