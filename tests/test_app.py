"""The Streamlit app, driven headless with `streamlit.testing.v1.AppTest` against the session index.

The app caches the service with `st.cache_resource`; AppTest instances in this process share that
cache, so the model loads once for the whole module.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from assistant.feedback import FeedbackStore
from tests.answer_parts import body, cited_in_body
from tests.fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 180
PAGES = {"chat": "Roadmap-Lotse", "roadmap": "Roadmap", "kriterien": "Kriterien", "good-practices": "Good Practices", "einarbeitung": "Einarbeitung"}


@pytest.fixture(autouse=True)
def restore_main_module():
    """AppTest leaves the app script registered as `__main__`; put the real one back so later
    tests that spawn processes (multiprocessing re-imports `__main__`) are not affected."""
    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


@pytest.fixture
def app_env(settings, built_index, tmp_path, monkeypatch):
    """Point the app at the session index and a private feedback database."""
    db = tmp_path / "feedback.sqlite3"
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("ASSISTANT_USER_DOCS_DIR", str(settings.user_docs_dir))
    monkeypatch.setenv("ASSISTANT_FEEDBACK_DB", str(db))
    return db


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def open_page(at: AppTest, url_path: str) -> AppTest:
    """Switch to a page registered with st.navigation. Pages are functions (assistant/ui/pages/), which
    `AppTest.switch_page` (file based) cannot address, so the page hash is set directly."""
    hashes = [h for h, info in at._registered_pages.items() if info.get("url_pathname") == url_path]
    assert hashes, f"page {url_path!r} not registered: {at._registered_pages}"
    at._page_hash = hashes[0]
    return at.run()


def plain(markdown: str) -> str:
    """Rendered text of escaped Markdown (backslash escapes removed)."""
    return markdown.replace("\\", "")


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question)
    return at.run()


def last_turn(at: AppTest):
    return at.session_state["chat"].turns[-1]


def test_chat_answer_shows_markers_and_sources(app_env):
    at = new_app()
    assert_clean(at)
    assert [b.label for b in at.button][:3] == [
        "Worum geht es in der Roadmap?",
        "Was muss ich in der Pilotphase beachten?",
        "Zeig mir Beispiele für Betreibermodelle",
    ]
    ask(at, "Was muss ich in der Pilotphase beachten?")
    assert_clean(at)
    assistant = [m for m in at.chat_message if m.name == "assistant"]
    assert len(assistant) == 1
    text = plain(assistant[0].markdown[0].value)
    turn = last_turn(at)
    # the body is shown with its markers, and it rests on passages of the pilot phase (P3) -- not
    # just on the question's own word or on the closing "Phase: P3" line
    shown_body = body(text.replace("**", ""))  # markers are shown in bold
    assert "[1]" in shown_body and body(turn.answer).split("\n\n")[0] in shown_body
    assert any(c.phase == "P3" for c in cited_in_body(turn.answer)), [(c.n, c.phase) for c in turn.answer.citations]
    source_labels = [plain(e.label) for e in assistant[0].expander]
    assert source_labels and source_labels[0].startswith(":") and "[1]" in source_labels[0]
    assert len(source_labels) == len(turn.answer.citations)
    # the cited sentence is highlighted inside its source card
    quoted = [c for c in turn.answer.citations if c.quote]
    assert quoted
    card_markdown = " ".join(md.value for e in assistant[0].expander for md in e.markdown)
    assert ":orange-background[" in card_markdown
    # criterion chips open the catalogue entry
    assert any("K18" in plain(md.value) for e in assistant[0].expander for md in e.markdown)
    # the welcome starters are gone once the chat has turns
    assert "Worum geht es in der Roadmap?" not in [b.label for b in at.button]


def test_starter_question_is_answered_from_the_warm_caches(app_env, monkeypatch):
    """The warm-up primes the starter questions, so clicking one needs no model call for the
    question. (How fast that is on a quiet machine: bench/app_latency.py, bench/latency.py.)"""
    import assistant.embedding

    at = new_app()
    encoded: list[str] = []
    real_encode = assistant.embedding.Embedder._encode_query
    monkeypatch.setattr(assistant.embedding.Embedder, "_encode_query", lambda self, text: encoded.append(text) or real_encode(self, text))
    starter = next(b for b in at.button if b.label == "Was muss ich in der Pilotphase beachten?")
    starter.click().run()
    assert_clean(at)
    assert last_turn(at).question == "Was muss ich in der Pilotphase beachten?"
    assert not last_turn(at).answer.abstained and last_turn(at).answer.citations
    assert encoded == [], f"the starter question was encoded again: {encoded}"


@pytest.mark.unit
def test_server_config_keeps_answers_fast_and_private():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    # a full garbage collection after every run held up the next question by 0.4-0.8 s
    assert config["runner"]["postScriptGC"] is False


def test_warm_up_freezes_the_loaded_objects(service):
    import gc

    service.warm_up()
    assert gc.get_freeze_count() > 100_000  # model, index and libraries are out of the collector's way


def test_phase_filter_limits_retrieval(app_env):
    question = "Wie kann die Finanzierung einer Lösung gesichert werden?"
    at = new_app()
    ask(at, question)
    unfiltered = last_turn(at).answer
    assert {c.phase for c in unfiltered.retrieved} != {"P4"}

    at.selectbox(key="phase_filter").set_value("P4").run()
    ask(at, question)
    assert_clean(at)
    turn = last_turn(at)
    assert turn.phase_filter == "P4"
    assert turn.answer.retrieved and {c.phase for c in turn.answer.retrieved} == {"P4"}
    assert [c.chunk_id for c in turn.answer.retrieved] != [c.chunk_id for c in unfiltered.retrieved]
    assistant = [m for m in at.chat_message if m.name == "assistant"]
    assert any("Gesucht mit Filter" in c.value and "P4" in c.value for c in assistant[-1].caption)

    at.selectbox(key="source_filter").set_value("catalogue").run()
    ask(at, "Was ist ein Proof of Value?")
    assert {c.source for c in last_turn(at).answer.retrieved} == {"catalogue"}


def test_export_contains_the_citations(app_env, monkeypatch):
    captured: list[tuple[bytes, str | None]] = []
    original = MemoryMediaFileStorage.load_and_get_id

    def capture(self, path_or_data, mimetype, kind, filename=None):
        if mimetype == "text/markdown":
            data = path_or_data.encode() if isinstance(path_or_data, str) else bytes(path_or_data)
            captured.append((data, filename))
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", capture)
    at = new_app()
    ask(at, "Zeig mir Beispiele für Betreibermodelle")
    assert_clean(at)
    export = at.download_button(key="export")
    assert not export.proto.disabled
    at.run()  # the export of the rerun contains the finished turn
    data, filename = captured[-1]
    text = data.decode("utf-8")
    answer = last_turn(at).answer
    assert filename.startswith("roadmap-lotse-unterhaltung-") and filename.endswith(".md")
    assert "## Frage 1: Zeig mir Beispiele für Betreibermodelle" in text
    assert answer.answer.strip() in text
    assert "**Quellen**" in text
    for c in answer.citations:
        assert f"- [{c.n}] {' '.join(c.title.split())}" in text
        if c.page:
            assert f"S. {c.page}" in text
    assert "48 der 76" in text  # coverage note read from the catalogue


def test_feedback_lands_in_sqlite(app_env):
    at = new_app()
    ask(at, "Was ist ein Proof of Value?")
    turn = last_turn(at)
    at.feedback[0].set_value(1).run()
    assert_clean(at)
    store = FeedbackStore(app_env)
    assert store.count() == 1
    row = store.list()[0]
    assert row.question == "Was ist ein Proof of Value?"
    assert row.answer == turn.answer.answer
    assert row.rating == 1
    assert [c["n"] for c in row.citations] == [c.n for c in turn.answer.citations]
    assert row.created_at and row.session_id
    # an optional comment is added to the same row
    at.text_area(key=f"fbc_{turn.id}").input("Hilfreich, aber bitte kürzer.")
    next(b for b in at.button if b.label == "Kommentar senden").click().run()
    assert_clean(at)
    assert store.count() == 1
    assert store.get(row.id).comment == "Hilfreich, aber bitte kürzer."
    # changing the vote updates the row instead of adding one
    at.feedback[0].set_value(0).run()
    assert store.count() == 1 and store.get(row.id).rating == 0


def test_new_conversation_clears_the_chat(app_env):
    at = new_app()
    ask(at, "Was ist ein Proof of Value?")
    assert at.session_state["chat"].turns
    next(b for b in at.button if b.label == "Neue Unterhaltung").click().run()
    assert_clean(at)
    assert not at.session_state["chat"].turns
    assert not [m for m in at.chat_message if m.name == "assistant"]
    assert "Worum geht es in der Roadmap?" in [b.label for b in at.button]


@pytest.mark.unit
def test_unavailable_index_shows_error_with_command(settings, tmp_path, monkeypatch):
    empty = tmp_path / "no-index"
    empty.mkdir()
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(empty))
    monkeypatch.setenv("ASSISTANT_FEEDBACK_DB", str(tmp_path / "fb.sqlite3"))
    at = new_app()
    assert not at.exception
    assert at.error, "no error banner"
    message = plain(at.error[0].value)
    assert "Suchindex" in message and "build-index" in message
    assert any(".venv/bin/python -m assistant build-index" in c.value for c in at.code)
    assert at.chat_input[0].proto.disabled
    # the catalogue views still work, the dossier passages say how to fix the index
    at = open_page(at, "roadmap")
    assert not at.exception
    assert [h.value for h in at.header] == ["Roadmap"]
    assert any("build-index" in plain(e.value) for e in at.error)
    at = open_page(at, "kriterien")
    assert not at.exception and at.dataframe


def test_each_view_renders(app_env, monkeypatch):
    at = new_app()
    assert_clean(at)
    # from here on nothing may load the model again (st.cache_resource keeps the service)
    import assistant.embedding

    loads = []
    original_init = assistant.embedding.Embedder.__init__
    monkeypatch.setattr(assistant.embedding.Embedder, "__init__", lambda self, *a, **k: loads.append(1) or original_init(self, *a, **k))
    assert [t.value for t in at.title] == ["Roadmap-Lotse"]
    assert any("48 der 76" in plain(c.value) for c in at.sidebar.caption)

    # Roadmap: timeline, phase selection lists criteria, practices and dossier sections
    at = open_page(at, "roadmap")
    assert_clean(at)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    phases = next(w for w in at.segmented_control if w.key == "roadmap_phase")
    assert phases.options == ["P1 Ideenfindung", "P2 Prototypentwicklung", "P3 Pilotphase", "P4 Verstetigung", "P5 Transfer", "durchgehend"]
    phases.set_value("P3").run()
    assert_clean(at)
    assert any(plain(s.value) == "P3 – Pilotphase" for s in at.subheader)
    labels = [plain(e.label) for e in at.expander]
    assert any(label.startswith("K18 · Durchführung eines Pilotprojektes") for label in labels)
    assert any("S. 23" in label for label in labels)  # dossier section of P3
    assert any("DIGIFARM.MS" in plain(md.value) for md in at.markdown)

    # Kriterien: filter table, detail with dossier passages
    at = open_page(at, "kriterien")
    assert_clean(at)
    at.selectbox(key="crit_phase").set_value("P3").run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert set(table["Phase"]) == {"P3"} and "K18" in set(table["ID"])
    at.selectbox(key="criterion_pick").set_value("K18").run()
    assert_clean(at)
    assert any(plain(s.value) == "Durchführung eines Pilotprojektes" for s in at.subheader)
    assert any("DIGIFARM.MS" in plain(md.value) for md in at.markdown)
    assert at.expander, "no dossier passage for K18"
    at.text_input(key="crit_search").input("Pilot").run()
    assert_clean(at)
    assert list(at.dataframe[0].value["ID"]) == ["K18"]
    at.text_input(key="crit_search").input("gibt es nicht").run()
    assert not at.dataframe and any("Kein Kriterium" in i.value for i in at.info)

    # Good practices: search, then "Im Chat fragen" prefills the chat
    at = open_page(at, "good-practices")
    assert_clean(at)
    at.text_input(key="gp_search").input("Münster").run()
    assert_clean(at)
    buttons = [b for b in at.button if b.label == "Im Chat fragen"]
    assert len(buttons) == 1
    buttons[0].click().run()
    assert_clean(at)
    assert [t.value for t in at.title] == ["Roadmap-Lotse"]
    prefill = at.chat_input[0].proto
    assert prefill.set_value and prefill.value == "Was können wir vom Beispiel „DIGIFARM.MS“ lernen?"
    assert not at.session_state["chat"].turns  # prefilled, not yet sent
    assert any("übernommen" in t.value for t in at.toast)

    # Einarbeitung: a self-check answer gets immediate feedback and counts as progress
    at = open_page(at, "einarbeitung")
    assert_clean(at)
    first = at.radio[0]
    assert plain(first.label).startswith("**Zu welcher Phase gehört")
    wrong = next(o for o in first.options if o != "P1 – Ideenfindung")
    first.set_value(wrong).run()
    assert_clean(at)
    assert any(plain(w.value).startswith("Nicht ganz") for w in at.warning)
    at.radio[0].set_value("P1 – Ideenfindung").run()
    assert_clean(at)
    assert any(plain(s.value).startswith("Richtig!") for s in at.success)
    second = at.radio[1]
    progress = at.session_state["onboarding"]
    step = progress.current
    assert step == 0
    # the step's second question was generated from the catalogue: exactly one of its options is a
    # milestone of P1 there (read straight from criteria.yaml)
    raw = yaml.safe_load((ROOT / "corpus" / "catalogue" / "criteria.yaml").read_text(encoding="utf-8"))
    p1_milestones = next(p["milestones"] for p in raw["phases"] if p["id"] == "P1")
    milestone_names = {c["name"] for c in raw["criteria"] if c["id"] in p1_milestones}
    assert "Meilenstein" in plain(second.label)
    assert len(set(second.options) & milestone_names) == 1, (second.options, milestone_names)
    # answering all questions of the step marks it done; "Weiter" moves on
    options = second.options
    second.set_value(options[0]).run()
    assert_clean(at)
    assert at.session_state["onboarding"].answers
    next(b for b in at.button if b.label.startswith("Weiter zu")).click().run()
    assert_clean(at)
    assert at.session_state["onboarding"].current == 1
    assert any(plain(s.value).startswith("Schritt 2 von 6: P2") for s in at.subheader)
    steps = next(w for w in at.segmented_control if w.key == "onb_step").options
    assert "✓ P1" in steps and steps[-1] == "durchgehend"
    assert loads == [], "a page switch reloaded the embedding model"


def test_missing_model_shows_fetch_command(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", str(tmp_path / "empty-model-cache"))
    monkeypatch.setenv("ASSISTANT_FEEDBACK_DB", str(tmp_path / "fb.sqlite3"))
    at = new_app()
    assert not at.exception
    assert "Embedding-Modell fehlt" in plain(at.error[0].value)
    assert any(c.value == ".venv/bin/python -m assistant fetch-model" for c in at.code)
    assert any("⚠️" in md.value for md in at.sidebar.markdown)  # status names the problem too


def test_llm_failure_during_an_answer_is_a_message_not_a_traceback(app_env, monkeypatch):
    from assistant.errors import AssistantUnavailable
    from assistant.service import AssistantService

    at = new_app()

    def down(self, *args, **kwargs):
        raise AssistantUnavailable(
            "Das Sprachmodell antwortet nicht. Starten Sie es neu oder schalten Sie es ab mit ASSISTANT_LLM=none."
        )

    monkeypatch.setattr(AssistantService, "ask", down)
    ask(at, "Was ist ein Proof of Value?")
    assert not at.exception
    assert "Sprachmodell antwortet nicht" in plain(at.error[0].value)
    assert not at.session_state["chat"].turns


def test_unexpected_failure_shows_a_short_note(app_env, monkeypatch):
    import assistant.views

    at = new_app()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(assistant.views, "source_card", broken)
    ask(at, "Was ist ein Proof of Value?")
    assert not at.exception
    assert "unerwarteter Fehler" in plain(at.error[0].value)
    assert "boom" not in " ".join(e.value for e in at.error)


def test_llm_answer_is_streamed_then_shown_with_sources(app_env, monkeypatch):
    with FakeLLM() as server:
        monkeypatch.setenv("ASSISTANT_LLM", "openai-compatible")
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", server.url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "good")
        monkeypatch.setenv("ASSISTANT_LLM_TIMEOUT_S", "30")  # generous: a busy shared machine must not force the fallback
        at = new_app()
        assert_clean(at)
        ask(at, "Was muss ich in der Pilotphase beachten?")
        assert_clean(at)
        turn = last_turn(at)
        assert turn.answer.engine == "llm"
        assistant = [m for m in at.chat_message if m.name == "assistant"][-1]
        text = plain(assistant.markdown[0].value)
        assert "Akzeptanz" in text and "[1]" in text
        assert len(assistant.expander) == len(turn.answer.citations) >= 1
        assert any("Sprachmodell good" in plain(c.value) for c in at.sidebar.caption)


def test_llm_down_falls_back_with_a_warning_naming_the_fix(app_env, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ASSISTANT_LLM", "openai-compatible")
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "good")
    monkeypatch.setenv("ASSISTANT_LLM_TIMEOUT_S", "2")
    at = new_app()
    ask(at, "Was muss ich in der Pilotphase beachten?")
    assert_clean(at)
    turn = last_turn(at)
    assert turn.answer.engine != "llm" and turn.answer.citations
    warnings = [plain(w.value) for m in at.chat_message if m.name == "assistant" for w in m.warning]
    assert any("Sprachmodell" in w and "ASSISTANT_LLM=none" in w for w in warnings), warnings
