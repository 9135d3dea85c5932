"""Metrics: the hit rule, retrieval metrics, answer metrics and the answer-usefulness grade.

Hit rule: a retrieved passage matches an evidence item when
  * the evidence is a catalogue id (K14, GP03, T2, P3, D, M05) and the passage *is* that entry
    (`ref_id == id`), or
  * the evidence is text and occurs in the passage text, case-insensitively, with all whitespace
    runs collapsed to one space on both sides.
A question is a hit at rank r when the passage at rank r matches any of its evidence items.

Everything about answers is graded on what a person reads: the answer *body*, i.e. the answer
text without its closing lines (phase line, criteria line, "Mehr dazu" further sources), and only
passages cited from that body count as cited evidence. A cited passage is read with its section
heading (the source card shows it): the title of a key finding is evidence in the passages under it.

Answer usefulness (answer test set): an answer is correct when every `must_include` group has
an alternative in the body, no `must_not_include` string is in it, a passage cited from the body
holds one of the evidence items, and the question was not refused. Out-of-scope items are correct
when refused. Matching is case-insensitive with whitespace, dashes and quotes normalised; numbers
and alternatives of at most four characters must stand as a word of their own ("acht" does not
match "beachten").
"""

from __future__ import annotations

import re
from math import log2
from typing import Sequence

import numpy as np
from pydantic import BaseModel, Field

from assistant.evaluation.testset import AnswerTurn, EvalItem, is_catalogue_id

# ---------------------------------------------------------------------------------------------
# Hit rule
# ---------------------------------------------------------------------------------------------


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
    phase_correct: bool | None = None  # the answer's primary (first) phase is the item's phase
    phase_listed: bool | None = None  # lenient: the item's phase is anywhere in the answer's phases
    phase_named_in_question: bool = False  # the question itself names the phase (reported apart)
    answer_terms_found: list[str] = Field(default_factory=list)
    answer_term_coverage: float | None = None
    retrieve_ms: float = 0.0
    total_ms: float = 0.0


class RetrievalMetrics(BaseModel):
    n: int = 0  # answerable questions in the group
    recall_at_1: float = 0.0  # share with a hit at rank 1 (likewise at 3, 5 and 10)
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
    phase_correct: float = 0.0  # primary phase, all items with a phase
    phase_listed: float = 0.0  # lenient variant, for comparison only
    n_phase_unnamed: int = 0
    phase_correct_unnamed: float = 0.0  # primary phase, items whose question does not name it
    answer_term_coverage: float = 0.0  # mean share of an item's answer terms in the answer body
    refusal_rate_out_of_scope: float = 0.0
    false_refusal_rate: float = 0.0  # answerable but refused


class Latency(BaseModel):
    n: int = 0
    retrieve_p50_ms: float = 0.0  # percentiles of the per-question timings
    retrieve_p95_ms: float = 0.0
    total_p50_ms: float = 0.0
    total_p95_ms: float = 0.0
    load_avg_1m: float | None = None  # machine load when the run ended (latency is noisy under load)


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
        phase_listed=share(with_phase, lambda r: r.phase_listed),
        n_phase_unnamed=len([r for r in with_phase if not r.phase_named_in_question]),
        phase_correct_unnamed=share([r for r in with_phase if not r.phase_named_in_question], lambda r: r.phase_correct),
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


# Closing lines of every answer: the further sources, the phase line and the criteria line.
_CLOSING_LINE = re.compile(r"^(?:Mehr dazu|More on this|Phase|Phasen|Phases|Kriterien|Criteria):")


def answer_body(answer_text: str) -> str:
    """The answer as a statement: its text without the closing lines (see module doc)."""
    return "\n".join(line for line in answer_text.split("\n") if not _CLOSING_LINE.match(line.strip()))


def body_refs(answer_text: str) -> set[int]:
    """Citation numbers used in the answer body."""
    return {int(n) for n in re.findall(r"\[(\d+)\]", answer_body(answer_text))}


_PHASE_WORDS = {
    "P1": r"\bP\s?1\b|ideenfindung",
    "P2": r"\bP\s?2\b|prototyp",
    "P3": r"\bP\s?3\b|pilot",
    "P4": r"\bP\s?4\b|verstetigung|verfestigung|vertikal",
    "P5": r"\bP\s?5\b|transfer|horizontal",
    "D": r"durchgehend|alle[nr]? phasen|all phases|every phase",
}


