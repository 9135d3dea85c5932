"""Views: the plain data that the Streamlit app renders, built from the catalogue and answers.

Owns phase colours and labels, the roadmap timeline rows (for Altair), phase overviews, criterion
details, good-practice cards with search, source cards for citations (with the cited sentence
located in the passage) and Markdown escaping of document text. No Streamlit import: `app.py`
only turns these objects into widgets, and everything here is tested without a browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.browse import CriterionRow, criterion_row
from assistant.chunking import split_sentences
from assistant.corpus import Catalogue, CatalogueEntry, normalize_name
from assistant.domain import CONTINUOUS_PHASE, DEVELOPMENT_PHASES, phase_short_label
from assistant.schema import Citation

# Streamlit's named colours (badges, `:color-background[...]`) and matching hex values for Altair.
# The hex values are darker shades of the same hues: the timeline writes white text on them, which
# needs 4.5:1 (WCAG AA); Streamlit's own shades reached only 3.0-3.9:1 for P1-P3.
PHASE_BADGE_COLOR = {"P1": "blue", "P2": "green", "P3": "orange", "P4": "red", "P5": "violet", "D": "gray"}
PHASE_HEX = {"P1": "#1565c0", "P2": "#1b7a3e", "P3": "#a85300", "P4": "#b8322f", "P5": "#6b2fd6", "D": "#565b69"}
SOURCE_LABELS = {"dossier": "Dossier", "catalogue": "Kriterienkatalog", "user": "Eigenes Dokument"}

# ---------------------------------------------------------------------------------------------
# Markdown safety
# ---------------------------------------------------------------------------------------------

# Everything Streamlit's Markdown (CommonMark + GFM + directives + math) could read as syntax.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:=&^\"'])")


def md_escape(text: str | None) -> str:
    """Escape document or user text so Streamlit Markdown shows it literally: no emphasis,
    links, HTML, headings, lists, colour directives or formulas can be injected. Paragraph
    breaks survive; leading indentation (which would start a code block) does not."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [re.sub(r"^[ \t\u00a0]+", "", line).rstrip() for line in text.split("\n")]
    return "\n".join(_MD_SPECIAL.sub(r"\\\1", line) for line in lines)


def md_escape_stream(pieces):
    """Escape streamed text piece by piece (whitespace kept as is, so pieces join correctly)."""
    for piece in pieces:
        yield _MD_SPECIAL.sub(r"\\\1", piece)


def md_inline(text: str | None) -> str:
    """`md_escape` for a single line (labels, table cells): all whitespace collapsed."""
    return md_escape(re.sub(r"\s+", " ", text or "").strip())


_MARKER = re.compile(r"\\\[(\d{1,3})\\\]")


def answer_markdown(answer_text: str) -> str:
    """An answer as safe Markdown; its `[n]` citation markers stay visible and are set in bold."""
    return _MARKER.sub(r"**\\[\1\\]**", md_escape(answer_text))


# ---------------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------------


def phase_short_name(catalogue: Catalogue, phase_id: str) -> str:
    """'Verstetigung' for 'Verstetigung / vertikale Skalierung'; D's compact label ('durchgehend')."""
    if phase_id == CONTINUOUS_PHASE:
        return phase_short_label(phase_id)
    entry = catalogue.get(phase_id)
    return entry.name.split(" / ")[0] if entry else phase_id


def phase_choice_label(catalogue: Catalogue, phase_id: str) -> str:
    """A phase as a choice: 'P3 Pilotphase', and D's compact label ('durchgehend')."""
    if phase_id == CONTINUOUS_PHASE:
        return phase_short_label(phase_id)
    return f"{phase_id} {phase_short_name(catalogue, phase_id)}"


def phase_badge(phase_id: str | None) -> tuple[str, str]:
    """(badge text, Streamlit colour) for a phase id; sources without a phase get a grey "ohne Phase"."""
    if not phase_id:
        return "ohne Phase", "gray"
    return phase_id, PHASE_BADGE_COLOR.get(phase_id, "gray")


def phase_badge_markdown(phase_id: str | None) -> str:
    text, color = phase_badge(phase_id)
    return f":{color}-badge[{md_inline(text)}]"


