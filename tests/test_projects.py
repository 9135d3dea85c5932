"""Projekt-Check logic without Streamlit: placement, progress, next steps, the memo, the store.

Dossier passages come from the real session index through `AssistantService.passages_mentioning`;
the store writes a real SQLite file, from several threads and processes at once.
"""

from __future__ import annotations

import copy
import io
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import docx
import pytest

from assistant.corpus import Catalogue
from assistant.domain import CONTINUOUS_PHASE, DEVELOPMENT_PHASES
from assistant.projects.model import (
    CriterionStatus,
    InvalidProjectName,
    Project,
    ProjectError,
    ProjectNameTaken,
    ProjectNotFound,
    clean_project_name,
)
from assistant.projects.placement import QUESTIONS, place
from assistant.projects.progress import build_check, chart_cells, scope_of
from assistant.projects.report import HEADINGS, project_report, report_docx, report_filename, report_markdown
from assistant.projects.store import ProjectStore
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DONE, IN_PROGRESS, OPEN, NOT_RELEVANT = CriterionStatus.DONE, CriterionStatus.IN_PROGRESS, CriterionStatus.OPEN, CriterionStatus.NOT_RELEVANT


@pytest.fixture(scope="module")
def passages(service):
    return service.passages_mentioning


def project(phase="P3", statuses=None, answers=None, source="direct", name="Sensorik Parkraum") -> Project:
    now = datetime(2026, 3, 5, 8, 0, tzinfo=timezone.utc)
    return Project(1, name, now, now, phase, source, dict(statuses or {}), dict(answers or {}))


def milestone_ids(catalogue: Catalogue, phases) -> list[str]:
    return [m.id for p in phases for m in catalogue.milestones(p)]


# ---------------------------------------------------------------------------------------------
# Placement
# ---------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_questions_come_from_the_catalogues_phase_definitions(catalogue):
    assert 5 <= len(QUESTIONS) <= 8
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)
    for q in QUESTIONS:
        assert q.text.endswith("?")
        assert q.basis, q.id
        for cid in q.basis:
            entry = catalogue.get(cid)
            assert entry is not None and entry.kind == "criterion", cid
            assert q.phase in entry.phases, (q.id, cid, entry.phases)
        assert DEVELOPMENT_PHASES.index(q.reached_if_yes) >= DEVELOPMENT_PHASES.index(q.phase)
    # every phase after P1 can be reached, and the milestones of P1 and P2 are asked for
    assert {q.reached_if_yes for q in QUESTIONS} == set(DEVELOPMENT_PHASES[1:])
    asked = {cid for q in QUESTIONS for cid in q.basis}
    assert {"K05", "K06", "K11"} <= asked and set(milestone_ids(catalogue, ["P1", "P2"])) & asked


@pytest.mark.parametrize(
    "yes_count, expected",
    [(0, "P1"), (1, "P1"), (2, "P2"), (3, "P2"), (4, "P3"), (5, "P4"), (6, "P4"), (7, "P5")],
)
@pytest.mark.unit
def test_placement_walks_the_phases_in_order(catalogue, yes_count, expected):
    answers = {q.id: ("yes" if i < yes_count else "no") for i, q in enumerate(QUESTIONS)}
    result = place(answers, catalogue)
    assert result.phase == expected
    assert result.complete and result.answered == len(QUESTIONS)
    assert not result.contradictions
    assert [s.fulfilled for s in result.steps] == [i < yes_count for i in range(len(QUESTIONS))]
    if yes_count < len(QUESTIONS):
        assert result.first_gap is not None and result.first_gap.question == QUESTIONS[yes_count]
    else:
        assert result.first_gap is None


@pytest.mark.unit
def test_unanswered_and_unsure_count_as_not_yet(catalogue):
    empty = place({}, catalogue)
    assert empty.phase == "P1" and empty.answered == 0 and not empty.complete
    assert all(s.reason.startswith("Nicht beantwortet") for s in empty.steps)
    unsure = place({"nutzen": "yes", "machbarkeit": "unsure"}, catalogue)
    assert unsure.phase == "P1"
    assert unsure.first_gap.question.id == "machbarkeit"
    assert unsure.steps[1].reason.startswith("Weiß nicht")


