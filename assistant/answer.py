"""Answer: compose a short, cited answer from the retrieved passages — no LLM needed.

The default engine is extractive: it routes the question by intent, adds structured facts from the
catalogue where the question asks for lists (criteria, milestones, drivers, good practices), picks
the few source sentences that best answer the question (embedding similarity + keyword overlap),
keeps them verbatim and ends each with its citation `[n]`. Every answer closes with a phase line
and a criteria line derived from what it cites. When the sources are silent it says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from assistant.chunking import chunk_sentences
from assistant.corpus import Catalogue, CatalogueEntry, normalize_name
from assistant.embedding import Embedder
from assistant.index import OpenIndex
from assistant.intent import detect_intent, detect_language, detect_phase, is_manipulation
from assistant.schema import Answer, Chunk, Citation, CriterionRef, Passage
from assistant.settings import Settings

__all__ = ["AnswerEngine", "detect_language", "refusal_answer"]

# Calibrated on the dev split of tests/data/retrieval_testset.jsonl (see docs/benchmarks.md).
# Below ABSTAIN_SIMILARITY (cosine between question and best passage) the sources are silent.
# Up to CONFIDENT_SIMILARITY a question that names something the corpus never mentions
# (a city, an index, another study) is refused too: the match is then only topical.
ABSTAIN_SIMILARITY = 0.30
CONFIDENT_SIMILARITY = 0.50

_STOP = set(
    "der die das den dem des ein eine einer eines einem einen und oder zu zum zur von vom mit für in im an am "
    "auf aus bei nach über unter vor durch ist sind war wird werden wie was welche welcher welches wer wo "
    "warum gibt es ich wir sie man muss müssen soll sollte kann können nicht auch als dass sich the a an of "
    "to in on for and or is are what which how who does do can should be with about there this that "
    "mir uns mein meine unsere unser dabei dazu dafür denn noch schon bitte".split()
)


_OTHER_WORK = re.compile(r"(studie|bericht|report|study|umfrage|survey|gutachten|index|ranking|gesetz|verordnung|strategie der|strategy of)", re.I)
_COMMON_NOUN = re.compile(r"(ung|ungen|heit|keit|schaft|tion|tionen|ität|glieder|nisse?|ismus|ierung|ende|enden|ment|ments)$")


def content_terms(text: str) -> set[str]:
    """Lower-cased content words, crudely stemmed so that inflections meet (Kommunen ~ Kommune)."""
    terms = set()
    for word in re.findall(r"[\wäöüß-]+", text.lower()):
        if word in _STOP or len(word) < 3:
            continue
        terms.add(re.sub(r"(en|er|es|e|n|s)$", "", word) if len(word) > 5 else word)
    return terms


@dataclass
class _Cited:
    """Citations in order of first use."""

    order: list[Passage] = field(default_factory=list)

    def ref(self, passage: Passage) -> int:
        for i, p in enumerate(self.order, 1):
            if p.chunk.id == passage.chunk.id:
                return i
        self.order.append(passage)
        return len(self.order)


_LABELS = {
    "de": {
        "phase": "Phase",
        "phases": "Phasen",
        "criteria": "Kriterien",
        "no_phase": "keine bestimmte Phase",
        "no_criteria": "keine im Katalog benannten",
        "more": "Mehr dazu",
        "page": "S.",
        "milestones": "Meilensteine laut Katalog",
        "no_milestones": "Für diese Phase sind im Katalog keine Meilensteine belegt.",
        "phase_criteria": "Kriterien dieser Phase im Katalog",
        "drivers": "Die Roadmap nennt sieben Skalierungstreiber",
        "example": "Ein passendes Beispiel ist",
        "further_examples": "Weitere Beispiele",
        "operators": "Als mögliche Betreiber nennt das Dossier (Abbildung 3)",
        "key_findings": "Die Studie fasst ihre Kernergebnisse so zusammen",
        "catalogue_says": "Laut Kriterienkatalog",
        "criterion_in_phase": "gehört zur Phase",
        "driver": "Skalierungstreiber",
        "is_milestone": "im Katalog als Meilenstein markiert",
        "workstreams": "Workstreams",
        "no_phase_known": "ist im Katalog keiner Phase zugeordnet",
    },
    "en": {
        "phase": "Phase",
        "phases": "Phases",
        "criteria": "Criteria",
        "no_phase": "no specific phase",
        "no_criteria": "none named in the catalogue",
        "more": "More on this",
        "page": "p.",
        "milestones": "Milestones in the catalogue",
        "no_milestones": "The catalogue records no milestones for this phase.",
        "phase_criteria": "Criteria of this phase in the catalogue",
        "drivers": "The roadmap names seven scaling drivers (Skalierungstreiber)",
        "example": "A fitting example is",
        "further_examples": "Further examples",
        "operators": "The dossier names these possible operators (figure 3)",
        "key_findings": "The study sums up its key findings as follows",
        "catalogue_says": "According to the criteria catalogue",
        "criterion_in_phase": "belongs to phase",
        "driver": "scaling driver",
        "is_milestone": "marked as a milestone in the catalogue",
        "workstreams": "workstreams",
        "no_phase_known": "has no phase in the catalogue",
    },
}

_EN_INTRO = "From the study (the sources are German and quoted verbatim):"


def refusal_text(lang: str, catalogue: Catalogue) -> str:
    if lang == "en":
        return (
            "The roadmap contains no statement on this. I can help with, for example: "
            "what matters in the pilot phase (P3), examples of open interfaces (Masterportal), "
            "or how operator models secure a solution's long-term operation."
        )
    return (
        "Dazu enthält die Roadmap keine Aussage. Ich kann zum Beispiel helfen bei: "
        "Was ist in der Pilotphase (P3) wichtig? Gibt es ein Beispiel für offene Schnittstellen? "
        "Welche Betreibermodelle gibt es für Smart-City-Lösungen?"
    )


def refusal_answer(question: str, lang: str, catalogue: Catalogue, intent: str = "refused") -> Answer:
    return Answer(question=question, answer=refusal_text(lang, catalogue), abstained=True, intent=intent, lang=lang)


class AnswerEngine:
    """Extractive, citation-first answer composer (the default engine; needs no LLM)."""

    pool_size = 8  # passages considered for composition; `retrieved` still shows top-k

    def __init__(self, catalogue: Catalogue, embedder: Embedder, index: OpenIndex, settings: Settings):
        self.catalogue = catalogue
        self.embedder = embedder
        self.index = index
        self.settings = settings
        self.vocabulary = self._vocabulary(index)

    @staticmethod
    def _vocabulary(index: OpenIndex) -> set[str]:
        words: set[str] = set()
        for chunk in index.chunks.values():
            words.update(w.lower() for w in re.findall(r"[\wäöüß]+", chunk.text))
        return words

    # -- relevance -------------------------------------------------------------------------------

    def _similarity(self, query_vector: np.ndarray, chunk_id: str) -> float:
        vector = self.index.vectors.get(chunk_id)
        return float(vector @ query_vector) if vector is not None else 0.0

    def _known(self, word: str) -> bool:
        """Is a word (or an inflection or compound part of it) used anywhere in the corpus?"""
        w = word.lower()
        if w in self.vocabulary or w in _STOP:
            return True
        stem = w[: max(5, len(w) - 3)]
        if any(v.startswith(stem) for v in self.vocabulary):
            return True
        # German compounds: "Wirtschaftswissenschaft" ~ "Wirtschafts" + "wissenschaft"
        return any(len(v) >= 6 and (w.endswith(v) or w.startswith(v)) and len(w) - len(v) >= 3 for v in self.vocabulary)

    def unknown_names(self, question: str) -> list[str]:
        """Name-like words of the question (capitalised, not the first word) that the corpus never uses."""
        words = re.findall(r"[\wÄÖÜäöüß]+", question)
        unknown = []
        for i, word in enumerate(words):
            if i == 0 or len(word) < 3 or not word[0].isupper():
                continue
            if _COMMON_NOUN.search(word.lower()):
                continue  # "Einteilung", "Ratsmitglieder": ordinary nouns, not names of other things
            if not self._known(word):
                unknown.append(word)
        return unknown

    def should_abstain(self, question: str, query_vector: np.ndarray, passages: list[Passage]) -> bool:
        if not passages:
            return True
        best = max(self._similarity(query_vector, p.chunk.id) for p in passages)
        if best < ABSTAIN_SIMILARITY:
            return True
        unknown = self.unknown_names(question)
        if unknown and _OTHER_WORK.search(question):
            return True  # "Was sagt die McKinsey-Studie …": a document we do not have, however similar the topic
        return best < CONFIDENT_SIMILARITY and bool(unknown)

    # -- sentence selection ----------------------------------------------------------------------

    def _sentences(self, chunk: Chunk) -> list[tuple[str, np.ndarray | None]]:
        stored = self.index.sentences.get(chunk.id)
        if stored is not None:
            return stored
        return [(s, None) for s in chunk_sentences(chunk)]

    def select_sentences(
        self,
        query: str,
        query_vector: np.ndarray,
        passages: list[Passage],
        max_sentences: int = 3,
        max_words: int = 110,
        per_passage: int = 2,
    ) -> list[tuple[Passage, str]]:
        terms = content_terms(query)
        candidates: list[tuple[float, int, int, Passage, str]] = []
        for rank, passage in enumerate(passages):
            for position, (sentence, vector) in enumerate(self._sentences(passage.chunk)):
                if len(sentence) < 25 or sentence.endswith(":") and len(sentence) < 80:
                    continue
                dense = float(vector @ query_vector) if vector is not None else 0.0
                overlap = len(terms & content_terms(sentence)) / max(1, len(terms))
                # long, reference-laden sentences read badly as quotes: a mild length penalty
                length_penalty = 0.0004 * max(0, len(sentence) - 250)
                score = dense + 0.25 * overlap + 0.04 / (1 + rank) - length_penalty
                candidates.append((score, rank, position, passage, sentence))
        if not candidates:
            return []
        candidates.sort(key=lambda c: -c[0])
        best = candidates[0][0]
        chosen: list[tuple[float, int, int, Passage, str]] = []
        words = 0
        used: dict[str, int] = {}
        for cand in candidates:
            score, rank, position, passage, sentence = cand
            if len(chosen) >= max_sentences or score < best - 0.12:
                break
            if used.get(passage.chunk.id, 0) >= per_passage:
                continue
            n_words = len(sentence.split())
            if chosen and words + n_words > max_words:
                continue
            if any(_near_duplicate(sentence, c[4]) for c in chosen):
                continue
            chosen.append(cand)
            used[passage.chunk.id] = used.get(passage.chunk.id, 0) + 1
            words += n_words
        # logical order: by passage rank, then by position inside the passage
        chosen.sort(key=lambda c: (c[1], c[2]))
        return [(c[3], c[4]) for c in chosen]

    # -- composition -----------------------------------------------------------------------------

    def compose(
        self,
        question: str,
        query: str,
        passages: list[Passage],
        lang: str,
        phase_hint: str | None = None,
    ) -> Answer:
        if is_manipulation(question):
            return refusal_answer(question, lang, self.catalogue, intent="refused_manipulation")
        query_vector = self.embedder.embed_query(query)
        if self.should_abstain(question, query_vector, passages):
            return refusal_answer(question, lang, self.catalogue)
        pool = passages[: self.pool_size]
        intent = detect_intent(question)
        phase = detect_phase(question) or phase_hint
        cited = _Cited()
        labels = _LABELS[lang]
        lines: list[str] = []

        lead = self._lead(intent, question, phase, pool, cited, lang)
        lines.extend(lead)
        extract_pool = self._extract_pool(intent, phase, pool, cited)
        # a complete list (key findings) stands on its own; quotes would only dilute it
        max_sentences = 0 if intent == "key_findings" and lead else (2 if lead else 3)
        picked = self.select_sentences(query, query_vector, extract_pool, max_sentences=max_sentences) if max_sentences else []
        if not picked and not lead:
            return refusal_answer(question, lang, self.catalogue)
        quotes = [f"{sentence} [{cited.ref(passage)}]" for passage, sentence in picked]
        if quotes:
            lines.append(" ".join(quotes))
        if lang == "en":
            lines.insert(0, _EN_INTRO)  # the sources are German; say so once, up front

        more: list[Passage] = []
        shown = {_source_label(c.chunk, labels) for c in cited.order}
        for p in pool[:6] if max_sentences else []:
            label = _source_label(p.chunk, labels)
            if p.chunk.id in {c.chunk.id for c in cited.order} or label in shown or len(more) >= 2:
                continue
            shown.add(label)
            more.append(p)
        if more:
            refs = "; ".join(f"[{cited.ref(p)}] {_source_label(p.chunk, labels)}" for p in more)
            lines.append(f"{labels['more']}: {refs}")

        answer = Answer(question=question, answer="", abstained=False, intent=intent, lang=lang)
        answer.citations = [
            Citation.from_passage(i, p, quote=_quote_for(p, picked)) for i, p in enumerate(cited.order, 1)
        ]
        answer.phases, answer.criteria = self.references(cited.order[: max(1, len(cited.order) - len(more))], phase)
        lines.append(self.phase_line(answer.phases, labels))
        lines.append(self.criteria_line(answer.criteria, labels))
        answer.answer = "\n\n".join(line for line in lines if line)
        return answer

    # leads: structured facts from the catalogue, each line cited -----------------------------------

    def _catalogue_passage(self, entry_id: str, pool: list[Passage]) -> Passage | None:
        for p in pool:
            if p.chunk.ref_id == entry_id:
                return p
        chunk = self.index.chunks.get(f"catalogue-{entry_id}")
        return Passage(chunk=chunk, score=0.0) if chunk else None

    def _lead(self, intent: str, question: str, phase: str | None, pool: list[Passage], cited: _Cited, lang: str) -> list[str]:
        labels = _LABELS[lang]
        if intent in ("phase", "criteria_list") and phase:
            return self._phase_lead(phase, cited, labels, lang, list_all=intent == "criteria_list")
        if intent == "criteria_list" and not phase:
            return [self.catalogue.coverage_note(lang)]
        if intent == "key_findings":
            return self._key_findings_lead(cited, labels)
        if intent == "driver":
            return self._driver_lead(question, pool, cited, labels)
        if intent == "good_practice":
            return self._good_practice_lead(question, phase, pool, cited, labels)
        if intent == "operator_model" and re.search(r"(welche|arten|varianten|formen|möglichkeit|which|kinds|types|options)", question, re.I):
            return self._operator_lead(cited, labels)
        if intent == "criterion":
            return self._criterion_lead(pool, cited, labels)
        return []

    def _phase_lead(self, phase: str, cited: _Cited, labels: dict, lang: str, list_all: bool) -> list[str]:
        entry_passage = self._catalogue_passage(phase, [])
        if entry_passage is None:
            return []
        n = cited.ref(entry_passage)
        entry = self.catalogue.get(phase)
        lines = [f"{self.catalogue.phase_label(phase)}: {entry.summary} [{n}]"]
        milestones = self.catalogue.milestones(phase)
        if milestones:
            lines.append(f"{labels['milestones']}: " + "; ".join(f"{m.name} ({m.id})" for m in milestones) + f" [{n}]")
        else:
            lines.append(f"{labels['no_milestones']} [{n}]")
        if list_all:
            criteria = self.catalogue.criteria_of_phase(phase)
            lines.append(
                f"{labels['phase_criteria']} ({len(criteria)}): " + "; ".join(f"{c.name} ({c.id})" for c in criteria) + f" [{n}]"
            )
            lines.append(self.catalogue.coverage_note(lang))
        return lines

    def _driver_lead(self, question: str, pool: list[Passage], cited: _Cited, labels: dict) -> list[str]:
        named = [e for e in self.catalogue.drivers if normalize_name(e.name)[:30] in normalize_name(question)]
        named += [e for e in self.catalogue.drivers if re.search(rf"\b{e.id}\b", question)]
        if named:
            entry = named[0]
            p = self._catalogue_passage(entry.id, pool)
            if p is None:
                return []
            n = cited.ref(p)
            lines = [f"{entry.id} – {entry.name}: {entry.summary} [{n}]"]
            criteria = self.catalogue.criteria_of_driver(entry.id)
            if criteria:
                lines.append(f"{labels['criteria']}: " + "; ".join(f"{c.name} ({c.id})" for c in criteria) + f" [{n}]")
            return lines
        table = next((c for c in self.index.chunks.values() if c.source == "dossier" and all(d.name + ":" in c.text for d in self.catalogue.drivers[:2])), None)
        names = "; ".join(f"{d.id} {d.name}" for d in self.catalogue.drivers)
        if table is None:
            return [f"{labels['drivers']}: {names}."]
        n = cited.ref(Passage(chunk=table, score=0.0))
        return [f"{labels['drivers']}: {names} [{n}]"]

    def _good_practice_lead(self, question: str, phase: str | None, pool: list[Passage], cited: _Cited, labels: dict) -> list[str]:
        ranked: list[str] = []
        for p in pool:
            for gp in ([p.chunk.ref_id] if p.chunk.kind == "good_practice" else []) + p.chunk.good_practices:
                if gp and gp not in ranked:
                    ranked.append(gp)
        if phase:
            in_phase = [g for g in ranked if (self.catalogue.get(g) and self.catalogue.get(g).data.get("phase") == phase)]
            ranked = in_phase + [g for g in ranked if g not in in_phase]
        if not ranked:
            return []
        lines = []
        best = self.catalogue.get(ranked[0])
        passage = next((p for p in pool if ranked[0] in p.chunk.good_practices and p.chunk.source == "dossier"), None)
        passage = passage or self._catalogue_passage(best.id, pool)
        place = best.data.get("place")
        phase_label = self.catalogue.phase_label(best.data.get("phase")) if best.data.get("phase") else None
        details = "; ".join(x for x in (place, f"{labels['phase']} {phase_label}" if phase_label else None) if x)
        lines.append(f"{labels['example']} „{best.name}“" + (f" – {details}" if details else "") + f" [{cited.ref(passage)}].")
        others = []
        wants_several = re.search(r"(beispiele|good practices|practices|examples|welche städte|welche kommunen)", question, re.I)
        for gp in ranked[1:3] if wants_several else []:
            entry = self.catalogue.get(gp)
            p = next((x for x in pool if gp in x.chunk.good_practices and x.chunk.source == "dossier"), None)
            p = p or self._catalogue_passage(gp, pool)
            if entry and p:
                others.append(f"{entry.name} [{cited.ref(p)}]")
        if others:
            lines.append(f"{labels['further_examples']}: " + "; ".join(others))
        return lines

    def _key_findings_lead(self, cited: _Cited, labels: dict) -> list[str]:
        """The numbered subsections of the key-findings chapter, each cited with its first passage."""
        firsts: dict[str, Chunk] = {}
        for chunk in self.index.chunks.values():
            parts = chunk.section.split(" > ")
            if chunk.source == "dossier" and len(parts) == 2 and "Kernergebnisse" in parts[0] and re.match(r"^\d+\.", parts[1]):
                firsts.setdefault(parts[1], chunk)
        if not firsts:
            return []
        items = [f"{title} [{cited.ref(Passage(chunk=chunk, score=0.0))}]" for title, chunk in firsts.items()]
        return [f"{labels['key_findings']} ({len(items)}):", "\n".join(f"- {item}" for item in items)]

    def _operator_lead(self, cited: _Cited, labels: dict) -> list[str]:
        figure = next((c for c in self.index.chunks.values() if c.source == "dossier" and "öffentliche Hand:" in c.text), None)
        if figure is None:
            return []
        rows = [line for line in figure.text.split("\n\n") if re.match(r"^(öffentliche Hand|privatwirtschaftliches|zivilgesellschaftliche)", line)]
        if not rows:
            return []
        n = cited.ref(Passage(chunk=figure, score=0.0))
        return [f"{labels['operators']}: " + " | ".join(rows) + f" [{n}]"]

    def _criterion_lead(self, pool: list[Passage], cited: _Cited, labels: dict) -> list[str]:
        passage = next((p for p in pool[:4] if p.chunk.kind == "criterion"), None)
        if passage is None:
            return []
        entry = self.catalogue.get(passage.chunk.ref_id or "")
        if entry is None:
            return []
        n = cited.ref(passage)
        phase_text = (
            f"{labels['criterion_in_phase']} {', '.join(self.catalogue.phase_label(p) for p in entry.phases)}"
            if entry.phases
            else labels["no_phase_known"]
        )
        facts = []
        driver = self.catalogue.get(entry.data.get("driver") or "")
        if driver is not None:
            facts.append(f"{labels['driver']}: {driver.id} – {driver.name}")
        if entry.data.get("milestone") is True:
            facts.append(labels["is_milestone"])
        if entry.data.get("workstreams"):
            facts.append(f"{labels['workstreams']}: {', '.join(entry.data['workstreams'])}")
        extra = "; ".join(facts)
        summary = f" {entry.summary}" if entry.summary else ""
        return [
            f"{labels['catalogue_says']}: „{entry.name}“ ({entry.id}) {phase_text}" + (f"; {extra}" if extra else "") + f".{summary} [{n}]"
        ]

    def _extract_pool(self, intent: str, phase: str | None, pool: list[Passage], cited: _Cited) -> list[Passage]:
        """Passages to quote from: dossier text first (it is the primary source), filtered to the
        asked phase where the question names one."""
        dossier = [p for p in pool if p.chunk.source != "catalogue"]
        if phase and intent in ("phase", "criteria_list", "good_practice"):
            in_phase = [p for p in dossier if p.chunk.phase == phase]
            if in_phase:
                dossier = in_phase + [p for p in dossier if p not in in_phase]
        if intent == "good_practice":
            already = {c.chunk.id for c in cited.order}
            dossier = [p for p in dossier if p.chunk.id in already] + [p for p in dossier if p.chunk.id not in already]
        return dossier[:5] or pool[:3]

    # closing lines --------------------------------------------------------------------------------

    def references(self, passages: list[Passage], phase: str | None) -> tuple[list[str], list[CriterionRef]]:
        """Phase and criteria references of an answer, derived from the passages it cites."""
        return _phases_of(passages, phase), self._criteria_of(passages, phase)

    @staticmethod
    def labels(lang: str) -> dict:
        return _LABELS[lang]

    def refuse(self, question: str, lang: str) -> Answer:
        return refusal_answer(question, lang, self.catalogue)

    def _criteria_of(self, passages: list[Passage], phase: str | None) -> list[CriterionRef]:
        refs: list[CriterionRef] = []
        seen: set[str] = set()
        for p in passages:
            for cid in p.chunk.criteria:
                entry = self.catalogue.get(cid)
                if entry is None or entry.kind != "criterion" or cid in seen:
                    continue
                seen.add(cid)
                refs.append(CriterionRef(id=cid, name=entry.name, phase=entry.phase))
        if phase:
            refs.sort(key=lambda r: 0 if r.phase == phase else 1)
        return refs[:8]

    def phase_line(self, phases: list[str], labels: dict) -> str:
        if not phases:
            return f"{labels['phase']}: {labels['no_phase']}"
        label = labels["phase"] if len(phases) == 1 else labels["phases"]
        return f"{label}: " + "; ".join(self.catalogue.phase_label(p) for p in phases)

    def criteria_line(self, criteria: list[CriterionRef], labels: dict) -> str:
        if not criteria:
            return f"{labels['criteria']}: {labels['no_criteria']}"
        return f"{labels['criteria']}: " + "; ".join(f"{c.name} ({c.id}" + (f", {c.phase})" if c.phase else ")") for c in criteria[:4])


def _phases_of(passages: list[Passage], asked: str | None) -> list[str]:
    phases: list[str] = []
    if asked:
        phases.append(asked)
    for p in passages:
        if p.chunk.phase and p.chunk.phase not in phases:
            phases.append(p.chunk.phase)
    return phases[:3]


def _source_label(chunk: Chunk, labels: dict) -> str:
    label = chunk.title or chunk.section
    if chunk.page:
        label += f" ({labels['page']} {chunk.page})"
    return label


def _quote_for(passage: Passage, picked: list[tuple[Passage, str]]) -> str | None:
    quotes = [s for p, s in picked if p.chunk.id == passage.chunk.id]
    return " ".join(quotes) if quotes else None


def _near_duplicate(a: str, b: str) -> bool:
    ta, tb = content_terms(a), content_terms(b)
    return bool(ta and tb) and len(ta & tb) / min(len(ta), len(tb)) > 0.8


def entry_label(entry: CatalogueEntry) -> str:
    return f"{entry.name} ({entry.id})"
