"""Reports: the evaluation report model, Markdown (eval.md), charts and the console summary.

One report holds the retrieval results of a split and, for dev/test, the answer-usefulness grades
of the answer test set (per kind, per language and per conversation turn).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

from pydantic import BaseModel, Field

from assistant.evaluation.metrics import (
    AnswerGrade,
    AnswerMetrics,
    Latency,
    QuestionResult,
    RetrievalMetrics,
    UsefulnessMetrics,
    _grouped,
    answer_metrics,
    grouped_usefulness,
    percentile,
    retrieval_metrics,
    usefulness_metrics,
)


class UsefulnessReport(BaseModel):
    """Answer usefulness on the answer test set: singles, conversation turns, and groups of both."""

    testset: str = ""
    singles: UsefulnessMetrics
    turns: UsefulnessMetrics
    by_kind: dict[str, UsefulnessMetrics]  # singles and turns together
    by_lang: dict[str, UsefulnessMetrics]
    by_turn: dict[str, UsefulnessMetrics]  # conversation turns by their number (1, 2, 3, 4)
    latency_p95_ms: float = 0.0
    grades: list[AnswerGrade]

    @property
    def failures(self) -> list[AnswerGrade]:
        return [g for g in self.grades if not g.correct]


def build_usefulness(grades: Sequence[AnswerGrade], testset: str = "") -> UsefulnessReport:
    singles = [g for g in grades if g.conversation is None]
    turns = [g for g in grades if g.conversation is not None]
    return UsefulnessReport(
        testset=testset,
        singles=usefulness_metrics(singles),
        turns=usefulness_metrics(turns),
        by_kind=grouped_usefulness(grades, lambda g: g.kind),
        by_lang=grouped_usefulness(grades, lambda g: g.lang),
        by_turn=grouped_usefulness(turns, lambda g: g.turn),
        latency_p95_ms=percentile([g.total_ms for g in grades], 95),
        grades=list(grades),
    )


class EvalReport(BaseModel):
    split: str
    k: int
    testset: str
    created_at: str
    index: dict = Field(default_factory=dict)
    n_items: int
    n_answerable: int
    n_out_of_scope: int
    retrieval: RetrievalMetrics
    by_kind: dict[str, RetrievalMetrics]
    by_lang: dict[str, RetrievalMetrics]
    by_phase: dict[str, RetrievalMetrics]
    answers: AnswerMetrics
    answers_by_kind: dict[str, AnswerMetrics]
    latency: Latency
    results: list[QuestionResult]
    usefulness: UsefulnessReport | None = None

    @property
    def misses(self) -> list[QuestionResult]:
        """Answerable questions without a hit in the top 5."""
        return [r for r in self.results if r.answerable and (r.first_hit_rank is None or r.first_hit_rank > 5)]


def _load_avg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not available on every platform
        return None


def build_report(
    results: list[QuestionResult],
    *,
    split: str,
    k: int,
    testset: str = "",
    index: dict | None = None,
    usefulness: UsefulnessReport | None = None,
) -> EvalReport:
    answerable = [r for r in results if r.answerable]
    return EvalReport(
        split=split,
        k=k,
        testset=testset,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        index=index or {},
        n_items=len(results),
        n_answerable=len(answerable),
        n_out_of_scope=len(results) - len(answerable),
        retrieval=retrieval_metrics(results, k),
        by_kind=_grouped(results, lambda r: r.kind, k),
        by_lang=_grouped(results, lambda r: r.lang, k),
        by_phase=_grouped(results, lambda r: r.phase or "none", k),
        answers=answer_metrics(results),
        answers_by_kind={
            kind: answer_metrics([r for r in results if r.kind == kind])
            for kind in sorted({r.kind for r in results})
        },
        latency=Latency(
            n=len(results),
            retrieve_p50_ms=percentile([r.retrieve_ms for r in results], 50),
            retrieve_p95_ms=percentile([r.retrieve_ms for r in results], 95),
            total_p50_ms=percentile([r.total_ms for r in results], 50),
            total_p95_ms=percentile([r.total_ms for r in results], 95),
            load_avg_1m=_load_avg(),
        ),
        results=results,
        usefulness=usefulness,
    )


# ---------------------------------------------------------------------------------------------
# Output: eval.json, eval.md, chart, console table
# ---------------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _metrics_row(name: str, m: RetrievalMetrics) -> str:
    return (
        f"| {name} | {m.n} | {m.recall_at_1:.3f} | {m.recall_at_3:.3f} | {m.recall_at_5:.3f} | "
        f"{m.recall_at_10:.3f} | {m.mrr_at_10:.3f} | {m.ndcg_at_10:.3f} | {m.evidence_coverage_at_10:.3f} |"
    )


_METRICS_HEAD = (
    "| Gruppe | n | R@1 | R@3 | R@5 | R@10 | MRR@10 | nDCG@10 | Belege@10 |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _short(text: str, limit: int = 160) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table_section(title: str, head: str, rows: Iterable[str]) -> list[str]:
    """A Markdown sub-section: heading, table head and rows, closing blank line."""
    return [title, "", head, *rows, ""]


def render_markdown(report: EvalReport) -> str:
    lines = [
        *_header_lines(report),
        *_retrieval_lines(report),
        *_answer_lines(report),
        *_latency_lines(report),
        *_miss_lines(report),
        *_answer_failure_lines(report),
    ]
    if report.usefulness is not None:
        lines += usefulness_markdown(report.usefulness)
    return "\n".join(lines) + "\n"


def _header_lines(report: EvalReport) -> list[str]:
    return [
        f"# Evaluation Roadmap-Lotse – Split `{report.split}`",
        "",
        f"Erstellt {report.created_at} · Testset `{report.testset}` · top_k={report.k} · "
        f"{report.n_items} Fragen ({report.n_answerable} beantwortbar, {report.n_out_of_scope} außerhalb des Themas)",
        f"Index: gebaut {report.index.get('built_at', '?')}, Zerlegung v{report.index.get('chunker_version', '?')}, "
        f"{report.index.get('chunks', '?')} Abschnitte, Modell {report.index.get('model_id', '?')}",
        "",
        "Treffer-Regel: Ein Abschnitt ist ein Treffer, wenn ein Beleg-Text (ohne Groß-/Kleinschreibung, Leerraum "
        "zusammengefasst) in ihm vorkommt oder er der genannte Katalogeintrag ist (`ref_id`). "
        "„Belege@10“ = Anteil der Belege einer Frage, die in den Top 10 gefunden wurden.",
        "",
    ]


def _retrieval_lines(report: EvalReport) -> list[str]:
    groups = (("Fragetyp", report.by_kind), ("Sprache", report.by_lang), ("Phase", report.by_phase))
    lines = _table_section("## Retrieval (nur beantwortbare Fragen)", _METRICS_HEAD, [_metrics_row("**gesamt**", report.retrieval)])
    for name, metrics in groups:
        lines += _table_section(f"### Nach {name}", _METRICS_HEAD, (_metrics_row(k, m) for k, m in metrics.items()))
    return [*lines, "![Recall@5 nach Fragetyp](recall_at5_by_kind.png)", ""]


def _answer_lines(report: EvalReport) -> list[str]:
    a = report.answers
    lines = [
        "## Antworten",
        "",
        "| Kennzahl | Wert | Basis |",
        "|---|---:|---:|",
        f"| Beleg im Antworttext zitiert (streng, ohne „Mehr dazu“) | {_pct(a.citation_hit_strict)} | {a.n_answerable} |",
        f"| Beleg irgendwo zitiert (nachsichtig, mit „Mehr dazu“) | {_pct(a.citation_hit)} | {a.n_answerable} |",
        f"| Hauptphase der Antwort richtig | {_pct(a.phase_correct)} | {a.n_with_phase} |",
        f"| Hauptphase richtig, Frage nennt die Phase nicht | {_pct(a.phase_correct_unnamed)} | {a.n_phase_unnamed} |",
        f"| Phase irgendwo genannt (nachsichtig) | {_pct(a.phase_listed)} | {a.n_with_phase} |",
        f"| Antwortbegriffe im Antworttext | {_pct(a.answer_term_coverage)} | {a.n_answerable} |",
        f"| Themenfremde Fragen abgelehnt | {_pct(a.refusal_rate_out_of_scope)} | {a.n_out_of_scope} |",
        f"| Fälschlich abgelehnt | {_pct(a.false_refusal_rate)} | {a.n_answerable} |",
        "",
        "| Fragetyp | Beleg zitiert | streng | Hauptphase richtig | Begriffe | abgelehnt |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    return lines + [_answer_kind_row(kind, m) for kind, m in report.answers_by_kind.items()]


def _answer_kind_row(kind: str, m: AnswerMetrics) -> str:
    if kind == "out_of_scope":
        return f"| {kind} | – | – | – | – | {_pct(m.refusal_rate_out_of_scope)} |"
    phase = _pct(m.phase_correct) if m.n_with_phase else "–"
    return (
        f"| {kind} | {_pct(m.citation_hit)} | {_pct(m.citation_hit_strict)} | {phase} | "
        f"{_pct(m.answer_term_coverage)} | {_pct(m.false_refusal_rate)} |"
    )


def _latency_lines(report: EvalReport) -> list[str]:
    lat = report.latency
    return [
        "",
        "## Latenz",
        "",
        f"Retrieval p50 {lat.retrieve_p50_ms} ms, p95 {lat.retrieve_p95_ms} ms · "
        f"gesamt p50 {lat.total_p50_ms} ms, p95 {lat.total_p95_ms} ms ({lat.n} Fragen; "
        f"Rechnerlast am Ende {lat.load_avg_1m} bei {os.cpu_count()} CPUs).",
        "",
    ]


def _quoted(texts: Iterable[str]) -> str:
    return "; ".join(f"„{_md_cell(e)}“" for e in texts)


def _miss_lines(report: EvalReport) -> list[str]:
    """Every retrieval miss: the question, the expected evidence and what ranked first instead."""
    lines = [f"## Fehlschläge im Retrieval (kein Treffer unter den Top 5): {len(report.misses)}", ""]
    for m in report.misses:
        found = f"erster Treffer auf Rang {m.first_hit_rank}" if m.first_hit_rank else f"kein Treffer in den Top {report.k}"
        top = m.retrieved[0] if m.retrieved else None
        top_label = f"`{top.chunk_id}` {top.title} ({top.section})" if top else "nichts"
        lines += [
            f"### {m.id} ({m.kind}, {m.lang}, Phase {m.phase or '–'}) – {found}",
            "",
            f"- Frage: {_md_cell(m.question)}",
            "- Erwartet: " + _quoted(m.evidence),
        ]
        if m.unreachable_evidence:
            lines.append("- Nicht erreichbar (in keinem Abschnitt des Index): " + _quoted(m.unreachable_evidence))
        lines += [f"- Rang 1: {top_label}", f"  > {_md_cell(_short(m.top1_text, 240))}", ""]
    return lines


def _answer_failed(x: QuestionResult) -> bool:
    if not x.answerable:
        return not x.abstained
    return not x.citation_hit_strict or x.abstained or x.phase_correct is False


def _answer_problems(x: QuestionResult) -> list[str]:
    if not x.answerable:
        return ["nicht abgelehnt"]
    problems = []
    if x.abstained:
        problems.append("fälschlich abgelehnt")
    elif not x.citation_hit_strict:
        problems.append("Beleg nicht im Antworttext zitiert")
    if x.phase_correct is False:
        problems.append(f"Phase {x.phase} fehlt (genannt: {', '.join(x.phases) or '–'})")
    return problems


def _answer_failure_lines(report: EvalReport) -> list[str]:
    fails = [x for x in report.results if _answer_failed(x)]
    lines = [f"## Fehler in den Antworten: {len(fails)}", "", "| id | Typ | Problem | Frage |", "|---|---|---|---|"]
    return lines + [
        f"| {x.id} | {x.kind} | {'; '.join(_answer_problems(x))} | {_md_cell(_short(x.question, 100))} |" for x in fails
    ]


def _usefulness_row(name: str, m: UsefulnessMetrics) -> str:
    oos = _pct(m.refused_out_of_scope) if m.n_out_of_scope else "–"
    answerable = m.n_answerable > 0
    return (
        f"| {name} | {m.n} | **{_pct(m.correct)}** | {_pct(m.terms_complete) if answerable else '–'} | "
        f"{_pct(m.evidence_cited) if answerable else '–'} | {_pct(m.false_refusals) if answerable else '–'} | {oos} |"
    )


_USEFULNESS_HEAD = (
    "| Gruppe | n | richtig | Fakten vollständig | Beleg zitiert | fälschlich abgelehnt | themenfremd abgelehnt |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)


def usefulness_markdown(u: UsefulnessReport) -> list[str]:
    lines = [
        "",
        "## Nützlichkeit der Antworten (Antwort-Testset)",
        "",
        f"Testset `{u.testset}`. Richtig heißt: Der Antworttext (ohne Phasen-, Kriterien- und „Mehr dazu“-Zeile) "
        "enthält jede `must_include`-Gruppe und nichts aus `must_not_include`, eine aus dem Antworttext zitierte "
        "Quelle enthält einen Beleg, und die Frage wurde nicht abgelehnt; themenfremde Fragen sind richtig, wenn "
        "sie abgelehnt werden.",
        "",
        _USEFULNESS_HEAD,
        _usefulness_row("**Einzelfragen**", u.singles),
        _usefulness_row("**Gesprächszüge**", u.turns),
        "",
    ]
    groups = (
        ("Fragetyp (Einzelfragen und Gesprächszüge)", u.by_kind),
        ("Sprache", u.by_lang),
        ("Gesprächszug", {f"Zug {k}": m for k, m in u.by_turn.items()}),
    )
    for name, metrics in groups:
        lines += _table_section(f"### Nach {name}", _USEFULNESS_HEAD, (_usefulness_row(k, m) for k, m in metrics.items()))
    return lines + [
        "![Richtige Antworten nach Fragetyp](answer_correct_by_kind.png)",
        "",
        f"### Falsche Antworten: {len(u.failures)}",
        "",
        "| id | Typ | Problem | Frage | Antwort (Anfang) |",
        "|---|---|---|---|---|",
        *(_grade_failure_row(g) for g in u.failures),
    ]


def _grade_problems(g: AnswerGrade) -> list[str]:
    if not g.answerable:
        return ["nicht abgelehnt"]
    if g.refused:
        return ["fälschlich abgelehnt"]
    problems = []
    if g.missing:
        problems.append("fehlt: " + "; ".join(" / ".join(group) for group in g.missing))
    if g.forbidden:
        problems.append("enthält: " + "; ".join(g.forbidden))
    if not g.evidence_cited:
        problems.append("Beleg nicht zitiert")
    return problems


def _grade_failure_row(g: AnswerGrade) -> str:
    return (
        f"| {g.id} | {g.kind} | {_md_cell('; '.join(_grade_problems(g)))} | {_md_cell(_short(g.question, 90))} | "
        f"{_md_cell(_short(g.answer, 160))} |"
    )


@dataclass(frozen=True)
class _RefLine:
    """A horizontal reference line of a bar chart (a target or the overall value)."""

    y: float
    color: str
    linestyle: str
    label: str


def _bar_chart(
    path: Path,
    groups: dict[str, RetrievalMetrics] | dict[str, UsefulnessMetrics],
    values: list[float],
    *,
    lines: Sequence[_RefLine],
    ylabel: str,
    title: str,
    legend_columns: int = 1,
) -> Path:
    """Bars per question kind with their value and n written above (Agg canvas; no global pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kinds = list(groups)
    fig = Figure(figsize=(8, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    bars = ax.bar(kinds, values, color="#2f6f9f")
    for line in lines:
        ax.axhline(line.y, color=line.color, linestyle=line.linestyle, linewidth=1, label=line.label)
    for bar, value, kind in zip(bars, values, kinds):
        ax.text(bar.get_x() + bar.get_width() / 2, value + 0.01, f"{value:.2f}".replace(".", ",") + f"\nn={groups[kind].n}",
                ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, 1.32)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.legend(loc="upper left", ncol=legend_columns, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    return path


def write_usefulness_chart(u: UsefulnessReport, path: Path) -> Path:
    """Bar chart of correct answers per question kind."""
    values = [m.correct for m in u.by_kind.values()]
    target = _RefLine(0.80, "#777777", ":", "Ziel je Typ 0,80")
    return _bar_chart(path, u.by_kind, values, lines=[target], ylabel="Anteil richtig", title="Richtige Antworten nach Fragetyp")


def write_chart(report: EvalReport, path: Path) -> Path:
    """Bar chart of Recall@5 per question kind, with the overall value and the target."""
    values = [m.recall_at_5 for m in report.by_kind.values()]
    overall = report.retrieval.recall_at_5
    lines = [
        _RefLine(overall, "#c0392b", "--", f"gesamt {overall:.2f}".replace(".", ",")),
        _RefLine(0.90, "#777777", ":", "Ziel 0,90"),
    ]
    return _bar_chart(path, report.by_kind, values, lines=lines, ylabel="Recall@5",
                      title=f"Recall@5 nach Fragetyp (Split {report.split})", legend_columns=2)


def write_outputs(report: EvalReport, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "eval.json",
        "md": out_dir / "eval.md",
        "chart": out_dir / "recall_at5_by_kind.png",
    }
    paths["json"].write_text(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2), encoding="utf-8")
    paths["md"].write_text(render_markdown(report), encoding="utf-8")
    write_chart(report, paths["chart"])
    if report.usefulness is not None:
        paths["answer_chart"] = write_usefulness_chart(report.usefulness, out_dir / "answer_correct_by_kind.png")
    return paths


def summary_table(report: EvalReport) -> str:
    """Short console summary (German labels, metric names as usual in English). With `--only answers`
    there are no retrieval items, and only the usefulness lines follow the first line."""
    r, a, lat = report.retrieval, report.answers, report.latency
    rows = [f"Evaluation Split '{report.split}': {report.n_items} Fragen, {report.n_answerable} beantwortbar, top_k={report.k}"]

    def row(name: str, m: RetrievalMetrics) -> str:
        return (f"{name:<16}{m.n:>4}{m.recall_at_1:>7.3f}{m.recall_at_3:>7.3f}{m.recall_at_5:>7.3f}"
                f"{m.recall_at_10:>7.3f}{m.mrr_at_10:>8.3f}{m.ndcg_at_10:>9.3f}")

    if report.n_items:
        rows.append(f"{'Gruppe':<16}{'n':>4}{'R@1':>7}{'R@3':>7}{'R@5':>7}{'R@10':>7}{'MRR@10':>8}{'nDCG@10':>9}")
        rows.append(row("gesamt", r))
        rows += [row(k, m) for k, m in report.by_kind.items()]
        rows += [row(f"lang={k}", m) for k, m in report.by_lang.items()]
        rows += [
            f"Beleg im Antworttext zitiert {_pct(a.citation_hit_strict)} (nachsichtig {_pct(a.citation_hit)}) · "
            f"Hauptphase richtig {_pct(a.phase_correct)} (Frage nennt sie nicht: {_pct(a.phase_correct_unnamed)}) · "
            f"Begriffe im Antworttext {_pct(a.answer_term_coverage)}",
            f"Themenfremde abgelehnt {_pct(a.refusal_rate_out_of_scope)} · fälschlich abgelehnt {_pct(a.false_refusal_rate)}",
            f"Latenz Retrieval p50/p95 {lat.retrieve_p50_ms}/{lat.retrieve_p95_ms} ms · "
            f"gesamt p50/p95 {lat.total_p50_ms}/{lat.total_p95_ms} ms",
            f"Retrieval-Fehlschläge (kein Treffer in Top 5): {len(report.misses)}",
        ]
    u = report.usefulness
    if u is not None:
        rows.append(
            f"Antworten richtig: Einzelfragen {_pct(u.singles.correct)} (n={u.singles.n}) · "
            f"Gesprächszüge {_pct(u.turns.correct)} (n={u.turns.n}) · fälschlich abgelehnt "
            f"{_pct(usefulness_metrics([g for g in u.grades]).false_refusals)} · themenfremd abgelehnt "
            f"{_pct(usefulness_metrics([g for g in u.grades]).refused_out_of_scope)}"
        )
        rows += [f"  {kind:<16}{m.n:>4}  {_pct(m.correct):>8}" for kind, m in u.by_kind.items()]
    return "\n".join(rows)
