"""The answer under construction: body lines with `[n]` citations, the cited passages in order of
first use, and the closing lines (further sources, phase, criteria) every answer ends with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from assistant.corpus import Catalogue
from assistant.frames import Frame, Lexicon
from assistant.index import OpenIndex
from assistant.answer.texts import LABELS
from assistant.schema import Answer, Chunk, Citation, CriterionRef, Passage
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.answer.stored import StoredAnswers
    from assistant.answer.refusal import Vocabulary


@dataclass
class AnswerContext:
    """Everything a composer may read: the question, its frame and vector, the retrieved passages."""

    question: str
    frame: Frame
    passages: list[Passage]  # retrieved, best first
    vector: np.ndarray  # the question's embedding (question prompt)
    catalogue: Catalogue
    index: OpenIndex
    settings: Settings
    lexicon: Lexicon
    stored: "StoredAnswers | None" = None
    vocabulary: "Vocabulary | None" = None  # the sources' words (how common a word is)

    @property
    def max_words(self) -> int:
        return self.settings.answer_max_words

    @property
    def lang(self) -> str:
        return self.frame.lang

    @property
    def labels(self) -> dict[str, str]:
        return LABELS[self.lang]

    def chunk(self, chunk_id: str) -> Chunk | None:
        return self.index.chunks.get(chunk_id)

    def catalogue_passage(self, entry_id: str) -> Passage | None:
        """The catalogue entry as a citable passage (with its retrieval score when it was retrieved)."""
        for p in self.passages:
            if p.chunk.ref_id == entry_id and p.chunk.source == "catalogue":
                return p
        chunk = self.index.chunks.get(f"catalogue-{entry_id}")
        return Passage(chunk=chunk, score=0.0) if chunk else None

    def similarity(self, chunk_id: str) -> float:
        vector = self.index.vectors.get(chunk_id)
        return float(vector @ self.vector) if vector is not None else 0.0


# The end of a line's first cited sentence: its citation marks ("… Satz. [1][2]").
_FIRST_CITED = re.compile(r"(\s?\[\d+\])+")

@dataclass
class Draft:
    """Body lines and citations of one answer."""

    ctx: AnswerContext
    lines: list[str] = field(default_factory=list)
    cited: list[Passage] = field(default_factory=list)
    quotes: dict[str, list[str]] = field(default_factory=dict)  # chunk id → sentences quoted from it
    further: bool = True  # end with up to two further retrieved sources ("Mehr dazu")
    is_list: bool = False  # lists may exceed the word limit
    focus: dict[str, list[str]] = field(default_factory=dict)  # frame slots the answer was about (for follow-ups)
    listed: list[tuple[str, str]] = field(default_factory=list)  # (kind, id) of each catalogue entry a list names

    def cite(self, passage: Passage | Chunk) -> int:
        if isinstance(passage, Chunk):
            passage = Passage(chunk=passage, score=0.0)
        for n, p in enumerate(self.cited, 1):
            if p.chunk.id == passage.chunk.id:
                return n
        self.cited.append(passage)
        return len(self.cited)

    def quote(self, sentence: str, passage: Passage | Chunk) -> str:
        """`sentence [n]`, recording the sentence as the citation's quote."""
        n = self.cite(passage)
        chunk_id = self.cited[n - 1].chunk.id
        self.quotes.setdefault(chunk_id, []).append(sentence)
        return f"{sentence} [{n}]"

    def add(self, line: str) -> None:
        if line:
            self.lines.append(line)

    @property
    def empty(self) -> bool:
        return not self.lines

    def _shorten(self) -> None:
        """A brief answer ("Kannst du das in einem Satz sagen?"): the first sentence of the first
        line with its citation; the passages only the dropped text cited are no longer cited."""
        first = self.lines[0]
        end = _FIRST_CITED.search(first)
        self.lines = [first[: end.end()] if end else first]
        kept: list[int] = []
        for n in re.findall(r"\[(\d+)\]", self.lines[0]):
            if int(n) not in kept:
                kept.append(int(n))
        renumber = {old: new for new, old in enumerate(kept, 1)}
        self.lines = [re.sub(r"\[(\d+)\]", lambda m: f"[{renumber.get(int(m.group(1)), m.group(1))}]", line) for line in self.lines]
        self.cited = [self.cited[old - 1] for old in kept if old <= len(self.cited)]

    def finish(self, intent: str) -> Answer:
        ctx = self.ctx
        if ctx.frame.brief and not self.is_list and self.lines:
            self._shorten()
        labels = ctx.labels
        body_cited = len(self.cited)
        lines = list(self.lines)
        if ctx.lang == "en":
            lines.insert(0, labels["en_intro"])
        more = self._further_sources()
        if more:
            groups: dict[str, list[str]] = {}  # one label per section, with every chunk's number
            for p in more:
                groups.setdefault(source_label(p.chunk, labels), []).append(f"[{self.cite(p)}]")
            lines.append(f"{labels['more']}: " + "; ".join(f"{', '.join(ns)} {label}" for label, ns in groups.items()))
        answer = Answer(question=ctx.question, answer="", abstained=False, intent=intent, lang=ctx.lang)
        answer.citations = [
            Citation.from_passage(i, p, quote=" ".join(self.quotes.get(p.chunk.id, [])) or None)
            for i, p in enumerate(self.cited, 1)
        ]
        answer.phases = self._phases(self.cited[:body_cited])
        answer.criteria = self._criteria(self.cited[:body_cited])
        if not answer.phases:  # quoted passages without a phase: the phase of the criteria the answer names
            answer.phases = list(dict.fromkeys(c.phase for c in answer.criteria if c.phase))[:3]
        lines.append(phase_line(ctx.catalogue, answer.phases, labels))
        lines.append(criteria_line(answer.criteria, labels))
        answer.answer = "\n\n".join(line for line in lines if line)
        # the answer's focus (the example it chose, the entry it defined) joins the frame, so that
        # "Wer hat es entwickelt?" can follow up on it
        update = {slot: list(dict.fromkeys(getattr(ctx.frame, slot) + ids)) for slot, ids in self.focus.items()}
        if self.listed:
            update["listed"] = [entry_id for _, entry_id in self.listed]
        answer.frame = ctx.frame.model_copy(update=update)
        return answer

    def _further_sources(self) -> list[Passage]:
        """The best retrieved passages the body did not quote: lists get the best dossier passage
        (where the listed items are discussed), other answers the top few of any source."""
        limit = self.ctx.settings.further_sources
        if not self.further:
            limit = min(limit, 1) if self.is_list else 0
        cited_ids = {p.chunk.id for p in self.cited}
        more: list[Passage] = []
        for p in self.ctx.passages[: self.ctx.settings.answer_pool]:
            if len(more) >= limit:
                break
            if p.chunk.id in cited_ids or _unwanted_source(p.chunk) or (self.is_list and p.chunk.source == "catalogue"):
                continue
            more.append(p)
        return more

    def _phases(self, passages: list[Passage]) -> list[str]:
        """The asked phase(s) first, then the phases of the cited passages."""
        phases: list[str] = list(self.ctx.frame.phases)
        for p in passages:
            if p.chunk.phase and p.chunk.phase not in phases:
                phases.append(p.chunk.phase)
        return phases[:3]

    def _criteria(self, passages: list[Passage]) -> list[CriterionRef]:
        catalogue = self.ctx.catalogue
        ids = list(self.ctx.frame.criteria)
        for p in passages:
            ids += [c for c in p.chunk.criteria if c not in ids]
        refs = []
        for cid in ids:
            entry = catalogue.get(cid)
            if entry is not None and entry.kind == "criterion":
                refs.append(CriterionRef(id=cid, name=entry.name, phase=entry.phase))
        asked = set(self.ctx.frame.phases)
        if asked:
            refs.sort(key=lambda r: 0 if r.phase in asked else 1)
        return refs[:8]


def source_label(chunk: Chunk, labels: dict[str, str]) -> str:
    label = chunk.title or chunk.section
    if chunk.page:
        label += f" ({labels['page']} {chunk.page})"
    return label


def _unwanted_source(chunk: Chunk) -> bool:
    """Bibliography and front matter make poor further reading."""
    return chunk.section.startswith(("Literatur", "Titelei"))


def phase_line(catalogue: Catalogue, phases: list[str], labels: dict[str, str]) -> str:
    if not phases:
        return f"{labels['phase']}: {labels['no_phase']}"
    label = labels["phase"] if len(phases) == 1 else labels["phases"]
    return f"{label}: " + "; ".join(catalogue.phase_label(p) for p in phases)


def criteria_line(criteria: list[CriterionRef], labels: dict[str, str]) -> str:
    if not criteria:
        return f"{labels['criteria']}: {labels['no_criteria']}"
    return f"{labels['criteria']}: " + "; ".join(
        f"{c.name} ({c.id}" + (f", {c.phase})" if c.phase else ")") for c in criteria[:4]
    )