@dataclass
class TimelineSegment:
    """One bar of the roadmap timeline: the five phases in a row, 'durchgehend' beneath them."""

    phase: str
    label: str  # e.g. "P3 Pilotphase"
    full_label: str  # e.g. "P3 – Pilotphase"
    name: str  # second line in the bar, e.g. "Pilotphase"; "durchgehend über alle Phasen" for D
    start: float
    end: float
    row: str
    n_criteria: int
    n_milestones: int
    n_good_practices: int
    milestones: str  # names, for the tooltip
    color: str

    @property
    def center(self) -> float:
        return (self.start + self.end) / 2


@dataclass
class TimelineMilestone:
    phase: str
    id: str
    name: str
    x: float
    row: str


TIMELINE_ROWS = ("Phasen", phase_short_label(CONTINUOUS_PHASE))  # row ids of the chart (not shown)


def roadmap_timeline(catalogue: Catalogue) -> tuple[list[TimelineSegment], list[TimelineMilestone]]:
    """Bars and milestone marks for the timeline: P1–P5 side by side (x 0…5), D spanning them all."""
    segments: list[TimelineSegment] = []
    marks: list[TimelineMilestone] = []
    for i, pid in enumerate(DEVELOPMENT_PHASES):
        segments.append(_segment(catalogue, pid, float(i), float(i + 1), TIMELINE_ROWS[0]))
    segments.append(_segment(catalogue, CONTINUOUS_PHASE, 0.0, float(len(DEVELOPMENT_PHASES)), TIMELINE_ROWS[1]))
    for seg in segments:
        milestones = catalogue.milestones(seg.phase)
        for j, m in enumerate(milestones):
            # spread the marks over the bar's lower half, evenly, away from the edges
            x = seg.start + (j + 1) * (seg.end - seg.start) / (len(milestones) + 1)
            marks.append(TimelineMilestone(phase=seg.phase, id=m.id, name=m.name, x=round(x, 3), row=seg.row))
    return segments, marks


def _segment(catalogue: Catalogue, pid: str, start: float, end: float, row: str) -> TimelineSegment:
    milestones = catalogue.milestones(pid)
    short = phase_short_name(catalogue, pid)
    continuous = pid == CONTINUOUS_PHASE  # one long bar beneath the phases
    return TimelineSegment(
        phase=pid,
        label="Durchgehend über alle Phasen" if continuous else f"{pid} {short}",
        full_label=catalogue.phase_label(pid),
        name=f"{short} über alle Phasen" if continuous else short,
        start=start,
        end=end,
        row=row,
        n_criteria=len(catalogue.criteria_of_phase(pid)),
        n_milestones=len(milestones),
        n_good_practices=len(catalogue.good_practices_of_phase(pid)),
        milestones="; ".join(f"{m.name} ({m.id})" for m in milestones) or "keine im Katalog belegt",
        color=PHASE_HEX[pid],
    )


@dataclass
class PhaseOverview:
    id: str
    label: str
    summary: str
    milestones: list[CatalogueEntry]
    criteria: list[CatalogueEntry]
    good_practices: list[CatalogueEntry]


def phase_overview(catalogue: Catalogue, phase_id: str) -> PhaseOverview:
    entry = catalogue.get(phase_id)
    milestones = catalogue.milestones(phase_id)
    milestone_ids = {m.id for m in milestones}
    criteria = catalogue.criteria_of_phase(phase_id)
    # milestones first: they are what a phase must reach
    criteria = sorted(criteria, key=lambda c: (c.id not in milestone_ids, c.id))
    return PhaseOverview(
        id=phase_id,
        label=catalogue.phase_label(phase_id),
        summary=entry.summary if entry else "",
        milestones=milestones,
        criteria=criteria,
        good_practices=catalogue.good_practices_of_phase(phase_id),
    )


@dataclass
class SectionGroup:
    """Consecutive dossier chunks of one section, shown together."""

    section: str
    title: str
    page: int | None
    texts: list[str]