@pytest.mark.unit
def test_a_yes_after_a_gap_is_a_contradiction_not_a_phase(catalogue):
    answers = {q.id: "yes" for q in QUESTIONS} | {"vision": "no"}
    result = place(answers, catalogue)
    assert result.phase == "P2"
    flagged = {s.question.id for s in result.contradictions}
    assert flagged == {"pilot", "regelbetrieb", "transfer"}
    transfer = next(s for s in result.steps if s.question.id == "transfer")
    assert "zählt aber noch nicht" in transfer.reason
    assert "strategische Vision" in transfer.reason  # names the first open step
    # regular operation without transfer: the project works in P4
    assert place({q.id: "yes" for q in QUESTIONS} | {"transfer": "no"}, catalogue).phase == "P4"


def test_reasons_quote_the_catalogue_and_cite_the_dossier(catalogue, passages):
    result = place({"nutzen": "yes", "machbarkeit": "no"}, catalogue, passages)
    nutzen, machbarkeit = result.steps[0], result.steps[1]
    assert "„Proof of Value“ (K05)" in nutzen.reason
    assert "Meilenstein der Phase P1 – Ideenfindung" in nutzen.reason
    assert "Für P2 – Prototypentwicklung fehlt noch: „Ist die Umsetzbarkeit geprüft" in nutzen.reason
    assert nutzen.fulfilled and not nutzen.contradiction
    both = place({"nutzen": "yes", "machbarkeit": "yes"}, catalogue)
    assert both.steps[0].reason.endswith("Diese Voraussetzung für P2 – Prototypentwicklung ist erfüllt.")
    assert machbarkeit.reason.startswith("Nein:") and "höchstens in P1 – Ideenfindung" in machbarkeit.reason
    for step in result.steps:
        ref = step.passage
        assert ref is not None, step.question.id
        chunk = next(c for c in passages(step.basis[0].id) if c.id == ref.chunk_id)
        assert (ref.section, ref.page) == (chunk.section, chunk.page)
        assert ref.excerpt.split(" …")[0][:60] in " ".join(chunk.text.split())
        # the passage stands in the section of the question's phase
        assert chunk.phase == step.question.phase, (step.question.id, chunk.section)
        assert ref.citation == f"Dossier, Abschnitt „{chunk.section}“, S. {chunk.page}"


# ---------------------------------------------------------------------------------------------
# Progress and next steps
# ---------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_scope_is_current_and_earlier_phases_plus_continuous(catalogue):
    assert scope_of("P1") == ("P1", CONTINUOUS_PHASE)
    assert scope_of("P3") == ("P1", "P2", "P3", CONTINUOUS_PHASE)
    check = build_check(project("P3"), catalogue)
    ids = [c.id for c in check.cards]
    expected = {c.id for c in catalogue.criteria if set(c.phases) & {"P1", "P2", "P3", "D"}}
    assert len(ids) == len(set(ids)) and set(ids) == expected
    assert [g.phase for g in check.groups] == ["P1", "P2", "P3", "D"]
    later = {c.id for c in catalogue.criteria_of_phase("P4") + catalogue.criteria_of_phase("P5")}
    assert not (set(ids) - expected) and (later - expected) and not ((later - expected) & set(ids))
    # criteria without a phase are named as such, not placed somewhere
    assert {e.id for e in check.without_phase} == {c.id for c in catalogue.criteria if not c.phases}
    assert any(str(len(check.without_phase)) in note and "keine Phase" in note for note in check.data_notes)


@pytest.mark.unit
def test_progress_per_phase_counts_statuses_and_milestones(catalogue):
    p1 = [c.id for c in catalogue.criteria_of_phase("P1")]
    statuses = {p1[0]: DONE, p1[1]: DONE, p1[2]: IN_PROGRESS, p1[3]: NOT_RELEVANT, "K11": DONE, "K35": DONE}
    check = build_check(project("P2", statuses), catalogue)
    by_phase = {p.phase: p for p in check.progress}
    assert list(by_phase) == ["P1", "P2", "D"]
    first = by_phase["P1"]
    assert first.total == len(p1)
    assert (first.done, first.count(IN_PROGRESS), first.count(NOT_RELEVANT)) == (2, 1, 1)
    assert first.count(OPEN) == len(p1) - 4 and first.open == len(p1) - 3
    assert first.relevant == len(p1) - 1 and first.share_done == pytest.approx(2 / (len(p1) - 1))
    assert [m.id for m in first.milestones] == milestone_ids(catalogue, ["P1"])
    assert by_phase["P2"].done == 1 and not by_phase["P2"].open_milestones  # K11 is P2's milestone
    assert by_phase["D"].done == 1 and by_phase["D"].milestones_in_catalogue == len(catalogue.milestones("D"))
    assert "2 von " + str(len(p1) - 1) + " erledigt" in first.summary_line
    # the open milestones come from the catalogue's milestone lists, earliest phase first
    expected_open = [m for m in milestone_ids(catalogue, ["P1", "P2"]) if statuses.get(m) != DONE]
    assert [c.id for c in check.open_milestones] == expected_open
    # one chart square per criterion and phase, done first
    cells = chart_cells(check)
    assert len(cells) == sum(p.total for p in check.progress)
    p1_cells = [c for c in cells if c.phase_label == first.label]
    assert [c.status for c in p1_cells[:2]] == ["erledigt", "erledigt"] and p1_cells[2].status == "in Arbeit"


