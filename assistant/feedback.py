"""Feedback: ratings and comments on answers, kept in SQLite (`ASSISTANT_FEEDBACK_DB`).

Owns the feedback table and every write to it. The database runs in WAL mode; each write opens
its own short connection and an IMMEDIATE transaction (`assistant.sqlitefile`), so many app sessions
(threads) and several server processes can write at once without losing rows. Stored per row: time, an anonymous
random session id, question, answer text, the citations, rating and optional comment — never an
IP address or any other detail about the person.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from assistant.schema import Answer
from assistant.sqlitefile import DatabaseBusy, DatabaseUnavailable, SQLiteFile

RATINGS = {0: "👎", 1: "👍"}  # st.feedback("thumbs"): 0 = thumbs down, 1 = thumbs up
MAX_COMMENT_CHARS = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    session_id  TEXT,
    question    TEXT NOT NULL,
    answer      TEXT NOT NULL,
    citations   TEXT NOT NULL,   -- JSON list: n, source, title, section, page, phase, criteria, chunk_id, quote
    phases      TEXT NOT NULL,   -- JSON list of phase ids
    abstained   INTEGER NOT NULL,
    engine      TEXT,
    rating      INTEGER NOT NULL,
    comment     TEXT
);
CREATE INDEX IF NOT EXISTS feedback_created ON feedback(created_at);
"""


class FeedbackError(RuntimeError):
    """Feedback could not be stored; the message is German and says what to check."""


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    created_at: str
    updated_at: str
    session_id: str | None
    question: str
    answer: str
    citations: list[dict]
    phases: list[str]
    abstained: bool
    engine: str | None
    rating: int
    comment: str | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def clean_comment(comment: str | None) -> str | None:
    """Free text from the user: no control characters, trimmed, at most MAX_COMMENT_CHARS."""
    if comment is None:
        return None
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in str(comment))
    text = re.sub(r"[ \t]+", " ", text).strip()
    return text[:MAX_COMMENT_CHARS] or None


def citations_payload(answer: Answer) -> list[dict]:
    return [
        {
            "n": c.n,
            "source": c.source,
            "title": c.title,
            "section": c.section,
            "page": c.page,
            "phase": c.phase,
            "criteria": list(c.criteria),
            "chunk_id": c.chunk_id,
            "quote": c.quote,
        }
        for c in answer.citations
    ]


class FeedbackStore:
    """Thread- and process-safe feedback table in one SQLite file."""

    def __init__(self, path: Path | str, timeout_s: float = 30.0):
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._db = SQLiteFile(self.path, _SCHEMA, timeout_s)

    # -- connections ---------------------------------------------------------------------------

    def _ensure(self) -> None:
        try:
            self._db.ensure()
        except DatabaseUnavailable as exc:
            raise FeedbackError(
                f"Die Feedback-Datenbank {self.path} ist nicht nutzbar ({exc}). "
                "Prüfen Sie ASSISTANT_FEEDBACK_DB und die Schreibrechte des Ordners."
            ) from exc

    def _write(self, sql: str, params: tuple) -> int:
        """Run one write in its own IMMEDIATE transaction; retry while another writer holds the lock."""
        self._ensure()

        def work(conn) -> int:
            cursor = conn.execute(sql, params)
            return int(cursor.lastrowid or cursor.rowcount or 0)

        try:
            return self._db.write(work)
        except DatabaseBusy as exc:
            raise FeedbackError("Rückmeldung konnte nicht gespeichert werden: die Datenbank war zu lange gesperrt.") from exc
        except sqlite3.Error as exc:
            raise FeedbackError(f"Rückmeldung konnte nicht gespeichert werden ({exc}).") from exc

    # -- API ------------------------------------------------------------------------------------

    def record(
        self,
        question: str,
        answer: Answer,
        rating: int,
        comment: str | None = None,
        session_id: str | None = None,
    ) -> int:
        """Store one rating (0 = 👎, 1 = 👍) for an answer; returns the row id."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {sorted(RATINGS)}, got {rating!r}")
        now = _now()
        return self._write(
            "INSERT INTO feedback (created_at, updated_at, session_id, question, answer, citations, phases,"
            " abstained, engine, rating, comment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                now,
                now,
                session_id,
                str(question),
                answer.answer,
                json.dumps(citations_payload(answer), ensure_ascii=False),
                json.dumps(list(answer.phases)),
                int(answer.abstained),
                answer.engine,
                int(rating),
                clean_comment(comment),
            ),
        )

    def update(self, feedback_id: int, *, rating: int | None = None, comment: str | None = None) -> None:
        """Change the rating and/or add a comment to an existing row (the user refines feedback)."""
        if rating is not None and rating not in RATINGS:
            raise ValueError(f"rating must be one of {sorted(RATINGS)}, got {rating!r}")
        sets, params = ["updated_at = ?"], [_now()]
        if rating is not None:
            sets.append("rating = ?")
            params.append(int(rating))
        if comment is not None:
            sets.append("comment = ?")
            params.append(clean_comment(comment))
        params.append(int(feedback_id))
        self._write(f"UPDATE feedback SET {', '.join(sets)} WHERE id = ?", tuple(params))

    def count(self, rating: int | None = None) -> int:
        self._ensure()
        if rating is None:
            return int(self._db.read(lambda conn: conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]))
        return int(
            self._db.read(lambda conn: conn.execute("SELECT COUNT(*) FROM feedback WHERE rating = ?", (rating,)).fetchone()[0])
        )

    def list(self, limit: int = 100, offset: int = 0) -> list[FeedbackRecord]:
        """Newest first."""
        return self._select("", (), limit=limit, offset=offset)

    def get(self, feedback_id: int) -> FeedbackRecord | None:
        found = self._select("WHERE id = ?", (int(feedback_id),), limit=1)
        return found[0] if found else None

    def _select(self, where: str, params: tuple, limit: int, offset: int = 0) -> list[FeedbackRecord]:
        self._ensure()
        rows = self._db.read(
            lambda conn: conn.execute(
                "SELECT id, created_at, updated_at, session_id, question, answer, citations, phases, abstained,"
                f" engine, rating, comment FROM feedback {where} ORDER BY id DESC LIMIT ? OFFSET ?",
                (*params, int(limit), int(offset)),
            ).fetchall()
        )
        return [
            FeedbackRecord(
                id=r[0],
                created_at=r[1],
                updated_at=r[2],
                session_id=r[3],
                question=r[4],
                answer=r[5],
                citations=json.loads(r[6]),
                phases=json.loads(r[7]),
                abstained=bool(r[8]),
                engine=r[9],
                rating=r[10],
                comment=r[11],
            )
            for r in rows
        ]
