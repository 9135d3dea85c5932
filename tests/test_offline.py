"""Offline guarantee: building, asking and the app never open a connection off this machine.

Two layers, both independent of test order:
- the test process itself: conftest refuses and records every outbound connect before any library
  is imported, and `no_outbound_connection` checks the record after every test;
- every process a test starts runs in a loopback-only network namespace (tests/netns.py), whose
  kernel counters must show no attempt to leave the machine, whatever the process is written in.

Where no such namespace can be made, the tests here fail and say why (CI runs them as root).
"""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest

from tests import conftest
from tests.conftest import ROOT, offline_namespace
from tests.test_index import clone_index

# Switches the test process sets for itself; the app has to stay offline without them.
TEST_ONLY_SWITCHES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "ANONYMIZED_TELEMETRY")
NEW_DOC = "Der Lotsenfonds Lotsenhausen fördert jedes Jahr zwölf Smart-City-Pilotprojekte mit je 50.000 Euro."
NEW_QUESTION = "Wie viele Pilotprojekte fördert der Lotsenfonds Lotsenhausen?"


def app_env(local, **extra) -> dict:
    """The environment an operator would have: no test-only offline switches."""
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_SWITCHES and not k.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_CORPUS_DIR=str(local.corpus_dir),
        ASSISTANT_INDEX_DIR=str(local.index_dir),
        ASSISTANT_USER_DOCS_DIR=str(local.user_docs_dir),
        ASSISTANT_FEEDBACK_DB=str(local.feedback_db),
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


# -- the test process ---------------------------------------------------------------------------


@pytest.mark.unit
def test_guard_blocks_outbound_before_any_packet():
    assert socket.socket.connect is conftest._guarded_connect
    before = len(conftest.OUTBOUND_ATTEMPTS)
    with pytest.raises(OSError, match="blocked"):
        # TEST-NET-1 documentation address; the guard refuses before the real connect runs
        socket.create_connection(("192.0.2.1", 9), timeout=1)
    assert len(conftest.OUTBOUND_ATTEMPTS) == before + 1
    del conftest.OUTBOUND_ATTEMPTS[before:]  # provoked on purpose: not a failure of this test


@pytest.mark.unit
def test_loopback_stays_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()


def test_build_and_ask_in_this_process_stay_local(settings, built_index, embedder, tmp_path):
    """A small build (one new document on top of the session index) and an answer from it, in
    this process: the guard records nothing."""
    from assistant.index import build_index
    from assistant.service import AssistantService
    from assistant.userdocs import add_bytes

    local = clone_index(settings, tmp_path)
    add_bytes(local, "lotsenfonds.md", NEW_DOC.encode())
    manifest = build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False)
    assert 0 < manifest.embedded_new < 10  # only the new document was embedded
    answer = AssistantService(local).ask(NEW_QUESTION)
    assert any(c.source == "user" and "zwölf" in c.text for c in answer.citations)
    assert conftest.OUTBOUND_ATTEMPTS == []


@pytest.mark.unit
def test_privacy_switches_are_the_apps_own(tmp_path):
    from assistant.index.chroma import _chroma_settings
    from assistant.settings import Settings

    ns = offline_namespace()
    try:
        env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY_SWITCHES}
        code = "import os, assistant.embedding; print(os.environ.get('HF_HUB_OFFLINE'), os.environ.get('TRANSFORMERS_OFFLINE'))"
        proc = ns.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["1", "1"]  # importing the embedding module switches the hub off
        ns.assert_offline()
    finally:
        ns.close()
    assert _chroma_settings().anonymized_telemetry is False
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert "gatherUsageStats = false" in config
    assert "sk-geheim" not in repr(Settings(llm_api_key="sk-geheim"))


# -- the namespace every started process runs in -------------------------------------------------


