"""The Projekt-Check page driven headless with AppTest: create a project, place it, tick criteria,
see the progress, get the downloads, delete with confirmation. Real service, real SQLite file."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from assistant.corpus import Catalogue
from assistant.export import DOCX_MIME
from assistant.projects.model import CriterionStatus
from assistant.projects.placement import QUESTIONS
from assistant.projects.store import ProjectStore
from tests.conftest import ROOT
from tests.test_app import app_env, assert_clean, new_app, open_page, restore_main_module  # noqa: F401 - fixtures

NAME = "Sensorik <b>Parkraum</b>\x07"
CLEAN_NAME = "Sensorik <b>Parkraum</b>"


@pytest.fixture
def projects_db(app_env) -> Path:
    return app_env.parent / "projects.sqlite3"  # next to the feedback database


def open_project_page() -> AppTest:
    return open_page(new_app(), "projekt-check")


@pytest.fixture
def deferred(monkeypatch) -> dict[str, tuple]:
    """Downloads built on click: element id -> (builder, mimetype, file name), as the app registered
    them. AppTest's media manager lives only during a run, so the builders are kept here."""
    registered: dict[str, tuple] = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, element_id=None):
        registered[element_id] = (data_callable, mimetype, file_name)
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, element_id=element_id)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return registered


def click_download(at: AppTest, deferred: dict[str, tuple], key: str) -> tuple[bytes, str, str]:
    """What a click on a deferred download does: the server calls the registered builder.
    Returns (file content, mimetype, file name)."""
    button = at.download_button(key=key)
    assert button.proto.deferred_file_id, f"{key} is not built on click"
    builder, mimetype, name = deferred[button.id]
    data = builder()
    return (data.encode() if isinstance(data, str) else bytes(data)), mimetype, name


def texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown).replace("\\", "")


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label == label]
    assert found, [b.label for b in at.button]
    return found[0]


