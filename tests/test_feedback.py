"""FeedbackStore: SQLite in WAL mode, nothing lost under concurrent writers, no personal data."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.feedback import MAX_COMMENT_CHARS, FeedbackError, FeedbackStore, clean_comment
from assistant.schema import Answer, Citation

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)


def make_answer(text: str = "Der Fokus liegt auf Akzeptanz. [1]") -> Answer:
    citation = Citation(
        n=1,
        source="dossier",
        kind="passage",
        title="P3 – Pilotphase",
        section="4 Entwicklungsphasen > P3 – Pilotphase",
        page=23,
        phase="P3",
        criteria=["K18"],
        text="Der Fokus liegt auf Akzeptanz. Weiterer Text.",
        score=0.5,
        chunk_id="dossier-0042",
        quote="Der Fokus liegt auf Akzeptanz.",
    )
    return Answer(question="Was ist in P3 wichtig?", answer=text, abstained=False, phases=["P3"], citations=[citation])


def test_record_and_read_back(tmp_path):
    store = FeedbackStore(tmp_path / "sub" / "feedback.sqlite3")
    answer = make_answer()
    row_id = store.record("Was ist in P3 wichtig?", answer, 1, "  Sehr\x00 hilfreich ", session_id="abc")
    assert store.count() == 1 and store.count(rating=1) == 1 and store.count(rating=0) == 0
    row = store.get(row_id)
    assert row.question == "Was ist in P3 wichtig?"
    assert row.answer == answer.answer
    assert row.rating == 1
    assert row.comment == "Sehr hilfreich"
    assert row.phases == ["P3"]
    assert row.citations == [
        {
            "n": 1,
            "source": "dossier",
            "title": "P3 – Pilotphase",
            "section": "4 Entwicklungsphasen > P3 – Pilotphase",
            "page": 23,
            "phase": "P3",
            "criteria": ["K18"],
            "chunk_id": "dossier-0042",
            "quote": "Der Fokus liegt auf Akzeptanz.",
        }
    ]
    assert row.created_at.endswith("+00:00") and row.session_id == "abc"
    assert store.get(row_id + 1) is None


def test_update_changes_rating_and_comment(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    row_id = store.record("Frage", make_answer(), 1)
    store.update(row_id, comment="Quelle [2] passte nicht")
    store.update(row_id, rating=0)
    row = store.get(row_id)
    assert (row.rating, row.comment) == (0, "Quelle [2] passte nicht")
    assert row.updated_at >= row.created_at
    assert store.count() == 1


def test_rejects_unknown_ratings(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    with pytest.raises(ValueError):
        store.record("Frage", make_answer(), 5)
    with pytest.raises(ValueError):
        store.update(1, rating=-1)
    assert store.count() == 0


def test_wal_mode_and_no_personal_columns(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    FeedbackStore(path).record("Frage", make_answer(), 1)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
    assert {"question", "answer", "citations", "rating", "comment", "created_at"} <= columns
    assert not {c for c in columns if "ip" in c.split("_") or c in {"ip", "address", "user", "email", "user_agent"}}


def test_comment_cleaning():
    assert clean_comment(None) is None
    assert clean_comment("   ") is None
    assert clean_comment("a\x1b[31mb") == "a [31mb"
    assert len(clean_comment("x" * (MAX_COMMENT_CHARS + 50))) == MAX_COMMENT_CHARS


def test_eight_threads_times_500_writes_lose_nothing(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    answer = make_answer()
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(500):
                store.record(f"Frage {n}-{i}", answer, i % 2, session_id=f"t{n}")
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 4000
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT COUNT(DISTINCT question) FROM feedback").fetchone()[0] == 4000
        per_thread = dict(conn.execute("SELECT session_id, COUNT(*) FROM feedback GROUP BY session_id").fetchall())
    assert per_thread == {f"t{n}": 500 for n in range(8)}


WRITER = """
import sys
from tests.test_feedback import make_answer
from assistant.feedback import FeedbackStore
store, answer = FeedbackStore(sys.argv[1]), make_answer()
for i in range(int(sys.argv[3])):
    store.record(f"Prozess {sys.argv[2]}-{i}", answer, 1)
"""


def test_several_processes_write_at_once(tmp_path, netns):
    path = str(tmp_path / "feedback.sqlite3")
    FeedbackStore(path).count()  # create the schema once
    root = Path(__file__).resolve().parent.parent
    procs = [
        netns.popen([sys.executable, "-c", WRITER, path, str(n), "150"], cwd=root, stderr=subprocess.PIPE)
        for n in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert FeedbackStore(path).count() == 450


def test_unusable_location_gives_german_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("kein Ordner")
    store = FeedbackStore(blocker / "feedback.sqlite3")
    with pytest.raises(FeedbackError, match="ASSISTANT_FEEDBACK_DB"):
        store.record("Frage", make_answer(), 1)
