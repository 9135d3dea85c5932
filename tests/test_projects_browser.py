"""The Projekt-Check page and the chat's Word export in a real browser: Debian's Chromium, driven
by Playwright, against `streamlit run app.py` (the `app_server` fixture of tests/test_browser.py);
app and browser each in a loopback-only network namespace, as there.

A ticked project is seeded in the projects database next to the server's feedback database; the
browser ticks one more criterion, reads the progress, downloads the Word memo and opens it with
python-docx, and axe-core checks every tab of the page. Screenshot: reports/browser-projekt-check.png.
"""

from __future__ import annotations

import io
import time

import docx
import pytest

from assistant.projects.model import CriterionStatus
from assistant.projects.store import ProjectStore
from tests.test_browser import (  # noqa: F401 - app_server is a fixture
    AXE,
    BLOCKING,
    REPORTS,
    app_server,
    axe_run,
    browser_for,
    describe,
    no_error_banner,
    record_requests,
)

pytestmark = pytest.mark.browser

ANSWERS = {"nutzen": "yes", "machbarkeit": "yes", "vision": "yes", "prototyp": "yes", "pilot": "no", "regelbetrieb": "no", "transfer": "no"}
TICKS = {"K01": "done", "K05": "done", "K06": "done", "K03": "in_progress", "K11": "done", "K12": "done", "K20": "not_relevant", "K35": "done"}
TABS = ("Einordnen", "Kriterien abhaken", "Fortschritt", "Export")
NAME = "Sensorik <b>Parkraum</b> <img src=x onerror=alert(1)>"  # markup must stay text


def seed(projects_db) -> int:
    store = ProjectStore(projects_db)
    project = store.create(NAME)
    store.apply_placement(project.id, "P3", ANSWERS)
    for cid, status in TICKS.items():
        store.set_status(project.id, cid, status)
    return project.id


def wait_for_status(store: ProjectStore, project_id: int, criterion_id: str, status: CriterionStatus, timeout_s: float = 20) -> None:
    """Poll the database until the browser's click has been saved (a wait, not a timing assert)."""
    deadline = time.monotonic() + timeout_s
    while store.get(project_id).status(criterion_id) != status:
        assert time.monotonic() < deadline, f"{criterion_id} not saved as {status}"
        time.sleep(0.2)


