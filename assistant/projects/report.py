"""Project memo: the Projekt-Check as a German Word document (python-docx) and as Markdown.

Owns the memo's content and order, built once (`project_report`) and rendered twice so both
files say the same: project name and date; the phase and how it was determined (chosen directly,
or the placement questions with answers and reasons); progress per phase; a table of the criteria
with status; the open milestones; the next steps with the dossier passage (section, page); the
fitting good practices; and closing notes on the catalogue's coverage and its missing fields —
all numbers read from the data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from assistant.corpus import Catalogue
from assistant.domain import phase_short_label
from assistant.export import STUDY, ExportFormat, add_paragraph, add_table, document_bytes, new_document, xml_safe
from assistant.projects.model import CriterionStatus
from assistant.projects.placement import Placement, place
from assistant.projects.progress import CriterionCard, GoodPracticeMatch, PhaseProgress, ProjectCheck
from assistant.projects.sources import PassageSource
from assistant.views import md_inline

CRITERIA_HEADER = ("Phase", "ID", "Kriterium", "Meilenstein", "Status")
PROGRESS_HEADER = ("Phase", "erledigt", "in Arbeit", "offen", "nicht relevant", "offene Meilensteine")
HEADINGS = (
    "Phase und Einordnung",
    "Fortschritt je Phase",
    "Kriterien und Status",
    "Offene Meilensteine",
    "Nächste Schritte",
    "Passende Good Practices",
    "Hinweise zur Datengrundlage",
)


@dataclass(frozen=True)
class ProjectReport:
    title: str
    name: str
    exported_at: datetime
    created_at: datetime
    phase_label: str
    phase_summary: str
    method: str  # how the phase was determined, one sentence
    placement: Placement | None  # the questions, when the phase came from them
    check: ProjectCheck
    coverage: str  # closing note, numbers from the catalogue

    @property
    def criteria_rows(self) -> list[tuple[str, str, str, str, str]]:
        return [(phase_short_label(c.group), c.id, c.name, c.milestone_short, c.status.label) for c in self.check.cards]

    @property
    def progress_rows(self) -> list[tuple[str, ...]]:
        return [_progress_row(p) for p in self.check.progress]


def _progress_row(p: PhaseProgress) -> tuple[str, ...]:
    milestones = f"{len(p.open_milestones)} von {len(p.milestones)}" if p.milestones else "keine im Katalog"
    return (
        p.label,
        str(p.done),
        str(p.count(CriterionStatus.IN_PROGRESS)),
        str(p.count(CriterionStatus.OPEN)),
        str(p.count(CriterionStatus.NOT_RELEVANT)),
        milestones,
    )


def project_report(
    check: ProjectCheck,
    catalogue: Catalogue,
    passages: PassageSource | None = None,
    exported_at: datetime | None = None,
    excerpt_chars: int = 320,
) -> ProjectReport:
    project = check.project
    placement = None
    if project.phase_source == "questions" and project.answers:
        placement = place(project.answers, catalogue, passages, excerpt_chars)
        method = f"Aus {placement.answered} Fragen zur Einordnung abgeleitet (Antworten und Begründungen unten)."
        if placement.first_gap is not None:
            method += f" Erster offener Schritt: „{placement.first_gap.question.text}“"
        if placement.phase != check.phase:
            method += f" Hinweis: Die gespeicherten Antworten führen heute zu {catalogue.phase_label(placement.phase)}."
    else:
        method = "Von der Projektleitung direkt gewählt."
    phase_entry = catalogue.get(check.phase)
    named, stated = check.named_criteria, check.stated_criteria
    coverage = (
        f"{check.coverage_note} Der Projekt-Check kann deshalb nur {named} der {stated} Kriterien abfragen; "
        "ein vollständiger Abgleich braucht die übrigen Kriterien der Online-Roadmap."
    )
    return ProjectReport(
        title=f"Projekt-Check: {project.name}",
        name=project.name,
        exported_at=exported_at or datetime.now(),
        created_at=project.created_at,
        phase_label=catalogue.phase_label(check.phase),
        phase_summary=phase_entry.summary if phase_entry else "",
        method=method,
        placement=placement,
        check=check,
        coverage=coverage,
    )


def report_filename(name: str, when: datetime | None = None, fmt: ExportFormat = "docx") -> str:
    """'projekt-check-sensorik-parkraum-20260305-0907.docx' (ASCII only, safe on every system)."""
    when = when or datetime.now()
    ascii_name = unicodedata.normalize("NFKD", name.replace("ß", "ss")).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-") or "projekt"
    return f"projekt-check-{slug}-{when:%Y%m%d-%H%M}.{fmt}"


# ---------------------------------------------------------------------------------------------
# Shared wording
# ---------------------------------------------------------------------------------------------


def _dates(r: ProjectReport) -> str:
    return f"Stand: {r.exported_at:%d.%m.%Y, %H:%M} Uhr. Projekt angelegt am {r.created_at.astimezone():%d.%m.%Y}. Grundlage: {STUDY}."


def _milestone_line(c: CriterionCard, catalogue_label: str) -> str:
    return f"{c.id} {c.name} ({catalogue_label}) – {c.status.label}"


def _step_head(i: int, c: CriterionCard) -> str:
    return f"{i}. {c.id} {c.name} ({c.status.label}; {c.milestone_label})"


def _step_quote(c: CriterionCard) -> str | None:
    return f"„{c.passage.excerpt}“" if c.passage and c.passage.excerpt else None


def _gp_line(m: GoodPracticeMatch) -> str:
    card = m.card
    place = f" ({card.place})" if card.place else ""
    return f"{card.id} {card.name}{place} – {m.reason}"


def _phase_label_of(r: ProjectReport, phase: str) -> str:
    return next((p.label for p in r.check.progress if p.phase == phase), phase)


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------


def report_markdown(r: ProjectReport) -> str:
    check = r.check
    lines = [f"# Projekt-Check: {md_inline(r.name)}", "", _dates(r), ""]
    lines += [f"## {HEADINGS[0]}", "", f"**Aktuelle Phase: {r.phase_label}.** {r.method}", "", r.phase_summary]
    if r.placement:
        lines += ["", "| Frage | Antwort | Begründung | Dossier |", "|---|---|---|---|"]
        for s in r.placement.steps:
            cite = s.passage.citation if s.passage else "keine Dossier-Stelle"
            lines.append(f"| {_cell(s.question.text)} | {s.answer_label} | {_cell(s.reason)} | {_cell(cite)} |")
    lines += ["", f"## {HEADINGS[1]}", "", _md_table(PROGRESS_HEADER, r.progress_rows)]
    lines += ["", f"## {HEADINGS[2]}", "", _md_table(CRITERIA_HEADER, r.criteria_rows)]
    lines += ["", f"## {HEADINGS[3]}", ""]
    if check.open_milestones:
        lines += [f"- {_milestone_line(c, _phase_label_of(r, c.group))}" for c in check.open_milestones]
    else:
        lines.append("Keine offenen Meilensteine in den Phasen bis zur aktuellen Phase.")
    if check.phases_without_milestones:
        lines += ["", "_Für " + ", ".join(_phase_label_of(r, p) for p in check.phases_without_milestones) + " nennt der Katalog keine Meilensteine._"]
    lines += ["", f"## {HEADINGS[4]}", ""]
    if not check.next_steps:
        lines.append(f"Alle Kriterien von {r.phase_label} sind erledigt oder nicht relevant.")
    for i, c in enumerate(check.next_steps, 1):
        lines += [f"{_step_head(i, c)}", "", f"   {c.summary}", ""]
        lines.append(f"   Quelle: {c.passage_label}")
        if _step_quote(c):
            lines += ["", f"   > {_step_quote(c)}"]
        if c.good_practices:
            lines += ["", "   Good Practice: " + "; ".join(f"{g.id} {g.name}" for g in c.good_practices)]
        lines.append("")
    lines += [f"## {HEADINGS[5]}", ""]
    if check.good_practices:
        for m in check.good_practices:
            lines.append(f"- **{_gp_line(m)}**: {m.card.summary}" + (f" <{m.card.url}>" if m.card.url else ""))
    else:
        lines.append("Der Katalog nennt für diese Schritte und diese Phase keine Good Practices.")
    lines += ["", f"## {HEADINGS[6]}", "", r.coverage, ""]
    lines += [f"- {note}" for note in check.data_notes]
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("|", "\\|").strip()


def _md_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Word
# ---------------------------------------------------------------------------------------------


def report_docx(r: ProjectReport) -> bytes:
    doc = new_document(r.title)
    doc.add_heading(xml_safe(r.title), level=0)
    add_paragraph(doc, _dates(r))
    for heading, section in zip(HEADINGS, _DOCX_SECTIONS):
        doc.add_heading(heading, level=1)
        section(doc, r)
    return document_bytes(doc)


def _docx_placement(doc, r: ProjectReport) -> None:
    para = doc.add_paragraph()
    para.add_run(xml_safe(f"Aktuelle Phase: {r.phase_label}.")).bold = True
    para.add_run(" " + xml_safe(r.method))
    add_paragraph(doc, r.phase_summary)
    if r.placement:
        add_table(
            doc,
            ("Frage", "Antwort", "Begründung", "Dossier"),
            [
                (s.question.text, s.answer_label, s.reason, s.passage.citation if s.passage else "keine Dossier-Stelle")
                for s in r.placement.steps
            ],
        )


def _docx_progress(doc, r: ProjectReport) -> None:
    add_table(doc, PROGRESS_HEADER, r.progress_rows)


def _docx_criteria(doc, r: ProjectReport) -> None:
    add_table(doc, CRITERIA_HEADER, r.criteria_rows)


def _docx_open_milestones(doc, r: ProjectReport) -> None:
    check = r.check
    if check.open_milestones:
        for c in check.open_milestones:
            add_paragraph(doc, _milestone_line(c, _phase_label_of(r, c.group)), style="List Bullet")
    else:
        add_paragraph(doc, "Keine offenen Meilensteine in den Phasen bis zur aktuellen Phase.")
    if check.phases_without_milestones:
        names = ", ".join(_phase_label_of(r, p) for p in check.phases_without_milestones)
        add_paragraph(doc, f"Für {names} nennt der Katalog keine Meilensteine.", italic=True)


def _docx_next_steps(doc, r: ProjectReport) -> None:
    if not r.check.next_steps:
        add_paragraph(doc, f"Alle Kriterien von {r.phase_label} sind erledigt oder nicht relevant.")
    for i, c in enumerate(r.check.next_steps, 1):
        doc.add_heading(xml_safe(_step_head(i, c)), level=2)
        add_paragraph(doc, c.summary)
        add_paragraph(doc, f"Quelle: {c.passage_label}", italic=True)
        if _step_quote(c):
            add_paragraph(doc, _step_quote(c) or "", style="Quote")
        if c.good_practices:
            add_paragraph(doc, "Good Practice: " + "; ".join(f"{g.id} {g.name}" for g in c.good_practices))


def _docx_good_practices(doc, r: ProjectReport) -> None:
    if not r.check.good_practices:
        add_paragraph(doc, "Der Katalog nennt für diese Schritte und diese Phase keine Good Practices.")
    for m in r.check.good_practices:
        para = doc.add_paragraph(style="List Bullet")
        para.add_run(xml_safe(_gp_line(m))).bold = True
        para.add_run(xml_safe(f": {m.card.summary}" + (f" ({m.card.url})" if m.card.url else "")))


def _docx_data_notes(doc, r: ProjectReport) -> None:
    add_paragraph(doc, r.coverage)
    for note in r.check.data_notes:
        add_paragraph(doc, note, style="List Bullet")


# One writer per entry of HEADINGS, in the same order.
_DOCX_SECTIONS = (
    _docx_placement,
    _docx_progress,
    _docx_criteria,
    _docx_open_milestones,
    _docx_next_steps,
    _docx_good_practices,
    _docx_data_notes,
)
