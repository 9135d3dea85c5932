"""Chunking: turn dossier sections and catalogue entries into `Chunk`s with their metadata.

Dossier passages follow the document's structure: a chunk never spans two sections, paragraphs
stay whole where they fit, and a long paragraph is cut between sentences. The stored `text` is the
verbatim (cleaned) dossier text; only the embedded text carries the heading path as context.
Catalogue entries become one readable German chunk each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.corpus import Catalogue, CatalogueEntry, Dossier, Section
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
        for text in _section_texts(section, limit):
            criteria, practices = _references(text, ctx)
            context = _short_path(section)
            missing = [n for g, n in zip(section_practices, practice_names) if g not in practices]
            if missing and "good practice" in section.title.lower():
                context += " (Beispiele: " + ", ".join(missing) + ")"
            chunks.append(
                Chunk(
                    id=f"dossier-{len(chunks):03d}",
                    text=text,
                    source="dossier",
                    kind="passage",
                    title=section.title,
                    section=section.path_str,
                    page=section.page,
                    phase=section.phase,
                    criteria=criteria,
                    good_practices=practices,
                    embed_text=f"{context}\n{text}",
                )
            )
    return chunks


# ---------------------------------------------------------------------------------------------
# Catalogue → chunks
# ---------------------------------------------------------------------------------------------


def _names(catalogue: Catalogue, ids: list[str]) -> str:
    out = []
    for entry_id in ids:
        entry = catalogue.get(entry_id)
        if entry is not None:
            out.append(f"{entry.display_name} ({entry_id})")
    return "; ".join(out)


def _milestone_text(entry: CatalogueEntry) -> str:
    value = entry.data.get("milestone")
    if value is True:
        return "ja"
    if value is False:
        return "nein"
    return "nicht bekannt"


def render_entry(entry: CatalogueEntry, catalogue: Catalogue) -> str:
    """A catalogue entry as readable German text (what is embedded, shown and cited)."""
    d = entry.data
    lines: list[str] = []
    if entry.kind == "criterion":
        lines.append(f"Kriterium {entry.id}: {entry.name}")
        phases = entry.phases
        lines.append(
            "Phase: " + (", ".join(catalogue.phase_label(p) for p in phases) if phases else "im Katalog keiner Phase zugeordnet")
        )
        if d.get("driver"):
            lines.append(f"Skalierungstreiber: {d['driver']} – {catalogue.get(d['driver']).name if catalogue.get(d['driver']) else d.get('driver_name', '')}")
        if d.get("workstreams"):
            lines.append("Workstreams: " + ", ".join(d["workstreams"]))
        lines.append(f"Meilenstein: {_milestone_text(entry)}")
        if d.get("stakeholders"):
            lines.append("Beteiligte: " + ", ".join(d["stakeholders"]))
        if entry.summary:
            lines.append(f"Kurzfassung: {entry.summary}")
        if d.get("good_practices"):
            lines.append("Good Practices: " + _names(catalogue, d["good_practices"]))
        if d.get("related"):
            lines.append("Verwandte Kriterien: " + _names(catalogue, d["related"]))
        if d.get("mechanism_categories"):
            lines.append("Fördermechanismen: " + ", ".join(d["mechanism_categories"]))
    elif entry.kind == "phase":
        lines.append(f"Phase {catalogue.phase_label(entry.id)}" if entry.id != "D" else f"Phase D: {entry.name}")
        if entry.summary:
            lines.append(f"Kurzfassung: {entry.summary}")
        milestones = catalogue.milestones(entry.id)
        lines.append(
            "Meilensteine: " + ("; ".join(f"{m.name} ({m.id})" for m in milestones) if milestones else "im Katalog keine belegt")
        )
        criteria = catalogue.criteria_of_phase(entry.id)
        if criteria:
            lines.append(f"Kriterien dieser Phase im Katalog ({len(criteria)}): " + "; ".join(f"{c.name} ({c.id})" for c in criteria))
        practices = catalogue.good_practices_of_phase(entry.id)
        if practices:
            lines.append("Good Practices: " + "; ".join(f"{g.name} ({g.id})" for g in practices))
    elif entry.kind == "driver":
        lines.append(f"Skalierungstreiber {entry.id}: {entry.name}")
        if entry.summary:
            lines.append(f"Kurzfassung: {entry.summary}")
        if d.get("sub_drivers"):
            lines.append("Sub-Driver: " + "; ".join(d["sub_drivers"]))
        criteria = catalogue.criteria_of_driver(entry.id)
        if criteria:
            lines.append("Kriterien mit diesem Treiber im Katalog: " + "; ".join(f"{c.name} ({c.id})" for c in criteria))
    elif entry.kind == "mechanism":
        label = "Fördermechanismus-Kategorie" if d.get("kind") == "Kategorie" else "Fördermechanismus"
        lines.append(f"{label} {entry.id}: {entry.display_name}")
        if d.get("category"):
            lines.append(f"Kategorie: {d['category']}")
        if entry.summary:
            lines.append(f"Kurzfassung: {entry.summary}")
        linked = d.get("criteria_with_category") or d.get("linked_criteria") or []
        if linked:
            lines.append("Zugeordnete Kriterien: " + _names(catalogue, linked))
    elif entry.kind == "good_practice":
        lines.append(f"Good Practice {entry.id}: {entry.name}")
        if d.get("place"):
            lines.append(f"Ort: {d['place']}")
        if d.get("phase"):
            lines.append(f"Phase: {catalogue.phase_label(d['phase'])}")
        if entry.summary:
            lines.append(f"Kurzfassung: {entry.summary}")
        if d.get("criteria"):
            lines.append("Kriterien: " + _names(catalogue, d["criteria"]))
        if d.get("url"):
            lines.append(f"Link: {d['url']}")
    return "\n".join(lines)


def _entry_refs(entry: CatalogueEntry, catalogue: Catalogue) -> tuple[str | None, list[str], list[str]]:
    d = entry.data
    if entry.kind == "criterion":
        return entry.phase, [entry.id], list(d.get("good_practices") or [])
    if entry.kind == "phase":
        return entry.id, [m.id for m in catalogue.milestones(entry.id)], [g.id for g in catalogue.good_practices_of_phase(entry.id)]
    if entry.kind == "good_practice":
        return d.get("phase"), list(d.get("criteria") or []), [entry.id]
    if entry.kind == "driver":
        return None, [c.id for c in catalogue.criteria_of_driver(entry.id)], []
    linked = d.get("criteria_with_category") or d.get("linked_criteria") or []
    return None, list(linked), []


def catalogue_chunks(catalogue: Catalogue) -> list[Chunk]:
    titles = {
        "criterion": "Kriterium",
        "phase": "Phase",
        "driver": "Skalierungstreiber",
        "mechanism": "Fördermechanismus",
        "good_practice": "Good Practice",
    }
    chunks = []
    for entry in catalogue.entries.values():
        phase, criteria, practices = _entry_refs(entry, catalogue)
        text = render_entry(entry, catalogue)
        chunks.append(
            Chunk(
                id=f"catalogue-{entry.id}",
                text=text,
                source="catalogue",
                kind=entry.kind,
                title=f"{titles[entry.kind]} {entry.id}: {entry.display_name}",
                section=f"Kriterienkatalog > {titles[entry.kind]}",
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