def test_criterion_cards_show_catalogue_fields_and_say_what_is_missing(catalogue, passages):
    check = build_check(project("P2"), catalogue, passages)
    cards = {c.id: c for c in check.cards}
    k13 = cards["K13"]  # a criterion whose roadmap page shows every field
    assert k13.driver_id == catalogue.get("K13").driver and k13.driver_name == catalogue.get(k13.driver_id).name
    assert list(k13.workstreams) == list(catalogue.get("K13").workstreams)
    assert k13.milestone is False and k13.milestone_label == "kein Meilenstein"
    assert k13.summary == catalogue.get("K13").summary
    k12 = cards["K12"]  # a criterion known only from the dossier
    assert catalogue.get("K12").milestone is None
    assert k12.milestone is None and k12.milestone_label == "Meilenstein-Status im Katalog nicht angegeben"
    assert k12.driver_label == "Treiber im Katalog nicht angegeben" and "nicht angegeben" in k12.workstreams_label
    assert [g.id for g in k12.good_practices] == ["GP02"]
    assert k12.passage is not None and k12.passage.names_entry and k12.passage.page
    unknown = sum(1 for c in check.cards if catalogue.get(c.id).milestone is None)
    assert any(note.startswith(f"Bei {unknown} der {len(check.cards)} Kriterien") for note in check.data_notes)
    no_passage = [c.id for c in check.cards if not passages(c.id)]
    assert all(cards[i].passage is None and cards[i].passage_label == "Im Dossier nicht namentlich behandelt" for i in no_passage)


def test_next_steps_are_open_criteria_of_the_current_phase_milestones_first(catalogue, passages):
    p1 = [c.id for c in catalogue.criteria_of_phase("P1")]
    milestones = milestone_ids(catalogue, ["P1"])
    check = build_check(project("P1"), catalogue, passages)
    steps = [c.id for c in check.next_steps]
    assert steps == milestones + [c for c in p1 if c not in milestones]
    # done and not relevant drop out, in progress stays; the order holds
    statuses = {milestones[0]: DONE, milestones[1]: IN_PROGRESS, p1[-1]: NOT_RELEVANT}
    steps = [c.id for c in build_check(project("P1", statuses), catalogue).next_steps]
    assert steps == milestones[1:] + [c for c in p1 if c not in milestones and c != p1[-1]]
    # only the current phase: earlier and continuous criteria are not next steps
    later = build_check(project("P4"), catalogue, passages)
    p4 = [c.id for c in catalogue.criteria_of_phase("P4")]
    p4_milestones = milestone_ids(catalogue, ["P4"])
    assert [c.id for c in later.next_steps] == p4_milestones + [c for c in p4 if c not in p4_milestones]
    assert "K04" in p4  # listed in P1 and P4: a next step in P4 although its card sits in P1
    for step in later.next_steps:
        if step.passage:
            assert step.passage.page and step.passage.section and f"S. {step.passage.page}" in step.passage.citation


def test_fitting_good_practices_follow_the_next_steps(catalogue, passages):
    check = build_check(project("P3"), catalogue, passages)
    ids = [m.card.id for m in check.good_practices]
    linked = [g.id for s in check.next_steps for g in s.good_practices]
    assert ids[: len(set(linked))] == list(dict.fromkeys(linked))
    assert {g.id for g in catalogue.good_practices_of_phase("P3")} <= set(ids)
    k18 = next(s for s in check.next_steps if s.id == "K18")
    assert "GP03" in [g.id for g in k18.good_practices]


# ---------------------------------------------------------------------------------------------
# Memo (Word and Markdown)
# ---------------------------------------------------------------------------------------------


