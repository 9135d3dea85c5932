"""Chunking: turn dossier sections and catalogue entries into `Chunk`s with their metadata.

Dossier passages follow the document's structure: a chunk never spans two sections, paragraphs
stay whole where they fit, and a long paragraph is cut between sentences. The stored `text` is the
verbatim (cleaned) dossier text; only the embedded text carries the heading path as context.
Catalogue entries become one readable German chunk each.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from assistant.catalogue import (
    Catalogue,
    CatalogueEntry,
    Criterion,
    Driver,
    EntryKind,
    GoodPractice,
    Mechanism,
    Phase,
)
from assistant.corpus import Dossier, Section
from assistant.domain import Source
from assistant.schema import Chunk

CHUNKER_VERSION = "6"  # 6: no sentence break after "(z." of "(z. B."
MAX_PASSAGE_CHARS = 1200

# Sentence ends: ., !, ? (optionally followed by a closing quote or bracket) before whitespace and
# an upper-case letter, digit or opening quote. Abbreviations common in the dossier are protected.
_ABBREVIATIONS = ("z. B.", "z.B.", "u. a.", "o. J.", "o.J.", "bzw.", "ggf.", "vgl.", "etc.", "s.", "d. h.", "u. U.",
                  "e. V.", "e.V.", "Nr.", "Abb.", "Jg.", "Hrsg.", "ca.", "inkl.", "et al.", "sog.", "Vol.", "V.")
_SENTENCE_END = re.compile(r"(?<=[.!?])[“”\")]?\s+(?=[A-ZÄÖÜ0-9„\"(])")


def split_sentences(text: str) -> list[str]:
    """Split German prose into sentences without breaking at common abbreviations. Each returned
    sentence is a verbatim substring of `text`."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        head = text[start : match.start() + 1].rstrip()
        if (
            head.endswith(_ABBREVIATIONS)
            or re.search(r"(^|[\s(])[A-Za-zÄÖÜäöü]\.$", head)  # "z." of "z. B." (also "(z. B."), initials
            or (re.search(r"\d\.$", head) and len(head) < 4)
        ):
            continue
        end = match.start() + len(match.group(0).rstrip())
        # keep a closing quote with its sentence
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def pack(pieces: list[str], limit: int, joiner: str) -> list[str]:
    """Greedily pack pieces (paragraphs or sentences) into groups of at most `limit` characters."""
    groups: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if current and len(candidate) > limit:
            groups.append(current)
            current = piece
        else:
            current = candidate
    if current:
        groups.append(current)
    return groups


def _section_texts(section: Section, limit: int) -> list[str]:
    pieces: list[str] = []
    for paragraph in section.paragraphs:
        if len(paragraph) <= limit:
            pieces.append(paragraph)
        else:
            pieces.extend(pack(split_sentences(paragraph), limit, " "))
    if section.title == "Glossar":
        return pieces  # one definition per chunk: each glossary entry answers its own question
    return pack(pieces, limit, "\n\n")


@dataclass(frozen=True)
class PassagePlace:
    """Where passages come from; the same for every chunk of one dossier section or one page of a
    user file."""

    source: Source
    title: str
    section: str
    page: int | None
    phase: str | None = None
    file: str | None = None  # user documents: the file name

    def chunk(self, chunk_id: str, text: str, refs: tuple[list[str], list[str]], context: str) -> Chunk:
        """A passage chunk; `refs` are the criteria and good practices it names, `context` is
        embedded before the text."""
        criteria, good_practices = refs
        return Chunk(
            id=chunk_id, text=text, source=self.source, kind="passage", title=self.title, section=self.section,
            page=self.page, phase=self.phase, criteria=criteria, good_practices=good_practices,
            embed_text=f"{context}\n{text}", file=self.file,
        )


@dataclass
class ChunkContext:
    catalogue: Catalogue
    mentions: list[str]


def _references(text: str, ctx: ChunkContext) -> tuple[list[str], list[str]]:
    """Criteria and good practices a text refers to: link texts found in it, plus names written out."""
    criteria: set[str] = set()
    practices: set[str] = set()
    for mention in set(ctx.mentions):
        if len(mention) >= 4 and mention in text:
            for entry in ctx.catalogue.match_name(mention):
                if entry.kind == "criterion":
                    criteria.add(entry.id)
                elif entry.kind == "good_practice":
                    practices.add(entry.id)
    criteria.update(ctx.catalogue.find_in_text(text, ("criterion",)))
    practices.update(ctx.catalogue.find_in_text(text, ("good_practice",)))
    return sorted(criteria), sorted(practices)