def names_phase(question: str, phase: str) -> bool:
    """Does the question itself name the phase (by id or name)? Independent of the engine's parser."""
    pattern = _PHASE_WORDS.get(phase)
    return bool(pattern and re.search(pattern, question, re.IGNORECASE))


# What a result copies from its test item, and a retrieved passage reference from its citation.
_ITEM_FIELDS = {"id", "question", "kind", "lang", "phase", "answerable", "evidence"}
_REF_FIELDS = {"chunk_id", "ref_id", "source", "title", "section"}


def score_answer(item: EvalItem, answer, index_chunks: dict | None = None, k: int = 10) -> QuestionResult:
    """Score one `Answer` (service.ask output) against its test item."""
    retrieved = list(answer.retrieved)[:k]
    result = QuestionResult(
        **item.model_dump(include=_ITEM_FIELDS),
        abstained=bool(answer.abstained),
        intent=answer.intent,
        answer=answer.answer,
        phases=list(answer.phases),
        cited_ids=[c.chunk_id or "" for c in answer.citations],
        retrieve_ms=float(answer.timings_ms.retrieve),
        total_ms=float(answer.timings_ms.total),
        retrieved=[_retrieved_ref(item, rank, c) for rank, c in enumerate(retrieved, 1)],
        top1_text=retrieved[0].text[:400] if retrieved else "",
    )
    if item.answerable:
        _score_retrieval(result, item, retrieved, index_chunks)
        _score_answer_text(result, item, answer)
    return result


def _retrieved_ref(item: EvalItem, rank: int, c) -> RetrievedRef:
    """A retrieved citation as the report lists it; a hit when it matches the item's evidence."""
    hit = item.answerable and passage_matches(item.evidence, c.text, c.ref_id)
    return RetrievedRef(rank=rank, hit=hit, **c.model_dump(include=_REF_FIELDS))


def _score_retrieval(result: QuestionResult, item: EvalItem, retrieved: list, index_chunks: dict | None) -> None:
    """Hit ranks of an answerable item, and how many passages of the whole index match it."""
    pairs = [(c.text, c.ref_id) for c in retrieved]
    result.hit_ranks = [r.rank for r in result.retrieved if r.hit]
    result.first_hit_rank = result.hit_ranks[0] if result.hit_ranks else None
    result.evidence_ranks = [first_hit_rank([e], pairs) for e in item.evidence]
    if index_chunks is None:
        result.relevant_in_index = len(result.hit_ranks)
        return
    chunks = list(index_chunks.values())
    result.relevant_in_index = sum(1 for ch in chunks if passage_matches(item.evidence, ch.text, ch.ref_id))
    result.unreachable_evidence = [
        e for e in item.evidence if not any(evidence_matches(e, ch.text, ch.ref_id) for ch in chunks)
    ]


def _score_answer_text(result: QuestionResult, item: EvalItem, answer) -> None:
    """Citations, phases and answer terms of an answerable item's answer."""
    body = body_refs(answer.answer)
    result.citation_hit = any(passage_matches(item.evidence, c.text, c.ref_id) for c in answer.citations)
    result.citation_hit_strict = any(
        passage_matches(item.evidence, c.text, c.ref_id) for c in answer.citations if c.n in body
    )
    if item.phase is not None:
        result.phase_correct = bool(answer.phases) and answer.phases[0] == item.phase
        result.phase_listed = item.phase in answer.phases
        result.phase_named_in_question = names_phase(item.question, item.phase)
    body_text = fold(answer_body(answer.answer))
    result.answer_terms_found = [t for t in item.answer_terms if contains_term(body_text, t)]
    result.answer_term_coverage = round(len(result.answer_terms_found) / len(item.answer_terms), 4)


# ---------------------------------------------------------------------------------------------
# Answer usefulness
# ---------------------------------------------------------------------------------------------

_DASHES = re.compile(r"[\u2010\u2011\u2012\u2013\u2014\u2212]")
_DQUOTES = re.compile(r"[\u201e\u201c\u201d\u00ab\u00bb]")
_SQUOTES = re.compile(r"[\u201a\u2018\u2019]")


