"""Export: a chat conversation as a Markdown document with every answer's citations.

Owns the layout of the downloadable file: a header (date, study, filters), then per turn the
question, the answer with its `[n]` markers and a numbered source list (title, section path,
page, phase, criteria, the quoted sentence). German text; no Streamlit.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Iterable, Protocol

from assistant.corpus import Catalogue
from assistant.schema import Answer, Citation

STUDY = "BBSR (2024): „Smart-City-Lösungen skalieren: Eine Roadmap für Kommunen“ – Dossier und Kriterienkatalog"
SOURCE_NAMES = {"dossier": "Dossier", "catalogue": "Kriterienkatalog", "user": "Eigenes Dokument"}
SOURCE_FILTER_NAMES = {None: "Dossier und Katalog", "dossier": "nur Dossier", "catalogue": "nur Kriterienkatalog", "user": "nur eigene Dokumente"}


class TurnLike(Protocol):
    question: str
    answer: Answer


def export_filename(when: datetime | None = None) -> str:
    when = when or datetime.now()
    return f"roadmap-lotse-unterhaltung-{when:%Y%m%d-%H%M}.md"


def conversation_markdown(
    turns: Iterable[TurnLike],
    catalogue: Catalogue | None = None,
    exported_at: datetime | None = None,
) -> str:
    """The whole conversation as Markdown. Each turn may carry `phase_filter` / `source_filter`."""
    exported_at = exported_at or datetime.now()
    turns = list(turns)
    lines = [
        "# Roadmap-Lotse – Gesprächsprotokoll",
        "",
        f"Exportiert am {exported_at:%d.%m.%Y um %H:%M} Uhr. Grundlage: {STUDY}.",
        "",
        "Die Antworten zitieren die Quellen wörtlich; die Nummern in eckigen Klammern verweisen auf die "
        "Quellenliste unter jeder Antwort.",
    ]
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
    where = "Kriterienkatalog" if c.source == "catalogue" else (c.file or c.section or SOURCE_NAMES.get(c.source, c.source))
    head = f"- [{c.n}] {_one_line(c.title)}"
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
    lines = [head]
    quote = c.quote or _excerpt(c.text)
    if quote:
        label = "Zitiert" if c.quote else "Auszug"
        lines.append(f"  > {label}: „{_one_line(quote)}“")
    return lines


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
