"""Evaluation: owns the test-set model (`tests/data/retrieval_testset.jsonl`), the deterministic
dev/test split, the hit rule, and the retrieval + answer metrics behind `assistant eval`
(eval.json, eval.md and the Recall@5 chart).

Split rule: items are grouped by `kind`; inside each kind they are sorted by the number in their
id (q001 < q002 < … < q1000) and alternate dev, test, dev, test, … Appending items with higher ids
never moves an existing item to the other half; only changing an item's kind (or inserting an id
below existing ones) can shift the items after it within that kind.

Hit rule: a retrieved passage matches an evidence item when
  * the evidence is a catalogue id (K14, GP03, T2, P3, D, M05) and the passage *is* that entry
    (`ref_id == id`), or
  * the evidence is text and occurs in the passage text, case-insensitively, with all whitespace
    runs collapsed to one space on both sides.
A question is a hit at rank r when the passage at rank r matches any of its evidence items.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import datetime, timezone
from math import log2
from pathlib import Path
from typing import Iterable, Literal, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.domain import PhaseId
from assistant.settings import PROJECT_ROOT, Settings

DEFAULT_TESTSET = PROJECT_ROOT / "tests" / "data" / "retrieval_testset.jsonl"
REBUILD_HINT = ".venv/bin/python -m assistant build-index"
EXIT_OK, EXIT_INPUT, EXIT_UNAVAILABLE = 0, 2, 3

ItemKind = Literal[
    "definition",
    "phase",
    "criterion",
    "good_practice",
    "driver",
    "operator_model",
    "key_finding",
    "multi_hop",
    "out_of_scope",
]
KINDS: tuple[str, ...] = ItemKind.__args__  # type: ignore[attr-defined]
CATALOGUE_ID = re.compile(r"^(?:P[1-5]|D|T[1-7]|K\d{2}|M\d{2}|GP\d{2})$")


# ---------------------------------------------------------------------------------------------
# Test set
# ---------------------------------------------------------------------------------------------


class EvalItem(BaseModel):
    """One hand-written question of the test set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^q\d{3,}$")
    question: str = Field(min_length=3)
    lang: Literal["de", "en"]
    kind: ItemKind
    evidence: list[str]
    phase: PhaseId | None
    answer_terms: list[str]
    answerable: bool

    @model_validator(mode="after")
    def _consistent(self) -> "EvalItem":
        if self.answerable == (self.kind == "out_of_scope"):
            raise ValueError("answerable must be false exactly for kind out_of_scope")
        if not self.answerable:
            if self.evidence or self.answer_terms or self.phase is not None:
                raise ValueError("out_of_scope items have no evidence, answer_terms or phase")
        else:
            if not 1 <= len(self.evidence) <= 4:
                raise ValueError("answerable items need 1–4 evidence items")
            if not 1 <= len(self.answer_terms) <= 4:
                raise ValueError("answerable items need 1–4 answer_terms")
            if any(not e.strip() for e in self.evidence + self.answer_terms):
                raise ValueError("empty evidence or answer term")
        return self

    @property
    def number(self) -> int:
        return int(self.id[1:])

    @property
    def catalogue_evidence(self) -> list[str]:
        return [e for e in self.evidence if is_catalogue_id(e)]

    @property
    def text_evidence(self) -> list[str]:
        return [e for e in self.evidence if not is_catalogue_id(e)]


class TestsetError(ValueError):
    """The test-set file cannot be read or has an invalid line; message in German."""

    __test__ = False  # not a pytest test class


def load_testset(path: Path | str | None = None) -> list[EvalItem]:
    """Read and validate the JSON-lines test set (blank lines are skipped)."""
    path = Path(path) if path else DEFAULT_TESTSET
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TestsetError(f"Testset nicht lesbar: {path} ({exc.strerror or exc})") from exc
    items: list[EvalItem] = []
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(EvalItem.model_validate_json(line))
        except ValueError as exc:
            first = str(exc).splitlines()[0:3]
            raise TestsetError(f"Testset {path.name}, Zeile {line_no} ist ungültig: {' '.join(first)}") from exc
    return items