def fold(text: str) -> str:
    """Case-folded text with dashes, quotes and whitespace runs normalised."""
    text = _SQUOTES.sub("'", _DQUOTES.sub('"', _DASHES.sub("-", text)))
    return re.sub(r"\s+", " ", text).strip().casefold()


def contains_term(folded_text: str, term: str) -> bool:
    """Is `term` in the (already folded) text? Numbers and short terms must stand as a word."""
    needle = fold(term)
    if not needle:
        return False
    if len(needle) <= 4 or needle.isdigit():
        return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", folded_text) is not None
    return needle in folded_text


class AnswerGrade(BaseModel):
    """The grade of one answer against its answer-test-set item (or conversation turn)."""

    id: str  # item id; for a conversation turn "<conversation id>#<turn>"
    conversation: str | None = None
    turn: int | None = None  # 1-based turn number inside a conversation
    question: str
    kind: str
    lang: str
    phase: str | None
    answerable: bool
    correct: bool
    refused: bool
    missing: list[list[str]] = Field(default_factory=list)  # must_include groups not in the answer
    forbidden: list[str] = Field(default_factory=list)  # must_not_include strings found
    evidence_cited: bool = False
    answer: str = ""
    intent: str | None = None
    operation: str | None = None
    total_ms: float = 0.0


def grade_answer(item: AnswerTurn, answer, *, item_id: str, lang: str, conversation: str | None = None,
                 turn: int | None = None) -> AnswerGrade:
    """Grade one `Answer` on what its text says (see module doc)."""
    body = fold(answer_body(answer.answer))
    refused = bool(answer.abstained)
    frame = getattr(answer, "frame", None)
    grade = AnswerGrade(
        id=item_id,
        conversation=conversation,
        turn=turn,
        question=item.question,
        kind=item.kind,
        lang=lang,
        phase=item.phase,
        answerable=item.answerable,
        correct=False,
        refused=refused,
        answer=answer.answer,
        intent=answer.intent,
        operation=getattr(frame, "operation", None) if frame is not None else None,
        total_ms=float(answer.timings_ms.total),
    )
    if not item.answerable:
        grade.correct = refused
        return grade
    refs = body_refs(answer.answer)
    grade.missing = [group for group in item.must_include if not any(contains_term(body, alt) for alt in group)]
    grade.forbidden = [term for term in item.must_not_include if contains_term(body, term)]
    # a cited passage is read with its heading, as its source card shows it: a key finding's title
    # is evidence for an answer citing a passage under it
    grade.evidence_cited = any(
        passage_matches(item.evidence, f"{c.section}\n{c.text}", c.ref_id) for c in answer.citations if c.n in refs
    )
    grade.correct = not refused and not grade.missing and not grade.forbidden and grade.evidence_cited
    return grade


class UsefulnessMetrics(BaseModel):
    n: int = 0
    correct: float = 0.0  # share of correct answers
    n_answerable: int = 0
    terms_complete: float = 0.0  # answerable: all must_include groups present (whatever else)
    evidence_cited: float = 0.0  # answerable: evidence in a passage cited from the body
    false_refusals: float = 0.0  # answerable but refused
    n_out_of_scope: int = 0
    refused_out_of_scope: float = 0.0


def usefulness_metrics(grades: Sequence[AnswerGrade]) -> UsefulnessMetrics:
    answerable = [g for g in grades if g.answerable]
    oos = [g for g in grades if not g.answerable]

    def share(rows, pred) -> float:
        return round(sum(1 for r in rows if pred(r)) / len(rows), 4) if rows else 0.0

    return UsefulnessMetrics(
        n=len(grades),
        correct=share(grades, lambda g: g.correct),
        n_answerable=len(answerable),
        terms_complete=share(answerable, lambda g: not g.missing),
        evidence_cited=share(answerable, lambda g: g.evidence_cited),
        false_refusals=share(answerable, lambda g: g.refused),
        n_out_of_scope=len(oos),
        refused_out_of_scope=share(oos, lambda g: g.refused),
    )


def grouped_usefulness(grades: Sequence[AnswerGrade], key) -> dict[str, UsefulnessMetrics]:
    groups: dict[str, list[AnswerGrade]] = {}
    for g in grades:
        groups.setdefault(str(key(g)), []).append(g)
    return {name: usefulness_metrics(rows) for name, rows in sorted(groups.items())}