def test_create_place_tick_progress_download_delete(projects_db, catalogue, deferred):
    at = open_project_page()
    assert_clean(at)
    assert at.header[0].value == "Projekt-Check"
    assert any("Noch kein Projekt" in i.value for i in at.info)

    # create: the name keeps its markup as text, control characters are dropped
    at.text_input(key="pc_new_name").set_value(NAME)
    at = _submit(at)
    assert_clean(at)
    store = ProjectStore(projects_db)
    [project] = store.list()
    assert project.name == CLEAN_NAME and project.phase is None
    assert at.selectbox(key="pc_project").value == project.id
    assert any(s.value == "Sensorik \\<b\\>Parkraum\\</b\\>" for s in at.subheader)
    assert any("zuerst einer Phase zu" in i.value for i in at.info)

    # place with the questions: yes up to the prototype, no for the pilot → P3
    at.radio(key=f"pc_how_{project.id}").set_value("questions").run()
    for q in QUESTIONS:
        at.radio(key=f"pc_q_{project.id}_{q.id}").set_value("yes" if q.id in ("nutzen", "machbarkeit", "vision", "prototyp") else "no")
    at.run()
    assert_clean(at)
    assert "Voraussichtliche Phase: P3 – Pilotphase" in texts(at)
    at = button(at, "Diese Phase übernehmen").click().run()
    assert_clean(at)
    saved = store.get(project.id)
    assert (saved.phase, saved.phase_source) == ("P3", "questions") and saved.answers["pilot"] == "no"

    # tick: K05 done (a P1 milestone), K18 in progress, K20 not relevant
    for cid, status in (("K05", "done"), ("K18", "in_progress"), ("K20", "not_relevant")):
        at.segmented_control(key=f"pc_status_{project.id}_{cid}").set_value(status).run()
        assert_clean(at)
    saved = store.get(project.id)
    assert saved.statuses == {"K05": CriterionStatus.DONE, "K18": CriterionStatus.IN_PROGRESS, "K20": CriterionStatus.NOT_RELEVANT}
    # a tick made elsewhere (another tab) shows up on the next run, nothing is overwritten
    store.set_status(project.id, "K01", "done")
    at.run()
    assert at.segmented_control(key=f"pc_status_{project.id}_K01").value == "done"
    assert at.segmented_control(key=f"pc_status_{project.id}_K05").value == "done"

    # progress: per phase counts, open milestones, next steps with dossier passages
    page = texts(at)
    p1 = len(catalogue.criteria_of_phase("P1"))
    assert f"**P1 – Ideenfindung:** 2 von {p1} erledigt" in page
    p1_milestones = [m.id for m in catalogue.milestones("P1")]
    assert f"Meilensteine: {len(p1_milestones) - 2} von {len(p1_milestones)} offen" in page
    assert "K06 · Proof of Concept" in page  # open milestone
    assert "1. K18 · Durchführung eines Pilotprojektes" in page
    assert "P3 – Pilotphase“, S. 23" in page
    assert len(at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart")) == 1

    # downloads: Word and Markdown
    labels = [d.label for d in at.download_button]
    assert "Als Word exportieren" in labels and "Als Markdown exportieren" in labels
    word, mimetype, word_name = click_download(at, deferred, f"pc_docx_{project.id}")  # built on click
    assert word_name.startswith("projekt-check-sensorik-b-parkraum-b-") and word_name.endswith(".docx")
    assert mimetype == DOCX_MIME
    memo = docx.Document(io.BytesIO(word))
    assert memo.paragraphs[0].text == f"Projekt-Check: {CLEAN_NAME}"
    rows = {r.cells[1].text: [c.text for c in r.cells] for r in memo.tables[-1].rows[1:]}
    assert rows["K05"][4] == "erledigt" and rows["K18"][4] == "in Arbeit" and rows["K20"][4] == "nicht relevant"
    markdown = click_download(at, deferred, f"pc_md_{project.id}")[0].decode()
    assert "## Nächste Schritte" in markdown and "1. K18 Durchführung eines Pilotprojektes" in markdown

    # several projects side by side: a second one starts unplaced, the first keeps its ticks
    at.text_input(key="pc_new_name").set_value("Digitale Bürgerdienste")
    at = _submit(at)
    assert_clean(at)
    second = next(p for p in store.list() if p.name == "Digitale Bürgerdienste")
    assert at.selectbox(key="pc_project").value == second.id
    assert any("zuerst einer Phase zu" in i.value for i in at.info)
    at.selectbox(key="pc_project").set_value(project.id).run()
    assert at.segmented_control(key=f"pc_status_{project.id}_K18").value == "in_progress"

    # delete asks first; cancel keeps the project
    at = button(at, "Projekt löschen …").click().run()
    assert any("endgültig löschen" in w.value for w in at.warning)
    assert store.get(project.id) is not None
    at = button(at, "Abbrechen").click().run()
    assert not any("endgültig löschen" in w.value for w in at.warning) and store.get(project.id) is not None
    at = button(at, "Projekt löschen …").click().run()
    at = button(at, "Ja, endgültig löschen").click().run()
    assert_clean(at)
    assert [p.name for p in store.list()] == ["Digitale Bürgerdienste"]
    assert at.selectbox(key="pc_project").value == second.id


def test_chat_offers_word_export_next_to_markdown(app_env, deferred):
    at = new_app()
    at.chat_input[0].set_value("Was muss ich in der Pilotphase beachten?")
    at.run()
    at.run()  # the export of the rerun contains the finished turn
    assert_clean(at)
    word, markdown = at.download_button(key="export_docx"), at.download_button(key="export")
    assert word.label == "Als Word exportieren" and markdown.label == "Als Markdown exportieren"
    assert not word.proto.disabled and not markdown.proto.disabled
    data, mimetype, name = click_download(at, deferred, "export_docx")
    assert mimetype == DOCX_MIME
    assert name.startswith("roadmap-lotse-unterhaltung-") and name.endswith(".docx")
    md = at.session_state["chat"].export_markdown(Catalogue.load(ROOT / "corpus" / "catalogue" / "criteria.yaml"))
    doc = docx.Document(io.BytesIO(data))
    assert ("Heading 1", "Frage 1: Was muss ich in der Pilotphase beachten?") in [(p.style.name, p.text) for p in doc.paragraphs]
    sources = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert sources and sources == [line[2:] for line in md.splitlines() if line.startswith("- [")]

def _submit(at: AppTest) -> AppTest:
    submit = [b for b in at.form_submit_button if b.label == "Projekt anlegen"] or [b for b in at.button if b.label == "Projekt anlegen"]
    assert submit
    return submit[0].click().run()