def ticked_p3(catalogue) -> Project:
    statuses = {m: DONE for m in milestone_ids(catalogue, ["P1", "P2"])} | {"K18": IN_PROGRESS, "K20": NOT_RELEVANT, "K06": OPEN}
    answers = {"nutzen": "yes", "machbarkeit": "yes", "vision": "yes", "prototyp": "yes", "pilot": "no", "regelbetrieb": "no", "transfer": "no"}
    return project("P3", statuses, answers, source="questions")


def test_word_memo_has_the_structure_table_and_citations(catalogue, passages):
    check = build_check(ticked_p3(catalogue), catalogue, passages)
    report = project_report(check, catalogue, passages, exported_at=datetime(2026, 3, 5, 9, 7))
    doc = docx.Document(io.BytesIO(report_docx(report)))
    headings = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name.startswith(("Heading", "Title"))]
    assert headings[0] == ("Title", "Projekt-Check: Sensorik Parkraum")
    assert [t for s, t in headings if s == "Heading 1"] == list(HEADINGS)
    step_headings = [t for s, t in headings if s == "Heading 2"]
    assert step_headings[0] == "1. K18 Durchführung eines Pilotprojektes (in Arbeit; Meilenstein-Status im Katalog nicht angegeben)"
    assert [h.split()[1] for h in step_headings] == [c.id for c in check.next_steps]
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Stand: 05.03.2026, 09:07 Uhr." in text
    assert "Aktuelle Phase: P3 – Pilotphase. Aus 7 Fragen zur Einordnung abgeleitet" in text
    assert doc.core_properties.language == "de-DE"

    placement, progress, criteria = doc.tables
    assert [c.text for c in placement.rows[0].cells] == ["Frage", "Antwort", "Begründung", "Dossier"]
    assert placement.rows[1].cells[0].text == QUESTIONS[0].text and placement.rows[1].cells[1].text == "Ja"
    assert placement.rows[5].cells[1].text == "Nein" and "S. " in placement.rows[5].cells[3].text
    assert [c.text for c in progress.rows[0].cells] == ["Phase", "erledigt", "in Arbeit", "offen", "nicht relevant", "offene Meilensteine"]
    assert [r.cells[0].text for r in progress.rows[1:]] == [catalogue.phase_label(p) for p in ("P1", "P2", "P3", "D")]
    assert [c.text for c in criteria.rows[0].cells] == ["Phase", "ID", "Kriterium", "Meilenstein", "Status"]
    assert len(criteria.rows) == 1 + len(check.cards)
    first = check.cards[0]
    assert [c.text for c in criteria.rows[1].cells] == ["P1", first.id, first.name, first.milestone_short, first.status.label]
    k18 = next(r for r in criteria.rows if r.cells[1].text == "K18")
    assert [c.text for c in k18.cells[2:]] == [catalogue.get("K18").name, "unbekannt", "in Arbeit"]
    assert next(r for r in criteria.rows if r.cells[1].text == "K20").cells[4].text == "nicht relevant"
    assert next(r for r in criteria.rows if r.cells[1].text == "K35").cells[0].text == "durchgehend"

    # next steps: every one with its dossier section and page, and the verbatim excerpt
    for step in check.next_steps:
        if step.passage:
            chunk = next(c for c in passages(step.id) if c.id == step.passage.chunk_id)
            assert f"Quelle: Dossier, Abschnitt „{chunk.section}“, S. {chunk.page}" in text
    k18_step = next(s for s in check.next_steps if s.id == "K18")
    assert "P3 – Pilotphase“, S. 23" in k18_step.passage.citation
    quotes = [p.text for p in doc.paragraphs if p.style.name == "Quote"]
    assert f"„{k18_step.passage.excerpt}“" in quotes
    assert "Open-Government" in text and "GP03 DIGIFARM.MS (Münster)" in text
    # open milestones: K06 was reset to open
    milestone_items = [p.text for p in doc.paragraphs if p.style.name == "List Bullet" and p.text.startswith("K06")]
    assert milestone_items == ["K06 Proof of Concept (P1 – Ideenfindung) – offen"]
    named, stated = catalogue.coverage
    assert f"{named} der {stated} Kriterien" in text
    assert "Für P3 – Pilotphase nennt der Katalog keine Meilensteine." in text


