"""The app in a real browser: Debian's Chromium, driven by Playwright, against `streamlit run app.py`.

Streamlit runs in the test's loopback-only network namespace (`netns`, tests/netns.py), which must
show no attempt to leave the machine. Chromium and the Playwright driver run in a second such
namespace, joined to the app's port by a small bridge: the browser cannot reach anything else
either, every request the page makes must go to the app, and Chromium's own IPv6 probes do not blur
the app's check. Skips (with the reason) when /usr/bin/chromium or axe-core is missing;
`scripts/browser-deps.sh` installs both. Screenshots land in reports/ (browser-chat.png,
browser-chat-tablet.png, browser-roadmap.png, axe-<page>.png); the axe results per page in
reports/axe-results.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.feedback import FeedbackStore
from assistant.ui.navigation import REGISTRY
from tests.conftest import offline_namespace
from tests.netns import Bridge, OfflineNamespace

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
    # the page only ever needs 127.0.0.1: no host name is looked up at all
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
QUESTION = "Was muss ich in der Pilotphase beachten?"
AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"  # npm, pinned in tests/axe/
BLOCKING = ("serious", "critical")  # axe impacts that fail the test
# The command line of `make run` (Makefile), so the app's own settings (.streamlit/config.toml) apply.
STREAMLIT = ["-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.headless", "true"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def app_env(settings, db: Path, **extra) -> dict:
    env = dict(
        os.environ,
        ASSISTANT_CORPUS_DIR=str(settings.corpus_dir),
        ASSISTANT_INDEX_DIR=str(settings.index_dir),
        ASSISTANT_USER_DOCS_DIR=str(settings.user_docs_dir),
        ASSISTANT_FEEDBACK_DB=str(db),
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def streamlit_app(ns: OfflineNamespace, env: dict, log: Path):
    """`streamlit run app.py` inside `ns`; yields the port once the server answers its health check."""
    with ns.entered():
        port = free_port()
    with open(log, "w") as out:
        proc = ns.popen([python(), *STREAMLIT, "--server.port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        with ns.entered():
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit ended early (code {proc.returncode}):\n{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not come up within 120 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.contextmanager
def browser_for(app_ns: OfflineNamespace, port: int):
    """Headless Chromium in a namespace of its own, bridged to the app's port. Yields the browser and
    the list of every URL its pages request; on leaving, each must have gone to the app."""
    from playwright.sync_api import sync_playwright

    browser_ns = offline_namespace()
    bridge = Bridge(browser_ns, app_ns, port)
    requested: list[str] = []
    try:
        with browser_ns.entered(), sync_playwright() as p:  # driver and browser start inside
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                yield browser, requested
            finally:
                browser.close()
    finally:
        bridge.close()
        browser_ns.close()
    app = (f"http://127.0.0.1:{port}/", f"ws://127.0.0.1:{port}/")
    elsewhere = [u for u in requested if not u.startswith((*app, "data:", "blob:", "about:"))]
    assert requested and not elsewhere, f"the page requested something other than the app: {elsewhere[:10]}"


def record_requests(page, requested: list[str]) -> None:
    page.on("request", lambda request: requested.append(request.url))
    page.on("websocket", lambda ws: requested.append(ws.url))


@pytest.fixture
def app_server(settings, built_index, tmp_path, netns):
    if not CHROMIUM.exists():
        # a missing browser must fail, not skip: `make test` installs it (scripts/browser-deps.sh)
        pytest.fail("Chromium fehlt (/usr/bin/chromium); installieren mit: bash scripts/browser-deps.sh", pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("playwright ist nicht installiert; installieren mit: pip install -e '.[dev]'", pytrace=False)
    db = tmp_path / "feedback.sqlite3"
    log = tmp_path / "streamlit.log"
    with streamlit_app(netns, app_env(settings, db), log) as port:
        yield port, db, log


def no_error_banner(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, "traceback shown"
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, page.locator(
        '[data-testid="stAlertContentError"]'
    ).all_inner_texts()


def open_quoted_source(answer, service):
    """Open the card of the first source the answer quotes a sentence from (the same question asked
    in-process says which; catalogue entries quote none) and return it once the highlight shows."""
    n = next(c.n for c in service.ask(QUESTION).citations if c.quote)
    answer.locator('[data-testid="stExpander"] summary').filter(has_text=f"[{n}]").first.click()
    card = answer.locator('[data-testid="stExpander"]').nth(n - 1)
    card.locator(".stMarkdownColoredBackground").first.wait_for(timeout=10_000)
    return card


def test_chat_in_real_browser(app_server, netns, service):
    port, db, log = app_server
    REPORTS.mkdir(exist_ok=True)
    with browser_for(netns, port) as (browser, requested):
        page = browser.new_page(viewport={"width": 1366, "height": 1400}, locale="de-DE")
        record_requests(page, requested)
        page.goto(f"http://127.0.0.1:{port}", timeout=120_000)
        # the welcome starters appear once model and index are loaded
        page.get_by_role("button", name="Worum geht es in der Roadmap?").wait_for(timeout=240_000)
        no_error_banner(page)

        box = page.get_by_placeholder("Frage zur Roadmap stellen …")
        box.fill(QUESTION)
        started = time.perf_counter()
        box.press("Enter")
        answer = page.locator('[data-testid="stChatMessage"]').nth(1)
        # a bound, not a speed test: bench/app_latency.py measures the wait on a quiet machine
        answer.get_by_text("Quellen", exact=True).wait_for(timeout=60_000)
        elapsed = time.perf_counter() - started
        sources = answer.locator('[data-testid="stExpander"]')
        assert sources.count() >= 2
        assert "[1]" in answer.inner_text()
        assert "[1]" in sources.first.inner_text()

        # open the first quoted dossier source: phase badge, criterion chip and the highlighted sentence
        card = open_quoted_source(answer, service)
        highlighted = card.locator(".stMarkdownColoredBackground").first.inner_text()
        assert len(highlighted) > 20 and "\\" not in highlighted
        assert card.locator(".stMarkdownBadge").count() >= 1
        no_error_banner(page)
        page.wait_for_timeout(500)
        page.screenshot(path=str(REPORTS / "browser-chat.png"))

        # a criterion chip (the card's passage names a catalogue criterion) shows its entry
        chip = card.get_by_role("button", name=re.compile(r"K\d\d · "))
        assert chip.count() >= 1, card.inner_text()
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
    print(f"browser answer time: {elapsed:.2f}s")
    assert "Traceback" not in log.read_text()


# -- accessibility: axe-core on every page -----------------------------------------------------------

# What shows that a page has finished rendering (the last thing it draws); other pages: their title.
PAGE_READY = {
    "chat": "Quellen",  # after an answer
    "roadmap": "Abschnitte im Dossier zu dieser Phase",
    "kriterien": "Stellen im Dossier",
    "good-practices": "Praxisbeispielen",
    "einarbeitung": "Selbstcheck",
}


def settle(page, ready_text: str) -> None:
    page.get_by_text(ready_text).first.wait_for(timeout=60_000)
    page.locator('[data-testid="stSpinner"]').first.wait_for(state="detached", timeout=60_000)
    page.wait_for_timeout(800)  # let the last elements paint


def axe_run(page) -> list[dict]:
    """axe-core's violations for the current page (all rules, WCAG 2.x A/AA and best practices)."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")