def _short_path(section: Section) -> str:
    # The chapter-4 title is long and identical for all phases; the last two parts carry the meaning.
    return " > ".join(section.path[-2:]) if len(section.path) > 1 else section.path_str


def dossier_chunks(dossier: Dossier, catalogue: Catalogue, limit: int = MAX_PASSAGE_CHARS) -> list[Chunk]:
    ctx = ChunkContext(catalogue=catalogue, mentions=dossier.clean.mentions)
    chunks: list[Chunk] = []
    for section in dossier.sections:
        # A good-practice section names its example once; the chunks after the first still talk
        # about it. Their embedded text carries the section's examples so they can be found by name.
        _, section_practices = _references("\n\n".join(section.paragraphs), ctx)
        practice_names = [catalogue.get(g).name for g in section_practices if catalogue.get(g)]
        place = PassagePlace("dossier", section.title, section.path_str, section.page, section.phase)
        for text in _section_texts(section, limit):
            refs = _references(text, ctx)
            context = _short_path(section)
            missing = [n for g, n in zip(section_practices, practice_names) if g not in refs[1]]
            if missing and "good practice" in section.title.lower():
                context += " (Beispiele: " + ", ".join(missing) + ")"
            chunks.append(place.chunk(f"dossier-{len(chunks):03d}", text, refs, context))
    return chunks


# ---------------------------------------------------------------------------------------------
# Catalogue → chunks
# ---------------------------------------------------------------------------------------------


def _names(catalogue: Catalogue, ids: Iterable[str]) -> str:
    out = []
    for entry_id in ids:
        entry = catalogue.get(entry_id)
        if entry is not None:
            out.append(f"{entry.display_name} ({entry_id})")
    return "; ".join(out)


def _milestone_text(entry: Criterion) -> str:
    if entry.milestone is True:
        return "ja"
    if entry.milestone is False:
        return "nein"
    return "nicht bekannt"


def _summary_line(entry: CatalogueEntry) -> list[str]:
    return [f"Kurzfassung: {entry.summary}"] if entry.summary else []


def _listed(label: str, values: Iterable[str], joiner: str = ", ") -> list[str]:
    """'Label: a, b' when there are values, nothing otherwise."""
    values = list(values)
    return [label + ": " + joiner.join(values)] if values else []


def _criterion_lines(entry: Criterion, catalogue: Catalogue) -> list[str]:
    phases = entry.phases
    lines = [
        f"Kriterium {entry.id}: {entry.name}",
        "Phase: " + (", ".join(catalogue.phase_label(p) for p in phases) if phases else "im Katalog keiner Phase zugeordnet"),
    ]
    if entry.driver:
        driver = catalogue.get(entry.driver)
        lines.append(f"Skalierungstreiber: {entry.driver} – {driver.name if driver else entry.driver_name or ''}")
    lines += _listed("Workstreams", entry.workstreams)
    lines.append(f"Meilenstein: {_milestone_text(entry)}")
    lines += _listed("Beteiligte", entry.stakeholders)
    lines += _summary_line(entry)
    if entry.good_practices:
        lines.append("Good Practices: " + _names(catalogue, entry.good_practices))
    if entry.related:
        lines.append("Verwandte Kriterien: " + _names(catalogue, entry.related))
    return lines + _listed("Fördermechanismen", entry.mechanism_categories)


def _phase_lines(entry: Phase, catalogue: Catalogue) -> list[str]:
    lines = [f"Phase {catalogue.phase_label(entry.id)}" if entry.id != "D" else f"Phase D: {entry.name}"]
    lines += _summary_line(entry)
    milestones = catalogue.milestones(entry.id)
    lines.append(
        "Meilensteine: " + ("; ".join(f"{m.name} ({m.id})" for m in milestones) if milestones else "im Katalog keine belegt")
    )
    criteria = catalogue.criteria_of_phase(entry.id)
    if criteria:
        lines.append(f"Kriterien dieser Phase im Katalog ({len(criteria)}): " + "; ".join(f"{c.name} ({c.id})" for c in criteria))
    return lines + _listed("Good Practices", (f"{g.name} ({g.id})" for g in catalogue.good_practices_of_phase(entry.id)), "; ")


def _driver_lines(entry: Driver, catalogue: Catalogue) -> list[str]:
    lines = [f"Skalierungstreiber {entry.id}: {entry.name}", *_summary_line(entry)]
    lines += _listed("Sub-Driver", entry.sub_drivers, "; ")
    criteria = (f"{c.name} ({c.id})" for c in catalogue.criteria_of_driver(entry.id))
    return lines + _listed("Kriterien mit diesem Treiber im Katalog", criteria, "; ")


