"""Project store: named projects, their phase, ticks and placement answers in SQLite.

Owns the tables and every write to them (`ASSISTANT_PROJECTS_DB`, by default `projects.sqlite3`
next to the feedback database). Each tick is its own row and each save its own IMMEDIATE
transaction (`assistant.sqlitefile`): two browser tabs that tick different criteria of the same
project at once both keep their ticks, because no save rewrites more than the one value it
changes. Deleting a project removes its ticks and answers with it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping

from assistant.domain import PhaseId
from assistant.projects.model import (
    PHASE_SOURCES,
    PLACEMENT_ANSWERS,
    CriterionStatus,
    PhaseSource,
    PlacementAnswer,
    Project,
    ProjectError,
    ProjectNameTaken,
    ProjectNotFound,
    clean_project_name,
    is_development_phase,
    name_key,
)
from assistant.settings import Settings
from assistant.sqlitefile import DatabaseBusy, DatabaseUnavailable, SQLiteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL UNIQUE,  -- casefolded name: one project per name
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    phase         TEXT,                  -- P1–P5 or NULL (not placed yet)
    phase_source  TEXT                   -- direct | questions
);
CREATE TABLE IF NOT EXISTS project_criteria (
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    criterion_id  TEXT NOT NULL,
    status        TEXT NOT NULL,         -- done | in_progress | open | not_relevant
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (project_id, criterion_id)
);
CREATE TABLE IF NOT EXISTS project_answers (
    project_id    INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    question_id   TEXT NOT NULL,
    answer        TEXT NOT NULL,         -- yes | no | unsure
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (project_id, question_id)
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ProjectStore:
    """Thread- and process-safe projects in one SQLite file."""

    def __init__(self, path: Path | str, timeout_s: float = 30.0, name_max_chars: int = 120):
        self.path = Path(path)
        self.name_max_chars = name_max_chars
        self._db = SQLiteFile(self.path, _SCHEMA, timeout_s, foreign_keys=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> "ProjectStore":
        return cls(settings.projects_path, settings.projects_db_timeout_s, settings.project_name_max_chars)

    # -- plumbing --------------------------------------------------------------------------------

    def _run(self, write: bool, work):
        try:
            return self._db.write(work) if write else self._db.read(work)
        except DatabaseUnavailable as exc:
            raise ProjectError(
                f"Die Projekt-Datenbank {self.path} ist nicht nutzbar ({exc}). "
                "Prüfen Sie ASSISTANT_PROJECTS_DB und die Schreibrechte des Ordners."
            ) from exc
        except DatabaseBusy as exc:
            raise ProjectError("Speichern fehlgeschlagen: die Projekt-Datenbank war zu lange gesperrt. Bitte erneut versuchen.") from exc
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise ProjectError(f"Speichern fehlgeschlagen ({exc}).") from exc

    @staticmethod
    def _touch(conn: sqlite3.Connection, project_id: int, now: str, **columns) -> None:
        """Update the project row (at least `updated_at`); a missing project aborts the transaction."""
        sets = ", ".join(["updated_at = ?", *(f"{name} = ?" for name in columns)])
        cursor = conn.execute(f"UPDATE projects SET {sets} WHERE id = ?", (now, *columns.values(), int(project_id)))
        if cursor.rowcount == 0:
            raise ProjectNotFound(
                "Dieses Projekt gibt es nicht mehr – es wurde vielleicht in einem anderen Tab gelöscht."
            )

    # -- API ------------------------------------------------------------------------------------

    def create(self, name: object) -> Project:
        """A new, not yet placed project. Raises `InvalidProjectName` or `ProjectNameTaken`."""
        clean = clean_project_name(name, self.name_max_chars)
        now = _now()

        def work(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO projects (name, name_key, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (clean, name_key(clean), now, now),
            )
            return int(cursor.lastrowid)

        try:
            project_id = self._run(True, work)
        except sqlite3.IntegrityError as exc:
            raise ProjectNameTaken(f"Ein Projekt mit dem Namen „{clean}“ gibt es schon. Bitte wählen Sie es aus der Liste.") from exc
        return self.get(project_id)  # type: ignore[return-value]

    def list(self) -> list[Project]:
        """All projects, by name (case-insensitive)."""
        ids = self._run(False, lambda conn: [r[0] for r in conn.execute("SELECT id FROM projects ORDER BY name_key, id")])
        return [p for p in (self.get(i) for i in ids) if p is not None]

    def get(self, project_id: int) -> Project | None:
        def work(conn: sqlite3.Connection):
            row = conn.execute(
                "SELECT id, name, created_at, updated_at, phase, phase_source FROM projects WHERE id = ?", (int(project_id),)
            ).fetchone()
            if row is None:
                return None
            statuses = conn.execute("SELECT criterion_id, status FROM project_criteria WHERE project_id = ?", (row[0],)).fetchall()
            answers = conn.execute("SELECT question_id, answer FROM project_answers WHERE project_id = ?", (row[0],)).fetchall()
            return row, statuses, answers

        found = self._run(False, work)
        if found is None:
            return None
        row, statuses, answers = found
        return Project(
            id=row[0],
            name=row[1],
            created_at=datetime.fromisoformat(row[2]),
            updated_at=datetime.fromisoformat(row[3]),
            phase=row[4] if is_development_phase(row[4]) else None,
            phase_source=row[5] if row[5] in PHASE_SOURCES else None,
            statuses={cid: CriterionStatus(s) for cid, s in statuses if s in CriterionStatus._value2member_map_},
            answers={qid: a for qid, a in answers if a in PLACEMENT_ANSWERS},
        )

    def set_status(self, project_id: int, criterion_id: str, status: CriterionStatus | str) -> None:
        """Save one tick. Only this criterion's row changes, so other tabs' ticks survive."""
        status = CriterionStatus(status)
        now = _now()

        def work(conn: sqlite3.Connection) -> None:
            self._touch(conn, project_id, now)
            conn.execute(
                "INSERT INTO project_criteria (project_id, criterion_id, status, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (project_id, criterion_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
                (int(project_id), str(criterion_id), status.value, now),
            )

        self._run(True, work)

    def set_phase(self, project_id: int, phase: PhaseId) -> None:
        """The project lead chose the phase directly (earlier placement answers are kept)."""
        self._set_phase(project_id, phase, "direct", None)

    def apply_placement(self, project_id: int, phase: PhaseId, answers: Mapping[str, PlacementAnswer]) -> None:
        """Save the placement answers and the phase they lead to, together."""
        self._set_phase(project_id, phase, "questions", answers)

    def _set_phase(self, project_id: int, phase: PhaseId, source: PhaseSource, answers: Mapping[str, PlacementAnswer] | None) -> None:
        if not is_development_phase(phase):
            raise ValueError(f"phase must be one of P1–P5, got {phase!r}")
        if answers is not None and any(a not in PLACEMENT_ANSWERS for a in answers.values()):
            raise ValueError(f"answers must be one of {PLACEMENT_ANSWERS}")
        now = _now()

        def work(conn: sqlite3.Connection) -> None:
            self._touch(conn, project_id, now, phase=phase, phase_source=source)
            if answers is not None:
                conn.execute("DELETE FROM project_answers WHERE project_id = ?", (int(project_id),))
                conn.executemany(
                    "INSERT INTO project_answers (project_id, question_id, answer, updated_at) VALUES (?, ?, ?, ?)",
                    [(int(project_id), str(q), a, now) for q, a in answers.items()],
                )

        self._run(True, work)

    def delete(self, project_id: int) -> bool:
        """Remove a project with its ticks and answers; False if it was already gone.
        The page asks for confirmation before calling this."""
        return bool(self._run(True, lambda conn: conn.execute("DELETE FROM projects WHERE id = ?", (int(project_id),)).rowcount))