def assign_splits(items: Iterable[EvalItem]) -> dict[str, str]:
    """id → "dev" | "test": per kind, sorted by id number, alternating dev/test (see module doc)."""
    by_kind: dict[str, list[EvalItem]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    out: dict[str, str] = {}
    for group in by_kind.values():
        for position, item in enumerate(sorted(group, key=lambda i: (i.number, i.id))):
            out[item.id] = "dev" if position % 2 == 0 else "test"
    return out


def split_items(items: Sequence[EvalItem], split: str) -> list[EvalItem]:
    """The items of one half ("dev", "test") or all of them ("all"), in file order."""
    if split == "all":
        return list(items)
    if split not in ("dev", "test"):
        raise ValueError(f"unknown split {split!r}")
    halves = assign_splits(items)
    return [item for item in items if halves[item.id] == split]


# ---------------------------------------------------------------------------------------------
# Hit rule
# ---------------------------------------------------------------------------------------------


def is_catalogue_id(evidence: str) -> bool:
    return bool(CATALOGUE_ID.match(evidence))


def normalize(text: str) -> str:
    """Case-fold and collapse whitespace runs (incl. line breaks and no-break spaces) to one space."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def evidence_matches(evidence: str, text: str, ref_id: str | None = None) -> bool:
    """Does one evidence item match a passage (its text and, for catalogue chunks, its ref_id)?"""
    if is_catalogue_id(evidence):
        return ref_id == evidence
    needle = normalize(evidence)
    return bool(needle) and needle in normalize(text)


def passage_matches(evidence: Sequence[str], text: str, ref_id: str | None = None) -> bool:
    return any(evidence_matches(e, text, ref_id) for e in evidence)


def first_hit_rank(evidence: Sequence[str], passages: Sequence[tuple[str, str | None]]) -> int | None:
    """1-based rank of the first (text, ref_id) passage matching any evidence, or None."""
    for rank, (text, ref_id) in enumerate(passages, 1):
        if passage_matches(evidence, text, ref_id):
            return rank
    return None


def ndcg(hit_ranks: Sequence[int], relevant_total: int, k: int) -> float:
    """Binary-relevance nDCG@k; the ideal ranking puts all relevant passages of the index first."""
    if relevant_total <= 0:
        return 0.0
    dcg = sum(1.0 / log2(r + 1) for r in hit_ranks if r <= k)
    ideal = sum(1.0 / log2(r + 1) for r in range(1, min(relevant_total, k) + 1))
    return min(1.0, dcg / ideal)


def percentile(values: Sequence[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values, dtype=float), q)), 2) if values else 0.0


# ---------------------------------------------------------------------------------------------
# Report models
# ---------------------------------------------------------------------------------------------


class RetrievedRef(BaseModel):
    rank: int
    chunk_id: str | None
    ref_id: str | None
    source: str
    title: str
    section: str
    hit: bool


class QuestionResult(BaseModel):
    id: str
    question: str
    kind: str
    lang: str
    phase: str | None
    answerable: bool
    evidence: list[str]
    # retrieval
    first_hit_rank: int | None = None
    hit_ranks: list[int] = Field(default_factory=list)
    evidence_ranks: list[int | None] = Field(default_factory=list)  # first rank per evidence item
    relevant_in_index: int = 0  # passages of the whole index that match any evidence
    unreachable_evidence: list[str] = Field(default_factory=list)  # matches no passage of the index
    retrieved: list[RetrievedRef] = Field(default_factory=list)
    top1_text: str = ""
    # answer
    abstained: bool = False
    intent: str | None = None
    answer: str = ""
    phases: list[str] = Field(default_factory=list)
    cited_ids: list[str] = Field(default_factory=list)
    citation_hit: bool = False
    citation_hit_strict: bool = False  # a citation used in the answer body (not only "Mehr dazu")
    phase_correct: bool | None = None
    answer_terms_found: list[str] = Field(default_factory=list)
    answer_term_coverage: float | None = None
    retrieve_ms: float = 0.0
    total_ms: float = 0.0


class RetrievalMetrics(BaseModel):
    n: int = 0
    recall_at_1: float = 0.0
    recall_at_3: float = 0.0
    recall_at_5: float = 0.0
    recall_at_10: float = 0.0
    mrr_at_10: float = 0.0
    ndcg_at_10: float = 0.0
    evidence_coverage_at_10: float = 0.0  # mean share of an item's evidence items found in top 10


class AnswerMetrics(BaseModel):
    n_answerable: int = 0
    n_out_of_scope: int = 0
    n_with_phase: int = 0
    citation_hit: float = 0.0
    citation_hit_strict: float = 0.0
    phase_correct: float = 0.0
    answer_term_coverage: float = 0.0
    refusal_rate_out_of_scope: float = 0.0
    false_refusal_rate: float = 0.0


class Latency(BaseModel):
    n: int = 0
    retrieve_p50_ms: float = 0.0
    retrieve_p95_ms: float = 0.0
    total_p50_ms: float = 0.0
    total_p95_ms: float = 0.0
    load_avg_1m: float | None = None  # machine load when the run ended (latency is noisy under load)


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

    @property
    def misses(self) -> list[QuestionResult]:
        """Answerable questions without a hit in the top 5."""
        return [r for r in self.results if r.answerable and (r.first_hit_rank is None or r.first_hit_rank > 5)]


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def retrieval_metrics(results: Sequence[QuestionResult], k: int = 10) -> RetrievalMetrics:
    """Recall@1/3/5/10, MRR@10, nDCG@10 over answerable results (cut at min(10, k))."""
    rows = [r for r in results if r.answerable]
    if not rows:
        return RetrievalMetrics()
    cut = min(10, k)
    n = len(rows)

    def recall(at: int) -> float:
        return sum(1 for r in rows if r.first_hit_rank is not None and r.first_hit_rank <= at) / n

    mrr = sum(1.0 / r.first_hit_rank for r in rows if r.first_hit_rank is not None and r.first_hit_rank <= cut) / n
    coverage = sum(
        sum(1 for x in r.evidence_ranks if x is not None and x <= cut) / max(1, len(r.evidence)) for r in rows
    ) / n
    return RetrievalMetrics(
        n=n,
        recall_at_1=round(recall(1), 4),
        recall_at_3=round(recall(3), 4),
        recall_at_5=round(recall(5), 4),
        recall_at_10=round(recall(10), 4),
        mrr_at_10=round(mrr, 4),
        ndcg_at_10=round(sum(ndcg(r.hit_ranks, r.relevant_in_index, cut) for r in rows) / n, 4),
        evidence_coverage_at_10=round(coverage, 4),
    )


def answer_metrics(results: Sequence[QuestionResult]) -> AnswerMetrics:
    answerable = [r for r in results if r.answerable]
    oos = [r for r in results if not r.answerable]
    with_phase = [r for r in answerable if r.phase_correct is not None]
    with_terms = [r for r in answerable if r.answer_term_coverage is not None]

    def share(rows, pred) -> float:
        return round(sum(1 for r in rows if pred(r)) / len(rows), 4) if rows else 0.0

    return AnswerMetrics(
        n_answerable=len(answerable),
        n_out_of_scope=len(oos),
        n_with_phase=len(with_phase),
        citation_hit=share(answerable, lambda r: r.citation_hit),
        citation_hit_strict=share(answerable, lambda r: r.citation_hit_strict),
        phase_correct=share(with_phase, lambda r: r.phase_correct),
        answer_term_coverage=round(sum(r.answer_term_coverage for r in with_terms) / len(with_terms), 4)
        if with_terms
        else 0.0,
        refusal_rate_out_of_scope=share(oos, lambda r: r.abstained),
        false_refusal_rate=share(answerable, lambda r: r.abstained),
    )


def _grouped(results: Sequence[QuestionResult], key, k: int) -> dict[str, RetrievalMetrics]:
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        if r.answerable:
            groups.setdefault(key(r), []).append(r)
    return {name: retrieval_metrics(rows, k) for name, rows in sorted(groups.items())}


_MORE_LINE = re.compile(r"^(?:Mehr dazu|More on this):.*$", re.MULTILINE)


def _body_refs(answer_text: str) -> set[int]:
    """Citation numbers used in the answer body, i.e. outside the trailing "Mehr dazu" line."""
    body = _MORE_LINE.sub("", answer_text)
    return {int(n) for n in re.findall(r"\[(\d+)\]", body)}


def score_answer(item: EvalItem, answer, index_chunks: dict | None = None, k: int = 10) -> QuestionResult:
    """Score one `Answer` (service.ask output) against its test item."""
    retrieved = list(answer.retrieved)[:k]
    pairs = [(c.text, c.ref_id) for c in retrieved]
    result = QuestionResult(
        id=item.id,
        question=item.question,
        kind=item.kind,
        lang=item.lang,
        phase=item.phase,
        answerable=item.answerable,
        evidence=list(item.evidence),
        abstained=bool(answer.abstained),
        intent=answer.intent,
        answer=answer.answer,
        phases=list(answer.phases),
        cited_ids=[c.chunk_id or "" for c in answer.citations],
        retrieve_ms=float(answer.timings_ms.retrieve),
        total_ms=float(answer.timings_ms.total),
    )
    result.retrieved = [
        RetrievedRef(
            rank=i,
            chunk_id=c.chunk_id,
            ref_id=c.ref_id,
            source=c.source,
            title=c.title,
            section=c.section,
            hit=item.answerable and passage_matches(item.evidence, c.text, c.ref_id),
        )
        for i, c in enumerate(retrieved, 1)
    ]
    result.top1_text = retrieved[0].text[:400] if retrieved else ""
    if not item.answerable:
        return result

    result.hit_ranks = [r.rank for r in result.retrieved if r.hit]
    result.first_hit_rank = result.hit_ranks[0] if result.hit_ranks else None
    result.evidence_ranks = [first_hit_rank([e], pairs) for e in item.evidence]
    if index_chunks is not None:
        chunks = list(index_chunks.values())
        result.relevant_in_index = sum(1 for ch in chunks if passage_matches(item.evidence, ch.text, ch.ref_id))
        result.unreachable_evidence = [
            e for e in item.evidence if not any(evidence_matches(e, ch.text, ch.ref_id) for ch in chunks)
        ]
    else:
        result.relevant_in_index = len(result.hit_ranks)

    body = _body_refs(answer.answer)
    result.citation_hit = any(passage_matches(item.evidence, c.text, c.ref_id) for c in answer.citations)
    result.citation_hit_strict = any(
        passage_matches(item.evidence, c.text, c.ref_id) for c in answer.citations if c.n in body
    )
    if item.phase is not None:
        result.phase_correct = item.phase in answer.phases
    haystack = normalize(" ".join([answer.answer, *(c.text for c in answer.citations)]))
    result.answer_terms_found = [t for t in item.answer_terms if normalize(t) in haystack]
    result.answer_term_coverage = round(len(result.answer_terms_found) / len(item.answer_terms), 4)
    return result


def _load_avg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not available on every platform
        return None


def build_report(
    results: list[QuestionResult], *, split: str, k: int, testset: str = "", index: dict | None = None
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
    )


def evaluate(service, items: Sequence[EvalItem], k: int = 10, *, split: str = "", testset: str = "", progress=None) -> EvalReport:
    """Ask every item through `service.ask(question, top_k=k)` and score retrieval and answer.

    Raises `assistant.service.AssistantUnavailable` when model or index cannot be used."""
    service.warm_up()
    chunks = service.index_chunks
    service.ask("Worum geht es in der Roadmap?", top_k=k)  # warm-up: first torch call is slow
    results: list[QuestionResult] = []
    for n, item in enumerate(items, 1):
        answer = service.ask(item.question, top_k=k, question_id=item.id)
        results.append(score_answer(item, answer, chunks, k))
        if progress is not None:
            progress(n, len(items))
    manifest = {}
    try:
        from assistant.index import read_manifest

        m = read_manifest(service.settings)
        manifest = {key: m.get(key) for key in ("built_at", "chunker_version", "model_id", "chunks", "corpus_sha256")}
    except Exception:  # the report stays useful without index details
        pass
    return build_report(results, split=split or "custom", k=k, testset=testset, index=manifest)


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


def render_markdown(report: EvalReport) -> str:
    r, a, lat = report.retrieval, report.answers, report.latency
    lines = [
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
        "## Retrieval (nur beantwortbare Fragen)",
        "",
        _METRICS_HEAD,
        _metrics_row("**gesamt**", r),
        "",
        "### Nach Fragetyp",
        "",
        _METRICS_HEAD,
        *(_metrics_row(k, m) for k, m in report.by_kind.items()),
        "",
        "### Nach Sprache",
        "",
        _METRICS_HEAD,
        *(_metrics_row(k, m) for k, m in report.by_lang.items()),
        "",
        "### Nach Phase",
        "",
        _METRICS_HEAD,
        *(_metrics_row(k, m) for k, m in report.by_phase.items()),
        "",
        "![Recall@5 nach Fragetyp](recall_at5_by_kind.png)",
        "",
        "## Antworten",
        "",
        "| Kennzahl | Wert | Basis |",
        "|---|---:|---:|",
        f"| Beleg zitiert (citation hit) | {_pct(a.citation_hit)} | {a.n_answerable} |",
        f"| Beleg im Antworttext zitiert (ohne „Mehr dazu“) | {_pct(a.citation_hit_strict)} | {a.n_answerable} |",
        f"| Phase richtig | {_pct(a.phase_correct)} | {a.n_with_phase} |",
        f"| Abdeckung der Antwortbegriffe | {_pct(a.answer_term_coverage)} | {a.n_answerable} |",
        f"| Themenfremde Fragen abgelehnt | {_pct(a.refusal_rate_out_of_scope)} | {a.n_out_of_scope} |",
        f"| Fälschlich abgelehnt | {_pct(a.false_refusal_rate)} | {a.n_answerable} |",
        "",
        "| Fragetyp | Beleg zitiert | streng | Phase richtig | Begriffe | abgelehnt |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, m in report.answers_by_kind.items():
        if kind == "out_of_scope":
            lines.append(f"| {kind} | – | – | – | – | {_pct(m.refusal_rate_out_of_scope)} |")
        else:
            phase = _pct(m.phase_correct) if m.n_with_phase else "–"
            lines.append(
                f"| {kind} | {_pct(m.citation_hit)} | {_pct(m.citation_hit_strict)} | {phase} | "
                f"{_pct(m.answer_term_coverage)} | {_pct(m.false_refusal_rate)} |"
            )
    lines += [
        "",
        "## Latenz",
        "",
        f"Retrieval p50 {lat.retrieve_p50_ms} ms, p95 {lat.retrieve_p95_ms} ms · "
        f"gesamt p50 {lat.total_p50_ms} ms, p95 {lat.total_p95_ms} ms ({lat.n} Fragen; "
        f"Rechnerlast am Ende {lat.load_avg_1m} bei {os.cpu_count()} CPUs).",
        "",
        f"## Fehlschläge im Retrieval (kein Treffer unter den Top 5): {len(report.misses)}",
        "",
    ]
    for m in report.misses:
        found = f"erster Treffer auf Rang {m.first_hit_rank}" if m.first_hit_rank else f"kein Treffer in den Top {report.k}"
        top = m.retrieved[0] if m.retrieved else None
        top_label = f"`{top.chunk_id}` {top.title} ({top.section})" if top else "nichts"
        lines += [
            f"### {m.id} ({m.kind}, {m.lang}, Phase {m.phase or '–'}) – {found}",
            "",
            f"- Frage: {_md_cell(m.question)}",
            "- Erwartet: " + "; ".join(f"„{_md_cell(e)}“" for e in m.evidence),
        ]
        if m.unreachable_evidence:
            lines.append(
                "- Nicht erreichbar (in keinem Abschnitt des Index): "
                + "; ".join(f"„{_md_cell(e)}“" for e in m.unreachable_evidence)
            )
        lines += [
            f"- Rang 1: {top_label}",
            f"  > {_md_cell(_short(m.top1_text, 240))}",
            "",
        ]
    answer_fails = [
        x
        for x in report.results
        if (x.answerable and (not x.citation_hit or x.abstained or x.phase_correct is False))
        or (not x.answerable and not x.abstained)
    ]
    lines += [f"## Fehler in den Antworten: {len(answer_fails)}", "", "| id | Typ | Problem | Frage |", "|---|---|---|---|"]
    for x in answer_fails:
        problems = []
        if not x.answerable:
            problems.append("nicht abgelehnt")
        else:
            if x.abstained:
                problems.append("fälschlich abgelehnt")
            elif not x.citation_hit:
                problems.append("Beleg nicht zitiert")
            if x.phase_correct is False:
                problems.append(f"Phase {x.phase} fehlt (genannt: {', '.join(x.phases) or '–'})")
        lines.append(f"| {x.id} | {x.kind} | {'; '.join(problems)} | {_md_cell(_short(x.question, 100))} |")
    return "\n".join(lines) + "\n"


def write_chart(report: EvalReport, path: Path) -> Path:
    """Bar chart of Recall@5 per question kind (Agg canvas; no global pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kinds = list(report.by_kind)
    values = [report.by_kind[k].recall_at_5 for k in kinds]
    fig = Figure(figsize=(8, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    bars = ax.bar(kinds, values, color="#2f6f9f")
    overall = f"{report.retrieval.recall_at_5:.2f}".replace(".", ",")
    ax.axhline(report.retrieval.recall_at_5, color="#c0392b", linestyle="--", linewidth=1, label=f"gesamt {overall}")
    ax.axhline(0.90, color="#777777", linestyle=":", linewidth=1, label="Ziel 0,90")
    for bar, value, kind in zip(bars, values, kinds):
        ax.text(bar.get_x() + bar.get_width() / 2, value + 0.01, f"{value:.2f}".replace(".", ",") + f"\nn={report.by_kind[kind].n}",
                ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, 1.32)
    ax.set_ylabel("Recall@5")
    ax.set_title(f"Recall@5 nach Fragetyp (Split {report.split})")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.legend(loc="upper left", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    return path


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
    return paths


def summary_table(report: EvalReport) -> str:
    """Short console summary (German labels, metric names as usual in English)."""
    r, a, lat = report.retrieval, report.answers, report.latency
    rows = [
        f"Evaluation Split '{report.split}': {report.n_items} Fragen, {report.n_answerable} beantwortbar, top_k={report.k}",
        f"{'Gruppe':<16}{'n':>4}{'R@1':>7}{'R@3':>7}{'R@5':>7}{'R@10':>7}{'MRR@10':>8}{'nDCG@10':>9}",
    ]

    def row(name: str, m: RetrievalMetrics) -> str:
        return (f"{name:<16}{m.n:>4}{m.recall_at_1:>7.3f}{m.recall_at_3:>7.3f}{m.recall_at_5:>7.3f}"
                f"{m.recall_at_10:>7.3f}{m.mrr_at_10:>8.3f}{m.ndcg_at_10:>9.3f}")

    rows.append(row("gesamt", r))
    rows += [row(k, m) for k, m in report.by_kind.items()]
    rows += [row(f"lang={k}", m) for k, m in report.by_lang.items()]
    rows += [
        f"Beleg zitiert {_pct(a.citation_hit)} · Phase richtig {_pct(a.phase_correct)} · "
        f"Begriffe {_pct(a.answer_term_coverage)}",
        f"Themenfremde abgelehnt {_pct(a.refusal_rate_out_of_scope)} · fälschlich abgelehnt {_pct(a.false_refusal_rate)}",
        f"Latenz Retrieval p50/p95 {lat.retrieve_p50_ms}/{lat.retrieve_p95_ms} ms · "
        f"gesamt p50/p95 {lat.total_p50_ms}/{lat.total_p95_ms} ms",
        f"Retrieval-Fehlschläge (kein Treffer in Top 5): {len(report.misses)}",
    ]
    return "\n".join(rows)


def run_cli(args, settings: Settings, service=None) -> int:
    """`assistant eval`: evaluate one split, write eval.json/eval.md/chart into --out.
    Exit codes as in the CLI: 0 ok, 2 bad test set or --k, 3 model or index unavailable."""
    import sys

    from assistant.service import AssistantService, AssistantUnavailable

    split = getattr(args, "split", "test") or "test"
    k = int(getattr(args, "k", 10) or 10)
    if not 1 <= k <= 50:
        print("--k muss zwischen 1 und 50 liegen.", file=sys.stderr)
        return EXIT_INPUT
    testset_path = Path(args.testset) if getattr(args, "testset", None) else DEFAULT_TESTSET
    try:
        items = split_items(load_testset(testset_path), split)
    except TestsetError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    service = service or AssistantService(settings)
    started = time.perf_counter()
    interactive = sys.stderr.isatty()

    def progress(n: int, total: int) -> None:
        if interactive:
            print(f"\r{n}/{total} Fragen", end="", file=sys.stderr, flush=True)
        elif n % 25 == 0 or n == total:
            print(f"{n}/{total} Fragen", file=sys.stderr, flush=True)

    try:
        report = evaluate(
            service,
            items,
            k=k,
            split=split,
            testset=str(testset_path),
            progress=progress,
        )
    except AssistantUnavailable as exc:
        message = str(exc)
        if "-m assistant " not in message:  # every known cause already names its fix
            message += f" Index bauen mit: {REBUILD_HINT}"
        print(f"Evaluation nicht möglich: {message}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if interactive:
        print(file=sys.stderr)
    paths = write_outputs(report, Path(getattr(args, "out", None) or "reports"))
    print(summary_table(report))
    print(f"Dauer {time.perf_counter() - started:.1f} s · Berichte: " + ", ".join(str(p) for p in paths.values()))
    return EXIT_OK
