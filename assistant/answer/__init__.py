"""Answer engine (default, no LLM): one composer per operation, chosen through a registry.

`AnswerEngine.parse` turns a question into a typed `Frame` (assistant/frames); `compose` picks the
composer for the frame's operation — define, list, count, compare, explain, example, phase overview,
meta, onboarding — which writes the body with a `[n]` citation on every statement; every answer then
ends with its further sources, phase line and criteria line (`draft.Draft.finish`). When the sources
are silent it refuses (`refusal`). Composers that find nothing fitting return None and the engine
falls back to a coherent extract (`explain`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from assistant.answer.define import asks_linked_criteria, compare, define, is_attribute_question, parts_line
from assistant.answer.draft import AnswerContext, Draft, criteria_line, phase_line
from assistant.answer.example import example
from assistant.answer.explain import explain, phase_overview
from assistant.answer.listing import count_items, list_items
from assistant.answer.meta import meta
from assistant.answer.onboarding import onboarding
from assistant.answer.stored import StoredAnswers
from assistant.answer.refusal import Vocabulary, is_manipulation, looks_like_name, refusal_answer, sources_silent
from assistant.answer.texts import LABELS, refusal_text
from assistant.corpus import Catalogue
from assistant.domain import Operation
from assistant.embedding import Embedder
from assistant.frames import Frame, FrameParser, Lexicon, OperationClassifier, Target, points_back
from assistant.frames.casing import Truecaser
from assistant.frames.operations import cued as operation_cued
from assistant.frames.spelling import SpellingRepair
from assistant.frames.frame import ordinal_reference
from assistant.frames.lexicon import stem
from assistant.index import OPERATION_OWNER, OpenIndex
from assistant.language import detect_language
from assistant.schema import Answer, CriterionRef, Passage
from assistant.settings import Settings

__all__ = ["AnswerEngine", "detect_language", "is_manipulation", "refusal_answer", "refusal_text"]

Composer = Callable[[AnswerContext], Draft | None]

COMPOSERS: dict[Operation, Composer] = {
    Operation.DEFINE: define,
    Operation.LIST: list_items,
    Operation.COUNT: count_items,
    Operation.COMPARE: compare,
    Operation.EXPLAIN: explain,
    Operation.EXAMPLE: example,
    Operation.PHASE: phase_overview,
    Operation.META: meta,
    Operation.ONBOARDING: onboarding,
}

# The contract's `intent` (kept for readers of the JSON answer), derived from the frame.
_LIST_INTENTS = {
    Target.CRITERIA: "criteria_list",
    Target.KEY_FINDINGS: "key_findings",
    Target.DRIVERS: "driver",
    Target.GOOD_PRACTICES: "good_practice",
    Target.OPERATOR_TYPES: "operator_model",
    Target.PHASES: "phase",
    Target.MECHANISMS: "criteria_list",
    Target.WORKSTREAMS: "criteria_list",
    Target.STAKEHOLDERS: "criteria_list",
}
_INTENTS = {
    Operation.DEFINE: "definition",
    Operation.COMPARE: "definition",
    Operation.EXPLAIN: "general",
    Operation.EXAMPLE: "good_practice",
    Operation.PHASE: "phase",
    Operation.META: "meta",
    Operation.ONBOARDING: "onboarding",
}


def intent_of(frame: Frame) -> str:
    if frame.operation in (Operation.LIST, Operation.COUNT):
        return _LIST_INTENTS.get(frame.target, "criteria_list") if frame.target else "general"
    if frame.operation == Operation.DEFINE and frame.criteria:
        return "criterion"
    if frame.operation == Operation.DEFINE and frame.drivers:
        return "driver"
    if frame.operator_types or "Betreibermodell" in frame.terms and frame.operation == Operation.EXPLAIN:
        return "operator_model"
    return _INTENTS[frame.operation]


class AnswerEngine:
    """Extractive, citation-first answers by kind (the default engine; needs no LLM)."""

    def __init__(self, catalogue: Catalogue, embedder: Embedder, index: OpenIndex, settings: Settings):
        self.catalogue = catalogue
        self.embedder = embedder
        self.index = index
        self.settings = settings
        self.pool_size = settings.answer_pool
        self.lexicon = Lexicon(catalogue, corpus_texts=[c.text for c in index.chunks.values() if c.source == "dossier"])
        ops = [i for i, owner in enumerate(index.query_owner) if owner.startswith(OPERATION_OWNER)]
        labels = [Operation(index.query_owner[i][len(OPERATION_OWNER):]) for i in ops]
        vectors = index.query_vectors[ops] if ops else np.zeros((0, 1), dtype=np.float32)
        self.parser = FrameParser(self.lexicon, OperationClassifier(labels, vectors))
        self.stored = StoredAnswers(index, settings)
        # user documents count as sources; the lexicon's forms are known words
        texts = [c.text for c in index.chunks.values()]
        self.vocabulary = Vocabulary(texts, self.lexicon.all_surfaces(), settings.known_compound_tails, settings.own_names_known)
        self.truecaser = Truecaser(texts, settings.truecase_min_share, settings.truecase_min_tail)
        self.spelling = SpellingRepair(
            texts + self.lexicon.all_surfaces(), settings.spelling_min_letters, settings.spelling_min_letters_indel, settings.spelling_min_count
        )

    def normalised(self, text: str, lang: str) -> str:
        """The question as it is read: typing slips repaired towards source words, and a German one
        typed without capitals gets its nouns' capitals back (frames/spelling.py, frames/casing.py)."""
        if self.settings.spelling_repair:
            text = self.spelling.repaired(text, lang)
        return self.truecaser.recased(text, lang) if self.settings.truecase_lowercase_questions else text

    def _defines_rare_word(self, question: str, frame: Frame) -> bool:
        s = self.settings
        return (
            s.define_rare_word_over_meta and frame.operation == Operation.META and not frame.cued and not frame.follow_up
            and operation_cued(question, Operation.DEFINE)
            and self.vocabulary.asks_about_rare_source_word(question, True, s.refuse_source_word_min_letters, s.refuse_source_word_max_passages)
        )

    def spelled_out(self, text: str) -> str:
        """The text with the full name of every term it names by a form the sources never use
        ("Was heißt PoV?" + "Proof of Value"): what it is searched and judged by."""
        if not self.settings.search_spelled_out_terms:
            return text
        linked = self.lexicon.link(text)
        names = [
            link.key
            for link in linked.links
            if link.type == "term" and not any(self.vocabulary.passages_with[stem(t)] for t in linked.tokens[link.start : link.end])
        ]
        return " ".join([text, *dict.fromkeys(names)]) if names else text

    def parse(self, question: str, lang: str) -> Frame:
        return self.parser.parse(question, self.embedder.embed_query(question), lang)

    def compose(self, question: str, frame: Frame, passages: list[Passage], query: str | None = None) -> Answer:
        lang = frame.lang
        if is_manipulation(question):
            return refusal_answer(question, lang, intent="refused_manipulation")
        if self._defines_rare_word(question, frame):
            # "Was heißt Time-to-Market im Kontext der Studie?": near questions about the study, but
            # asking what a word only a few passages use means
            frame = frame.model_copy(update={"operation": Operation.DEFINE})
        vector = self.embedder.embed_query(query or question)
        pool = passages[: self.pool_size]
        # A follow-up with words of its own ("Und wie wird das Wetter?") is judged by those words;
        # a bare ellipsis ("Und in P4?") by what it inherited.
        own_words = frame.follow_up and frame.own_topic and not points_back(question) and ordinal_reference(question) is None
        common = self.settings.refuse_supported_min_passages
        if own_words and common and self.vocabulary.supports(question, frame.own_topic, lang, common):
            own_words = False  # "Und die Nachteile?": words the sources use often continue the topic
        pointer_own = frame.follow_up and frame.own_topic and not own_words and points_back(question)
        if pointer_own and lang == "de" and not self.vocabulary.uses_any(frame.own_topic):
            own_words = True  # "Und wie wird das Wetter dort?": pointing back, but to ask about words the sources never use
        evidence_vector = self.embedder.embed_query(question) if own_words else vector
        silent = sources_silent(frame, evidence_vector, pool, self.index, self.settings, question, self.vocabulary, own_words=bool(own_words))
        if silent and self.settings.refuse_pointer_follow_up_by_own_words and pointer_own and not own_words:
            # "And what does that mean for the budget rules?": pointing back, but with words of its
            # own; those words alone may show that the sources speak to it
            silent = sources_silent(frame, self.embedder.embed_query(question), pool, self.index, self.settings, question, self.vocabulary, own_words=True)
        if silent:
            return refusal_answer(question, lang)
        ctx = AnswerContext(
            question=question, frame=frame, passages=pool, vector=vector, catalogue=self.catalogue,
            index=self.index, settings=self.settings, lexicon=self.lexicon, stored=self.stored, vocabulary=self.vocabulary,
        )
        composer = COMPOSERS[frame.operation]
        if (not frame.cued or frame.operation in (Operation.LIST, Operation.EXPLAIN, Operation.PHASE)) and is_attribute_question(ctx):
            composer = define  # "Zu welchem Treiber gehört „Ausschüsse …“?": that entry's catalogue facts
        elif asks_linked_criteria(ctx):
            composer = define  # "Welches Kriterium zeigt das Beispiel?": the good practice's catalogue links
        draft = composer(ctx)
        if draft is None or draft.empty:
            draft = explain(ctx)
        if draft is None or draft.empty:
            return refusal_answer(question, lang)
        if self.settings.answer_parts_of and (parts := parts_line(ctx, draft)) is not None:
            draft.add(parts)  # what the catalogue counts as part of it
        unknown = [w for w in self.vocabulary.foreign_names(question) if looks_like_name(w)]
        if unknown and frame.operation in (Operation.EXPLAIN, Operation.DEFINE, Operation.EXAMPLE):
            # "Was sagt die McKinsey-Studie …?": say first that the sources know nothing of it
            names = ", ".join(f"„{n}“" for n in unknown)
            draft.lines.insert(0, ctx.labels["unknown_names"].format(names=names))
        return draft.finish(intent_of(frame))

    # used by the optional LLM engine to build its closing lines the same way
    def references(self, passages: list[Passage], phase: str | None) -> tuple[list[str], list[CriterionRef]]:
        phases: list[str] = [phase] if phase else []
        for p in passages:
            if p.chunk.phase and p.chunk.phase not in phases:
                phases.append(p.chunk.phase)
        refs: list[CriterionRef] = []
        for p in passages:
            for cid in p.chunk.criteria:
                entry = self.catalogue.get(cid)
                if entry is not None and entry.kind == "criterion" and cid not in {r.id for r in refs}:
                    refs.append(CriterionRef(id=cid, name=entry.name, phase=entry.phase))
        return phases[:3], refs[:8]

    @staticmethod
    def labels(lang: str) -> dict[str, str]:
        return LABELS[lang]

    def phase_line(self, phases: list[str], labels: dict[str, str]) -> str:
        return phase_line(self.catalogue, phases, labels)

    @staticmethod
    def criteria_line(criteria: list[CriterionRef], labels: dict[str, str]) -> str:
        return criteria_line(criteria, labels)

    def refuse(self, question: str, lang: str) -> Answer:
        return refusal_answer(question, lang)