@pytest.mark.unit
def test_namespace_catches_what_tries_to_leave(tmp_path):
    """The detector itself: a plain connect, a name lookup and a model download from PyPI inside
    the namespace all fail there, and the namespace's counters report them."""
    ns = offline_namespace()
    try:
        code = (
            "import socket\n"
            "for attempt in (lambda: socket.create_connection(('192.0.2.1', 80), timeout=2), lambda: socket.getaddrinfo('pypi.org', 443)):\n"
            "    try:\n        attempt()\n        print('REACHED')\n"
            "    except OSError as exc:\n        print(type(exc).__name__)\n"
        )
        proc = ns.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert "REACHED" not in proc.stdout and proc.stdout.split() == ["OSError", "gaierror"], proc.stdout
        after_socket = ns.leave_attempts()
        assert sum(after_socket.values()) >= 2, after_socket

        # a command that really needs the network fails with its German message, and is reported
        env = app_env(conftest.make_settings(tmp_path), ASSISTANT_MODEL_CACHE=tmp_path / "cache",
                      PIP_INDEX_URL="https://pypi.org/simple", PIP_CONFIG_FILE=os.devnull, PIP_RETRIES="0", PIP_TIMEOUT="5")
        proc = ns.run([sys.executable, "-m", "assistant", "fetch-model"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 3 and "Das Modell konnte nicht geladen werden" in proc.stderr, (proc.stdout, proc.stderr)
        assert sum(ns.leave_attempts().values()) > sum(after_socket.values())
        with pytest.raises(AssertionError, match="tried to reach another machine"):
            ns.assert_offline()
    finally:
        ns.close()


def test_build_app_and_answer_all_in_the_offline_namespace(settings, built_index, tmp_path):
    """The whole life of the tool with loopback only: `assistant add` builds an index with a new
    document, `streamlit run app.py` (as `make run` starts it) serves it, a question typed in the
    browser is answered from that document, and the CLI answers it too. Any attempt of any of these
    processes to reach another machine fails the test."""
    from tests.test_browser import CHROMIUM, browser_for, record_requests, streamlit_app

    if not CHROMIUM.exists():
        pytest.fail("Chromium fehlt (/usr/bin/chromium); installieren mit: bash scripts/browser-deps.sh")
    ns = offline_namespace()
    try:
        local = clone_index(settings, tmp_path / "app")
        doc = tmp_path / "lotsenfonds.md"
        doc.write_text(NEW_DOC, encoding="utf-8")
        env = app_env(local)

        # build: add the document, which rebuilds the index (only the new chunks are embedded)
        proc = ns.run([sys.executable, "-m", "assistant", "add", str(doc)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        manifest = json.loads((local.index_dir / "current" / "manifest.json").read_text())
        assert manifest["counts"].get("user:passage", 0) >= 1, manifest["counts"]
        assert ns.leave_attempts() == {}, "the build tried to reach another machine"

        # the app, and a question typed into it
        log = tmp_path / "streamlit.log"
        with streamlit_app(ns, env, log) as port, browser_for(ns, port) as (browser, requested):
            page = browser.new_page(viewport={"width": 1280, "height": 1200}, locale="de-DE")
            record_requests(page, requested)
            page.goto(f"http://127.0.0.1:{port}", timeout=120_000)
            page.get_by_role("button", name="Worum geht es in der Roadmap?").wait_for(timeout=240_000)
            box = page.get_by_placeholder("Frage zur Roadmap stellen …")
            box.fill(NEW_QUESTION)
            box.press("Enter")
            answer = page.locator('[data-testid="stChatMessage"]').nth(1)
            answer.get_by_text("Quellen", exact=True).wait_for(timeout=120_000)
            assert "zwölf" in answer.inner_text(), answer.inner_text()
        assert "Traceback" not in log.read_text()

        # the same question through the CLI
        proc = ns.run([sys.executable, "-m", "assistant", "ask", NEW_QUESTION, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        cited = json.loads(proc.stdout)["citations"]
        assert any(c["source"] == "user" and "zwölf" in c["text"] for c in cited)

        ns.assert_offline("the build, the app or an answer")
    finally:
        ns.close()