def test_project_check_in_real_browser(app_server, netns):
    if not AXE.exists():
        pytest.fail("axe-core fehlt (tests/axe/node_modules); installieren mit: bash scripts/browser-deps.sh", pytrace=False)
    port, feedback_db, log = app_server
    url = f"http://127.0.0.1:{port}"
    projects_db = feedback_db.parent / "projects.sqlite3"
    project_id = seed(projects_db)
    store = ProjectStore(projects_db)
    REPORTS.mkdir(exist_ok=True)
    with browser_for(netns, port) as (browser, requested):
        page = browser.new_page(viewport={"width": 1366, "height": 1400}, locale="de-DE", accept_downloads=True)
        record_requests(page, requested)
        page.goto(f"{url}/projekt-check", timeout=120_000)
        heading = page.get_by_role("heading", name=NAME)
        heading.wait_for(timeout=240_000)
        page.get_by_role("tab", name="Fortschritt").wait_for(timeout=240_000)
        assert heading.inner_text().strip() == NAME
        assert page.locator('[data-testid="stMain"] img[src="x"], [data-testid="stMain"] h3 b').count() == 0
        no_error_banner(page)

        # tick K18 (in the current phase P3) as done in the browser: it is saved at once
        page.get_by_role("tab", name="Kriterien abhaken").click()
        page.get_by_role("radiogroup", name="Status von K18").get_by_role("radio", name="erledigt").click()
        wait_for_status(store, project_id, "K18", CriterionStatus.DONE)
        # the criterion's details name its dossier passage with section and page
        details = page.get_by_role("tabpanel", name="Kriterien abhaken").locator('[data-testid="stExpander"]').filter(
            has_text="Details und Dossier-Stelle zu K18"
        )
        details.get_by_text("Details und Dossier-Stelle zu K18").click()
        details.get_by_text("P3 – Pilotphase“, S. 23").wait_for(timeout=10_000)

        # progress: chart, counts per phase, next steps without K18
        page.get_by_role("tab", name="Fortschritt").click()
        page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for(timeout=30_000)
        panel = page.get_by_role("tabpanel", name="Fortschritt")
        panel.get_by_text("Nächste Schritte", exact=True).wait_for(timeout=10_000)
        text = panel.inner_text()
        assert "P3 – Pilotphase: 1 von 7 erledigt" in text  # K18 done, K20 not relevant
        assert "1. K19 · Überwachung sich ändernder Kundenbedürfnisse" in text
        assert "K18 · Durchführung" not in text.split("Nächste Schritte", 1)[1]
        assert "Quelle: Dossier, Abschnitt" in text and "S. 23" in text
        no_error_banner(page)
        page.wait_for_timeout(800)  # let the chart finish drawing for the screenshot
        page.screenshot(path=str(REPORTS / "browser-projekt-check.png"), full_page=True)

        # the Word memo from the browser's download
        page.get_by_role("tab", name="Export").click()
        with page.expect_download(timeout=30_000) as download_info:
            page.get_by_role("button", name="Als Word exportieren").click()
        download = download_info.value
        assert download.suggested_filename.startswith("projekt-check-sensorik-b-parkraum-b-img-src-x-")
        memo = docx.Document(io.BytesIO(download.path().read_bytes()))
        assert memo.paragraphs[0].text == f"Projekt-Check: {NAME}"
        rows = {r.cells[1].text: [c.text for c in r.cells] for r in memo.tables[-1].rows[1:]}
        assert rows["K18"][4] == "erledigt" and rows["K20"][4] == "nicht relevant"

        # accessibility: axe-core (shared set-up of tests/test_browser.py) on every tab, with the
        # placement reasons and one criterion's details open
        results = {}
        for tab in TABS:
            page.get_by_role("tab", name=tab).click()
            panel = page.get_by_role("tabpanel", name=tab)
            if tab == "Einordnen":
                panel.get_by_text("Begründungen aus Katalog und Dossier").click()
                panel.get_by_text("Quelle: Dossier", exact=False).first.wait_for(timeout=10_000)
            page.wait_for_timeout(800)  # let the last elements paint
            results[tab] = axe_run(page)
        for tab, violations in results.items():
            print(describe(f"Projekt-Check / {tab}", violations))
        blocking = {tab: describe(tab, v) for tab, v in results.items() if any(x["impact"] in BLOCKING for x in v)}
        assert not blocking, "\n".join(blocking.values())
    assert "Traceback" not in log.read_text()


def test_chat_word_export_in_real_browser(app_server, netns):
    port, _, log = app_server
    url = f"http://127.0.0.1:{port}"
    with browser_for(netns, port) as (browser, requested):
        page = browser.new_page(viewport={"width": 1366, "height": 1400}, locale="de-DE", accept_downloads=True)
        record_requests(page, requested)
        page.goto(url, timeout=120_000)
        page.get_by_role("button", name="Worum geht es in der Roadmap?").wait_for(timeout=240_000)
        box = page.get_by_placeholder("Frage zur Roadmap stellen …")
        box.fill("Was muss ich in der Pilotphase beachten?")
        box.press("Enter")
        page.locator('[data-testid="stChatMessage"]').nth(1).get_by_text("Quellen", exact=True).wait_for(timeout=60_000)
        with page.expect_download(timeout=30_000) as md_info:
            page.get_by_role("button", name="Als Markdown exportieren").click()
        with page.expect_download(timeout=30_000) as word_info:
            page.get_by_role("button", name="Als Word exportieren").click()
        markdown = md_info.value.path().read_text(encoding="utf-8")
        word = word_info.value
        assert word.suggested_filename.startswith("roadmap-lotse-unterhaltung-") and word.suggested_filename.endswith(".docx")
        doc = docx.Document(io.BytesIO(word.path().read_bytes()))
        paragraphs = [(par.style.name, par.text) for par in doc.paragraphs]
        assert ("Heading 1", "Frage 1: Was muss ich in der Pilotphase beachten?") in paragraphs
        sources = [t for s, t in paragraphs if s == "List Bullet"]
        md_sources = [line[2:] for line in markdown.splitlines() if line.startswith("- [")]
        assert sources and sources == md_sources  # same citations and sources as the Markdown export
        no_error_banner(page)
    assert "Traceback" not in log.read_text()