def group_by_section(chunks: list) -> list[SectionGroup]:
    groups: list[SectionGroup] = []
    index: dict[tuple[str, int | None], SectionGroup] = {}
    for chunk in chunks:
        key = (chunk.section, chunk.page)
        if key not in index:
            index[key] = SectionGroup(section=chunk.section, title=chunk.title or chunk.section, page=chunk.page, texts=[])
            groups.append(index[key])
        index[key].texts.append(chunk.text)
    return groups


# ---------------------------------------------------------------------------------------------
# Criteria
# ---------------------------------------------------------------------------------------------


@dataclass
class CriterionDetail:
    row: CriterionRow
    entry: CatalogueEntry
    driver: CatalogueEntry | None
    good_practices: list[CatalogueEntry]
    related: list[CatalogueEntry]
    milestone_of: list[str]  # phases that list it as a milestone


def criterion_detail(catalogue: Catalogue, criterion_id: str) -> CriterionDetail | None:
    entry = catalogue.get(criterion_id)
    if entry is None or entry.kind != "criterion":
        return None
    row = criterion_row(entry, catalogue)
    gp_ids = list(row.good_practices)
    gp_ids += [g.id for g in catalogue.good_practices if criterion_id in g.criteria and g.id not in gp_ids]
    related = [catalogue.get(r) for r in row.related]
    return CriterionDetail(
        row=row,
        entry=entry,
        driver=catalogue.get(row.driver or ""),
        good_practices=[g for g in (catalogue.get(i) for i in gp_ids) if g is not None],
        related=[r for r in related if r is not None],
        milestone_of=[p.id for p in catalogue.phases if criterion_id in p.milestones],
    )


def criterion_table(rows: list[CriterionRow]) -> list[dict]:
    """Rows for the criteria table, with German column names."""
    return [
        {
            "ID": r.id,
            "Kriterium": r.name,
            "Phase": ", ".join(r.phases) or "–",
            "Treiber": r.driver or "–",
            "Workstreams": ", ".join(r.workstreams) or "–",
            "Meilenstein": "ja" if r.milestone else ("nein" if r.milestone is False else "unbekannt"),
        }
        for r in rows
    ]


# ---------------------------------------------------------------------------------------------
# Good practices
# ---------------------------------------------------------------------------------------------


@dataclass
class GoodPracticeCard:
    id: str
    name: str
    place: str
    phase: str | None
    phase_label: str
    criteria: list[tuple[str, str]]  # (id, name)
    summary: str
    url: str | None
    chat_question: str


def good_practice_card(catalogue: Catalogue, entry: CatalogueEntry) -> GoodPracticeCard:
    criteria_ids = list(entry.criteria)
    criteria_ids += [c.id for c in catalogue.criteria if entry.id in c.good_practices and c.id not in criteria_ids]
    criteria = [(cid, catalogue.get(cid).name) for cid in criteria_ids if catalogue.get(cid)]
    phase = entry.phase
    return GoodPracticeCard(
        id=entry.id,
        name=entry.name,
        place=entry.place or "",
        phase=phase,
        phase_label=catalogue.phase_label(phase) if phase else "keiner Phase zugeordnet",
        criteria=criteria,
        summary=entry.summary,
        url=entry.url,
        chat_question=f"Was können wir vom Beispiel „{entry.name}“ lernen?",
    )


def good_practice_cards(catalogue: Catalogue, text: str | None = None, phase: str | None = None) -> list[GoodPracticeCard]:
    """Cards in catalogue order, filtered by phase and by a search over name, place, summary and
    the names of linked criteria (tolerant to case, dashes and gender forms)."""
    cards = [good_practice_card(catalogue, g) for g in catalogue.good_practices]
    if phase:
        cards = [c for c in cards if c.phase == phase]
    needle = normalize_name(text or "")
    if needle:
        words = needle.split()

        def haystack(c: GoodPracticeCard) -> str:
            return normalize_name(" ".join([c.id, c.name, c.place, c.summary, c.phase_label, *(n for _, n in c.criteria)]))

        cards = [c for c in cards if all(w in haystack(c) for w in words)]
    return cards


# ---------------------------------------------------------------------------------------------
# Source cards for citations
# ---------------------------------------------------------------------------------------------