def describe(name: str, violations: list[dict]) -> str:
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    line = (
        f"axe {name}: {len(violations)} violations, "
        f"{len(blocking)} serious/critical ({sum(len(v['nodes']) for v in blocking)} nodes)"
    )
    for v in violations:
        line += f"\n  - {v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}"
        for node in v["nodes"][:5]:
            why = (node.get("any") or node.get("all") or [{}])[0].get("message", "")
            line += f"\n      {node['html'][:90]} – {why[:150]}"
    return line


def test_every_page_passes_axe(app_server, netns, service):
    """Each page of the registry in Chromium, checked by axe-core: no serious or critical violation."""
    if not AXE.exists():
        pytest.fail("axe-core fehlt (tests/axe/node_modules); installieren mit: bash scripts/browser-deps.sh", pytrace=False)
    port, _, log = app_server
    REPORTS.mkdir(exist_ok=True)
    results: dict[str, list[dict]] = {}
    with browser_for(netns, port) as (browser, requested):
        page = browser.new_page(viewport={"width": 1366, "height": 1400}, locale="de-DE")
        record_requests(page, requested)
        page.goto(f"http://127.0.0.1:{port}", timeout=120_000)
        # Chat with an answer and its first source card open (badges, highlighted sentence)
        page.get_by_role("button", name="Worum geht es in der Roadmap?").wait_for(timeout=240_000)
        box = page.get_by_placeholder("Frage zur Roadmap stellen …")
        box.fill(QUESTION)
        box.press("Enter")
        answer = page.locator('[data-testid="stChatMessage"]').nth(1)
        answer.get_by_text("Quellen", exact=True).wait_for(timeout=60_000)
        open_quoted_source(answer, service)
        for spec in REGISTRY:
            if not spec.default:
                page.get_by_role("link", name=spec.title, exact=True).first.click()
                page.wait_for_url(f"**/{spec.url_path}", timeout=30_000)
            settle(page, PAGE_READY.get(spec.url_path, spec.title))
            if spec.url_path == "einarbeitung":  # a self-check answer shows its feedback box
                page.get_by_text("P1 – Ideenfindung", exact=True).first.click()
                settle(page, "Richtig!")
            no_error_banner(page)
            results[spec.title] = axe_run(page)
            page.screenshot(path=str(REPORTS / f"axe-{spec.url_path}.png"), full_page=True)
    (REPORTS / "axe-results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    for name, violations in results.items():
        print(describe(name, violations))
    assert list(results) == [spec.title for spec in REGISTRY]
    blocking = {name: describe(name, v) for name, v in results.items() if any(x["impact"] in BLOCKING for x in v)}
    assert not blocking, "\n".join(blocking.values())
    assert "Traceback" not in log.read_text()