def _mechanism_lines(entry: Mechanism, catalogue: Catalogue) -> list[str]:
    label = "Fördermechanismus-Kategorie" if entry.is_category else "Fördermechanismus"
    lines = [f"{label} {entry.id}: {entry.display_name}"]
    if entry.category:
        lines.append(f"Kategorie: {entry.category}")
    lines += _summary_line(entry)
    if entry.criteria:
        lines.append("Zugeordnete Kriterien: " + _names(catalogue, entry.criteria))
    return lines


def _good_practice_lines(entry: GoodPractice, catalogue: Catalogue) -> list[str]:
    lines = [f"Good Practice {entry.id}: {entry.name}"]
    if entry.place:
        lines.append(f"Ort: {entry.place}")
    if entry.phase:
        lines.append(f"Phase: {catalogue.phase_label(entry.phase)}")
    lines += _summary_line(entry)
    if entry.criteria:
        lines.append("Kriterien: " + _names(catalogue, entry.criteria))
    if entry.url:
        lines.append(f"Link: {entry.url}")
    return lines


# (phase, criteria, good practices) an entry's chunk is about, for filtering and boosting
Refs = tuple[str | None, list[str], list[str]]


def _criterion_refs(entry: Criterion, catalogue: Catalogue) -> Refs:
    return entry.phase, [entry.id], list(entry.good_practices)


def _phase_refs(entry: Phase, catalogue: Catalogue) -> Refs:
    return entry.id, [m.id for m in catalogue.milestones(entry.id)], [g.id for g in catalogue.good_practices_of_phase(entry.id)]


def _driver_refs(entry: Driver, catalogue: Catalogue) -> Refs:
    return None, [c.id for c in catalogue.criteria_of_driver(entry.id)], []


def _mechanism_refs(entry: Mechanism, catalogue: Catalogue) -> Refs:
    return None, list(entry.criteria), []


def _good_practice_refs(entry: GoodPractice, catalogue: Catalogue) -> Refs:
    return entry.phase, list(entry.criteria), [entry.id]


@dataclass(frozen=True)
class _KindChunking:
    """How one kind of catalogue entry becomes a chunk."""

    title: str  # German name of the kind, used in chunk titles and sections
    lines: Callable[[Any, Catalogue], list[str]]
    refs: Callable[[Any, Catalogue], Refs]


_KIND_CHUNKING: dict[EntryKind, _KindChunking] = {
    "criterion": _KindChunking("Kriterium", _criterion_lines, _criterion_refs),
    "phase": _KindChunking("Phase", _phase_lines, _phase_refs),
    "driver": _KindChunking("Skalierungstreiber", _driver_lines, _driver_refs),
    "mechanism": _KindChunking("Fördermechanismus", _mechanism_lines, _mechanism_refs),
    "good_practice": _KindChunking("Good Practice", _good_practice_lines, _good_practice_refs),
}


def render_entry(entry: CatalogueEntry, catalogue: Catalogue) -> str:
    """A catalogue entry as readable German text (what is embedded, shown and cited)."""
    return "\n".join(_KIND_CHUNKING[entry.kind].lines(entry, catalogue))


def catalogue_chunks(catalogue: Catalogue) -> list[Chunk]:
    chunks = []
    for entry in catalogue.entries.values():
        kind = _KIND_CHUNKING[entry.kind]
        phase, criteria, practices = kind.refs(entry, catalogue)
        text = render_entry(entry, catalogue)
        chunks.append(
            Chunk(
                id=f"catalogue-{entry.id}",
                text=text,
                source="catalogue",
                kind=entry.kind,
                title=f"{kind.title} {entry.id}: {entry.display_name}",
                section=f"Kriterienkatalog > {kind.title}",
                page=None,
                phase=phase,
                criteria=criteria,
                good_practices=practices,
                embed_text=text,
                ref_id=entry.id,
            )
        )
    return chunks


def chunk_sentences(chunk: Chunk) -> list[str]:
    """Sentences of a chunk, as quoted in answers: prose is split into sentences, catalogue
    entries and table rows into their lines."""
    if chunk.source == "catalogue":
        return [line for line in chunk.text.split("\n") if line.strip()]
    out: list[str] = []
    for paragraph in chunk.text.split("\n\n"):
        out.extend(split_sentences(paragraph.replace("\n", " ")) if paragraph.strip() else [])
    return out


def build_chunks(dossier: Dossier, catalogue: Catalogue) -> list[Chunk]:
    return dossier_chunks(dossier, catalogue) + catalogue_chunks(catalogue)