@dataclass
class SourceCard:
    n: int
    phase: str | None
    badge: str
    badge_color: str
    source_label: str
    title: str
    where: str  # section path, "Kriterienkatalog" or the file name
    page: int | None
    criteria: list[tuple[str, str]]  # (id, name) of catalogue criteria the passage names
    good_practices: list[tuple[str, str]]
    passage_markdown: str  # escaped passage, cited sentence(s) highlighted
    has_highlight: bool
    header: str = field(default="")  # expander label (Markdown, escaped)


def highlight_spans(text: str, quote: str | None) -> list[tuple[int, int]]:
    """Character spans of `text` that the answer quoted. The quote is one or more sentences of
    the passage (line breaks may have become spaces), so matching ignores whitespace differences."""
    if not text or not quote or not quote.strip():
        return []
    whole = _find_loose(text, quote)
    if whole:
        return [whole]
    spans = []
    for sentence in split_sentences(quote):
        found = _find_loose(text, sentence)
        if found:
            spans.append(found)
    return _merge(sorted(spans))


def _find_loose(text: str, needle: str) -> tuple[int, int] | None:
    words = needle.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    match = re.search(pattern, text)
    return (match.start(), match.end()) if match else None


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


HIGHLIGHT_COLOR = "orange"


def highlighted_markdown(text: str, quote: str | None) -> tuple[str, bool]:
    """(safe Markdown of the passage with the quoted sentences on a coloured background, whether
    anything was highlighted). Blank lines stay paragraph breaks, single line breaks (catalogue
    entries, table rows) stay line breaks; a highlight never crosses a line."""
    spans = highlight_spans(text, quote)
    paragraphs: list[list[str]] = [[]]
    for line in re.finditer(r"[^\n]*", text):
        start, end = line.span()
        if start == end:
            continue
        if not text[start:end].strip():
            paragraphs.append([])
            continue
        if start >= 2 and text[start - 2 : start] == "\n\n":
            paragraphs.append([])
        parts: list[str] = []
        cursor = start
        for s, e in spans:
            s, e = max(s, start), min(e, end)
            if s >= e:
                continue
            parts.append(md_inline(text[cursor:s]))
            parts.append(f":{HIGHLIGHT_COLOR}-background[**{md_inline(text[s:e])}**]")
            cursor = e
        parts.append(md_inline(text[cursor:end]))
        rendered = " ".join(p for p in parts if p)
        if rendered:
            paragraphs[-1].append(rendered)
    markdown = "\n\n".join("  \n".join(lines) for lines in paragraphs if lines)
    return markdown, bool(spans)


def source_card(citation: Citation, catalogue: Catalogue) -> SourceCard:
    badge, color = phase_badge(citation.phase)
    if citation.source == "catalogue":
        where = "Kriterienkatalog"
    elif citation.source == "user":
        where = citation.file or citation.section or "Eigenes Dokument"
    else:
        where = citation.section or citation.title
    criteria = [(cid, catalogue.get(cid).name) for cid in citation.criteria if catalogue.get(cid) is not None]
    if citation.source == "catalogue" and citation.kind == "criterion" and citation.ref_id and catalogue.get(citation.ref_id):
        if citation.ref_id not in {c for c, _ in criteria}:
            criteria.insert(0, (citation.ref_id, catalogue.get(citation.ref_id).name))
    gps = [(gid, catalogue.get(gid).name) for gid in citation.good_practices if catalogue.get(gid) is not None]
    passage, has_highlight = highlighted_markdown(citation.text, citation.quote)
    page = f" · S. {citation.page}" if citation.page else ""
    header = f"{phase_badge_markdown(citation.phase)} **\\[{citation.n}\\]** {md_inline(_shorten(citation.title, 70) + page)}"
    return SourceCard(
        n=citation.n,
        phase=citation.phase,
        badge=badge,
        badge_color=color,
        source_label=SOURCE_LABELS.get(citation.source, citation.source),
        title=citation.title,
        where=where,
        page=citation.page,
        criteria=criteria,
        good_practices=gps,
        passage_markdown=passage,
        has_highlight=has_highlight,
        header=header,
    )


def _shorten(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"
