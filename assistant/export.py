"""Export: a chat conversation as a Markdown or Word document with every answer's citations.

Owns the layout of the downloadable files: a header (date, study, filters), then per turn the
question, the answer with its `[n]` markers and a numbered source list (title, section path,
page, phase, criteria, the quoted sentence) — the same entries in both formats. Also owns the
small Word helpers (German document language, tables with a repeated header row, XML-safe text)
that the Projekt-Check memo uses too. German text; no Streamlit.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Iterable, Literal, Protocol, Sequence

from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from assistant.corpus import Catalogue
from assistant.schema import Answer, Citation

STUDY = "BBSR (2024): „Smart-City-Lösungen skalieren: Eine Roadmap für Kommunen“ – Dossier und Kriterienkatalog"
SOURCE_NAMES = {"dossier": "Dossier", "catalogue": "Kriterienkatalog", "user": "Eigenes Dokument"}
SOURCE_FILTER_NAMES = {None: "Dossier und Katalog", "dossier": "nur Dossier", "catalogue": "nur Kriterienkatalog", "user": "nur eigene Dokumente"}


class TurnLike(Protocol):
    question: str
    answer: Answer


ExportFormat = Literal["md", "docx"]
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def export_filename(when: datetime | None = None, fmt: ExportFormat = "md") -> str:
    when = when or datetime.now()
    return f"roadmap-lotse-unterhaltung-{when:%Y%m%d-%H%M}.{fmt}"


def _intro(exported_at: datetime) -> tuple[str, str]:
    return (
        f"Exportiert am {exported_at:%d.%m.%Y um %H:%M} Uhr. Grundlage: {STUDY}.",
        "Die Antworten zitieren die Quellen wörtlich; die Nummern in eckigen Klammern verweisen auf die "
        "Quellenliste unter jeder Antwort.",
    )


def conversation_markdown(
    turns: Iterable[TurnLike],
    catalogue: Catalogue | None = None,
    exported_at: datetime | None = None,
) -> str:
    """The whole conversation as Markdown. Each turn may carry `phase_filter` / `source_filter`."""
    exported_at = exported_at or datetime.now()
    turns = list(turns)
    exported, how = _intro(exported_at)
    lines = ["# Roadmap-Lotse – Gesprächsprotokoll", "", exported, "", how]
    if catalogue is not None:
        lines += ["", f"Hinweis: {catalogue.coverage_note()}"]
    if not turns:
        lines += ["", "_Die Unterhaltung enthält noch keine Fragen._"]
    for i, turn in enumerate(turns, 1):
        lines += ["", f"## Frage {i}: {_one_line(turn.question)}", ""]
        filters = _filters_line(turn, catalogue)
        if filters:
            lines += [f"_Filter: {filters}_", ""]
        answer = turn.answer
        if answer.notice:
            lines += [f"_Hinweis: {answer.notice}_", ""]
        lines.append(answer.answer.strip())
        if answer.citations:
            lines += ["", "**Quellen**", ""]
            for c in answer.citations:
                lines += citation_lines(c, catalogue)
    return "\n".join(lines).rstrip() + "\n"


def citation_lines(c: Citation, catalogue: Catalogue | None = None) -> list[str]:
    """One numbered source entry: `[n] Title – where, S. page (Phase …; Kriterien …)` plus the quote."""
    head, quote = citation_entry(c, catalogue)
    return [f"- {head}"] + ([f"  > {quote}"] if quote else [])


def citation_entry(c: Citation, catalogue: Catalogue | None = None) -> tuple[str, str | None]:
    """(`[n] Title – where, S. page (Phase …; Kriterien …)`, `Zitiert: „…“` or None): one source
    entry as plain text, shared by the Markdown and the Word export."""
    where = "Kriterienkatalog" if c.source == "catalogue" else (c.file or c.section or SOURCE_NAMES.get(c.source, c.source))
    head = f"[{c.n}] {_one_line(c.title)}"
    if where and where != c.title:
        head += f" – {_one_line(where)}"
    if c.page:
        head += f", S. {c.page}"
    details = []
    if c.phase:
        details.append(f"Phase {catalogue.phase_label(c.phase) if catalogue else c.phase}")
    if c.criteria:
        names = [f"{cid} {catalogue.get(cid).name}" if catalogue and catalogue.get(cid) else cid for cid in c.criteria]
        details.append("Kriterien: " + "; ".join(names))
    if details:
        head += f" ({'; '.join(details)})"
    quote = c.quote or _excerpt(c.text)
    if not quote:
        return head, None
    label = "Zitiert" if c.quote else "Auszug"
    return head, f"{label}: „{_one_line(quote)}“"


def conversation_docx(
    turns: Iterable[TurnLike],
    catalogue: Catalogue | None = None,
    exported_at: datetime | None = None,
) -> bytes:
    """The whole conversation as a Word document: the same text and source entries as
    `conversation_markdown`, with headings per question."""
    exported_at = exported_at or datetime.now()
    turns = list(turns)
    doc = new_document("Roadmap-Lotse – Gesprächsprotokoll")
    doc.add_heading("Roadmap-Lotse – Gesprächsprotokoll", level=0)
    for text in _intro(exported_at):
        add_paragraph(doc, text)
    if catalogue is not None:
        add_paragraph(doc, f"Hinweis: {catalogue.coverage_note()}")
    if not turns:
        add_paragraph(doc, "Die Unterhaltung enthält noch keine Fragen.", italic=True)
    for i, turn in enumerate(turns, 1):
        doc.add_heading(f"Frage {i}: {_one_line(xml_safe(turn.question))}", level=1)
        filters = _filters_line(turn, catalogue)
        if filters:
            add_paragraph(doc, f"Filter: {filters}", italic=True)
        answer = turn.answer
        if answer.notice:
            add_paragraph(doc, f"Hinweis: {answer.notice}", italic=True)
        for para in re.split(r"\n\s*\n", answer.answer.strip()):
            if para.strip():
                add_paragraph(doc, para.strip())
        if answer.citations:
            doc.add_heading("Quellen", level=2)
            for c in answer.citations:
                head, quote = citation_entry(c, catalogue)
                add_paragraph(doc, head, style="List Bullet")
                if quote:
                    add_paragraph(doc, quote, style="Quote")
    return document_bytes(doc)


# ---------------------------------------------------------------------------------------------
# Word helpers (python-docx)
# ---------------------------------------------------------------------------------------------

# Characters XML 1.0 cannot hold (python-docx refuses them): C0 controls except tab/newline/CR.
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: object) -> str:
    return _XML_INVALID.sub(" ", str(text or ""))


def new_document(title: str, language: str = "de-DE") -> DocxDocument:
    """An empty Word document in German (spell checking and screen readers use the language)."""
    doc = Document()
    doc.core_properties.title = xml_safe(title)
    doc.core_properties.language = language
    doc.core_properties.author = "Roadmap-Lotse"
    for style_name in ("Normal", "Heading 1", "Heading 2", "Title"):
        rpr = doc.styles[style_name].element.get_or_add_rPr()
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:val"), language)
    return doc


def add_paragraph(doc: DocxDocument, text: str, *, style: str | None = None, italic: bool = False, bold: bool = False):
    paragraph = doc.add_paragraph(style=style)
    run = paragraph.add_run(xml_safe(text))
    run.italic = italic or None
    run.bold = bold or None
    return paragraph


def add_table(doc: DocxDocument, header: Sequence[str], rows: Iterable[Sequence[str]]):
    """A grid table; the bold header row repeats on every page."""
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header):
        cell.text = ""
        cell.paragraphs[0].add_run(xml_safe(text)).bold = True
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    for values in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, values):
            cell.text = xml_safe(text)
    return table


def document_bytes(doc: DocxDocument) -> bytes:
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _filters_line(turn: TurnLike, catalogue: Catalogue | None) -> str:
    phase = getattr(turn, "phase_filter", None)
    source = getattr(turn, "source_filter", None)
    parts = []
    if phase:
        parts.append(f"Phase {catalogue.phase_label(phase) if catalogue else phase}")
    if source:
        parts.append(SOURCE_FILTER_NAMES.get(source, source))
    return ", ".join(parts)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _excerpt(text: str, limit: int = 240) -> str:
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + " …"