def test_markdown_memo_says_the_same(catalogue, passages):
    check = build_check(ticked_p3(catalogue), catalogue, passages)
    report = project_report(check, catalogue, passages, exported_at=datetime(2026, 3, 5, 9, 7))
    md = report_markdown(report)
    assert md.startswith("# Projekt-Check: Sensorik Parkraum\n")
    assert [line[3:] for line in md.splitlines() if line.startswith("## ")] == list(HEADINGS)
    assert "| Phase | ID | Kriterium | Meilenstein | Status |" in md
    first = check.cards[0]
    assert f"| P1 | {first.id} | {first.name} | {first.milestone_short} | {first.status.label} |" in md
    assert f"| P3 | K18 | {catalogue.get('K18').name} | unbekannt | in Arbeit |" in md
    for i, step in enumerate(check.next_steps, 1):
        assert f"{i}. {step.id} {step.name}" in md
        if step.passage:
            assert f"Quelle: {step.passage.citation}" in md
    assert "- K06 Proof of Concept (P1 – Ideenfindung) – offen" in md
    named, stated = catalogue.coverage
    assert f"{named} der {stated} Kriterien" in md
    assert md.endswith("\n") and "\n\n\n" not in md


@pytest.mark.unit
def test_coverage_note_is_read_from_the_data(catalogue):
    raw = copy.deepcopy(catalogue.raw)
    raw["stated_totals"]["criteria"] = 80
    raw["criteria"] = [c for c in raw["criteria"] if c["id"] != "K02"]
    smaller = Catalogue(raw)
    check = build_check(project("P1"), smaller)
    md = report_markdown(project_report(check, smaller))
    named = len(catalogue.criteria) - 1
    assert f"{named} der 80 Kriterien" in md and f"die übrigen {80 - named}" in md
    assert "| K02 |" not in md


@pytest.mark.unit
def test_direct_phase_and_unsafe_name_in_the_memo(catalogue):
    name = clean_project_name("Park<b>raum</b>\x00 & <script>alert(1)</script>\x1b[31m\u202e", 120)
    assert name == "Park<b>raum</b> & <script>alert(1)</script>"
    report = project_report(build_check(project("P2", name=name), catalogue), catalogue)
    assert report.placement is None and report.method == "Von der Projektleitung direkt gewählt."
    doc = docx.Document(io.BytesIO(report_docx(report)))
    assert doc.paragraphs[0].text == f"Projekt-Check: {name}"  # literal text in Word, no markup
    md = report_markdown(report)
    assert md.splitlines()[0] == "# Projekt-Check: Park\\<b\\>raum\\</b\\> \\& \\<script\\>alert\\(1\\)\\</script\\>"
    assert "<script>" not in md
    assert report_filename(name, datetime(2026, 3, 5, 9, 7)) == "projekt-check-park-b-raum-b-script-alert-1-script-20260305-0907.docx"
    assert report_filename("Straßenbeleuchtung Süd", datetime(2026, 3, 5, 9, 7), "md") == "projekt-check-strassenbeleuchtung-sud-20260305-0907.md"


# ---------------------------------------------------------------------------------------------
# Store
# ---------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_store_keeps_projects_across_restarts(tmp_path):
    path = tmp_path / "projects.sqlite3"
    store = ProjectStore(path)
    a = store.create("Sensorik Parkraum")
    b = store.create("Digitale Bürgerdienste")
    store.set_phase(a.id, "P3")
    store.set_status(a.id, "K18", IN_PROGRESS)
    store.set_status(a.id, "K18", DONE)
    store.set_status(a.id, "K05", "not_relevant")
    store.apply_placement(b.id, "P2", {"nutzen": "yes", "machbarkeit": "yes", "vision": "no"})
    reopened = ProjectStore(path)  # a new process would see the same
    assert [p.name for p in reopened.list()] == ["Digitale Bürgerdienste", "Sensorik Parkraum"]
    got = reopened.get(a.id)
    assert (got.phase, got.phase_source) == ("P3", "direct")
    assert got.statuses == {"K18": DONE, "K05": NOT_RELEVANT} and got.status("K01") == OPEN
    assert got.updated_at >= got.created_at
    other = reopened.get(b.id)
    assert (other.phase, other.phase_source, other.answers) == ("P2", "questions", {"nutzen": "yes", "machbarkeit": "yes", "vision": "no"})
    reopened.apply_placement(b.id, "P1", {"nutzen": "no"})  # answers are replaced as a whole
    assert reopened.get(b.id).answers == {"nutzen": "no"}
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.unit
def test_store_rejects_bad_input_with_german_messages(tmp_path):
    store = ProjectStore(tmp_path / "projects.sqlite3", name_max_chars=20)
    store.create("Sensorik Parkraum")
    with pytest.raises(ProjectNameTaken, match="gibt es schon"):
        store.create("  sensorik   PARKRAUM ")
    with pytest.raises(InvalidProjectName, match="Projektnamen"):
        store.create("\x00\x1b[2J <>")
    long = store.create("x" * 50)
    assert long.name == "x" * 20
    with pytest.raises(ValueError):
        store.set_phase(long.id, "D")
    with pytest.raises(ValueError):
        store.set_status(long.id, "K01", "fast fertig")
    blocker = tmp_path / "file"
    blocker.write_text("kein Ordner")
    with pytest.raises(ProjectError, match="ASSISTANT_PROJECTS_DB"):
        ProjectStore(blocker / "projects.sqlite3").list()


