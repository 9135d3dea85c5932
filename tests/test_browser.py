"""The app in a real browser: Debian's Chromium, driven by Playwright, against `streamlit run app.py`.

Skips (with the reason) when /usr/bin/chromium is missing; `scripts/browser-deps.sh` installs it.
Screenshots land in reports/ (browser-chat.png, browser-chat-tablet.png, browser-roadmap.png).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.feedback import FeedbackStore

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION = "Was muss ich in der Pilotphase beachten?"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


@pytest.fixture
def app_server(settings, built_index, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Chromium fehlt (/usr/bin/chromium); installieren mit: bash scripts/browser-deps.sh")
    pytest.importorskip("playwright.sync_api", reason="playwright ist nicht installiert (pip install -e '.[dev]')")
    port = free_port()
    db = tmp_path / "feedback.sqlite3"
    env = dict(
        os.environ,
        ASSISTANT_CORPUS_DIR=str(settings.corpus_dir),
        ASSISTANT_INDEX_DIR=str(settings.index_dir),
        ASSISTANT_USER_DOCS_DIR=str(settings.user_docs_dir),
        ASSISTANT_FEEDBACK_DB=str(db),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    log = tmp_path / "streamlit.log"
    cmd = [
        python(), "-m", "streamlit", "run", "app.py",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit ended early (code {proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not come up within 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url, db, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def no_error_banner(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, "traceback shown"
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, page.locator(
        '[data-testid="stAlertContentError"]'
    ).all_inner_texts()


def test_chat_in_real_browser(app_server):
    from playwright.sync_api import sync_playwright

    url, db, log = app_server
    REPORTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 1400}, locale="de-DE")
            page.goto(url, timeout=120_000)
            # the welcome starters appear once model and index are loaded
            page.get_by_role("button", name="Worum geht es in der Roadmap?").wait_for(timeout=240_000)
            no_error_banner(page)

            box = page.get_by_placeholder("Frage zur Roadmap stellen …")
            box.fill(QUESTION)
            started = time.perf_counter()
            box.press("Enter")
            answer = page.locator('[data-testid="stChatMessage"]').nth(1)
            answer.get_by_text("Quellen", exact=True).wait_for(timeout=60_000)
            elapsed = time.perf_counter() - started
            sources = answer.locator('[data-testid="stExpander"]')
            assert sources.count() >= 2
            assert "[1]" in answer.inner_text()
            assert "[1]" in sources.first.inner_text()

            # open the second source: phase badge, criterion chip and the highlighted sentence
            answer.locator('[data-testid="stExpander"] summary').filter(has_text="[2]").first.click()
            card = sources.nth(1)
            card.locator(".stMarkdownColoredBackground").first.wait_for(timeout=10_000)
            highlighted = card.locator(".stMarkdownColoredBackground").first.inner_text()
            assert len(highlighted) > 20 and "\\" not in highlighted
            assert card.locator(".stMarkdownBadge").count() >= 1
            no_error_banner(page)
            page.wait_for_timeout(500)
            page.screenshot(path=str(REPORTS / "browser-chat.png"))

            # a criterion chip shows its catalogue entry
            chip = card.get_by_role("button", name="K18")
            if chip.count():
                chip.first.click()
                page.get_by_text("In der Kriterienansicht öffnen").wait_for(timeout=10_000)
                page.keyboard.press("Escape")

            # thumbs up lands in SQLite
            answer.locator('[data-testid="stFeedback"] button').first.click()
            page.get_by_text("Danke für Ihre Rückmeldung!").wait_for(timeout=10_000)
            store = FeedbackStore(db)
            assert store.count() == 1 and store.list()[0].question == QUESTION

            # tablet width: same session, re-laid out
            page.set_viewport_size({"width": 768, "height": 1024})
            page.wait_for_timeout(800)
            no_error_banner(page)
            page.screenshot(path=str(REPORTS / "browser-chat-tablet.png"))

            # another view renders (navigation keeps the loaded model)
            page.set_viewport_size({"width": 1366, "height": 1400})
            page.get_by_role("link", name="Roadmap").first.click()
            page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg').first.wait_for(timeout=30_000)
            page.get_by_text("Abschnitte im Dossier zu dieser Phase").wait_for(timeout=30_000)
            no_error_banner(page)
            page.screenshot(path=str(REPORTS / "browser-roadmap.png"))
        finally:
            browser.close()
    print(f"browser answer time: {elapsed:.2f}s")
    assert elapsed < 10, f"answer took {elapsed:.1f}s"
    assert "Traceback" not in log.read_text()