@pytest.mark.unit
def test_delete_removes_ticks_and_a_stale_tab_gets_a_clear_message(tmp_path):
    path = tmp_path / "projects.sqlite3"
    tab_a, tab_b = ProjectStore(path), ProjectStore(path)
    p = tab_a.create("Sensorik Parkraum")
    tab_a.set_status(p.id, "K01", DONE)
    assert tab_b.delete(p.id) is True
    assert tab_b.delete(p.id) is False
    with pytest.raises(ProjectNotFound, match="anderen Tab gelöscht"):
        tab_a.set_status(p.id, "K02", DONE)
    with pytest.raises(ProjectNotFound):
        tab_a.set_phase(p.id, "P2")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM project_criteria").fetchone()[0] == 0
    assert tab_a.create("Sensorik Parkraum").id != p.id  # the name is free again


@pytest.mark.unit
def test_two_tabs_ticking_at_once_lose_nothing(tmp_path, catalogue):
    """Two writers (threads, each with its own store object like two browser sessions) tick
    disjoint halves of the criteria of one project, over and over, while each also sets the phase."""
    path = tmp_path / "projects.sqlite3"
    p = ProjectStore(path).create("Sensorik Parkraum")
    ids = [c.id for c in catalogue.criteria]
    halves = (ids[0::2], ids[1::2])
    cycle = [IN_PROGRESS, OPEN, NOT_RELEVANT, DONE]  # the last write of each criterion is DONE
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def tab(n: int) -> None:
        store = ProjectStore(path)
        try:
            start.wait()
            for status in cycle:
                for cid in halves[n]:
                    store.set_status(p.id, cid, status)
                store.set_phase(p.id, "P2" if n else "P3")
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=tab, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    final = ProjectStore(path).get(p.id)
    assert final.statuses == {cid: DONE for cid in ids}
    assert final.phase in ("P2", "P3")


WRITER = """
import sys
from assistant.projects.store import ProjectStore
store = ProjectStore(sys.argv[1])
project_id, offset, rounds = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for r in range(rounds):
    for i in range(offset, 48, 2):
        store.set_status(project_id, f"K{i + 1:02d}", "done" if r == rounds - 1 else "in_progress")
"""


@pytest.mark.unit
def test_two_processes_ticking_at_once_lose_nothing(tmp_path, netns):
    path = str(tmp_path / "projects.sqlite3")
    p = ProjectStore(path).create("Sensorik Parkraum")
    procs = [
        netns.popen([sys.executable, "-c", WRITER, path, str(p.id), str(n), "6"], cwd=ROOT, stderr=subprocess.PIPE)
        for n in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    statuses = ProjectStore(path).get(p.id).statuses
    assert statuses == {f"K{i:02d}": DONE for i in range(1, 49)}


@pytest.mark.unit
def test_projects_db_lives_next_to_the_feedback_db(tmp_path, monkeypatch):
    assert Settings(feedback_db=tmp_path / "fb.sqlite3").projects_path == tmp_path / "projects.sqlite3"
    monkeypatch.setenv("ASSISTANT_PROJECTS_DB", str(tmp_path / "elsewhere" / "p.sqlite3"))
    settings = Settings()
    assert settings.projects_path == tmp_path / "elsewhere" / "p.sqlite3"
    store = ProjectStore.from_settings(settings)
    store.create("Test")
    assert (tmp_path / "elsewhere" / "p.sqlite3").exists()
